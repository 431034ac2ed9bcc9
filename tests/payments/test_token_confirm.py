"""A token user confirms with the code from their hardware token: no SMS, same dynamic linking."""

from decimal import Decimal

import pytest
from django.utils import translation

from accounts.models import User
from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import TOKEN_HOTP as HOTP
from tokens import exceptions
from tokens.models import Challenge, HardwareToken, SmsMessage

pytestmark = pytest.mark.django_db




def new_transfer(user, amount="250000"):
    return services.transfer_create(
        user=user, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal(amount),
        description="",
    )


def text(exc_class):
    with translation.override("id"):
        return str(exc_class())


def test_confirm_page_has_no_generate_otp_for_a_token_user(customer_client, token_user, other_customer):
    transfer = new_transfer(token_user)
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert "otp-issue" not in page and 'autocomplete="one-time-code"' in page
    response = customer_client.post(f"/transfers/{transfer.reference}/otp/", follow=True)
    assert text(exceptions.TokenMakesTheCode) in response.content.decode()
    assert not SmsMessage.objects.exists()


def test_token_code_confirms_once_and_is_bound_to_the_intent(customer_client, token_user, other_customer):
    first, second = new_transfer(token_user), new_transfer(token_user)
    response = customer_client.post(f"/transfers/{first.reference}/confirm/", {"code": HOTP.at(0)})
    assert response.status_code == 302
    assert Transfer.objects.get(pk=first.pk).status == Transfer.Status.COMPLETED
    # The same code again, now for another transfer: refused, nothing moves.
    response = customer_client.post(f"/transfers/{second.reference}/confirm/", {"code": HOTP.at(0)})
    assert response.status_code == 200
    assert Transfer.objects.get(pk=second.pk).status == Transfer.Status.PENDING
    token_user.refresh_from_db()
    assert token_user.otp_failure_count == 1
    # The next code confirms the second one.
    response = customer_client.post(f"/transfers/{second.reference}/confirm/", {"code": HOTP.at(1)})
    assert response.status_code == 302
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("14500000.00")
    challenges = Challenge.objects.filter(channel="hardware_token", status="consumed")
    assert challenges.count() == 2


def test_lost_token_confirms_nothing_until_staff_switch_sms_on(customer_client, token_user, other_customer):
    HardwareToken.objects.update(state=HardwareToken.State.LOST)
    transfer = new_transfer(token_user)
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert text(exceptions.NoUsableToken) in page and "otp-confirm" not in page
    response = customer_client.post(f"/transfers/{transfer.reference}/confirm/", {"code": HOTP.at(0)})
    assert text(exceptions.NoUsableToken) in response.content.decode()
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.PENDING
    User.objects.filter(pk=token_user.pk).update(confirmation_method="sms")
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert "otp-issue" in page


def test_a_token_user_is_never_told_to_press_generate_otp(customer_client, token_user, other_customer):
    transfer = new_transfer(token_user)
    url = f"/transfers/{transfer.reference}/confirm/"
    wrong = f"{(int(HOTP.at(0)) + 1) % 10**6:06d}"
    for _ in range(4):  # past the three tries a challenge allows
        page = customer_client.post(url, {"code": wrong}).content.decode()
        assert text(exceptions.TokenWrongCode) in page
        assert "Generate OTP" not in page and "otp-issue" not in page
