"""How long Twilio may keep trying to deliver an SMS (issue 9, item 17).

Twilio's ``ValidityPeriod`` is 1 to 36000 seconds; it refuses a message asking for more (the
portal once asked 86400 for every notice, so in production no notice went out). A code's SMS
must also live no longer than the code. Checked on what the real twilio SDK posts to the fake
Twilio (tests/fakes/twilio.py).
"""

from datetime import timedelta

import pytest
import time_machine
from django.utils.translation import gettext_noop

from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import services

pytestmark = pytest.mark.django_db
NOTICE = gettext_noop("adding payee acct %(destination)s")
TWILIO_MAX = 36000


def posted_validity(fake_twilio) -> int:
    [request] = fake_twilio.requests
    return int(request.form["ValidityPeriod"])


def code_sms(user, capture, *, delay=0):
    """Issue a transfer code; its SMS goes out ``delay`` seconds later (a queue, a retry)."""
    with (
        time_machine.travel("2026-12-01 08:00:00+00:00", tick=False),
        capture(execute=False) as callbacks,
    ):
        challenge = services.challenge_issue(
            user=user, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
        )
    with time_machine.travel(challenge.created_at + timedelta(seconds=delay), tick=False):
        for callback in callbacks:
            callback()
    return challenge


def notice_sms(user, capture):
    with capture(execute=True):
        services.notice_send(user=user, text=NOTICE, params={"destination": "****0017"}, email=False)


@pytest.mark.parametrize("delay", [0, 100, 299])
def test_a_code_sms_lives_no_longer_than_the_code(
    fake_twilio, customer, django_capture_on_commit_callbacks, settings, delay
):
    challenge = code_sms(customer, django_capture_on_commit_callbacks, delay=delay)
    lifetime = (challenge.expires_at - challenge.created_at).total_seconds()
    assert lifetime == settings.OTP_CODE_LIFETIME
    assert 1 <= posted_validity(fake_twilio) <= lifetime - delay


def test_a_notice_asks_a_validity_twilio_accepts(
    fake_twilio, customer, django_capture_on_commit_callbacks
):
    notice_sms(customer, django_capture_on_commit_callbacks)
    assert 1 <= posted_validity(fake_twilio) <= TWILIO_MAX


def test_a_notice_validity_set_too_long_is_capped_at_twilios_limit(
    fake_twilio, customer, django_capture_on_commit_callbacks, settings
):
    settings.SMS_NOTICE_VALIDITY = 24 * 60 * 60  # the old default, perhaps still in an .env
    notice_sms(customer, django_capture_on_commit_callbacks)
    assert posted_validity(fake_twilio) == TWILIO_MAX


def test_a_code_lifetime_set_too_long_is_capped_at_twilios_limit(
    fake_twilio, customer, django_capture_on_commit_callbacks, settings
):
    settings.OTP_CODE_LIFETIME = 12 * 60 * 60
    code_sms(customer, django_capture_on_commit_callbacks)
    assert posted_validity(fake_twilio) == TWILIO_MAX


def test_the_default_notice_validity_is_within_twilios_range(settings):
    assert 1 <= settings.SMS_NOTICE_VALIDITY <= TWILIO_MAX
