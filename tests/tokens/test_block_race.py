"""The OTP block holds under parallel requests (PostgreSQL, real threads).

Every code check of a customer reads the block and counts its failure under one lock on the
customer's row, in the transaction that consumes the challenge: however many guesses arrive
at once, at most ``OTP_MAX_CONSECUTIVE_FAILURES`` are compared with a code, at most
``OTP_MAX_ATTEMPTS`` on one SMS code, and a blocked customer's right code moves nothing.
"""

from decimal import Decimal

import pytest

from accounts.models import AccessBlock, AuditEvent
from payments import exceptions as payment_exceptions
from payments import services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import TOKEN_HOTP as HOTP
from tests.conftest import needs_postgres
from tests.payments.test_concurrency import pending_transfer, run_at_once
from tokens import exceptions
from tokens.models import Challenge, HardwareToken
from tokens.services import code_generator

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]




def fresh(transfer):
    return Transfer.objects.select_related(
        "source", "destination", "challenge", "initiated_by"
    ).get(pk=transfer.pk)


def compared(user) -> int:
    """Codes that were compared and refused: each leaves one ``otp_failed`` audit event."""
    return AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED, subject=user).count()


def wrong_code(right: str) -> str:
    return f"{(int(right) + 1) % 10**6:06d}"


def test_forty_parallel_wrong_token_codes_compare_at_most_five(token_user, other_customer):
    transfer = services.transfer_create(
        user=token_user, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("250000"),
        description="",
    )
    wrong = wrong_code(HOTP.at(0))

    results = run_at_once(
        40, lambda _: services.transfer_confirm(transfer=fresh(transfer), code=wrong)
    )

    assert all(isinstance(r, exceptions.OtpError) for r in results), results
    assert compared(token_user) == 5
    token_user.refresh_from_db()
    assert token_user.otp_failure_count == 5
    assert AccessBlock.objects.filter(user=token_user, kind="otp_failures").active().count() == 1
    # A blocked customer's submit makes no new challenge: at most one per three tries.
    assert Challenge.objects.filter(user=token_user).count() <= 2
    # The right code now moves nothing.
    with pytest.raises(exceptions.OtpBlocked):
        services.transfer_confirm(transfer=fresh(transfer), code=HOTP.at(0))
    assert not LedgerEntry.objects.exists()
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.PENDING
    assert HardwareToken.objects.get().counter == 0


def test_twenty_parallel_wrong_guesses_on_one_sms_code_compare_at_most_three(
    customer, other_customer
):
    transfer = pending_transfer(customer, "1002000017", "1500000")
    right = code_generator.code(transfer.challenge)

    results = run_at_once(
        20, lambda _: services.transfer_confirm(transfer=fresh(transfer), code=wrong_code(right))
    )

    assert all(isinstance(r, exceptions.OtpError) for r in results), results
    assert compared(customer) == 3
    challenge = Challenge.objects.get(pk=transfer.challenge_id)
    assert challenge.attempts == 3 and challenge.status == Challenge.Status.VOIDED
    with pytest.raises(exceptions.ChallengeVoided):
        services.transfer_confirm(transfer=fresh(transfer), code=right)
    assert not LedgerEntry.objects.exists()
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000.00")


def test_a_right_code_racing_with_the_fifth_failure_does_not_confirm(
    customer, other_customer, settings
):
    settings.OTP_RESEND_COOLDOWN = 0
    # Four failures on earlier codes, then the fifth wrong guess and the right code at once:
    # either the right code came first (and the guess then counts against a fresh run), or
    # the block holds and the right code is refused. Never both a block and a transfer.
    for _ in range(2):
        spent = pending_transfer(customer, "1002000017", "1000")
        code = wrong_code(code_generator.code(spent.challenge))
        for _ in range(2):
            with pytest.raises(exceptions.OtpError):
                services.transfer_confirm(transfer=fresh(spent), code=code)
    transfer = pending_transfer(customer, "1002000017", "1500000")
    right = code_generator.code(transfer.challenge)
    codes = [wrong_code(right), right]

    results = run_at_once(
        2, lambda i: services.transfer_confirm(transfer=fresh(transfer), code=codes[i])
    )

    blocked = AccessBlock.objects.filter(user=customer, kind="otp_failures").active().exists()
    completed = Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED
    assert blocked != completed, results
    if blocked:
        assert isinstance(results[1], exceptions.OtpBlocked)
        assert not LedgerEntry.objects.filter(transfer=transfer).exists()


def test_parallel_double_submit_of_a_token_code_confirms_once_and_counts_nothing(
    token_user, other_customer
):
    transfer = services.transfer_create(
        user=token_user, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("250000"),
        description="",
    )

    results = run_at_once(
        2, lambda _: services.transfer_confirm(transfer=fresh(transfer), code=HOTP.at(0))
    )

    assert all(isinstance(r, Transfer) for r in results), results
    assert all(r.status == Transfer.Status.COMPLETED for r in results)
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    assert compared(token_user) == 0
    token_user.refresh_from_db()
    assert token_user.otp_failure_count == 0


def test_daily_limit_holds_when_two_transfers_are_confirmed_at_once(
    customer, other_customer, settings
):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.TRANSFER_DAILY_LIMIT = 15_000_000
    # From two different accounts (two different account locks): only the customer's lock
    # keeps the daily total.
    first = pending_transfer(customer, "1002000017", "10000000")
    source = BankAccount.objects.get(number="1001000029")
    second = services.transfer_create(
        user=customer, source=source, destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("10000000"), description="",
    )
    services.transfer_challenge_issue(transfer=second)
    second = fresh(second)
    pairs = [
        (first, code_generator.code(first.challenge)),
        (second, code_generator.code(second.challenge)),
    ]

    results = run_at_once(
        2, lambda i: services.transfer_confirm(transfer=fresh(pairs[i][0]), code=pairs[i][1])
    )

    completed = [r for r in results if isinstance(r, Transfer)]
    refused = [r for r in results if isinstance(r, payment_exceptions.DailyLimitExceeded)]
    assert len(completed) == 1 and len(refused) == 1, results
    assert LedgerEntry.objects.count() == 2
