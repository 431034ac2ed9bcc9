"""A transfer moves money in one currency: the service refuses another, the database too."""

import threading
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import translation

from payments import exceptions, services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_postgres, wait_for
from tests.factories import BankAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def usd_account(other_customer):
    return BankAccountFactory(
        owner=other_customer, number="1002000025", currency="USD", balance="1000.00"
    )


def idr_account():
    return BankAccount.objects.get(number="1001000011")


def transfer_row(source, destination, currency, reference="TRF-CUR-1"):
    """A transfer written straight to the table, past the service."""
    return Transfer.objects.create(
        reference=reference,
        initiated_by=source.owner,
        source=source,
        destination=destination,
        amount=Decimal("1000000.00"),
        currency=currency,
    )


def test_service_refuses_a_destination_in_another_currency(customer, usd_account):
    with pytest.raises(exceptions.CurrencyMismatch):
        services.transfer_create(
            user=customer,
            source=idr_account(),
            destination=usd_account,
            amount=Decimal("1000000"),
            description="",
        )
    assert not Transfer.objects.exists()
    assert BankAccount.objects.get(pk=usd_account.pk).balance == Decimal("1000.00")


def test_the_refusal_speaks_indonesian_and_english():
    with translation.override("id"):
        assert str(exceptions.CurrencyMismatch()) == "Transfer antar mata uang belum didukung."
    with translation.override("en"):
        assert str(exceptions.CurrencyMismatch()) == (
            "Transfers between different currencies are not supported."
        )


def test_database_refuses_a_transfer_into_another_currency(customer, usd_account):
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        transfer_row(idr_account(), usd_account, "IDR")
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        transfer_row(idr_account(), usd_account, "USD")
    assert not Transfer.objects.exists()


def test_database_refuses_a_transfer_in_a_currency_neither_account_has(customer, other_customer):
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        transfer_row(idr_account(), BankAccount.objects.get(number="1002000017"), "USD")


def test_database_accepts_one_currency_end_to_end(customer, other_customer, usd_account):
    usd_source = BankAccountFactory(owner=customer, currency="USD", balance="5000.00")
    transfer_row(usd_source, usd_account, "USD")
    transfer_row(idr_account(), BankAccount.objects.get(number="1002000017"), "IDR", "TRF-CUR-2")
    assert Transfer.objects.count() == 2


def test_database_refuses_an_update_that_mixes_currencies(customer, other_customer, usd_account):
    transfer = services.transfer_create(
        user=customer,
        source=idr_account(),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("1000000"),
        description="",
    )
    rows = Transfer.objects.filter(pk=transfer.pk)
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        rows.update(destination=usd_account)
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        rows.update(currency="USD")
    # Other columns still change freely.
    rows.update(status=Transfer.Status.CANCELLED)
    transfer.refresh_from_db()
    assert (transfer.destination.number, transfer.currency) == ("1002000017", "IDR")
    assert transfer.status == Transfer.Status.CANCELLED


def test_database_refuses_a_new_currency_for_an_account_with_transfers(
    customer, other_customer, usd_account
):
    destination = BankAccount.objects.get(number="1002000017")
    services.transfer_create(
        user=customer, source=idr_account(), destination=destination,
        amount=Decimal("1"), description="",
    )
    with pytest.raises(IntegrityError, match="currency"), transaction.atomic():
        BankAccount.objects.filter(pk=destination.pk).update(currency="USD")
    # An account nothing was ever transferred to or from may still be corrected.
    BankAccount.objects.filter(pk=usd_account.pk).update(currency="EUR")
    assert BankAccount.objects.get(pk=usd_account.pk).currency == "EUR"


# --- Both checks at once on PostgreSQL: a transfer and a change of currency in flight ---------


def in_thread(target):
    """Run ``target`` in a thread with its own connection; returns (thread, outcome)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcome["result"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def held_open(write, written: threading.Event, release: threading.Event):
    """``write`` in a transaction that stays open until ``release`` is set."""

    def run():
        with transaction.atomic():
            write()
            written.set()
            assert release.wait(30)
        return "committed"

    return run


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first", ["transfer", "currency"])
def test_a_transfer_and_a_change_of_currency_in_flight_never_both_commit(
    customer, other_customer, first
):
    destination = BankAccount.objects.get(number="1002000017")

    def write_transfer():
        transfer_row(idr_account(), destination, "IDR")
        return "written"

    def change_currency():
        BankAccount.objects.filter(pk=destination.pk).update(currency="USD")
        return "changed"

    first_write, second_write = (
        (write_transfer, change_currency) if first == "transfer" else (change_currency, write_transfer)
    )
    written, release = threading.Event(), threading.Event()
    holder, held = in_thread(held_open(first_write, written, release))
    try:
        assert written.wait(30), held
        # The second write must wait for the first (or, without the rule, slip past it).
        other, outcome = in_thread(second_write)
        wait_for(lambda: waiting_on_a_lock() or not other.is_alive())
    finally:
        release.set()
    holder.join(30)
    other.join(30)

    assert held["result"] == "committed"
    assert isinstance(outcome["result"], IntegrityError), outcome
    destination.refresh_from_db()
    assert destination.currency == ("IDR" if first == "transfer" else "USD")
    assert Transfer.objects.count() == (1 if first == "transfer" else 0)


def test_the_currency_is_checked_again_when_the_money_moves(customer, other_customer, settings):
    """A transfer made before a rule (here: the portal's currency) may still be pending: the
    service checks the currencies again, under the locks, when the money would move."""
    from tokens.services import code_generator

    transfer = services.transfer_create(
        user=customer, source=idr_account(),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("1000"),
        description="",
    )
    services.transfer_challenge_issue(transfer=transfer)
    transfer.refresh_from_db()
    settings.TRANSFER_CURRENCY = "USD"

    with pytest.raises(exceptions.CurrencyNotSupported):
        services.transfer_confirm(transfer=transfer, code=code_generator.code(transfer.challenge))

    transfer.refresh_from_db()
    assert (transfer.status, transfer.failure_reason) == ("failed", "currency_not_supported")
    assert idr_account().balance == Decimal("15000000.00")


def test_foreign_currency_transfers_are_refused_by_internet_banking(customer, other_customer):
    source = BankAccountFactory(owner=customer, currency="USD", balance="5000.00")
    destination = BankAccountFactory(owner=other_customer, currency="USD", balance="0")
    with pytest.raises(exceptions.CurrencyNotSupported):
        services.transfer_create(
            user=customer, source=source, destination=destination, amount=Decimal("10"),
            description="",
        )
    assert not Transfer.objects.exists()
