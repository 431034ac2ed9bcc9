from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

account_number_validator = RegexValidator(
    r"^[0-9]{10}$", _("An account number has 10 digits."), code="invalid_account_number"
)


class BankAccount(models.Model):
    """A customer's account at the bank. The database itself refuses a negative balance."""

    class Product(models.TextChoices):
        SAVINGS = "savings", _("Savings")
        CURRENT = "current", _("Current account")

    number = models.CharField(
        _("account number"), max_length=10, unique=True, validators=[account_number_validator]
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bank_accounts"
    )
    # A company's account: every user of the company sees it (``selectors.customer_accounts``).
    # The owner stays a User (the company's first user), so every query and the currency
    # triggers of payments/0002 are unchanged; a nullable column is added without a rebuild.
    company = models.ForeignKey(
        "accounts.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bank_accounts",
    )
    product = models.CharField(
        _("product"), max_length=10, choices=Product.choices, default=Product.SAVINGS
    )
    currency = models.CharField(max_length=3, default="IDR")
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="payments_bankaccount_balance_not_negative"
            )
        ]

    def __str__(self):
        return self.number

    @property
    def holder_name(self):
        """Whom the account is for, as the other side reads it: a company's account is the
        company's (its first user only owns it in the database)."""
        if self.company_id is not None:
            return self.company.name
        return self.owner.full_name


class Payee(models.Model):
    """A saved destination; it becomes usable only after the customer confirms it with an OTP."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        ACTIVE = "active", _("Active")
        CANCELLED = "cancelled", _("Cancelled")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payees"
    )
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    nickname = models.CharField(_("nickname"), max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    challenge = models.ForeignKey(
        "tokens.Challenge", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["nickname"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "account"],
                condition=Q(status="active"),
                name="payments_payee_one_active_per_account",
            )
        ]

    def __str__(self):
        return self.nickname


class TransferQuerySet(models.QuerySet):
    def started(self):
        """Transfers the customer went on with (a draft only showed whom an account is for)."""
        return self.exclude(status=Transfer.Status.DRAFT)

    def overdue(self, now=None):
        """Pending transfers whose waiting time (``TRANSFER_PENDING_LIFETIME``, read now) is
        over, and corporate payments whose approval deadline passed: they can never be
        confirmed and are marked expired by ``transfers_expire``."""
        return self.filter(
            Q(status=Transfer.Status.PENDING) & _waited_past(now)
            | Q(
                status=Transfer.Status.WAITING_APPROVAL,
                approval_deadline__lte=now or timezone.now(),
            )
        )

    def of_company(self, company_id):
        """Every payment of a company (from its accounts), whoever of its users made it."""
        return self.filter(source__company_id=company_id)

    def waiting(self, now=None):
        """Pending transfers still within their waiting time: the ones that may be confirmed."""
        return self.filter(status=Transfer.Status.PENDING).exclude(_waited_past(now))


def _waited_past(now=None) -> Q:
    """Started (or, for transfers older than ``started_at``, created) a waiting time ago."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.TRANSFER_PENDING_LIFETIME)
    return Q(started_at__lte=cutoff) | Q(started_at__isnull=True, created_at__lte=cutoff)


class Transfer(models.Model):
    """A movement of money between two accounts of the bank, confirmed with an OTP.

    It starts as a *draft*: the confirmation page shows the recipient's name, and a draft
    nobody went on with (no "Generate OTP", no code) is listed nowhere and is discarded.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Not started")
        PENDING = "pending", _("Waiting for confirmation")
        COMPLETED = "completed", _("Completed")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        # Corporate payments of a company that requires a second user's approval: confirmed
        # by the maker, waiting for another user of the company (no money moved yet).
        WAITING_APPROVAL = "approval", _("Waiting for approval")
        REJECTED = "rejected", _("Rejected")

    reference = models.CharField(max_length=20, unique=True)
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="transfers"
    )
    source = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3, default="IDR")
    description = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    failure_reason = models.CharField(max_length=100, blank=True)
    challenge = models.ForeignKey(
        "tokens.Challenge", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # When the customer went on with the draft (draft → pending): its waiting time runs from
    # here. Empty for a draft, and for transfers started before it was recorded.
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Maker/approver of a corporate payment (issue 11). All nullable: added to payments_transfer
    # with ALTER TABLE ADD COLUMN, so SQLite keeps the currency triggers of payments/0002.
    submitted_at = models.DateTimeField(null=True, blank=True)
    approval_deadline = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=200, null=True, blank=True)

    objects = TransferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="payments_transfer_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(source=models.F("destination")),
                name="payments_transfer_distinct_accounts",
            ),
        ]

    def __str__(self):
        return self.reference

    # Why a transfer failed, in words for its receipt (failure_reason holds the error's code).
    FAILURE_REASONS = {
        "insufficient_funds": _("The balance was not enough."),
        "transfer_limit": _("The amount was above the limit per transfer."),
        "daily_limit": _("The amount was above your daily transfer limit."),
        "company_daily_limit": _("The amount was above your company's daily payment limit."),
        "currency_mismatch": _("The accounts hold different currencies."),
        "currency_not_supported": _("Internet Banking transfers are in Rupiah only."),
    }

    @property
    def failure_text(self):
        return self.FAILURE_REASONS.get(self.failure_reason, "")

    @property
    def expires_at(self):
        """When a pending transfer stops waiting for its confirmation (None for a draft); for
        a corporate payment submitted for approval, its approval deadline."""
        if self.approval_deadline is not None:
            return self.approval_deadline
        started = self.started_at or (None if self.status == self.Status.DRAFT else self.created_at)
        if started is None:
            return None
        return started + timedelta(seconds=settings.TRANSFER_PENDING_LIFETIME)

    @property
    def is_overdue(self):
        """Pending, but its waiting time is over: it is expired even before it is marked so."""
        return (
            self.status in (self.Status.PENDING, self.Status.WAITING_APPROVAL)
            and timezone.now() >= self.expires_at
        )

    @property
    def is_corporate(self):
        """A payment from a company's account (maker/approver flow, corporate limits)."""
        return self.source.company_id is not None

    @property
    def status_shown(self):
        """The status as the customer should read it now (an overdue one is expired)."""
        return self.Status.EXPIRED if self.is_overdue else self.Status(self.status)

    @property
    def is_ended(self):
        """Cancelled, expired or rejected: it never moved money and never will."""
        return self.status_shown in (
            self.Status.CANCELLED,
            self.Status.EXPIRED,
            self.Status.REJECTED,
        )


class DestinationLookup(models.Model):
    """A customer was shown who holds an account that is neither theirs nor a saved payee
    (the name on a confirmation page): counted per day, so names cannot be harvested."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="destination_lookups"
    )
    account = models.ForeignKey(BankAccount, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self):
        return f"{self.user_id} → {self.account_id}"


class LedgerEntry(models.Model):
    """One leg of a transfer: a debit (negative) or a credit (positive) on one account."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    balance_after = models.DecimalField(max_digits=18, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        # Mutasi Rekening and the dashboard read one account's legs by time, newest first.
        indexes = [
            models.Index(fields=["account", "created_at"], name="payments_entry_account_time")
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payments_ledgerentry_not_zero"),
            models.UniqueConstraint(
                fields=["transfer", "account"], name="payments_ledgerentry_one_leg_per_account"
            ),
        ]

    def __str__(self):
        return f"{self.account} {self.amount}"
