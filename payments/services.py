"""Writes of payments: transfers and payees, each confirmed with an OTP through ``tokens``."""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts import services as account_services
from accounts.models import AuditEvent, User
from portal.formatting import account_masked, rupiah
from tokens import exceptions as otp_exceptions
from tokens import services as otp
from tokens.models import Challenge

from . import exceptions
from .models import BankAccount, DestinationLookup, LedgerEntry, Payee, Transfer

TRANSFER_PURPOSE = "transfer"
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
    if account.owner_id == user.pk or Payee.objects.filter(
        owner=user, account=account, status=Payee.Status.ACTIVE
    ).exists():
        return
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    today = DestinationLookup.objects.filter(user=user, created_at__gte=_midnight())
    if today.filter(account=account).exists():
        return
    if today.values("account").distinct().count() >= settings.TRANSFER_LOOKUP_DAILY_LIMIT:
        raise exceptions.LookupLimitReached()
    DestinationLookup.objects.create(user=user, account=account)


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
    token code), and a draft nobody went on with is discarded."""
    if user.company_id is not None:
        raise exceptions.CorporatePaymentsSoon()
    if source.owner_id != user.pk:
        raise exceptions.AccountNotFound()
    if source.pk == destination.pk:
        raise exceptions.SameAccount()
    _currencies_match(source=source, destination=destination)
    # Told early; checked again when the money moves (a limit may change meanwhile).
    transfer_limits_check(user=user, amount=amount)
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
    transfer.full_clean()
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
    _transfer_ended_raise(transfer)
    with transaction.atomic():
        _draft_start(transfer)
        if transfer.status != Transfer.Status.PENDING:
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
        # Cancelled or expired since it was read: the challenge and its SMS are rolled back.
        # The transfer waits as long as its newest code is valid (TRANSFER_PENDING_LIFETIME
        # is by default the code's lifetime), so a new code never outlives its transfer.
        if not Transfer.objects.waiting().filter(pk=transfer.pk).update(
            challenge=challenge, started_at=challenge.created_at
        ):
            raise exceptions.NotPending()
    transfer.challenge, transfer.started_at = challenge, challenge.created_at
    return challenge


def _draft_start(transfer: Transfer) -> None:
    """draft → pending (once), when the customer goes on with it: its waiting time
    (``TRANSFER_PENDING_LIFETIME``) starts now."""
    now = timezone.now()
    if Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.DRAFT).update(
        status=Transfer.Status.PENDING, started_at=now
    ):
        transfer.status, transfer.started_at = Transfer.Status.PENDING, now


def _transfer_ended_raise(transfer: Transfer) -> None:
    """Refuse a transfer that was cancelled or whose waiting time is over (marked expired
    here if it was not yet)."""
    if transfer.is_overdue:
        transfer_expire(transfer=transfer)
    if transfer.status == Transfer.Status.EXPIRED:
        raise exceptions.TransferExpired(amount=rupiah(transfer.amount))
    if transfer.status == Transfer.Status.CANCELLED:
        raise exceptions.TransferCancelled(amount=rupiah(transfer.amount))


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


def transfers_expire(*, user: User | None = None, now=None) -> int:
    """Mark expired every pending transfer (``user``'s, or everyone's) whose waiting time is
    over; return how many. Run where transfers are listed, so that no background job is
    needed for them to read right; confirmation refuses an overdue transfer by itself."""
    overdue = Transfer.objects.overdue(now).select_related("initiated_by", "source", "destination")
    if user is not None:
        overdue = overdue.filter(initiated_by=user)
    return sum(transfer_expire(transfer=transfer, now=now) for transfer in overdue)


def _transfer_challenges_void(transfer: Transfer) -> None:
    otp.challenges_void_for_intent(
        user=transfer.initiated_by, purpose=TRANSFER_PURPOSE, summary=transfer_intent(transfer)
    )


def transfer_cancel(*, transfer: Transfer, user: User) -> Transfer:
    """Cancel a transfer waiting for its confirmation, at its customer's request: nothing
    moves, the challenges of it are voided (its code confirms nothing), and it is audited.

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
        if locked.status == Transfer.Status.PENDING and not locked.is_overdue:
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
            confirmed=lambda: _refreshed(transfer).status == Transfer.Status.COMPLETED,
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
    return _refreshed(transfer)


def _pending_confirm(
    *, user: User, purpose: str, summary: dict, challenge, code, session_verified, execute, confirmed
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


def _transfer_execute(transfer: Transfer) -> None:
    """Move the money of a pending transfer: both accounts locked in one statement in primary
    key order (no deadlock), then the status, the limits and the balance checked under the
    locks, two ledger legs written and the transfer completed."""
    accounts = {
        account.pk: account
        for account in BankAccount.objects.select_for_update()
        .filter(pk__in=[transfer.source_id, transfer.destination_id])
        .order_by("pk")
    }
    locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status == Transfer.Status.CANCELLED:
        raise exceptions.TransferCancelled(amount=rupiah(locked.amount))
    if locked.status == Transfer.Status.EXPIRED or locked.is_overdue:
        raise exceptions.TransferExpired(amount=rupiah(locked.amount))
    if locked.status != Transfer.Status.PENDING:
        raise exceptions.NotPending()
    source, destination = accounts[transfer.source_id], accounts[transfer.destination_id]
    # Again here: a transfer made before the rule existed may still be pending.
    _currencies_match(source=source, destination=destination, currency=locked.currency)
    now = timezone.now()
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
    Transfer.objects.filter(pk=transfer.pk).update(
        status=Transfer.Status.COMPLETED, completed_at=now
    )
    account_services.audit_log(
        action=AuditEvent.Action.TRANSFER,
        subject=transfer.initiated_by,
        actor=transfer.initiated_by,
        data={"reference": transfer.reference, "amount": f"{amount:.2f}"},
    )


@transaction.atomic
def payee_create(*, user: User, account: BankAccount, nickname: str) -> Payee:
    """Record a payee waiting for its OTP (PSD2 RTS art. 13: payee lists need SCA)."""
    if account.owner_id == user.pk:
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
