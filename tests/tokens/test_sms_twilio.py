"""The SMS pipeline through the real twilio SDK against the fake Twilio (no mocks).

challenge_issue → on_commit → Celery task (eager: the real task code runs inline, retries
included) → sms_deliver → TwilioBackend → HTTP to tests/fakes/twilio.py.
"""

import base64
import logging
import re
import socket
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import serializers
from django.utils import timezone

from accounts.models import AuditEvent
from tests.fakes.twilio import Reply
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import exceptions, selectors, services, tasks
from tokens.models import Challenge, OutboxMessage, SmsMessage
from tokens.sms import Sent, TransientSmsError, UncertainSmsError

pytestmark = pytest.mark.django_db

PHONE = "+6281234565678"
CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")
WARNING_RE = re.compile(r"NEVER GIVE|JANGAN BERIKAN")


@pytest.fixture
def issue(customer, django_capture_on_commit_callbacks, caplog):
    """Issue a transfer challenge; its on_commit send runs unless ``send=False``.

    Returns the challenge, and with ``send=False`` also the captured callbacks to run later.
    An eager task swallows its exceptions into an EagerResult (and eager propagation would
    break retries), so a task that failed is found by the error Celery logs for it.
    """

    def issue_(user=customer, *, send=True):
        with django_capture_on_commit_callbacks(execute=send) as callbacks:
            challenge = services.challenge_issue(
                user=user, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
            )
        assert len(callbacks) == 1
        assert_no_task_failed(caplog)
        return challenge if send else (challenge, callbacks)

    return issue_


def assert_no_task_failed(caplog):
    failures = [
        r for r in caplog.records if r.name.startswith("celery") and r.levelno >= logging.ERROR
    ]
    assert not failures, failures[0].getMessage()


def sms_of(challenge) -> SmsMessage:
    return SmsMessage.objects.get(challenge=challenge)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Success ------------------------------------------------------------------------------


def test_sms_sent_once_with_code_amount_masked_account_and_warning(fake_twilio, issue, settings):
    challenge = issue()

    assert len(fake_twilio.requests) == 1
    request = fake_twilio.requests[0]
    assert request.path == f"/2010-04-01/Accounts/{settings.TWILIO_ACCOUNT_SID}/Messages.json"
    user, password = base64.b64decode(request.authorization.split()[1]).decode().split(":", 1)
    assert (user, password) == (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    form = request.form
    assert form["To"] == PHONE
    assert form["From"] == settings.TWILIO_FROM
    assert "StatusCallback" not in form  # none configured
    # A stale OTP is never delivered: Twilio drops it when the code expires.
    assert (
        settings.OTP_CODE_LIFETIME - 5 <= int(form["ValidityPeriod"]) <= settings.OTP_CODE_LIFETIME
    )
    body = form["Body"]
    assert CODE_RE.findall(body) == [services.code_generator.code(challenge)]
    assert "Rp 1.500.000" in body and "****0017" in body
    assert "1002000017" not in body  # the account is masked
    assert WARNING_RE.search(body), body

    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    assert message.attempts == 1 and message.error_code == ""
    assert str(message.to) == PHONE
    assert OutboxMessage.objects.count() == 0  # the twilio backend writes nothing down


def test_sms_text_in_customers_language(fake_twilio, issue, customer):
    customer.language = "en"
    customer.save(update_fields=["language"])
    challenge = issue()
    code = services.code_generator.code(challenge)
    assert fake_twilio.requests[0].form["Body"] == (
        f"Bank Nusantara: OTP {code} for transfer Rp 1.500.000 to acct ****0017. Valid 5 "
        "minutes. NEVER GIVE this code to anyone, including bank staff."
    )


def test_messaging_service_and_status_callback_are_sent(fake_twilio, issue, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "0" * 32
    settings.SMS_STATUS_CALLBACK_URL = "https://ib.example.co.id/sms/status/"
    issue()
    form = fake_twilio.requests[0].form
    assert form["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID
    assert "From" not in form
    assert form["StatusCallback"] == "https://ib.example.co.id/sms/status/"


def test_slow_answer_within_timeout_succeeds(fake_twilio, issue):
    fake_twilio.script(Reply(delay=0.5))
    challenge = issue()
    assert len(fake_twilio.requests) == 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]


# --- Transient errors: retried ------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        Reply(status=429, code=20429),
        Reply(status=500),
        Reply(status=503),
        # The SDK raises RFC 9457 answers as TwilioServiceException, not TwilioRestException.
        Reply(status=503, rfc9457=True),
        Reply(status=429, code=20429, rfc9457=True),
    ],
    ids=["429-20429", "500", "503", "503-rfc9457", "429-rfc9457"],
)
def test_transient_error_then_success_is_retried_once(fake_twilio, issue, error):
    fake_twilio.script(error, Reply())
    challenge = issue()

    assert len(fake_twilio.requests) == 2
    first, second = fake_twilio.requests
    assert first.form["Body"] == second.form["Body"]  # the same code, sent again
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    assert message.attempts == 2 and message.error_code == ""


@pytest.mark.parametrize("max_retries", [0, 3])
def test_transient_errors_all_the_way_give_up_as_failed(fake_twilio, issue, settings, max_retries):
    settings.SMS_SEND_MAX_RETRIES = max_retries
    fake_twilio.default = Reply(status=503)
    challenge = issue()

    assert len(fake_twilio.requests) == max_retries + 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.FAILED
    assert message.error_code == "503"
    assert message.attempts == max_retries + 1
    assert message.provider_id is None


def test_default_retry_budget(fake_twilio, issue, settings):
    fake_twilio.default = Reply(status=429, code=20429)
    challenge = issue()
    assert len(fake_twilio.requests) == settings.SMS_SEND_MAX_RETRIES + 1
    assert sms_of(challenge).status == SmsMessage.Status.FAILED
    assert sms_of(challenge).error_code == "20429"


def test_connection_refused_is_retried_then_fails_quietly(fake_twilio, issue, settings):
    settings.TWILIO_API_BASE_URL = f"http://127.0.0.1:{closed_port()}"
    challenge, _ = issue(send=False)
    result = tasks.challenge_sms_send.apply(args=[str(challenge.pk)])
    assert result.state == "SUCCESS", result.traceback  # no exception escapes the task

    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.FAILED
    assert message.error_code == "network"
    assert message.attempts == settings.SMS_SEND_MAX_RETRIES + 1
    assert fake_twilio.requests == []
    # Failed: the customer may ask for a new code at once.
    assert selectors.otp_state(user=challenge.user, challenge=challenge).resend_in == 0


def test_no_retry_when_the_code_would_be_nearly_expired(fake_twilio, issue, settings):
    """A retry late in the code's life is pointless: give up and let the customer resend."""
    challenge, callbacks = issue(send=False)
    fake_twilio.default = Reply(status=503)
    with time_machine.travel(challenge.created_at + timedelta(seconds=250), tick=True):
        callbacks[0]()

    assert len(fake_twilio.requests) == 1
    # Twilio's validity follows the code's remaining lifetime.
    assert int(fake_twilio.requests[0].form["ValidityPeriod"]) <= 50
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.FAILED and message.error_code == "503"


# --- Permanent errors: never retried ------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        Reply(status=400, code=21211),  # invalid 'To' number
        Reply(status=400, code=21610),  # unsubscribed recipient
        Reply(status=400, code=21614),  # not a mobile number
        Reply(status=401, code=20003),  # authentication: no retry can fix it
        Reply(status=400, code=21211, rfc9457=True),
    ],
    ids=["21211", "21610", "21614", "20003", "21211-rfc9457"],
)
def test_permanent_error_fails_at_once_and_allows_resend(fake_twilio, issue, error):
    fake_twilio.script(error)
    challenge = issue()

    assert len(fake_twilio.requests) == 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.FAILED
    assert message.error_code == str(error.code)
    assert message.attempts == 1
    assert selectors.otp_state(user=challenge.user, challenge=challenge).resend_in == 0

    # The last SMS failed, so the cooldown is waived: a new code goes out at once.
    again = issue()
    assert len(fake_twilio.requests) == 2
    assert sms_of(again).status == SmsMessage.Status.ACCEPTED
    challenge.refresh_from_db()
    assert challenge.status == Challenge.Status.VOIDED


def test_resend_too_soon_after_a_successful_sms(fake_twilio, issue):
    """The contrast to the test above: the cooldown holds while the SMS is on its way."""
    issue()
    with pytest.raises(exceptions.ResendTooSoon):
        issue()
    assert len(fake_twilio.requests) == 1


# --- Uncertain outcomes: asked before sent again (Twilio may have the message) ----------


def test_timeout_after_twilio_took_it_is_found_not_sent_twice(fake_twilio, issue, settings):
    """The request reached Twilio, the answer was lost: the retry asks Twilio (the number's
    messages since the SMS row was made), finds the same text, records it, sends nothing."""
    assert settings.TWILIO_TIMEOUT == 2.0
    fake_twilio.script(Reply(delay=3))
    started = time.monotonic()
    challenge = issue()
    elapsed = time.monotonic() - started

    assert 1.9 <= elapsed < 3, elapsed  # the explicit timeout, not the fake, ended the call
    assert len(fake_twilio.messages()) == 1
    assert len(fake_twilio.lookups()) == 1
    assert fake_twilio.lookups()[0].form["To"] == PHONE
    assert list(fake_twilio.count_by_body().values()) == [1]
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    assert message.attempts == 2


def test_timeout_before_twilio_took_it_is_sent_again_once(fake_twilio, issue):
    fake_twilio.script(Reply(status=503, delay=3))  # the answer (an error) comes too late
    challenge = issue()

    assert len(fake_twilio.messages()) == 2
    assert len(fake_twilio.lookups()) == 1
    assert list(fake_twilio.count_by_body().values()) == [1]
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]


def test_lookup_failing_is_retried_and_never_sends_blind(fake_twilio, issue):
    # timeout (taken), the lookup refused, the lookup again: found.
    fake_twilio.script(Reply(delay=3), Reply(status=503), Reply(status=200))
    challenge = issue()

    assert len(fake_twilio.messages()) == 1
    assert len(fake_twilio.lookups()) == 2
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    assert message.attempts == 3


def test_uncertain_all_the_way_stays_unknown_and_says_delayed(fake_twilio, issue, settings):
    settings.SMS_SEND_MAX_RETRIES = 1
    fake_twilio.script(Reply(delay=3), Reply(status=503))
    challenge = issue()

    assert len(fake_twilio.messages()) == 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.UNKNOWN
    state = selectors.otp_state(user=challenge.user, challenge=challenge)
    assert state.sms_delayed  # the page says "SMS tertunda"


def test_connection_lost_after_sending_is_found_not_sent_twice(fake_twilio, issue):
    fake_twilio.script(Reply(drop=True))
    challenge = issue()

    assert len(fake_twilio.messages()) == 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]


def test_unreadable_answer_is_found_not_sent_twice(fake_twilio, issue):
    """Twilio said 201 but the body is not JSON (a proxy, a truncated answer): it exists."""
    fake_twilio.script(Reply(body=b"<html>gateway</html>"))
    challenge, _ = issue(send=False)
    result = tasks.challenge_sms_send.apply(args=[str(challenge.pk)])
    assert result.state == "SUCCESS", result.traceback

    assert len(fake_twilio.messages()) == 1
    message = sms_of(challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]


def test_sending_left_by_a_dead_worker_is_taken_over_after_the_lease(fake_twilio, issue, settings):
    """A worker killed while Twilio held its request leaves the message "sending"; within the
    lease nobody touches it, after it the redelivered task asks Twilio and finds it."""
    challenge, _ = issue(send=False)
    fake_twilio.script(Reply(drop=True))  # taken; the worker never learns it
    with pytest.raises(UncertainSmsError):
        services.sms_deliver(challenge_id=challenge.pk)
    SmsMessage.objects.filter(challenge=challenge).update(status=SmsMessage.Status.SENDING)

    assert services.sms_deliver(challenge_id=challenge.pk) is None  # within the lease
    later = timezone.now() + timedelta(seconds=settings.SMS_SEND_LEASE + 1)
    with time_machine.travel(later, tick=False):
        message = services.sms_deliver(challenge_id=challenge.pk)

    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    assert len(fake_twilio.messages()) == 1


class LateFirstAnswer:
    """An SMS backend whose first send answers only after the lease ran out, by which time a
    second worker took the message over and sent it (``takeover`` runs inside that send)."""

    takeover = None

    def find(self, *, to, body, since):
        return None

    def send(self, *, to, body, validity_period, status_callback):
        if LateFirstAnswer.takeover is not None:
            takeover, LateFirstAnswer.takeover = LateFirstAnswer.takeover, None
            takeover()
            return Sent("SM-late", "accepted")
        return Sent("SM-takeover", "queued")


def test_an_answer_after_a_takeover_does_not_overwrite_the_takeover(issue, settings):
    """A worker whose provider answered after the lease lost the message to a second worker:
    what the second one recorded stands (its provider id is the one status callbacks name)."""
    settings.SMS_BACKEND = "tests.tokens.test_sms_twilio.LateFirstAnswer"
    challenge, _ = issue(send=False)
    taken = []

    def takeover():
        later = timezone.now() + timedelta(seconds=settings.SMS_SEND_LEASE + 1)
        with time_machine.travel(later, tick=False):
            taken.append(services.sms_deliver(challenge_id=challenge.pk))

    LateFirstAnswer.takeover = takeover
    services.sms_deliver(challenge_id=challenge.pk)

    assert taken[0].provider_id == "SM-takeover"
    message = sms_of(challenge)
    assert (message.provider_id, message.status, message.attempts) == (
        "SM-takeover",
        SmsMessage.Status.ACCEPTED,
        2,
    )


class LateAfterUnknown:
    """The first send answers after the lease; meanwhile the takeover's send ends uncertain."""

    takeover = None

    def find(self, *, to, body, since):
        return None

    def send(self, *, to, body, validity_period, status_callback):
        if LateAfterUnknown.takeover is not None:
            takeover, LateAfterUnknown.takeover = LateAfterUnknown.takeover, None
            takeover()
            return Sent("SM-late", "accepted")
        raise UncertainSmsError("timeout", "no answer in time")


def test_a_late_acceptance_is_kept_when_the_takeover_ended_without_one(issue, settings):
    """The takeover ended ``unknown`` with no provider id: the late attempt's acceptance is the
    only news of the message and is recorded (its status callbacks then find it)."""
    settings.SMS_BACKEND = "tests.tokens.test_sms_twilio.LateAfterUnknown"
    challenge, _ = issue(send=False)

    def takeover():
        later = timezone.now() + timedelta(seconds=settings.SMS_SEND_LEASE + 1)
        with time_machine.travel(later, tick=False), pytest.raises(UncertainSmsError):
            services.sms_deliver(challenge_id=challenge.pk)

    LateAfterUnknown.takeover = takeover
    services.sms_deliver(challenge_id=challenge.pk)

    message = sms_of(challenge)
    assert (message.status, message.provider_id) == (SmsMessage.Status.ACCEPTED, "SM-late")
    assert services.sms_status_update(provider_id="SM-late", status="delivered")


class TransientAfterTakeover:
    """The first send fails (transient) only after a takeover has sent the message."""

    takeover = None

    def find(self, *, to, body, since):
        return None

    def send(self, *, to, body, validity_period, status_callback):
        if TransientAfterTakeover.takeover is not None:
            takeover, TransientAfterTakeover.takeover = TransientAfterTakeover.takeover, None
            takeover()
            raise TransientSmsError("503", "busy")
        return Sent("SM-takeover", "queued")


def test_an_attempt_that_lost_its_claim_does_not_ask_for_a_retry(issue, settings):
    """Its error is not the message's any more: no second retry chain (which could end in
    ``sms_give_up`` failing a message another attempt holds)."""
    settings.SMS_BACKEND = "tests.tokens.test_sms_twilio.TransientAfterTakeover"
    challenge, _ = issue(send=False)

    def takeover():
        later = timezone.now() + timedelta(seconds=settings.SMS_SEND_LEASE + 1)
        with time_machine.travel(later, tick=False):
            services.sms_deliver(challenge_id=challenge.pk)

    TransientAfterTakeover.takeover = takeover
    services.sms_deliver(challenge_id=challenge.pk)  # does not raise

    message = sms_of(challenge)
    assert (message.status, message.provider_id) == (SmsMessage.Status.ACCEPTED, "SM-takeover")


# --- At most once -------------------------------------------------------------------------


def test_never_sent_twice_for_the_same_challenge(fake_twilio, issue):
    challenge = issue()
    assert len(fake_twilio.requests) == 1

    assert services.sms_deliver(challenge_id=challenge.pk) is None
    # A redelivered task (acks_late) finds the message claimed too.
    tasks.challenge_sms_send.delay(str(challenge.pk))
    assert len(fake_twilio.requests) == 1
    assert sms_of(challenge).attempts == 1


def test_sms_deliver_twice_sends_once(fake_twilio, issue):
    challenge, _ = issue(send=False)
    first = services.sms_deliver(challenge_id=challenge.pk)
    second = services.sms_deliver(challenge_id=challenge.pk)

    assert first is not None and first.status == SmsMessage.Status.ACCEPTED
    assert second is None
    assert len(fake_twilio.requests) == 1


def test_expired_challenge_sends_nothing(fake_twilio, issue, settings):
    challenge, callbacks = issue(send=False)
    later = challenge.created_at + timedelta(seconds=settings.OTP_CODE_LIFETIME + 1)
    with time_machine.travel(later, tick=False):
        callbacks[0]()  # the queued task, run late
        assert services.sms_deliver(challenge_id=challenge.pk) is None

    assert fake_twilio.requests == []
    assert sms_of(challenge).status == SmsMessage.Status.PENDING
    assert sms_of(challenge).attempts == 0


def test_voided_challenge_sends_nothing(fake_twilio, issue, settings):
    """A task that runs after a newer code was issued for the same action stays silent."""
    old, old_callbacks = issue(send=False)
    with time_machine.travel(
        timezone.now() + timedelta(seconds=settings.OTP_RESEND_COOLDOWN + 1), tick=False
    ):
        new = issue()
        old_callbacks[0]()

    assert len(fake_twilio.requests) == 1
    assert CODE_RE.findall(fake_twilio.requests[0].form["Body"]) == [
        services.code_generator.code(new)
    ]
    # Never sent, and it says so (it would otherwise wait "to be sent" forever).
    assert (sms_of(old).status, sms_of(old).error_code) == (SmsMessage.Status.FAILED, "voided")
    old.refresh_from_db()
    assert old.status == Challenge.Status.VOIDED


# --- No secret leaks ----------------------------------------------------------------------


def test_code_is_in_no_log_record_and_no_row(fake_twilio, issue, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="twilio")
    fake_twilio.script(Reply(status=503), Reply())
    challenge = issue()

    code = services.code_generator.code(challenge)
    assert code in fake_twilio.requests[1].form["Body"]  # it did go out, to the phone only
    assert sms_of(challenge).status == SmsMessage.Status.ACCEPTED
    assert caplog.records, "nothing was logged: the check below would prove nothing"
    # Standalone six digits (not inside a phone number or a timestamp's microseconds).
    secret = re.compile(rf"(?<![\d.]){code}(?!\d)")
    for record in caplog.records:
        text = " ".join([record.getMessage(), str(record.args), record.exc_text or ""])
        assert not secret.search(text), f"code logged by {record.name}: {record.getMessage()}"
    for model in (SmsMessage, Challenge, AuditEvent, OutboxMessage):
        dumped = serializers.serialize("json", model.objects.all())
        assert not secret.search(dumped), f"code stored in {model.__name__}"
