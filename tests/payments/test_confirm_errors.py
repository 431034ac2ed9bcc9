"""Every way a confirmation can go wrong: a clear message in the customer's language, no money moved."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone, translation

from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import outbox_code
from tokens import exceptions
from tokens.models import SmsMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(customer, other_customer):
    return services.transfer_create(
        user=customer,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1500000"),
        description="",
    )


@pytest.fixture
def generate(customer_client, django_capture_on_commit_callbacks):
    def press(transfer):
        with django_capture_on_commit_callbacks(execute=True):
            response = customer_client.post(f"/transfers/{transfer.reference}/otp/", follow=True)
        assert response.status_code == 200
        return response

    return press


def confirm(client, transfer, code):
    return client.post(f"/transfers/{transfer.reference}/confirm/", {"code": code})


def expected(exc_class, language="id", **params):
    with translation.override(language):
        return str(exc_class(**params))


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def assert_nothing_moved():
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000.00")
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("7500000.00")


def test_no_code_requested_yet(customer_client, pending):
    response = confirm(customer_client, pending, "123456")
    assert expected(exceptions.NoChallenge) in response.content.decode()
    assert_nothing_moved()


def test_wrong_code(customer_client, pending, generate):
    generate(pending)
    response = confirm(customer_client, pending, wrong(outbox_code()))
    assert response.status_code == 200
    assert expected(exceptions.WrongCode, remaining=2) in response.content.decode()
    assert_nothing_moved()


def test_too_many_tries(customer_client, pending, generate):
    generate(pending)
    code = outbox_code()
    for _ in range(3):
        response = confirm(customer_client, pending, wrong(code))
    assert expected(exceptions.ChallengeVoided) in response.content.decode()
    response = confirm(customer_client, pending, code)
    assert expected(exceptions.ChallengeVoided) in response.content.decode()
    assert_nothing_moved()


def test_expired_code(customer_client, pending, generate, settings):
    settings.TRANSFER_PENDING_LIFETIME = 600  # the code expires; the transfer still waits
    generate(pending)
    code = outbox_code()
    with time_machine.travel(timezone.now() + timedelta(seconds=290)):
        customer_client.get("/dashboard/")  # stay active: the idle timeout is 5 minutes
    with time_machine.travel(timezone.now() + timedelta(seconds=301)):
        response = confirm(customer_client, pending, code)
    assert expected(exceptions.ChallengeExpired) in response.content.decode()
    assert_nothing_moved()


def test_reused_code(customer_client, customer, pending, generate):
    generate(pending)
    code = outbox_code()
    assert confirm(customer_client, pending, code).status_code == 302
    second = services.transfer_create(
        user=customer,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1500000"),
        description="",
    )
    generate(second)
    # The first transfer's code does not confirm the second (same amount, same destination).
    response = confirm(customer_client, second, code)
    assert response.status_code == 200
    assert Transfer.objects.get(pk=second.pk).status == Transfer.Status.PENDING
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")


def test_resend_too_soon(customer_client, pending, generate):
    generate(pending)
    response = generate(pending)
    assert expected(exceptions.ResendTooSoon, seconds=60)[:30] in response.content.decode()
    assert SmsMessage.objects.count() == 1
    assert 'data-resend-in="' in response.content.decode()


def test_sms_failed_allows_a_new_code_at_once(customer_client, pending, generate):
    generate(pending)
    SmsMessage.objects.update(status=SmsMessage.Status.UNDELIVERED, error_code="30003")
    page = customer_client.get(f"/transfers/{pending.reference}/confirm/").content.decode()
    assert "data-resend-in" not in page and "disabled" not in page  # no wait, button enabled
    generate(pending)
    assert SmsMessage.objects.count() == 2


def test_blocked_after_five_failures(customer_client, customer, pending, generate, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    for _ in range(2):
        generate(pending)
        code = outbox_code()
        for _ in range(3):
            response = confirm(customer_client, pending, wrong(code))
            if expected(exceptions.OtpBlocked) in response.content.decode():
                break
    assert expected(exceptions.OtpBlocked) in response.content.decode()
    response = generate(pending)
    assert expected(exceptions.OtpBlocked) in response.content.decode()
    assert_nothing_moved()


def test_messages_follow_the_language(customer_client, pending, generate):
    generate(pending)
    customer_client.post("/language/", {"language": "en", "next": "/dashboard/"})
    response = confirm(customer_client, pending, wrong(outbox_code()))
    assert expected(exceptions.WrongCode, language="en", remaining=2) in response.content.decode()
