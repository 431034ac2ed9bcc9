"""Reads of the payments app that pages need (other apps' pages through their views only):
the account statement (Mutasi Rekening), the dashboard's last movements, whether a customer
holds an account number.

A movement is one leg of a transfer (``LedgerEntry``): its amount, and the running balance the
transfer wrote when it moved the money (``balance_after``). Nothing here adds amounts up again.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, QuerySet
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .models import BankAccount, LedgerEntry, Transfer

# Newest first; two legs written in one instant keep the order they were written in.
NEWEST_FIRST = ("-created_at", "-pk")
OLDEST_FIRST = ("created_at", "pk")


def customer_accounts(*, user: User) -> QuerySet[BankAccount]:
    """The accounts a customer holds: the only ones whose statement they may read. A
    corporate user holds the company's accounts (and no one else's)."""
    if user.company_id is not None:
        return BankAccount.objects.filter(company_id=user.company_id)
    return BankAccount.objects.filter(owner=user)


def entries_with_transfer(queryset: QuerySet[LedgerEntry]) -> QuerySet[LedgerEntry]:
    """Ledger legs with what a statement line shows of them in the same query: the transfer's
    reference and description and both sides' account and holder (the counterparty): a
    company's account is named by the company, not by the user who owns it in the database."""
    return queryset.select_related(
        "transfer__source__owner",
        "transfer__destination__owner",
        "transfer__source__company",
        "transfer__destination__company",
    ).only(
        "account_id",
        "amount",
        "balance_after",
        "created_at",
        "transfer__reference",
        "transfer__description",
        "transfer__source__number",
        "transfer__source__company_id",
        "transfer__source__owner__full_name",
        "transfer__source__company__name",
        "transfer__destination__number",
        "transfer__destination__company_id",
        "transfer__destination__owner__full_name",
        "transfer__destination__company__name",
    )


@dataclass(frozen=True)
class Movement:
    """One line of a statement, as the customer reads it."""

    created_at: datetime
    reference: str
    description: str
    counterparty_name: str
    counterparty_number: str
    amount: Decimal  # negative for a debit
    balance_after: Decimal

    @property
    def is_credit(self) -> bool:
        return self.amount > 0

    @property
    def debit(self) -> Decimal | None:
        return -self.amount if self.amount < 0 else None

    @property
    def credit(self) -> Decimal | None:
        return self.amount if self.amount > 0 else None

    @property
    def kind(self) -> str:
        return _("Incoming transfer") if self.is_credit else _("Outgoing transfer")


def movement_from_entry(entry: LedgerEntry) -> Movement:
    """The statement line of one leg: the other side of its transfer is the counterparty
    (the source for a credit, the destination for a debit)."""
    transfer = entry.transfer
    other = transfer.source if entry.amount > 0 else transfer.destination
    return Movement(
        created_at=timezone.localtime(entry.created_at),
        reference=transfer.reference,
        description=transfer.description,
        counterparty_name=other.holder_name,
        counterparty_number=other.number,
        amount=entry.amount,
        balance_after=entry.balance_after,
    )


def movements(entries) -> list[Movement]:
    return [movement_from_entry(entry) for entry in entries]


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in Asia/Jakarta (the portal's time zone)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def balance_at(*, account: BankAccount, moment: datetime) -> Decimal:
    """The account's balance at ``moment``, read from the ledger: the running balance of the
    last leg before it; without one, the balance the first leg after it started from; without
    any leg after it either, the balance the account has now (nothing moved since)."""
    legs = LedgerEntry.objects.filter(account=account)
    before = (
        legs.filter(created_at__lt=moment)
        .order_by(*NEWEST_FIRST)
        .values_list("balance_after", flat=True)
        .first()
    )
    if before is not None:
        return before
    after = (
        legs.filter(created_at__gte=moment)
        .order_by(*OLDEST_FIRST)
        .values_list("balance_after", "amount")
        .first()
    )
    if after is not None:
        return after[0] - after[1]
    return account.balance


@dataclass
class Statement:
    """The movements of one account over whole days ``date_from``..``date_to`` (inclusive,
    Asia/Jakarta), with the balance at the start and the end of the period."""

    account: BankAccount
    date_from: date
    date_to: date
    opening_balance: Decimal
    closing_balance: Decimal
    entries: QuerySet[LedgerEntry]  # newest first

    @property
    def entries_oldest_first(self) -> QuerySet[LedgerEntry]:
        return self.entries.order_by(*OLDEST_FIRST)


def statement_get(*, account: BankAccount, date_from: date, date_to: date) -> Statement:
    """The statement of ``account`` for whole days ``date_from``..``date_to`` (Asia/Jakarta).
    The range rules (length, age, future) are the form's; this reads what it is given."""
    start, end = day_start(date_from), day_start(date_to + timedelta(days=1))
    entries = entries_with_transfer(
        LedgerEntry.objects.filter(account=account, created_at__gte=start, created_at__lt=end)
    ).order_by(*NEWEST_FIRST)
    return Statement(
        account=account,
        date_from=date_from,
        date_to=date_to,
        opening_balance=balance_at(account=account, moment=start),
        closing_balance=balance_at(account=account, moment=end),
        entries=entries,
    )


def recent_movements(*, user: User, per_account: int = 5) -> dict[int, list[Movement]]:
    """The last ``per_account`` movements of each of the customer's accounts, by account id,
    in one query (a window numbers each account's legs newest first)."""
    entries = entries_with_transfer(
        LedgerEntry.objects.filter(account__in=customer_accounts(user=user))
        .annotate(
            row=Window(
                RowNumber(),
                partition_by=F("account"),
                order_by=[F("created_at").desc(), F("pk").desc()],
            )
        )
        .filter(row__lte=per_account)
    ).order_by("account_id", *NEWEST_FIRST)
    recent: dict[int, list[Movement]] = {}
    for entry in entries:
        recent.setdefault(entry.account_id, []).append(movement_from_entry(entry))
    return recent


def account_number_held(*, user, number: str) -> bool:
    """True when the bank account ``number`` belongs to ``user`` (the forgotten-password page
    asks it as one proof of identity; it is handed to ``accounts`` by that page's view, so
    accounts imports nothing of payments)."""
    if user is None or not number:
        return False
    return BankAccount.objects.filter(owner=user, number=number).exists()


def company_payments(
    *, user: User, status: str = "", start: date | None = None, end: date | None = None, maker=None
):
    """ "Daftar Pembayaran": every payment of the user's company, whoever of its users made it,
    newest first, filtered by status, whole days ``start``..``end`` (WIB) and maker. Drafts
    (not started) are their maker's alone and listed nowhere."""
    payments = (
        Transfer.objects.started()
        .of_company(user.company_id)
        .select_related(
            "initiated_by", "approved_by", "source", "destination__owner", "destination__company"
        )
    )
    if status:
        payments = payments.filter(status=status)
    if start:
        payments = payments.filter(created_at__gte=day_start(start))
    if end:
        payments = payments.filter(created_at__lt=day_start(end + timedelta(days=1)))
    if maker is not None:
        payments = payments.filter(initiated_by=maker)
    return payments


def approvals_waiting_count(*, user: User) -> int:
    """How many of the company's payments wait for ``user``'s approval now: submitted by
    another of its users and still before their deadline (0 for a retail customer)."""
    if user.company_id is None:
        return 0
    return (
        Transfer.objects.of_company(user.company_id)
        .filter(status=Transfer.Status.WAITING_APPROVAL, approval_deadline__gt=timezone.now())
        .exclude(initiated_by=user)
        .count()
    )
