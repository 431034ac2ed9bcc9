"""``challenge_issue(to=...)``: a code to another number than the registered one (a new
number being verified), with the per-number limit counted on that number."""

import pytest
from django.utils.translation import gettext_noop

from tests.conftest import outbox_code
from tokens import exceptions, services
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db
NEW = "+6281311112222"


def issue(user, n=0, **kwargs):
    return services.challenge_issue(
        user=user, purpose="phone_verify", summary={"n": n},
        text=gettext_noop("verifying your new mobile number %(new)s"), text_params={"new": "x"},
        **kwargs,
    )


def test_default_goes_to_the_registered_number(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = issue(customer)
    assert str(challenge.sms.to) == str(customer.phone)


def test_to_sends_there(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        challenge = issue(customer, to=NEW)
    assert str(challenge.sms.to) == NEW
    assert outbox_code(to=NEW) == services.code_generator.code(challenge)


def test_per_number_limit_counts_the_other_number(customer, other_customer, settings):
    settings.OTP_SMS_PHONE_LIMIT = 2
    settings.OTP_SMS_USER_LIMIT = 100
    issue(customer, 1, to=NEW)
    issue(customer, 2, to=NEW)
    with pytest.raises(exceptions.SmsLimitReached):
        issue(other_customer, 3, to=NEW)
    issue(customer, 4)  # the registered number has its own count
    assert SmsMessage.objects.filter(to=NEW).count() == 2


def test_token_user_gets_an_sms_only_with_to(customer):
    customer.confirmation_method = "hardware_token"
    customer.save()
    with pytest.raises(exceptions.OtpError):
        issue(customer)
    assert str(issue(customer, to=NEW).sms.to) == NEW
