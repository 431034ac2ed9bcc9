"""SMS backends, chosen by ``settings.SMS_BACKEND`` like Django's ``EMAIL_BACKEND``.

``outbox`` keeps messages in a table shown at ``/dev/sms/`` (development only); ``twilio``
sends with the real twilio SDK. A dotted path picks any other class (tests use their own).
"""

import json
import threading
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.utils.module_loading import import_string

BACKENDS = {
    "outbox": "tokens.sms.OutboxBackend",
    "twilio": "tokens.sms.TwilioBackend",
}

# Twilio error codes that no retry can fix: invalid number, unsubscribed, not a mobile number.
TWILIO_PERMANENT_CODES = {21211, 21610, 21614}
TWILIO_TOO_MANY_REQUESTS = 20429
# Twilio's ValidityPeriod, in seconds: it refuses a message that asks for more (or less).
TWILIO_VALIDITY_MIN, TWILIO_VALIDITY_MAX = 1, 36000
# Looking for a message whose answer was lost: how far back (the provider's clock may differ
# from ours) and how many of the number's newest messages.
LOOKUP_CLOCK_SKEW = timedelta(minutes=1)
LOOKUP_PAGE = 20


class SmsError(Exception):
    def __init__(self, code: str, detail: str = ""):
        self.code = str(code)
        super().__init__(f"{code} {detail}".strip())


class TransientSmsError(SmsError):
    """The provider did not take the message; sending it again is safe."""


class PermanentSmsError(SmsError):
    """The provider refused the message for good; sending it again cannot help."""


class UncertainSmsError(SmsError):
    """The provider may or may not have taken the message: sent again only after asking the
    provider (``find``) and finding no such message."""


@dataclass(frozen=True)
class Sent:
    provider_id: str
    status: str


_local = threading.local()


def get_backend():
    """The configured backend, one instance per thread, so that a worker thread keeps its
    HTTP connection to the provider instead of opening one per SMS; a changed setting (tests)
    gives a new instance."""
    path = BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    key = (
        path,
        settings.TWILIO_ACCOUNT_SID,
        settings.TWILIO_AUTH_TOKEN,
        settings.TWILIO_API_BASE_URL,
        settings.TWILIO_TIMEOUT,
    )
    cached = getattr(_local, "backend", None)
    if cached is None or cached[0] != key:
        _local.backend = cached = (key, import_string(path)())
    return cached[1]


class OutboxBackend:
    """Writes the message to the outbox table: the newcomer's phone."""

    def send(self, *, to: str, body: str, validity_period: int, status_callback: str) -> Sent:
        from .models import OutboxMessage

        message = OutboxMessage.objects.create(to=to, body=body)
        return Sent(provider_id=f"outbox-{message.pk}", status="delivered")

    def find(self, *, to: str, body: str, since) -> Sent | None:
        from .models import OutboxMessage

        message = OutboxMessage.objects.filter(to=to, body=body).order_by("-pk").first()
        return Sent(provider_id=f"outbox-{message.pk}", status="delivered") if message else None


class TwilioBackend:
    """Sends through Twilio's Messages API with the official SDK."""

    def __init__(self):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT),
        )
        if settings.TWILIO_API_BASE_URL:
            self.client.api.base_url = settings.TWILIO_API_BASE_URL

    def send(self, *, to: str, body: str, validity_period: int, status_callback: str) -> Sent:
        from twilio.base.exceptions import (
            TwilioException,
            TwilioRestException,
            TwilioServiceException,
        )

        # Never longer than asked (a code's SMS must not outlive the code), never outside
        # what Twilio accepts: a notice validity set to a day would have every notice refused.
        validity_period = min(max(validity_period, TWILIO_VALIDITY_MIN), TWILIO_VALIDITY_MAX)
        params = {"to": to, "body": body, "validity_period": validity_period}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = settings.TWILIO_FROM
        if status_callback:
            params["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            # An HTTP error answer: Twilio did not take the message. The SDK raises RFC 9457
            # answers as TwilioServiceException, which is not a TwilioRestException.
            if exc.status == 429 or exc.status >= 500 or exc.code == TWILIO_TOO_MANY_REQUESTS:
                raise TransientSmsError(exc.code or exc.status, "provider busy") from None
            raise PermanentSmsError(exc.code or exc.status, "refused") from None
        except requests.ConnectTimeout:
            raise TransientSmsError("network", "could not connect") from None
        except requests.Timeout:
            raise UncertainSmsError("timeout", "no answer in time") from None
        except requests.ConnectionError as exc:
            if _never_connected(exc):
                raise TransientSmsError("network", "could not connect") from None
            raise UncertainSmsError("network", "connection lost") from None
        except (TwilioException, json.JSONDecodeError) as exc:
            # Anything else the SDK raises, or a 2xx answer whose body is not JSON (the SDK
            # lets json's error through): the message may exist.
            raise UncertainSmsError("twilio", type(exc).__name__) from None
        return Sent(provider_id=message.sid, status=message.status or "queued")

    def find(self, *, to: str, body: str, since) -> Sent | None:
        """The message to ``to`` with exactly this ``body`` that Twilio took since ``since``
        (an attempt whose answer was lost), or None. Any failure to ask is transient: the
        caller must not send while it cannot know."""
        from twilio.base.exceptions import TwilioException

        try:
            # The number's newest messages (the SMS limits keep them few per hour). Not
            # filtered by DateSent: a message Twilio still queues has no sent date yet.
            found = self.client.messages.list(to=to, limit=LOOKUP_PAGE)
        except (TwilioException, requests.RequestException, json.JSONDecodeError) as exc:
            raise TransientSmsError("lookup", type(exc).__name__) from None
        # A code's text is unique to its challenge; a notice's may repeat, hence the date.
        after = since - LOOKUP_CLOCK_SKEW
        for message in found:
            if message.body == body and (
                message.date_created is None or message.date_created >= after
            ):
                return Sent(provider_id=message.sid, status=message.status or "queued")
        return None


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the request never reached the provider (refused, DNS), so a retry is safe."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)
