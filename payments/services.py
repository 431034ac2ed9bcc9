"""Writes of payments: transfers and payees, each confirmed with an OTP through ``tokens``."""

import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts import services as account_services
from accounts.models import AuditEvent, Company, User
from portal.formatting import account_masked, rupiah
from tokens import exceptions as otp_exceptions
from tokens import services as otp
from tokens.models import Challenge

from . import exceptions
from .models import BankAccount, DestinationLookup, LedgerEntry, Payee, Transfer

TRANSFER_PURPOSE = "transfer"
# Both steps of a corporate payment (the maker's and the approver's); the intent names the step.
CORPORATE_PAYMENT_PURPOSE = "corporate_payment"
MAKER, APPROVER = "maker", "approver"
PAYEE_PURPOSE = "add_payee"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _reference_new() -> str:
    suffix = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"TRF{timezone.localdate():%y%m%d}{suffix}"


def account_by_number(*, number: str) -> BankAccount:
    try:
        return BankAccount.objects.select_related("owner").get(number=number)
    except BankAccount.DoesNotExist:
        raise exceptions.AccountNotFound() from None


def _currencies_match(
    *, source: BankAccount, destination: BankAccount, currency: str | None = None
) -> None:
    """Raise CurrencyMismatch unless both accounts (and the transfer's ``currency``, when
    given) hold one currency: the portal moves an amount as it is and converts nothing (a
    trigger from migration payments/0002 refuses such a transfer in the database too).

    Raise CurrencyNotSupported for any currency but ``TRANSFER_CURRENCY`` (Rupiah): the
    limits, the SMS text and the statement speak Rupiah.
    """
    if source.currency != destination.currency or currency not in (None, source.currency):
        raise exceptions.CurrencyMismatch()
    if source.currency != settings.TRANSFER_CURRENCY:
        raise exceptions.CurrencyNotSupported()


def _midnight(now=None):
    """Today's start in Asia/Jakarta (WIB): daily limits count from it."""
    return timezone.localtime(now or timezone.now()).replace(
        hour=0, minute=0, second=0, microsecond=0
    )


def destination_lookup_record(*, user: User, account: BankAccount) -> None:
    """Count that ``user`` is about to be shown who holds ``account``; refuse past the day's
    limit (``TRANSFER_LOOKUP_DAILY_LIMIT`` different accounts since midnight WIB).

    The customer's own accounts and confirmed payees are not look-ups, nor is an account
    already looked up today. Counted under the customer's row lock, so parallel requests
    cannot pass the limit together.
    """
    if (
        _own_account(user=user, account=account)
        or Payee.objects.filter(owner=user, account=account, status=Payee.Status.ACTIVE).exists()
    ):
        return
    today = DestinationLookup.objects.filter(user=user, created_at__gte=_midnight())
    # Looked up today already: nothing new is counted, so no lock is needed to say so (rows
    # are never taken back during the day).
    if today.filter(account=account).exists():
        return
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    if today.filter(account=account).exists():  # by a parallel request, before our lock
        return
    if today.values("account").distinct().count() >= settings.TRANSFER_LOOKUP_DAILY_LIMIT:
        raise exceptions.LookupLimitReached()
    DestinationLookup.objects.create(user=user, account=account)


def _own_account(*, user: User, account: BankAccount) -> bool:
    """The customer's own account; for a corporate user, any account of the company."""
    if user.company_id is not None and account.company_id == user.company_id:
        return True
    return account.owner_id == user.pk


def _drafts_discard(*, user: User) -> int:
    """Delete the customer's drafts older than a code's lifetime: a look-up that went no
    further leaves nothing behind."""
    stale = timezone.now() - timedelta(seconds=settings.OTP_CODE_LIFETIME)
    deleted, _ = Transfer.objects.filter(
        initiated_by=user, status=Transfer.Status.DRAFT, created_at__lt=stale
    ).delete()
    return deleted


@transaction.atomic
def transfer_create(
    *, user: User, source: BankAccount, destination: BankAccount, amount: Decimal, description: str
) -> Transfer:
    """Record a draft transfer: its confirmation page shows the recipient. Nothing moves until
    ``transfer_confirm``; it becomes pending when the customer goes on (Generate OTP, or a
    token code), and a draft nobody went on with is discarded.

    A corporate user's payment is a corporate payment (``corporate_payment_create``)."""
    if user.company_id is not None:
        return corporate_payment_create(
            user=user,
            source=source,
            destination=destination,
            amount=amount,
            description=description,
        )
    if source.owner_id != user.pk or source.company_id is not None:
        raise exceptions.AccountNotFound()
    if source.pk == destination.pk:
        raise exceptions.SameAccount()
    _currencies_match(source=source, destination=destination)
    # Told early; checked again when the money moves (a limit may change meanwhile).
    transfer_limits_check(user=user, amount=amount)
    return _draft_record(
        user=user, source=source, destination=destination, amount=amount, description=description
    )


def _draft_record(
    *, user: User, source: BankAccount, destination: BankAccount, amount: Decimal, description: str
) -> Transfer:
    """The draft of a transfer or corporate payment whose accounts and limits were checked:
    the balance told early, the user's stale drafts discarded, the look-up counted."""
    if source.balance < amount:
        raise exceptions.InsufficientFunds()
    _drafts_discard(user=user)
    destination_lookup_record(user=user, account=destination)
    transfer = Transfer(
        status=Transfer.Status.DRAFT,
        reference=_reference_new(),
        initiated_by=user,
        source=source,
        destination=destination,
        amount=amount,
        currency=source.currency,
        description=description,
    )
    # The fields' own rules. The rest is already known here or kept by the database: the
    # accounts and the user were just read, the amount and the two accounts were checked above
    # (and CHECK constraints keep them), the reference is random and UNIQUE in the table;
    # asking the database again costs seven queries and four savepoints per transfer.
    transfer.full_clean(
        exclude=["initiated_by", "source", "destination", "challenge", "approved_by",
                 "rejected_by"],
        validate_unique=False,
        validate_constraints=False,
    )
    transfer.save()
    return transfer


def transfer_intent(transfer: Transfer) -> dict:
    """The canonical summary an OTP for this transfer is bound to (from the stored record)."""
    return {
        "reference": transfer.reference,
        "amount": f"{transfer.amount:.2f}",
        "currency": transfer.currency,
        "source": transfer.source.number,
        "destination": transfer.destination.number,
    }


def transfer_challenge_issue(*, transfer: Transfer) -> Challenge:
    """Send an OTP for this transfer: the SMS names the amount and the masked destination.
    A draft becomes pending: the customer went on. A cancelled or expired transfer gets no
    code (``TransferCancelled``, ``TransferExpired``)."""
    _retail_only(transfer)
    _transfer_ended_raise(transfer)
    with transaction.atomic():
        if transfer.status not in (Transfer.Status.DRAFT, Transfer.Status.PENDING):
            raise exceptions.NotPending()
        challenge = otp.challenge_issue(
            user=transfer.initiated_by,
            purpose=TRANSFER_PURPOSE,
            summary=transfer_intent(transfer),
            text=gettext_noop("transfer %(amount)s to acct %(destination)s"),
            text_params={
                "amount": rupiah(transfer.amount),
                "destination": account_masked(transfer.destination.number),
            },
        )
        # A draft becomes pending (its waiting time starts) in the same UPDATE. Cancelled or
        # expired since it was read: the challenge and its SMS are rolled back. The transfer
        # waits as long as its newest code is valid (TRANSFER_PENDING_LIFETIME is by default
        # the code's lifetime), so a new code never outlives its transfer.
        if (
            not Transfer.objects.filter(
                Q(status=Transfer.Status.DRAFT)
                | Q(pk__in=Transfer.objects.waiting().filter(pk=transfer.pk).values("pk")),
                pk=transfer.pk,
            )
            .update(
                status=Transfer.Status.PENDING,
                challenge=challenge,
                started_at=challenge.created_at,
            )
        ):
            raise exceptions.NotPending()
    transfer.status = Transfer.Status.PENDING
    transfer.challenge, transfer.started_at = challenge, challenge.created_at
    return challenge


def _retail_only(transfer: Transfer) -> None:
    """A payment from a company's account is never confirmed by the retail flow: it has its
    maker/approver steps and the company's limits."""
    if transfer.is_corporate:
        raise exceptions.CorporatePaymentOnly()


def _draft_start(transfer: Transfer) -> None:
    """draft → pending (once), when the customer goes on with it: its waiting time
    (``TRANSFER_PENDING_LIFETIME``) starts now."""
    if transfer.status != Transfer.Status.DRAFT:
        return  # started already: a draft never comes back, so there is nothing to update
    now = timezone.now()
    if Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.DRAFT).update(
        status=Transfer.Status.PENDING, started_at=now
    ):
        transfer.status, transfer.started_at = Transfer.Status.PENDING, now


def _transfer_ended_raise(transfer: Transfer) -> None:
    """Refuse a transfer that was cancelled or whose waiting time is over (marked expired
    here if it was not yet)."""
    transfer_expire_if_overdue(transfer)
    if transfer.status == Transfer.Status.EXPIRED:
        raise exceptions.TransferExpired(amount=rupiah(transfer.amount))
    if transfer.status == Transfer.Status.CANCELLED:
        raise exceptions.TransferCancelled(amount=rupiah(transfer.amount))
    if transfer.status == Transfer.Status.REJECTED:
        raise exceptions.PaymentRejected(amount=rupiah(transfer.amount))


def transfer_expire(*, transfer: Transfer, now=None) -> bool:
    """Mark one pending transfer expired if its waiting time is over; True if this call did.

    One conditional UPDATE decides: a transfer confirmed or cancelled meanwhile (its row is
    locked while that happens) stays as it is, and a transfer is expired once. The challenges
    of its intent are voided (a code on its way confirms nothing) and the expiry is audited.
    ``transfer`` is updated to what its row holds.
    """
    with transaction.atomic():
        expired = (
            Transfer.objects.overdue(now)
            .filter(pk=transfer.pk)
            .update(status=Transfer.Status.EXPIRED)
        )
        if expired:
            _transfer_challenges_void(transfer)
            account_services.audit_log(
                action=AuditEvent.Action.TRANSFER_EXPIRED,
                subject=transfer.initiated_by,
                data={"reference": transfer.reference, "amount": f"{transfer.amount:.2f}"},
            )
    if expired:
        transfer.status = Transfer.Status.EXPIRED
    else:
        transfer.refresh_from_db(fields=["status"])
    return bool(expired)


def transfer_expire_if_overdue(transfer: Transfer) -> None:
    """Mark ``transfer`` expired if its waiting time is over, read on the object in hand
    first: a page showing it (and the refusal of an ended one) reads the right status, and
    a transfer still in time costs no query."""
    if transfer.is_overdue:
        transfer_expire(transfer=transfer)


def transfers_expire(*, user: User | None = None, company_id=None, now=None) -> int:
    """Mark expired every pending transfer (``user``'s, the company's, or everyone's) whose
    waiting time is over; return how many. Run where transfers are listed, so that no
    background job is needed for them to read right; confirmation refuses an overdue transfer
    by itself."""
    overdue = Transfer.objects.overdue(now).select_related("initiated_by", "source", "destination")
    if user is not None:
        overdue = overdue.filter(initiated_by=user)
    if company_id is not None:
        overdue = overdue.of_company(company_id)
    return sum(transfer_expire(transfer=transfer, now=now) for transfer in overdue)


def _transfer_challenges_void(transfer: Transfer) -> None:
    """Void every code still waiting for this transfer: the maker's, and for a corporate
    payment any approver's (each user of the company may have asked for one)."""
    if not transfer.is_corporate:
        otp.challenges_void_for_intent(
            user=transfer.initiated_by, purpose=TRANSFER_PURPOSE, summary=transfer_intent(transfer)
        )
        return
    otp.challenges_void_for_intent(
        user=transfer.initiated_by,
        purpose=CORPORATE_PAYMENT_PURPOSE,
        summary=corporate_payment_intent(transfer, step=MAKER),
    )
    otp.challenges_void_for_intent(
        user=None,  # whichever users of the company asked for an approval code
        purpose=CORPORATE_PAYMENT_PURPOSE,
        summary=corporate_payment_intent(transfer, step=APPROVER),
    )


def transfer_cancel(*, transfer: Transfer, user: User) -> Transfer:
    """Cancel a transfer waiting for its confirmation, at its customer's request: nothing
    moves, the challenges of it are voided (its code confirms nothing), and it is audited.
    A corporate payment waiting for approval is cancelled so by its maker.

    Only the customer who started it (``Transfer.DoesNotExist`` for anyone else). Taken under
    the customer's row lock, which a confirmation takes first too, then the transfer's: a
    cancel and a confirmation of one transfer run one after the other and only one of them
    wins. Cancelling twice (a double click) changes nothing; a completed or failed transfer
    raises ``NotPending``; one whose waiting time is over is marked expired and raises
    ``TransferExpired``.
    """
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        locked = (
            Transfer.objects.select_for_update(of=("self",))
            .select_related("initiated_by", "source", "destination")
            .get(pk=transfer.pk, initiated_by=user)
        )
        waiting = (Transfer.Status.PENDING, Transfer.Status.WAITING_APPROVAL)
        if locked.status in waiting and not locked.is_overdue:
            Transfer.objects.filter(pk=locked.pk).update(status=Transfer.Status.CANCELLED)
            locked.status = Transfer.Status.CANCELLED
            _transfer_challenges_void(locked)
            account_services.audit_log(
                action=AuditEvent.Action.TRANSFER_CANCELLED,
                subject=user,
                actor=user,
                data={"reference": locked.reference, "amount": f"{locked.amount:.2f}"},
            )
    if locked.status == Transfer.Status.CANCELLED:
        transfer.status = locked.status
        return transfer
    _transfer_ended_raise(locked)
    raise exceptions.NotPending()


def transfer_confirm(
    *, transfer: Transfer, code: str | None, session_verified: bool = False
) -> Transfer:
    """Check the OTP and move the money, in one transaction; safe against double submission.

    A transfer already completed (a double click, a second tab) is returned as it is, without
    moving money again or counting anything against the customer. If the balance or a
    transfer limit no longer allows it, nothing moves and it is marked failed.
    """
    _retail_only(transfer)
    _draft_start(transfer)  # a token user goes on by typing a code
    # Said before any code is looked at (nothing is counted against the customer); checked
    # again under the transfer's lock when the money would move.
    _transfer_ended_raise(transfer)
    try:
        _pending_confirm(
            user=transfer.initiated_by,
            purpose=TRANSFER_PURPOSE,
            summary=transfer_intent(transfer),
            challenge=transfer.challenge,
            code=code,
            session_verified=session_verified,
            execute=lambda: _transfer_execute(transfer),
            confirmed=_completed_check(transfer),
        )
    except exceptions.TransferExpired:
        transfer_expire(transfer=transfer)
        raise
    except exceptions.TransferRefused as refused:
        Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.PENDING).update(
            status=Transfer.Status.FAILED, failure_reason=refused.code
        )
        raise
    except otp_exceptions.OtpError:
        # A code refused because the transfer ended meanwhile (its challenge voided by a
        # cancel in another tab) says what happened to the transfer.
        _transfer_ended_raise(_refreshed(transfer))
        raise
    # Completed by _transfer_execute (which set the status it wrote) or found completed by
    # _completed_check (which read it): the object says what the row says.
    return transfer


# What confirmation may change on a transfer's row: read again without dropping the accounts
# and the user read with it (``refresh_from_db()`` of every field would, and each would be
# read again, one query each, the next time it is used).
_STATUS_FIELDS = ("status", "started_at", "completed_at", "failure_reason")


def _status_refreshed(transfer: Transfer) -> Transfer:
    transfer.refresh_from_db(fields=_STATUS_FIELDS)
    return transfer


def _completed_check(transfer: Transfer):
    """``confirmed`` for ``_pending_confirm``: the first time, the status the caller has just
    read (a transfer completed meanwhile is then refused under the locks as ``ChallengeUsed``
    or ``NotPending``, and the next call reads the row again to tell it was a resubmission)."""
    calls = []

    def confirmed() -> bool:
        if calls:
            _status_refreshed(transfer)
        calls.append(1)
        return transfer.status == Transfer.Status.COMPLETED

    return confirmed


def _pending_confirm(
    *,
    user: User,
    purpose: str,
    summary: dict,
    challenge,
    code,
    session_verified,
    execute,
    confirmed,
) -> None:
    """The one confirmation flow of a pending action (a transfer, a payee: two intents).

    ``confirmed()`` says whether the action already happened: then a resubmission (a double
    click, a second tab) returns quietly and nothing is checked or counted. Otherwise
    ``execute()`` runs inside ``challenge_verify``: it commits with the consumption of the
    code, or neither happens. ``code`` None and ``session_verified``: see ``challenge_verify``.
    """
    if confirmed():
        return
    try:
        with otp.challenge_verify(
            user=user,
            purpose=purpose,
            summary=summary,
            code=code,
            challenge=challenge,
            session_verified=session_verified,
        ):
            execute()
    except (exceptions.NotPending, otp_exceptions.ChallengeUsed):
        if confirmed():
            return
        raise


def _refreshed(instance):
    instance.refresh_from_db()
    return instance


def transfer_limits_check(*, user: User, amount: Decimal, now=None) -> None:
    """Raise unless ``amount`` fits the per-transfer limit and what is left of the customer's
    daily limit (completed transfers since midnight, Asia/Jakarta), both settings read now.

    ``transfer_confirm`` calls it under the customer's lock and the accounts' locks, so two
    transfers confirmed at once cannot both fit a limit only one of them fits.
    """
    limit = Decimal(settings.TRANSFER_MAX_AMOUNT)
    if amount > limit:
        raise exceptions.TransferLimitExceeded(limit=rupiah(limit))
    used = Transfer.objects.filter(
        initiated_by=user, status=Transfer.Status.COMPLETED, completed_at__gte=_midnight(now)
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    daily = Decimal(settings.TRANSFER_DAILY_LIMIT)
    if used + amount > daily:
        raise exceptions.DailyLimitExceeded(
            limit=rupiah(daily), used=rupiah(used), left=rupiah(max(daily - used, Decimal(0)))
        )


def _transfer_execute(transfer: Transfer, *, approver: User | None = None) -> None:
    """Move the money of a pending transfer: both accounts locked in one statement in primary
    key order (no deadlock), then the status, the limits and the balance checked under the
    locks, two ledger legs written and the transfer completed.

    A corporate payment first locks its company's row (every payment of the company counts
    toward one daily limit, whoever made or approved it) and checks the company's limits.
    ``approver``: a payment waiting for approval, approved by another user of the company
    (checked here, under the transfer's row lock).
    """
    company_id = transfer.source.company_id
    if company_id is not None:
        Company.objects.select_for_update().only("pk").get(pk=company_id)
    accounts = {
        account.pk: account
        for account in BankAccount.objects.select_for_update()
        .filter(pk__in=[transfer.source_id, transfer.destination_id])
        .order_by("pk")
    }
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    _locked_waiting_check(
        locked,
        status=Transfer.Status.PENDING if approver is None else Transfer.Status.WAITING_APPROVAL,
    )
    if approver is not None:
        _approver_check(locked, approver=approver, company_id=company_id)
    source, destination = accounts[transfer.source_id], accounts[transfer.destination_id]
    # Again here: a transfer made before the rule existed may still be pending.
    _currencies_match(source=source, destination=destination, currency=locked.currency)
    now = timezone.now()
    if company_id is not None:
        corporate_limits_check(company_id=company_id, amount=locked.amount, now=now)
    else:
        transfer_limits_check(user=transfer.initiated_by, amount=locked.amount, now=now)
    if source.balance < locked.amount:
        raise exceptions.InsufficientFunds()
    amount = locked.amount
    BankAccount.objects.filter(pk=source.pk).update(balance=F("balance") - amount)
    BankAccount.objects.filter(pk=destination.pk).update(balance=F("balance") + amount)
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transfer=locked,
                account=source,
                amount=-amount,
                balance_after=source.balance - amount,
                created_at=now,
            ),
            LedgerEntry(
                transfer=locked,
                account=destination,
                amount=amount,
                balance_after=destination.balance + amount,
                created_at=now,
            ),
        ]
    )
    approval = {"approved_by": approver, "approved_at": now} if approver is not None else {}
    Transfer.objects.filter(pk=transfer.pk).update(
        status=Transfer.Status.COMPLETED, completed_at=now, **approval
    )
    transfer.status, transfer.completed_at = Transfer.Status.COMPLETED, now  # as the row says
    data = {"reference": transfer.reference, "amount": f"{amount:.2f}"}
    if company_id is not None:
        data["company"] = company_id
    account_services.audit_log(
        action=AuditEvent.Action.TRANSFER,
        subject=transfer.initiated_by,
        actor=transfer.initiated_by,
        data=data,
    )
    if approver is not None:
        account_services.audit_log(
            action=AuditEvent.Action.CORPORATE_PAYMENT_APPROVED,
            subject=transfer.initiated_by,
            actor=approver,
            data=data,
        )


def _locked_waiting_check(locked: Transfer, *, status: str) -> None:
    """Under the transfer's row lock: it still waits in ``status`` (and not past its time)."""
    if locked.status == Transfer.Status.CANCELLED:
        raise exceptions.TransferCancelled(amount=rupiah(locked.amount))
    if locked.status == Transfer.Status.REJECTED:
        raise exceptions.PaymentRejected(amount=rupiah(locked.amount))
    if locked.status == Transfer.Status.EXPIRED or locked.is_overdue:
        raise exceptions.TransferExpired(amount=rupiah(locked.amount))
    if locked.status != status:
        raise exceptions.NotPending()


def _approver_check(locked: Transfer, *, approver: User, company_id) -> None:
    """Four eyes: the approver is another user of the payment's company, never its maker.
    Called under the transfer's row lock, right before the money would move."""
    approver_company = User.objects.filter(pk=approver.pk).values_list("company_id", flat=True)
    if company_id is None or approver_company.get() != company_id:
        raise exceptions.AccountNotFound()
    if approver.pk == locked.initiated_by_id:
        raise exceptions.MakerCannotApprove()


# Corporate payments (issue 11) -------------------------------------------------------------
#
# A corporate payment is a Transfer from a company's account: the same ledger, statement,
# expiry and cancel. Its maker confirms it with their own OTP; a company that requires approval
# then waits for another of its users, who confirms it with *their* own OTP. Each step's code
# is bound to the payment and the step (``corporate_payment_intent``) and consumed once.

# A payment submitted for approval waits until the end of the next business day (WIB): long
# enough for an approver who is out for the day, short enough that nobody approves a payment
# whose reason went stale. Weekends are skipped; public holidays are not known to the portal.
APPROVAL_BUSINESS_DAYS = 1


def approval_deadline(now=None) -> datetime:
    """23:59:59 WIB of the ``APPROVAL_BUSINESS_DAYS``-th working day (Mon–Fri) after ``now``."""
    day = timezone.localdate(now or timezone.now())
    left = APPROVAL_BUSINESS_DAYS
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@transaction.atomic
def corporate_payment_create(
    *, user: User, source: BankAccount, destination: BankAccount, amount: Decimal, description: str
) -> Transfer:
    """Record a draft payment from one of the company's accounts by one of its users (the
    maker). As a retail transfer: nothing moves, the confirmation page shows the recipient,
    a draft nobody went on with is discarded. The company's limits are told now and checked
    again when the money moves."""
    if user.company_id is None or source.company_id != user.company_id:
        raise exceptions.AccountNotFound()
    if source.pk == destination.pk:
        raise exceptions.SameAccount()
    _currencies_match(source=source, destination=destination)
    corporate_limits_check(company_id=user.company_id, amount=amount)
    return _draft_record(
        user=user, source=source, destination=destination, amount=amount, description=description
    )


def corporate_payment_intent(payment: Transfer, *, step: str) -> dict:
    """What a code for one step of a corporate payment is bound to (from the stored record):
    the maker's code cannot approve, nor an approver's code confirm another payment."""
    return {**transfer_intent(payment), "step": step}


def corporate_payment_step(*, payment: Transfer, user: User) -> str | None:
    """Which step ``user`` may take on the payment now: ``MAKER`` (their own payment, not yet
    confirmed), ``APPROVER`` (another user of the company, the payment waits for approval) or
    None. A read for pages; the services check again under the locks."""
    if payment.status in (Transfer.Status.DRAFT, Transfer.Status.PENDING):
        return MAKER if payment.initiated_by_id == user.pk else None
    if (
        payment.status == Transfer.Status.WAITING_APPROVAL
        and user.company_id is not None
        and user.company_id == payment.source.company_id
        and user.pk != payment.initiated_by_id
    ):
        return APPROVER
    return None


def corporate_payment_challenge(*, payment: Transfer, user: User) -> Challenge | None:
    """The latest code sent to ``user`` for their step of the payment (None if none): the
    maker's is kept on the payment; an approver's is found by its intent (several users of the
    company may each have asked for one)."""
    if corporate_payment_step(payment=payment, user=user) == MAKER:
        return payment.challenge
    # Anyone else's code is checked as an approval; whether they may approve is the
    # service's question, under the locks.
    digest = otp.intent_digest(
        purpose=CORPORATE_PAYMENT_PURPOSE,
        summary=corporate_payment_intent(payment, step=APPROVER),
    )
    return (
        Challenge.objects.filter(user=user, purpose=CORPORATE_PAYMENT_PURPOSE, intent_digest=digest)
        .order_by("-created_at")
        .first()
    )


def corporate_payment_challenge_issue(*, payment: Transfer, user: User) -> Challenge:
    """Generate OTP for ``user``'s step of the payment: an SMS to their registered phone
    naming the amount and the masked destination. The maker's draft becomes pending (its
    waiting time starts); an approver's code leaves the payment as it is."""
    _transfer_ended_raise(payment)
    with transaction.atomic():
        if payment.initiated_by_id == user.pk:
            _draft_start(payment)
        step = corporate_payment_step(payment=payment, user=user)
        if step is None:
            if payment.status == Transfer.Status.WAITING_APPROVAL:
                raise exceptions.MakerCannotApprove()
            raise exceptions.NotPending()
        text = (
            gettext_noop("payment %(amount)s to acct %(destination)s")
            if step == MAKER
            else gettext_noop("approving payment %(amount)s to acct %(destination)s")
        )
        challenge = otp.challenge_issue(
            user=user,
            purpose=CORPORATE_PAYMENT_PURPOSE,
            summary=corporate_payment_intent(payment, step=step),
            text=text,
            text_params={
                "amount": rupiah(payment.amount),
                "destination": account_masked(payment.destination.number),
            },
        )
        if step == MAKER:
            # As a retail transfer: it waits as long as the maker's newest code.
            if (
                not Transfer.objects.waiting()
                .filter(pk=payment.pk)
                .update(challenge=challenge, started_at=challenge.created_at)
            ):
                raise exceptions.NotPending()
            payment.challenge, payment.started_at = challenge, challenge.created_at
        elif not Transfer.objects.filter(
            pk=payment.pk,
            status=Transfer.Status.WAITING_APPROVAL,
            approval_deadline__gt=challenge.created_at,
        ).exists():
            raise exceptions.NotPending()  # rejected, cancelled or expired meanwhile
    return challenge


def corporate_payment_confirm(
    *, payment: Transfer, user: User, code: str | None, session_verified: bool = False
) -> Transfer:
    """The maker's step: check their code, then either move the money (the company needs no
    approval) or submit the payment for approval (no money moves; it waits until
    ``approval_deadline``). A second submission (double click) changes nothing."""
    if payment.initiated_by_id != user.pk:
        raise Transfer.DoesNotExist()
    _draft_start(payment)  # a token user goes on by typing a code
    _transfer_ended_raise(payment)

    def execute():
        company = Company.objects.select_for_update().get(pk=payment.source.company_id)
        if company.requires_approval:
            _corporate_payment_submit(payment)
        else:
            _transfer_execute(payment)

    _corporate_step_confirm(
        payment=payment,
        user=user,
        step=MAKER,
        challenge=payment.challenge,
        code=code,
        session_verified=session_verified,
        execute=execute,
        confirmed=lambda: (
            _refreshed(payment).status
            in (Transfer.Status.WAITING_APPROVAL, Transfer.Status.COMPLETED)
        ),
    )
    return _refreshed(payment)


def _corporate_payment_submit(payment: Transfer) -> None:
    """Maker's code accepted, the company requires approval: the payment waits for another
    user. The per-payment limit is said now; the company's daily limit when it is approved."""
    locked = Transfer.objects.select_for_update().get(pk=payment.pk)
    _locked_waiting_check(locked, status=Transfer.Status.PENDING)
    limit = Decimal(settings.CORPORATE_TRANSFER_MAX_AMOUNT)
    if locked.amount > limit:
        raise exceptions.TransferLimitExceeded(limit=rupiah(limit))
    now = timezone.now()
    Transfer.objects.filter(pk=payment.pk).update(
        status=Transfer.Status.WAITING_APPROVAL,
        submitted_at=now,
        approval_deadline=approval_deadline(now),
    )
    account_services.audit_log(
        action=AuditEvent.Action.CORPORATE_PAYMENT_SUBMITTED,
        subject=payment.initiated_by,
        actor=payment.initiated_by,
        data={
            "reference": payment.reference,
            "amount": f"{payment.amount:.2f}",
            "company": payment.source.company_id,
        },
    )


def corporate_payment_approve(
    *, payment: Transfer, user: User, code: str | None, session_verified: bool = False
) -> Transfer:
    """The approver's step ("Konfirmasi Pembayaran" by a second user): check the approver's
    own code and move the money. Under the locks (approver, company, accounts, payment): the
    payment still waits for approval, the approver is another user of the same company (never
    the maker), and the company's limits still fit. A double click changes nothing; a second
    approver after the first is told it is no longer waiting."""
    _transfer_ended_raise(payment)
    _corporate_step_confirm(
        payment=payment,
        user=user,
        step=APPROVER,
        challenge=corporate_payment_challenge(payment=payment, user=user),
        code=code,
        session_verified=session_verified,
        execute=lambda: _corporate_payment_approved(payment, approver=user),
        confirmed=lambda: (
            _refreshed(payment).status == Transfer.Status.COMPLETED
            and payment.approved_by_id == user.pk
        ),
    )
    return _refreshed(payment)


def _corporate_payment_approved(payment: Transfer, *, approver: User) -> None:
    _transfer_execute(payment, approver=approver)
    _maker_tell(
        payment,
        approver=approver,
        text=gettext_noop(
            "Bank Nusantara: payment %(reference)s of %(amount)s to account %(destination)s "
            "was approved by %(approver)s and the money was sent."
        ),
    )


def _maker_tell(payment: Transfer, *, approver: User, text: str, **params) -> None:
    """Tell the maker by email what another user decided on their payment (it may have
    waited a day); in the decision's transaction, so it is sent once the decision holds."""
    maker = payment.initiated_by
    if not maker.email:
        return
    account_services.email_notice_schedule(
        address=maker.email,
        text=text,
        params={
            "reference": payment.reference,
            "amount": rupiah(payment.amount),
            "destination": account_masked(payment.destination.number),
            "approver": approver.full_name,
            **params,
        },
        language=maker.language,
        user=maker,
    )


def _corporate_step_confirm(*, payment, user, step, challenge, code, session_verified, **kw):
    """One step's confirmation through ``_pending_confirm``; a refusal that ends the payment
    (a limit, the balance) marks it failed, as for a retail transfer."""
    waiting = Transfer.Status.PENDING if step == MAKER else Transfer.Status.WAITING_APPROVAL
    try:
        _pending_confirm(
            user=user,
            purpose=CORPORATE_PAYMENT_PURPOSE,
            summary=corporate_payment_intent(payment, step=step),
            challenge=challenge,
            code=code,
            session_verified=session_verified,
            **kw,
        )
    except exceptions.TransferExpired:
        transfer_expire(transfer=payment)
        raise
    except exceptions.TransferRefused as refused:
        Transfer.objects.filter(pk=payment.pk, status=waiting).update(
            status=Transfer.Status.FAILED, failure_reason=refused.code
        )
        raise
    except otp_exceptions.OtpError:
        _transfer_ended_raise(_refreshed(payment))
        raise


@transaction.atomic
def corporate_payment_reject(*, payment: Transfer, user: User, reason: str) -> Transfer:
    """Another user of the company refuses a payment waiting for approval, with a reason: no
    money moves, codes sent for it are voided, it is audited. Same rules as approving (same
    company, never the maker, still waiting), checked under the payment's row lock."""
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    locked = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("initiated_by", "source", "destination")
        .get(pk=payment.pk)
    )
    _locked_waiting_check(locked, status=Transfer.Status.WAITING_APPROVAL)
    _approver_check(locked, approver=user, company_id=locked.source.company_id)
    reason = reason.strip()
    now = timezone.now()
    Transfer.objects.filter(pk=locked.pk).update(
        status=Transfer.Status.REJECTED, rejected_by=user, rejected_at=now, rejection_reason=reason
    )
    _transfer_challenges_void(locked)
    account_services.audit_log(
        action=AuditEvent.Action.CORPORATE_PAYMENT_REJECTED,
        subject=locked.initiated_by,
        actor=user,
        reason=reason,
        data={
            "reference": locked.reference,
            "amount": f"{locked.amount:.2f}",
            "company": locked.source.company_id,
        },
    )
    _maker_tell(
        locked,
        approver=user,
        text=gettext_noop(
            "Bank Nusantara: payment %(reference)s of %(amount)s to account %(destination)s "
            "was rejected by %(approver)s: %(reason)s. No money was moved."
        ),
        reason=reason,
    )
    return _refreshed(payment)


def corporate_limits_check(*, company_id, amount: Decimal, now=None) -> None:
    """Raise unless ``amount`` fits ``CORPORATE_TRANSFER_MAX_AMOUNT`` and what is left of the
    company's ``CORPORATE_DAILY_LIMIT`` (its completed payments since midnight WIB, whoever of
    its users made or approved them), settings read now. ``_transfer_execute`` calls it under
    the company's row lock, so two approvers at once cannot both fit what only one fits."""
    limit = Decimal(settings.CORPORATE_TRANSFER_MAX_AMOUNT)
    if amount > limit:
        raise exceptions.TransferLimitExceeded(limit=rupiah(limit))
    used = Transfer.objects.of_company(company_id).filter(
        status=Transfer.Status.COMPLETED, completed_at__gte=_midnight(now)
    ).aggregate(total=Sum("amount"))["total"] or Decimal(0)
    daily = Decimal(settings.CORPORATE_DAILY_LIMIT)
    if used + amount > daily:
        raise exceptions.CompanyDailyLimitExceeded(
            limit=rupiah(daily), used=rupiah(used), left=rupiah(max(daily - used, Decimal(0)))
        )


@transaction.atomic
def payee_create(*, user: User, account: BankAccount, nickname: str) -> Payee:
    """Record a payee waiting for its OTP (PSD2 RTS art. 13: payee lists need SCA). A
    company's accounts are not payees of its users."""
    if _own_account(user=user, account=account):
        raise exceptions.SameAccount()
    if Payee.objects.filter(owner=user, account=account, status=Payee.Status.ACTIVE).exists():
        raise exceptions.PayeeExists()
    destination_lookup_record(user=user, account=account)  # its page shows the holder's name
    payee = Payee(owner=user, account=account, nickname=nickname)
    payee.full_clean()
    payee.save()
    return payee


def payee_intent(payee: Payee) -> dict:
    return {"payee": payee.pk, "account": payee.account.number, "nickname": payee.nickname}


@transaction.atomic
def payee_challenge_issue(*, payee: Payee) -> Challenge:
    """Send an OTP to confirm a new payee; the SMS names the masked account."""
    if payee.status != Payee.Status.PENDING:
        raise exceptions.NotPending()
    challenge = otp.challenge_issue(
        user=payee.owner,
        purpose=PAYEE_PURPOSE,
        summary=payee_intent(payee),
        text=gettext_noop("adding payee acct %(destination)s"),
        text_params={"destination": account_masked(payee.account.number)},
    )
    Payee.objects.filter(pk=payee.pk).update(challenge=challenge)
    payee.challenge = challenge
    return challenge


def payee_confirm(*, payee: Payee, code: str | None, session_verified: bool = False) -> Payee:
    """Check the OTP and make the payee usable; a second confirmation changes nothing."""

    def execute():
        activated = Payee.objects.filter(pk=payee.pk, status=Payee.Status.PENDING).update(
            status=Payee.Status.ACTIVE, confirmed_at=timezone.now()
        )
        if not activated:
            raise exceptions.NotPending()
        account_services.audit_log(
            action=AuditEvent.Action.PAYEE_ADDED,
            subject=payee.owner,
            actor=payee.owner,
            data={"payee": payee.pk, "account": account_masked(payee.account.number)},
        )

    try:
        _pending_confirm(
            user=payee.owner,
            purpose=PAYEE_PURPOSE,
            summary=payee_intent(payee),
            challenge=payee.challenge,
            code=code,
            session_verified=session_verified,
            execute=execute,
            confirmed=lambda: _refreshed(payee).status == Payee.Status.ACTIVE,
        )
    except IntegrityError:
        raise exceptions.PayeeExists() from None
    return _refreshed(payee)


@transaction.atomic
def payee_rename(*, payee: Payee, user: User, nickname: str) -> Payee:
    """Give a saved payee another nickname. The nickname is only a label, so no OTP; the
    account never changes (another account is a new payee, confirmed with an OTP). Only the
    customer's own active payees (``Payee.DoesNotExist`` otherwise). Audited."""
    locked = Payee.objects.select_for_update().get(
        pk=payee.pk, owner=user, status=Payee.Status.ACTIVE
    )
    old = locked.nickname
    locked.nickname = nickname
    locked.full_clean(exclude=["owner", "account", "challenge"])
    if locked.nickname != old:
        locked.save(update_fields=["nickname"])
        account_services.audit_log(
            action=AuditEvent.Action.PAYEE_CHANGED,
            subject=user,
            actor=user,
            data={
                "payee": locked.pk,
                "account": account_masked(locked.account.number),
                "old": old,
                "new": locked.nickname,
            },
        )
    payee.nickname = locked.nickname
    return payee


@transaction.atomic
def payee_delete(*, payee: Payee, user: User) -> None:
    """Delete a saved payee of the customer (``Payee.DoesNotExist`` if it is not one).

    Transfers name accounts, not payees: past transfers stay as they were. Paying the account
    again later needs a new payee (with an OTP) or counts as a new destination. Audited.
    """
    locked = (
        Payee.objects.select_for_update(of=("self",))
        .select_related("account")
        .get(pk=payee.pk, owner=user, status=Payee.Status.ACTIVE)
    )
    account_services.audit_log(
        action=AuditEvent.Action.PAYEE_DELETED,
        subject=user,
        actor=user,
        data={
            "payee": locked.pk,
            "account": account_masked(locked.account.number),
            "old": locked.nickname,
        },
    )
    locked.delete()
