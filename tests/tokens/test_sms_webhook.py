"""Twilio's status callback at /sms/status/: signed with X-Twilio-Signature, forward only.

The message under test was really sent: the real twilio SDK against the fake Twilio, so its
provider id is the sid the fake answered.
"""

from urllib.parse import urlencode

import pytest
from django.conf import settings
from twilio.request_validator import RequestValidator

from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import selectors, services
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db

URL = "http://testserver/sms/status/"


@pytest.fixture
def callback_url(settings):
    settings.SMS_STATUS_CALLBACK_URL = URL
    return URL


def issue(user):
    return services.challenge_issue(
        user=user, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
    )


@pytest.fixture
def sent(customer, fake_twilio, django_capture_on_commit_callbacks):
    """An SMS Twilio accepted (its status is "accepted", its provider id the fake's sid)."""
    with django_capture_on_commit_callbacks(execute=True):
        challenge = issue(customer)
    message = SmsMessage.objects.get(challenge=challenge)
    assert message.status == SmsMessage.Status.ACCEPTED
    assert message.provider_id == fake_twilio.sids[0]
    return message


def twilio_params(sid, status, error_code=None):
    """What Twilio posts to a status callback (form fields)."""
    params = {
        "AccountSid": "AC00000000000000000000000000000000",
        "ApiVersion": "2010-04-01",
        "From": "+15005550006",
        "MessageSid": sid,
        "MessageStatus": status,
        "SmsSid": sid,
        "SmsStatus": status,
        "To": "+6281234565678",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def sign(params, url=URL, token=None):
    return RequestValidator(token or settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)


def post(client, params, signature=None, *, signed=True):
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature or sign(params)} if signed else {}
    return client.post(
        "/sms/status/",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )


def reloaded(message):
    message.refresh_from_db()
    return message


@pytest.mark.parametrize(
    ("status", "error_code", "expected"),
    [
        ("sent", None, SmsMessage.Status.SENT),
        ("delivered", None, SmsMessage.Status.DELIVERED),
        ("undelivered", "30003", SmsMessage.Status.UNDELIVERED),
        ("failed", "30006", SmsMessage.Status.FAILED),
    ],
)
def test_signed_callback_moves_the_message(
    client, callback_url, sent, status, error_code, expected
):
    response = post(client, twilio_params(sent.provider_id, status, error_code))
    assert response.status_code == 204
    message = reloaded(sent)
    assert message.status == expected
    assert message.error_code == (error_code or "")


def test_undelivered_code_allows_immediate_resend(
    client, callback_url, sent, customer, fake_twilio, django_capture_on_commit_callbacks
):
    state = selectors.otp_state(user=customer, challenge=sent.challenge)
    assert state.resend_in > 0 and not state.sms_failed  # the cooldown holds while on its way

    response = post(client, twilio_params(sent.provider_id, "undelivered", "30003"))
    assert response.status_code == 204
    state = selectors.otp_state(user=customer, challenge=sent.challenge)
    assert state.sms_failed
    assert state.resend_in == 0

    # And the service agrees with the page: a new code goes out at once.
    with django_capture_on_commit_callbacks(execute=True):
        again = issue(customer)
    assert SmsMessage.objects.get(challenge=again).status == SmsMessage.Status.ACCEPTED
    assert len(fake_twilio.requests) == 2


def test_status_never_moves_backwards(client, callback_url, sent):
    for status in ("sent", "delivered", "sent", "queued", "accepted"):
        assert post(client, twilio_params(sent.provider_id, status)).status_code == 204
    assert reloaded(sent).status == SmsMessage.Status.DELIVERED


def test_late_queued_after_sent_stays_sent(client, callback_url, sent):
    assert post(client, twilio_params(sent.provider_id, "sent")).status_code == 204
    assert post(client, twilio_params(sent.provider_id, "queued")).status_code == 204
    assert reloaded(sent).status == SmsMessage.Status.SENT


def _wrong_token(params):
    return sign(params, token="not-the-auth-token")


def _other_url(params):
    return sign(params, url="https://attacker.example/sms/status/")


def _garbage(params):
    return "bm90IGEgc2lnbmF0dXJl"


@pytest.mark.parametrize("forge", [_wrong_token, _other_url, _garbage], ids=lambda f: f.__name__)
def test_invalid_signature_is_refused_and_changes_nothing(client, callback_url, sent, forge):
    params = twilio_params(sent.provider_id, "undelivered", "30003")
    response = post(client, params, signature=forge(params))
    assert response.status_code == 403
    message = reloaded(sent)
    assert message.status == SmsMessage.Status.ACCEPTED and message.error_code == ""


def test_tampered_fields_are_refused(client, callback_url, sent):
    """A valid signature of "delivered" does not carry a forged "undelivered"."""
    genuine = twilio_params(sent.provider_id, "delivered")
    forged = twilio_params(sent.provider_id, "undelivered", "30003")
    response = post(client, forged, signature=sign(genuine))
    assert response.status_code == 403
    assert reloaded(sent).status == SmsMessage.Status.ACCEPTED


def test_missing_signature_is_refused(client, callback_url, sent):
    response = post(client, twilio_params(sent.provider_id, "delivered"), signed=False)
    assert response.status_code == 403
    assert reloaded(sent).status == SmsMessage.Status.ACCEPTED


def test_unknown_sid_is_accepted_and_changes_nothing(client, callback_url, sent):
    response = post(client, twilio_params("SM" + "f" * 32, "undelivered", "30003"))
    assert response.status_code == 204
    message = reloaded(sent)
    assert message.status == SmsMessage.Status.ACCEPTED and message.error_code == ""


def test_signed_but_incomplete_is_a_bad_request(client, callback_url, sent):
    params = twilio_params(sent.provider_id, "delivered")
    del params["MessageStatus"]
    assert post(client, params).status_code == 400
    assert reloaded(sent).status == SmsMessage.Status.ACCEPTED


def test_only_post(client, callback_url):
    assert client.get("/sms/status/").status_code == 405


def test_without_setting_the_request_url_is_validated(client, settings, sent):
    """No SMS_STATUS_CALLBACK_URL: the signature must cover the URL the request came to."""
    assert settings.SMS_STATUS_CALLBACK_URL == ""
    params = twilio_params(sent.provider_id, "delivered")

    response = post(
        client, params, signature=sign(params, url="https://ib.example.co.id/sms/status/")
    )
    assert response.status_code == 403
    assert reloaded(sent).status == SmsMessage.Status.ACCEPTED

    response = post(client, params, signature=sign(params, url="http://testserver/sms/status/"))
    assert response.status_code == 204
    assert reloaded(sent).status == SmsMessage.Status.DELIVERED


def test_with_setting_the_public_url_is_validated(client, settings, sent):
    """Behind a proxy the request reaches the portal at another URL than Twilio signed."""
    settings.SMS_STATUS_CALLBACK_URL = "https://ib.example.co.id/sms/status/"
    params = twilio_params(sent.provider_id, "delivered")

    response = post(client, params, signature=sign(params, url="http://testserver/sms/status/"))
    assert response.status_code == 403

    response = post(client, params, signature=sign(params, url=settings.SMS_STATUS_CALLBACK_URL))
    assert response.status_code == 204
    assert reloaded(sent).status == SmsMessage.Status.DELIVERED
