"""Writes of payments: transfers and payees, each confirmed with an OTP through ``tokens``."""

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts import services as account_services
from accounts.models import AuditEvent, User
from portal.formatting import account_masked, rupiah
from tokens import exceptions as otp_exceptions
from tokens import services as otp
from tokens.models import Challenge

from . import exceptions
from .models import BankAccount, LedgerEntry, Payee, Transfer

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


@transaction.atomic
def transfer_create(
    *, user: User, source: BankAccount, destination: BankAccount, amount: Decimal, description: str
) -> Transfer:
    """Record a transfer waiting for its OTP; nothing moves until ``transfer_confirm``."""
    if source.owner_id != user.pk:
        raise exceptions.AccountNotFound()
    if source.pk == destination.pk:
        raise exceptions.SameAccount()
    if source.balance < amount:
        raise exceptions.InsufficientFunds()
    transfer = Transfer(
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


@transaction.atomic
def transfer_challenge_issue(*, transfer: Transfer) -> Challenge:
    """Send an OTP for this transfer: the SMS names the amount and the masked destination."""
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
    Transfer.objects.filter(pk=transfer.pk).update(challenge=challenge)
    transfer.challenge = challenge
    return challenge


def transfer_confirm(*, transfer: Transfer, code: str) -> Transfer:
    """Check the OTP and move the money, in one transaction; safe against double submission.

    A transfer already completed (a double click, a second tab) is returned as it is, without
    moving money again. If the balance no longer covers it, nothing moves and it is marked
    failed.
    """
    try:
        summary = transfer_intent(transfer)
        with otp.challenge_verify(
            user=transfer.initiated_by,
            challenge=otp.challenge_for_code(
                user=transfer.initiated_by,
                purpose=TRANSFER_PURPOSE,
                summary=summary,
                current=transfer.challenge,
            ),
            purpose=TRANSFER_PURPOSE,
            summary=summary,
            code=code,
        ):
            locked = Transfer.objects.select_for_update().get(pk=transfer.pk)
            if locked.status != Transfer.Status.PENDING:
                raise exceptions.NotPending()
            _transfer_execute(locked)
    except exceptions.InsufficientFunds:
        Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.PENDING).update(
            status=Transfer.Status.FAILED, failure_reason="insufficient_funds"
        )
        raise
    except (exceptions.NotPending, otp_exceptions.ChallengeUsed):
        transfer.refresh_from_db()
        if transfer.status == Transfer.Status.COMPLETED:
            return transfer
        raise
    transfer.refresh_from_db()
    account_services.audit_log(
        action=AuditEvent.Action.TRANSFER,
        subject=transfer.initiated_by,
        actor=transfer.initiated_by,
        data={"reference": transfer.reference, "amount": f"{transfer.amount:.2f}"},
    )
    return transfer


def _transfer_execute(transfer: Transfer) -> None:
    """Debit and credit both accounts under row locks taken in a fixed order (no deadlock)."""
    accounts = {
        account.pk: account
        for account in BankAccount.objects.select_for_update()
        .filter(pk__in=[transfer.source_id, transfer.destination_id])
        .order_by("pk")
    }
    source, destination = accounts[transfer.source_id], accounts[transfer.destination_id]
    if source.balance < transfer.amount:
        raise exceptions.InsufficientFunds()
    now = timezone.now()
    BankAccount.objects.filter(pk=source.pk).update(balance=F("balance") - transfer.amount)
    BankAccount.objects.filter(pk=destination.pk).update(balance=F("balance") + transfer.amount)
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                transfer=transfer,
                account=source,
                amount=-transfer.amount,
                balance_after=source.balance - transfer.amount,
                created_at=now,
            ),
            LedgerEntry(
                transfer=transfer,
                account=destination,
                amount=transfer.amount,
                balance_after=destination.balance + transfer.amount,
                created_at=now,
            ),
        ]
    )
    Transfer.objects.filter(pk=transfer.pk).update(
        status=Transfer.Status.COMPLETED, completed_at=now
    )


@transaction.atomic
def payee_create(*, user: User, account: BankAccount, nickname: str) -> Payee:
    """Record a payee waiting for its OTP (PSD2 RTS art. 13: payee lists need SCA)."""
    if account.owner_id == user.pk:
        raise exceptions.SameAccount()
    if Payee.objects.filter(owner=user, account=account, status=Payee.Status.ACTIVE).exists():
        raise exceptions.PayeeExists()
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


def payee_confirm(*, payee: Payee, code: str) -> Payee:
    """Check the OTP and make the payee usable; a second confirmation changes nothing."""
    try:
        summary = payee_intent(payee)
        with otp.challenge_verify(
            user=payee.owner,
            challenge=otp.challenge_for_code(
                user=payee.owner, purpose=PAYEE_PURPOSE, summary=summary, current=payee.challenge
            ),
            purpose=PAYEE_PURPOSE,
            summary=summary,
            code=code,
        ):
            activated = Payee.objects.filter(pk=payee.pk, status=Payee.Status.PENDING).update(
                status=Payee.Status.ACTIVE, confirmed_at=timezone.now()
            )
            if not activated:
                raise exceptions.NotPending()
    except IntegrityError:
        raise exceptions.PayeeExists() from None
    except (exceptions.NotPending, otp_exceptions.ChallengeUsed):
        payee.refresh_from_db()
        if payee.status == Payee.Status.ACTIVE:
            return payee
        raise
    payee.refresh_from_db()
    account_services.audit_log(
        action=AuditEvent.Action.PAYEE_ADDED,
        subject=payee.owner,
        actor=payee.owner,
        data={"payee": payee.pk, "account": account_masked(payee.account.number)},
    )
    return payee
