"""Rules a confirmation must keep, each with a test that fails when the rule is taken out."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import translation

from accounts import services as account_services
from accounts.models import AccessBlock, AuditEvent
from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import TOKEN_HOTP as HOTP
from tokens import exceptions as otp_exceptions
from tokens import services as otp
from tokens.models import HardwareToken, SMSDevice
from tokens.services import code_generator

pytestmark = pytest.mark.django_db




def transfer_new(user, amount, source="1001000011", destination="1002000017"):
    return services.transfer_create(
        user=user, source=BankAccount.objects.get(number=source),
        destination=BankAccount.objects.get(number=destination), amount=Decimal(amount),
        description="",
    )


def sms_transfer(user, amount, **kwargs):
    transfer = transfer_new(user, amount, **kwargs)
    services.transfer_challenge_issue(transfer=transfer)
    transfer = Transfer.objects.select_related("challenge", "initiated_by").get(pk=transfer.pk)
    return transfer, code_generator.code(transfer.challenge)


def balance(number):
    return BankAccount.objects.get(number=number).balance


def in_indonesian(exc):
    with translation.override("id"):
        return str(exc)


# --- The block at confirmation ------------------------------------------------------------


def test_a_blocked_customers_right_code_confirms_nothing(customer, other_customer):
    transfer, code = sms_transfer(customer, "1500000")
    account_services.access_block(user=customer, kind=AccessBlock.Kind.STAFF_FLAG, reason="x")

    with pytest.raises(otp_exceptions.OtpBlocked):
        services.transfer_confirm(transfer=transfer, code=code)

    assert not LedgerEntry.objects.exists()
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.PENDING


def test_a_blocked_token_user_gets_no_new_challenge(token_user, other_customer):
    transfer = transfer_new(token_user, "250000")
    account_services.access_block(user=token_user, kind=AccessBlock.Kind.STAFF_FLAG, reason="x")

    for _ in range(3):
        with pytest.raises(otp_exceptions.OtpBlocked):
            services.transfer_confirm(transfer=transfer, code=HOTP.at(0))

    assert not token_user.challenges.exists()
    assert HardwareToken.objects.get().counter == 0


def test_challenge_verify_refuses_to_run_inside_an_outer_transaction(customer, other_customer):
    transfer, code = sms_transfer(customer, "1500000")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.transfer_confirm(transfer=transfer, code=code)
    assert not LedgerEntry.objects.exists()


# --- The transfer's own state at confirmation ---------------------------------------------


def test_a_transfer_that_failed_for_lack_of_funds_never_completes_later(customer, other_customer):
    transfer, code = sms_transfer(customer, "1500000")
    BankAccount.objects.filter(number="1001000011").update(balance=Decimal("1000"))
    with pytest.raises(exceptions.InsufficientFunds):
        services.transfer_confirm(transfer=transfer, code=code)
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.FAILED

    # The money is back and the same (still unused) code is posted again: nothing moves.
    BankAccount.objects.filter(number="1001000011").update(balance=Decimal("15000000"))
    with pytest.raises(exceptions.NotPending):
        services.transfer_confirm(transfer=transfer, code=code)
    assert not LedgerEntry.objects.exists()
    assert balance("1001000011") == Decimal("15000000.00")


def test_a_token_users_double_submit_shows_the_receipt_and_counts_nothing(
    token_user, other_customer
):
    transfer = transfer_new(token_user, "250000")
    services.transfer_confirm(transfer=transfer, code=HOTP.at(0))

    again = services.transfer_confirm(
        transfer=Transfer.objects.get(pk=transfer.pk), code=HOTP.at(0)
    )

    assert again.status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    token_user.refresh_from_db()
    assert token_user.otp_failure_count == 0
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED).exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_CODE_REUSED).exists()


def test_a_double_submit_through_the_page_shows_the_receipt(
    customer_client, token_user, other_customer
):
    transfer = transfer_new(token_user, "250000")
    url = f"/transfers/{transfer.reference}/confirm/"
    assert customer_client.post(url, {"code": HOTP.at(0)}).status_code == 302
    response = customer_client.post(url, {"code": HOTP.at(0)})
    assert response.status_code == 302
    assert response["Location"] == f"/transfers/{transfer.reference}/"
    token_user.refresh_from_db()
    assert token_user.otp_failure_count == 0


# --- Limits, in the service ---------------------------------------------------------------


def test_transfer_create_refuses_more_than_the_limit_per_transfer(customer, other_customer, settings):
    settings.TRANSFER_MAX_AMOUNT = 5_000_000
    with pytest.raises(exceptions.TransferLimitExceeded) as refused:
        transfer_new(customer, "5000001")
    assert "Rp 5.000.000" in in_indonesian(refused.value)
    assert not Transfer.objects.exists()


def test_a_pending_transfer_above_a_lowered_limit_does_not_complete(
    customer, other_customer, settings
):
    transfer, code = sms_transfer(customer, "10000000")
    settings.TRANSFER_MAX_AMOUNT = 5_000_000

    with pytest.raises(exceptions.TransferLimitExceeded):
        services.transfer_confirm(transfer=transfer, code=code)

    assert not LedgerEntry.objects.exists()
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.FAILED
    assert transfer.failure_reason == "transfer_limit"


@pytest.mark.parametrize("channel", ["sms", "hardware_token"])
def test_the_daily_limit_stops_the_transfer_that_would_cross_it(
    channel, customer, other_customer, settings, request
):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.TRANSFER_MAX_AMOUNT = 4_000_000
    settings.TRANSFER_DAILY_LIMIT = 10_000_000
    if channel == "hardware_token":
        request.getfixturevalue("token_user")
    codes = iter(HOTP.at(n) for n in range(10))

    def confirm(amount):
        if channel == "sms":
            transfer, code = sms_transfer(customer, amount)
        else:
            transfer, code = transfer_new(customer, amount), None
        # A token code is read off the token when it is typed: the next one then.
        return transfer, lambda: services.transfer_confirm(
            transfer=transfer, code=code or next(codes)
        )

    # Started while the day was still free; confirmed once 8 of the 10 are used: refused.
    pending, go_late = confirm("3000000")
    for _ in range(2):
        _, go = confirm("4000000")
        assert go().status == Transfer.Status.COMPLETED

    with pytest.raises(exceptions.DailyLimitExceeded) as refused:
        go_late()

    message = in_indonesian(refused.value)
    assert "Rp 10.000.000" in message and "Rp 8.000.000" in message and "Rp 2.000.000" in message
    assert Transfer.objects.get(pk=pending.pk).status == Transfer.Status.FAILED
    assert balance("1001000011") == Decimal("7000000.00")
    # What is left of the day still goes.
    _, go = confirm("2000000")
    assert go().status == Transfer.Status.COMPLETED


def test_transfer_create_tells_at_once_when_the_day_is_used_up(customer, other_customer, settings):
    settings.TRANSFER_DAILY_LIMIT = 1_000_000
    transfer, code = sms_transfer(customer, "1000000")
    services.transfer_confirm(transfer=transfer, code=code)
    with pytest.raises(exceptions.DailyLimitExceeded):
        transfer_new(customer, "1")


# --- One SMS device per customer ----------------------------------------------------------


def test_the_database_refuses_a_second_sms_device(customer):
    otp.sms_device_for(customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        SMSDevice.objects.create(user=customer, name="SMS", confirmed=True)
    assert otp.sms_device_for(customer) == SMSDevice.objects.get(user=customer)


def test_nothing_after_the_money_moved_can_fail_the_confirmation(
    customer_client, customer, other_customer, monkeypatch
):
    """The session's device is resolved before the money moves: if that fails, nothing
    moved; it can no longer fail after a completed transfer."""
    transfer, code = sms_transfer(customer, "1500000")

    def broken(user):
        raise RuntimeError("device lookup failed")

    monkeypatch.setattr(otp, "sms_device_for", broken)
    with pytest.raises(RuntimeError):
        customer_client.post(f"/transfers/{transfer.reference}/confirm/", {"code": code})
    assert not LedgerEntry.objects.exists()
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.PENDING


def test_a_resubmission_of_a_confirmed_intent_is_answered_as_such_even_when_blocked(
    customer, other_customer
):
    """Two tabs: one confirmed, then the customer got blocked (by other failures) before the
    second tab's request took the lock: that request shows the receipt, not the block."""
    transfer, code = sms_transfer(customer, "1500000")
    services.transfer_confirm(transfer=transfer, code=code)
    account_services.access_block(user=customer, kind=AccessBlock.Kind.STAFF_FLAG, reason="x")

    with pytest.raises(otp_exceptions.ChallengeUsed), otp.challenge_verify(
        user=customer, purpose=services.TRANSFER_PURPOSE,
        summary=services.transfer_intent(transfer), code=code, challenge=transfer.challenge,
    ):
        raise AssertionError("the action must not run again")
    stale = Transfer.objects.select_related("challenge", "initiated_by").get(pk=transfer.pk)
    stale.status = Transfer.Status.PENDING  # what a request read before the other committed
    assert services.transfer_confirm(transfer=stale, code=code).status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2


def test_a_blocked_customers_confirm_page_says_so_and_offers_no_form(
    customer_client, customer, other_customer
):
    transfer, _ = sms_transfer(customer, "1500000")
    account_services.access_block(user=customer, kind=AccessBlock.Kind.OTP_FAILURES, reason="5")
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert in_indonesian(otp_exceptions.OtpBlocked()) in page
    assert 'name="code"' not in page and "otp-issue" not in page


def test_a_transfer_refused_for_good_at_confirmation_goes_to_its_receipt_with_the_reason(
    customer_client, customer, other_customer, settings
):
    """Not a problem with the code: the customer is not left on a live OTP form with the
    message under the code field; the receipt says it failed, why, and that nothing moved."""
    transfer, code = sms_transfer(customer, "3000000")
    settings.TRANSFER_DAILY_LIMIT = 2_000_000
    response = customer_client.post(
        f"/transfers/{transfer.reference}/confirm/", {"code": code}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/transfers/{transfer.reference}/"
    page = response.content.decode()
    assert "Rp 2.000.000" in page  # the refusal, with the amounts, as a message
    with translation.override("id"):
        assert str(Transfer.FAILURE_REASONS["daily_limit"]) in page
    assert 'name="code"' not in page
    assert not LedgerEntry.objects.exists()


def test_the_limit_per_transfer_is_told_in_rupiah_on_the_form(customer_client, customer, settings):
    settings.TRANSFER_MAX_AMOUNT = 5_000_000
    response = customer_client.post(
        "/transfers/new/",
        {"source": BankAccount.objects.get(number="1001000011").pk, "destination": "1001000029",
         "amount": "5.000.001"},
    )
    assert response.status_code == 200
    assert "Rp 5.000.000" in response.content.decode()
    assert not Transfer.objects.exists()
