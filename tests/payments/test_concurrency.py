"""Races on PostgreSQL: one code, many submissions; two transfers, one account."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from payments import exceptions, services
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import needs_postgres
from tokens import exceptions as otp_exceptions
from tokens.services import code_generator

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(count, target):
    """Start ``count`` threads on ``target(i)`` together; return what each returned or raised."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def pending_transfer(customer, destination_number, amount):
    source = BankAccount.objects.get(number="1001000011")
    destination = BankAccount.objects.get(number=destination_number)
    transfer = services.transfer_create(
        user=customer, source=source, destination=destination, amount=Decimal(amount), description=""
    )
    services.transfer_challenge_issue(transfer=transfer)
    return Transfer.objects.select_related("source", "destination", "challenge", "initiated_by").get(
        pk=transfer.pk
    )


def test_twenty_submissions_of_one_code_move_money_once(customer, other_customer):
    transfer = pending_transfer(customer, "1002000017", "1500000")
    code = code_generator.code(transfer.challenge)

    def submit(_):
        fresh = Transfer.objects.select_related(
            "source", "destination", "challenge", "initiated_by"
        ).get(pk=transfer.pk)
        return services.transfer_confirm(transfer=fresh, code=code)

    results = run_at_once(20, submit)

    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, otp_exceptions.ChallengeUsed) for e in errors), errors
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("9000000.00")
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED


def test_two_transfers_racing_on_one_account_never_overdraw(customer, other_customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    # Each transfer alone fits the balance of Rp 15.000.000; both together do not.
    first = pending_transfer(customer, "1002000017", "10000000")
    second = pending_transfer(customer, "1001000029", "10000000")
    codes = [code_generator.code(first.challenge), code_generator.code(second.challenge)]
    transfers = [first, second]

    results = run_at_once(2, lambda i: services.transfer_confirm(transfer=transfers[i], code=codes[i]))

    completed = [r for r in results if isinstance(r, Transfer)]
    refused = [r for r in results if isinstance(r, exceptions.InsufficientFunds)]
    assert len(completed) == 1 and len(refused) == 1, results
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("5000000.00")
    statuses = sorted(Transfer.objects.values_list("status", flat=True))
    assert statuses == ["completed", "failed"]
    total = sum(BankAccount.objects.values_list("balance", flat=True))
    assert total == Decimal("15000000") + Decimal("50000000") + Decimal("7500000")


def test_opposite_transfers_do_not_deadlock(customer, other_customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    there = pending_transfer(customer, "1002000017", "1000")
    source = BankAccount.objects.get(number="1002000017")
    back = services.transfer_create(
        user=other_customer,
        source=source,
        destination=BankAccount.objects.get(number="1001000011"),
        amount=Decimal("2000"),
        description="",
    )
    services.transfer_challenge_issue(transfer=back)
    back = Transfer.objects.select_related("source", "destination", "challenge", "initiated_by").get(
        pk=back.pk
    )
    pairs = [(there, code_generator.code(there.challenge)), (back, code_generator.code(back.challenge))]

    results = run_at_once(2, lambda i: services.transfer_confirm(transfer=pairs[i][0], code=pairs[i][1]))

    assert all(isinstance(r, Transfer) for r in results), results
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15001000.00")
