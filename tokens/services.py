"""The OTP core: issue a challenge for an intent, verify a code for an intent, send the SMS.

``tokens`` knows nothing of transfers or payees. A caller describes its pending action as an
*intent*: a purpose and a canonical summary computed from its own server-side record. The
challenge keeps only a digest of it, so a code confirms exactly that action.
"""

import hashlib
import hmac
import json
import logging
import math
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext, override

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.models import AuditEvent, User
from portal.formatting import duration_lazy, phone_masked

from . import exceptions, hardware, limits, mobile, sms
from .models import (
    Challenge,
    HardwareToken,
    HardwareTokenDevice,
    SMSDevice,
    SmsMessage,
)
from .selectors import confirmation_channel, intent_issue_state, mobile_device_for

logger = logging.getLogger(__name__)

POLICY_PER_TRANSACTION = "per_transaction"
POLICY_PER_SESSION = "per_session"


def intent_digest(*, purpose: str, summary: dict) -> str:
    """SHA-256 of the purpose and the summary in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        {"purpose": purpose, "summary": summary}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Purposes that always need their own OTP, whatever OTP_POLICY says: moving money (bound to
# amount and payee, DESIGN: "per_transaction ... default for money movement") and changing how
# the customer authenticates (DESIGN: "each need a fresh OTP").
MONEY_PURPOSES = frozenset({"transfer", "corporate_payment"})
FACTOR_PURPOSES = frozenset(
    {
        "phone_change",
        "phone_verify",
        "email_change",
        "token_activation",
        "mobile_registration",
        "mobile_deregistration",
    }
)
# A password reset (forgotten password) or change: always its own OTP, like a factor change.
FACTOR_PURPOSES |= {"password_reset", "password_change"}


def policy_for(purpose: str) -> str:
    """``per_transaction`` or ``per_session`` for a purpose, from ``OTP_POLICY`` at call time.

    A purpose that moves money or changes an authenticator is always ``per_transaction``.
    """
    if purpose in MONEY_PURPOSES | FACTOR_PURPOSES:
        return POLICY_PER_TRANSACTION
    return settings.OTP_POLICY.get(purpose, POLICY_PER_TRANSACTION)


class ChallengeCodeGenerator:
    """Derives a challenge's code from the server key: HMAC-SHA256 and HOTP's truncation.

    Like ``django.contrib.auth.tokens``: settings are read at call time and ``_now`` is the
    seam for tests. The code exists only while it is derived, in the worker that sends it and
    in the request that checks it.
    """

    def code(self, challenge: Challenge) -> str:
        key = settings.OTP_SMS_KEY.encode()
        message = f"{challenge.pk}:{challenge.salt}".encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        offset = digest[-1] & 0x0F
        number = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
        digits = settings.OTP_CODE_DIGITS
        return str(number % 10**digits).zfill(digits)

    def check(self, challenge: Challenge, code: str) -> bool:
        return constant_time_compare(self.code(challenge), code)


code_generator = ChallengeCodeGenerator()


def sms_device_for(user: User) -> SMSDevice:
    """The customer's one SMS device (a unique constraint keeps it one, also in parallel)."""
    device, _ = SMSDevice.objects.get_or_create(
        user=user, defaults={"name": "SMS", "confirmed": True}
    )
    return device


def _challenge_for_check(
    *, user: User, purpose: str, digest: str, current: Challenge | None, by_sms: bool = False
) -> Challenge:
    """The challenge a typed code is checked against, read afresh under the user's lock.

    For SMS it is the one already sent (``current``). A token (hardware or Mobile Token) makes
    its own codes, so a token user's code is checked against a challenge of its own, of that
    channel, bound to the intent: the pending one of this intent if there is one, else a new
    one (so repeated submissions do not pile up).
    """
    channel = Challenge.Channel.SMS if by_sms else confirmation_channel(user=user)
    if channel == Challenge.Channel.SMS:
        if current is None:
            raise exceptions.NoChallenge()
        return Challenge.objects.get(pk=current.pk)
    now = timezone.now()
    pending = (
        Challenge.objects.filter(
            user=user,
            purpose=purpose,
            intent_digest=digest,
            channel=channel,
            status=Challenge.Status.PENDING,
            expires_at__gt=now,
        )
        .order_by("-created_at")
        .first()
    )
    return pending or _challenge_create(
        user=user,
        purpose=purpose,
        digest=digest,
        channel=channel,
        now=now,
    )


def _challenge_create(*, user, purpose, digest, channel, now, summary=None) -> Challenge:
    """A new pending challenge with a fresh salt, alive for ``OTP_CODE_LIFETIME``."""
    challenge = Challenge(
        user=user,
        purpose=purpose,
        intent_digest=digest,
        channel=channel,
        summary=summary or {},
        salt=secrets.token_hex(16),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.OTP_CODE_LIFETIME),
    )
    # The user is known and the id a new UUID: only the fields need checking.
    challenge.full_clean(exclude=["user"], validate_unique=False)
    challenge.save(force_insert=True)
    return challenge


def challenge_issue(
    *, user: User, purpose: str, summary: dict, text: str, text_params: dict, to=None
) -> Challenge:
    """Issue a challenge for an intent and queue its SMS once the transaction commits.

    ``text`` is an untranslated message (marked with ``gettext_noop`` by the caller) naming the
    action, ``text_params`` its masked, non-secret values; the worker renders it in the
    customer's language. ``to`` sends the code to another number than ``user.phone``: a new
    number being verified, whatever the customer's confirmation method (a token user's new
    number gets an SMS too); the per-number limit counts that number. Raises ``OtpBlocked``,
    ``NoPhone``, ``ResendTooSoon``, ``SmsLimitReached`` or ``SmsLimitsUnavailable``; and, from
    the commit of the caller's outermost transaction, ``SmsNotQueued`` when the broker cannot
    take the task (the challenge is then voided and counts against no limit). A new challenge
    voids the earlier pending ones of the same intent.

    One transaction (no savepoint of its own: every refusal is raised to the caller, whose
    transaction rolls back) of a few queries: the customer's row lock, one read of the block
    and of the intent's latest challenge, the SMS limits in Redis (``tokens.limits``), three
    INSERTs (challenge, SMS, audit).
    """
    if to is None:
        channel = confirmation_channel(user=user)
        if channel == Challenge.Channel.MOBILE_TOKEN:
            raise exceptions.MobileMakesTheCode()
        if channel != Challenge.Channel.SMS:
            raise exceptions.TokenMakesTheCode()
    phone = to or user.phone
    if not phone:
        raise exceptions.NoPhone()
    digest = intent_digest(purpose=purpose, summary=summary)
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        # One issuer at a time per customer, so that limits hold under double clicks; the
        # block is read under the same lock that code checks take.
        failures = account_services.otp_lock(user=user)
        state = intent_issue_state(user=user, purpose=purpose, digest=digest)
        challenge = Challenge(
            user=user,
            purpose=purpose,
            intent_digest=digest,
            channel=Challenge.Channel.SMS,
            summary={"text": text, "params": text_params},
            salt=secrets.token_hex(16),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_CODE_LIFETIME),
        )
        if state.blocked or failures >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
            refusal = exceptions.OtpBlocked()
        else:
            refusal = _sms_limits_refusal(
                user=user, phone=phone, state=state, now=now, challenge=challenge
            )
        if refusal is None:
            _challenge_issue_write(challenge, state=state, phone=phone)
    # Refused outside the block: with no savepoint of its own, an exception leaving it would
    # spoil the caller's transaction (callers may go on after a refusal).
    if refusal is not None:
        raise refusal
    _sms_global_rate_watch(now=now)
    return challenge


def _challenge_issue_write(challenge: Challenge, *, state, phone) -> None:
    """The writes of ``challenge_issue``, once every rule allowed it."""
    user, purpose, digest, now = (
        challenge.user,
        challenge.purpose,
        challenge.intent_digest,
        challenge.created_at,
    )
    if state.pending:
        _challenges_void(
            Challenge.objects.filter(user=user, purpose=purpose, intent_digest=digest)
        )
    # The user is known and the id a new UUID: only the fields need checking.
    challenge.full_clean(exclude=["user"], validate_unique=False)
    challenge.save(force_insert=True)
    SmsMessage.objects.create(challenge=challenge, user=user, to=phone, created_at=now)
    account_services.audit_log(
        action=AuditEvent.Action.OTP_ISSUED,
        subject=user,
        actor=user,
        data={
            "purpose": purpose,
            "challenge": str(challenge.pk),
            "to": phone_masked(phone),
        },
    )
    transaction.on_commit(
        partial(
            _sms_schedule,
            challenge_id=challenge.pk,
            expires_at=challenge.expires_at,
            user=user,
            phone=phone,
        )
    )


def challenges_void_for_intent(*, user: User | None, purpose: str, summary: dict) -> int:
    """Void the customer's pending challenges of one intent (an action that was cancelled or
    expired): a code already sent or shown for it must not confirm anything any more.

    ``user`` None: every user's, for an intent several users may confirm (the approval of a
    corporate payment, which any other user of the company may have asked a code for)."""
    digest = intent_digest(purpose=purpose, summary=summary)
    challenges = Challenge.objects.filter(purpose=purpose, intent_digest=digest)
    return _challenges_void(challenges if user is None else challenges.filter(user=user))


def challenges_void_for_phone(*, user: User, phone) -> int:
    """Void the customer's pending challenges whose SMS went to ``phone`` (an old number once
    it is replaced): a code on its way there must not confirm anything any more."""
    return _challenges_void(Challenge.objects.filter(user=user, sms__to=phone))


def _challenges_void(challenges) -> int:
    """Void the pending ones of ``challenges``. An SMS of theirs not yet handed to the provider
    will never go (``sms_deliver`` sends only for a pending challenge): it is marked failed
    ("voided") rather than left waiting to be sent forever."""
    pending = challenges.filter(status=Challenge.Status.PENDING)
    SmsMessage.objects.filter(challenge__in=pending, status=SmsMessage.Status.PENDING).update(
        status=SmsMessage.Status.FAILED, error_code="voided", updated_at=timezone.now()
    )
    return pending.update(status=Challenge.Status.VOIDED)


def _sms_limits_refusal(*, user: User, phone, state, now, challenge: Challenge):
    """Refuse a code sent too soon after the last one of this intent (``ResendTooSoon``, with
    the seconds) or beyond the SMS limits (``SmsLimitReached``, with the wait), as
    ``selectors.sms_resend_wait`` reckons it (the page counts down from the same figure);
    else count this code against the limits (reserved in Redis in the same atomic step).
    Returns the refusal (an exception to raise) or None."""
    cooldown = 0.0
    if state.last_created_at is not None and not state.last_failed:
        elapsed = (now - state.last_created_at).total_seconds()
        cooldown = settings.OTP_RESEND_COOLDOWN - elapsed
    if math.ceil(cooldown) > 0:
        # Refused anyway: only which wait is the longer (and so named) is still to know.
        limit = limits.sms_limit_wait(user=user, phone=phone, now=now)
        if math.ceil(limit) > math.ceil(cooldown):
            return exceptions.SmsLimitReached(wait=duration_lazy(math.ceil(limit)))
        return exceptions.ResendTooSoon(seconds=math.ceil(cooldown))
    try:
        wait = limits.sms_limit_wait(user=user, phone=phone, now=now, reserve_for=challenge.pk)
    except exceptions.SmsLimitsUnavailable as exc:
        return exc
    if math.ceil(wait) > 0:
        return exceptions.SmsLimitReached(wait=duration_lazy(math.ceil(wait)))
    return None


def _sms_global_rate_watch(*, now) -> None:
    """Raise the alarm when the whole portal sends more SMS than it ever should (SMS pumping).

    Counted in Redis when the cache is Redis (no COUNT over the SMS table on every click),
    else in the database."""
    window = now - timedelta(seconds=settings.OTP_SMS_GLOBAL_WINDOW)
    count = limits.sms_global_count(now=now)
    if count is None:
        count = SmsMessage.objects.filter(created_at__gt=window).count()
    if count < settings.OTP_SMS_GLOBAL_ALARM:
        return
    first = limits.sms_alarm_first(now=now)
    if first is None:
        first = not AuditEvent.objects.filter(
            action=AuditEvent.Action.SMS_ALARM, created_at__gt=window
        ).exists()
    if first:
        logger.critical("SMS rate alarm: %s SMS in %s s", count, settings.OTP_SMS_GLOBAL_WINDOW)
        account_services.audit_log(
            action=AuditEvent.Action.SMS_ALARM,
            data={"count": count, "window_seconds": settings.OTP_SMS_GLOBAL_WINDOW},
        )


def _sms_schedule(*, challenge_id, expires_at, user, phone) -> None:
    """Queue the send task (it dies with the code); see ``_sms_schedule_failed``."""
    from .tasks import challenge_sms_send

    if not _sms_enqueue(
        challenge_sms_send,
        args=[str(challenge_id)],
        expires=expires_at,
        message=SmsMessage.objects.filter(challenge_id=challenge_id),
    ):
        _sms_schedule_failed(challenge_id=challenge_id, user=user, phone=phone)


def _sms_schedule_failed(*, challenge_id, user, phone) -> None:
    """The broker could not take the send task: the code was never sent, so it must count
    against nothing. The challenge is voided, its SMS marked not queued (``queue``, which no
    limit counts and after which no cooldown holds), its reservation in the limits given back,
    and ``SmsNotQueued`` raised from the commit (an on-commit hook's exception reaches the
    caller of the outermost ``atomic``) for the page to say so."""
    SmsMessage.objects.filter(challenge_id=challenge_id, status=SmsMessage.Status.PENDING).update(
        status=SmsMessage.Status.FAILED, error_code=limits.NOT_QUEUED, updated_at=timezone.now()
    )
    Challenge.objects.filter(pk=challenge_id, status=Challenge.Status.PENDING).update(
        status=Challenge.Status.VOIDED
    )
    limits.sms_limit_release(user=user, phone=phone, challenge_id=challenge_id)
    raise exceptions.SmsNotQueued()


def _sms_enqueue(task, *, args, message, expires=None) -> bool:
    """Queue a send task; if the broker cannot be reached, mark the message failed at once so
    that the page says so and a new code may be asked for. False when not queued."""
    from kombu.exceptions import OperationalError

    try:
        task.apply_async(args=args, expires=expires)
    except OperationalError:
        logger.error("%s%s not queued: broker unreachable", task.name, args)
        message.filter(status=SmsMessage.Status.PENDING).update(
            status=SmsMessage.Status.FAILED, error_code=limits.NOT_QUEUED, updated_at=timezone.now()
        )
        return False
    return True


class _CodeRejected(Exception):
    """A code that was compared and refused: counted in the transaction that compared it."""

    def __init__(self, reason: str, **data):
        self.reason = reason
        self.data = data


@contextmanager
def challenge_verify(
    *,
    user: User,
    purpose: str,
    summary: dict,
    code: str | None,
    challenge: Challenge | None = None,
    by_sms: bool = False,
    session_verified: bool = False,
    counts_toward_block: bool = True,
    on_refused=None,
):
    """Check ``code`` for the intent and consume the challenge together with the action.

    Use it around the action it confirms, outside any transaction::

        with challenge_verify(user=u, purpose="transfer", summary=s, code=code, challenge=c):
            ...  # the action; it commits with the consumption, or neither happens

    ``summary`` comes from the caller's server-side record of the pending action, never from
    the confirm form; ``challenge`` is the SMS challenge sent for it (a token user's code is
    checked against a challenge of its own). Everything happens in one durable transaction
    under ``otp_check_lock``: the block is read, the code compared, the challenge consumed by
    one conditional UPDATE, or the failure counted (a try on the challenge and one toward the
    customer's OTP block), so parallel guesses cannot outrun the block. A blocked customer's
    right code is refused and no challenge is made for them. An intent already confirmed
    raises ``ChallengeUsed`` and costs nothing (a double click). ``by_sms``: the code went by
    SMS whatever the customer's method (a new number being verified, ``challenge_issue(to=)``).
    ``code`` None confirms without
    a code only for a ``per_session`` purpose when the caller says the session was verified by
    an OTP (``session_verified``: django-otp's ``request.user.is_verified()``).

    ``counts_toward_block=False`` is for a code asked for by someone not logged in (the
    forgotten password): a refused code still costs a try on the challenge, but not one toward
    the customer's OTP block, which a stranger who knows the customer's data could otherwise
    set off. ``on_refused()`` then runs in the same transaction when a code is refused (the
    caller counts the failure on its own record) and may return the error to raise instead.
    """
    digest = intent_digest(purpose=purpose, summary=summary)
    refused = None
    # durable: refuses to run inside an outer transaction, which would hold back (or roll
    # back) the failure count and the consumption.
    with transaction.atomic(durable=True):
        blocked = account_services.otp_check_lock(user=user)
        # First: a resubmission of what already happened (a second tab) is answered as such,
        # blocked or not; it runs nothing and checks no code.
        if _intent_confirmed(user=user, purpose=purpose, digest=digest):
            raise exceptions.ChallengeUsed()
        if blocked:
            raise exceptions.OtpBlocked()
        if code is None:
            if not session_covers(purpose=purpose, session_verified=session_verified):
                raise exceptions.NoChallenge()
            yield None
            _verified_audit(user=user, purpose=purpose, challenge=None)
            return
        checked = _challenge_for_check(
            user=user, purpose=purpose, digest=digest, current=challenge, by_sms=by_sms
        )
        # A Mobile Token code is made over the destination's last digits for money ("APPLI 2"):
        # from the caller's stored summary, never from the form.
        link = (
            mobile.link_for(purpose=purpose, summary=summary)
            if checked.channel == Challenge.Channel.MOBILE_TOKEN
            else ""
        )
        try:
            _challenge_consume(
                user=user, challenge=checked, purpose=purpose, digest=digest, code=code, link=link
            )
        except _CodeRejected as rejected:
            refused = _rejection_record(
                user=user,
                challenge=checked,
                rejected=rejected,
                counts_toward_block=counts_toward_block,
            )
            if on_refused is not None:
                refused = on_refused() or refused
        else:
            yield checked
            account_services.otp_failure_reset(user=user)
            _verified_audit(user=user, purpose=purpose, challenge=checked)
    if refused is not None:
        raise refused


def _intent_confirmed(*, user: User, purpose: str, digest: str) -> bool:
    """True once a challenge of this intent was consumed: the action it confirmed happened
    (consumption commits with the action, or neither)."""
    return Challenge.objects.filter(
        user=user, purpose=purpose, intent_digest=digest, status=Challenge.Status.CONSUMED
    ).exists()


def _verified_audit(*, user: User, purpose: str, challenge: Challenge | None) -> None:
    account_services.audit_log(
        action=AuditEvent.Action.OTP_VERIFIED,
        subject=user,
        actor=user,
        data={
            "purpose": purpose,
            "challenge": str(challenge.pk) if challenge else "",
            "policy": POLICY_PER_SESSION if challenge is None else POLICY_PER_TRANSACTION,
        },
    )


def _challenge_consume(
    *, user: User, challenge: Challenge, purpose: str, digest: str, code: str, link: str = ""
) -> None:
    """Compare the code and consume the challenge in the current transaction."""
    if (
        challenge.user_id != user.pk
        or challenge.purpose != purpose
        or not constant_time_compare(challenge.intent_digest, digest)
    ):
        raise _CodeRejected("intent_mismatch")
    _raise_unless_pending(challenge)
    if not _code_matches(user=user, challenge=challenge, code=code, link=link):
        raise _CodeRejected("wrong_code")
    now = timezone.now()
    won = Challenge.objects.filter(
        pk=challenge.pk,
        status=Challenge.Status.PENDING,
        expires_at__gt=now,
        attempts__lt=settings.OTP_MAX_ATTEMPTS,
    ).update(status=Challenge.Status.CONSUMED, consumed_at=now)
    if not won:
        challenge.refresh_from_db()
        _raise_unless_pending(challenge)
        raise exceptions.ChallengeUsed()
    challenge.status, challenge.consumed_at = Challenge.Status.CONSUMED, now


def _code_matches(*, user: User, challenge: Challenge, code: str, link: str = "") -> bool:
    if challenge.channel == Challenge.Channel.SMS:
        return code_generator.check(challenge, code)
    if challenge.channel == Challenge.Channel.MOBILE_TOKEN:
        device = mobile_device_for(user=user)
        if device is None:
            raise exceptions.NoUsableToken()
        # Moves the device's last step on in this transaction: a code is accepted once. A
        # wrong Unlock Code, another destination or a replaced phone: an ordinary wrong code.
        if mobile.device_code_verify(device=device, code=code, link=link):
            return True
        if mobile.device_code_reused(device=device, code=code, link=link):
            raise _CodeRejected("code_reused", device=str(device.public_id))
        return False
    token = HardwareToken.objects.usable().filter(user=user).first()
    if token is None:
        raise exceptions.NoUsableToken()
    # Moves the token's counter or step on in this transaction: a code is accepted once.
    if hardware.token_code_verify(token=token, code=code):
        return True
    if hardware.token_code_reused(token=token, code=code):
        raise _CodeRejected("code_reused", serial=token.serial)
    return False


def _raise_unless_pending(challenge: Challenge) -> None:
    if challenge.status == Challenge.Status.CONSUMED:
        raise exceptions.ChallengeUsed()
    if challenge.status == Challenge.Status.VOIDED or (
        challenge.attempts >= settings.OTP_MAX_ATTEMPTS
    ):
        raise exceptions.ChallengeVoided()
    if challenge.is_expired:
        raise exceptions.ChallengeExpired()


def _rejection_record(
    *, user: User, challenge: Challenge, rejected: _CodeRejected, counts_toward_block: bool = True
) -> exceptions.OtpError:
    """Count a refused code (a try on the challenge, a consecutive failure); return the error.

    Runs under ``otp_check_lock`` in the transaction that compared the code. A token code used
    again is counted like a wrong one, and also logged as a replay; the holder is told it was
    already used (someone may have watched it).
    """
    reason = rejected.reason
    if reason in ("wrong_code", "code_reused"):
        challenge.attempts += 1
        Challenge.objects.filter(pk=challenge.pk).update(attempts=challenge.attempts)
        if challenge.attempts >= settings.OTP_MAX_ATTEMPTS:
            _challenges_void(Challenge.objects.filter(pk=challenge.pk))
            challenge.status = Challenge.Status.VOIDED
    count = (
        account_services.otp_failure_record(
            user=user, max_failures=settings.OTP_MAX_CONSECUTIVE_FAILURES
        )
        if counts_toward_block
        else 0
    )
    account_services.audit_log(
        action=AuditEvent.Action.OTP_FAILED,
        subject=user,
        actor=user,
        data={"challenge": str(challenge.pk), "reason": reason, "consecutive": count},
    )
    if reason == "code_reused":
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_CODE_REUSED,
            subject=user,
            actor=user,
            data={"challenge": str(challenge.pk), "purpose": challenge.purpose, **rejected.data},
        )
    if count >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
        return exceptions.OtpBlocked()
    if reason == "intent_mismatch":
        return exceptions.IntentMismatch()
    if reason == "code_reused":
        if challenge.channel == Challenge.Channel.MOBILE_TOKEN:
            return exceptions.MobileCodeReused()
        return exceptions.TokenCodeReused()
    if challenge.channel == Challenge.Channel.HARDWARE_TOKEN:
        return exceptions.TokenWrongCode()
    if challenge.channel == Challenge.Channel.MOBILE_TOKEN:
        return exceptions.MobileWrongCode()
    if challenge.status == Challenge.Status.VOIDED:
        return exceptions.ChallengeVoided()
    return exceptions.WrongCode(remaining=settings.OTP_MAX_ATTEMPTS - challenge.attempts)


def session_device_for(*, user: User):
    """The django-otp device a confirmation verifies the session with (resolved before the
    action, so nothing after the money moved can fail on it)."""
    if user.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN:
        device = mobile_device_for(user=user)
        if device is not None:
            return device
    if user.confirmation_method == User.ConfirmationMethod.HARDWARE_TOKEN:
        device = HardwareTokenDevice.objects.filter(
            user=user, token__state=HardwareToken.State.ACTIVE
        ).first()
        if device is not None:
            return device
    current = getattr(user, "otp_device", None)  # django-otp's, read for this request
    if isinstance(current, SMSDevice) and current.user_id == user.pk:
        return current
    return sms_device_for(user)


def session_verified(*, request, device) -> bool:
    """Mark the session verified by the customer's device (django-otp) and cycle its key.

    False when the session ended while the confirmation ran (a logout in another tab, a new
    login elsewhere): the session is then flushed here, never revived under the new key, and
    the request goes on logged out."""
    from django_otp import login as otp_login

    otp_login(request, device)
    return account_services.session_key_cycle(request, user=request.user)


def session_covers(*, purpose: str, session_verified: bool) -> bool:
    """True when the session's earlier OTP also confirms ``purpose``: a ``per_session`` purpose
    in a session verified by OTP. Never for money (``policy_for``)."""
    return session_verified and policy_for(purpose) == POLICY_PER_SESSION


# --- Sending ------------------------------------------------------------------------------


def sms_body(challenge: Challenge, code: str) -> str:
    """The SMS text, in the customer's language, with the fraud warning."""
    minutes = max(1, settings.OTP_CODE_LIFETIME // 60)
    with override(challenge.user.language):
        action = gettext(challenge.summary.get("text", "")) % challenge.summary.get("params", {})
        # One plain (GSM-7) segment of at most 160 characters, with the bank's name, in every
        # language (tests/tokens/test_sms_text.py renders every purpose at its longest).
        return gettext(
            "Bank Nusantara: OTP %(code)s for %(action)s. Valid %(minutes)s minutes. "
            "NEVER GIVE this code to anyone, including bank staff."
        ) % {"code": code, "action": action, "minutes": minutes}


def sms_deliver(*, challenge_id) -> SmsMessage | None:
    """Send the challenge's SMS once, whatever retries, redeliveries or lost answers happen.

    The message is claimed (→ sending) by a conditional UPDATE before the provider is called;
    a second worker, a redelivered task or a late retry finds it claimed and sends nothing. A
    transient error puts it back to pending and re-raises for the task to retry. An uncertain
    outcome (a timeout, a lost answer: the provider may have it) leaves it ``unknown`` and
    re-raises; so does a worker killed while sending (the claim is older than
    ``SMS_SEND_LEASE``). Either is claimed again only to ask the provider first: the message
    found there is recorded, and only a message the provider does not have is sent again.
    """
    now = timezone.now()
    claim = _sms_claim(
        SmsMessage.objects.filter(
            challenge_id=challenge_id,
            challenge__status=Challenge.Status.PENDING,
            challenge__expires_at__gt=now,
        ),
        now=now,
    )
    if claim is None:
        return None
    challenge = Challenge.objects.select_related("user", "sms").get(pk=challenge_id)
    return _sms_send(
        challenge.sms,
        body=sms_body(challenge, code_generator.code(challenge)),
        validity=max(1, int((challenge.expires_at - now).total_seconds())),
        claim=claim,
    )


def notice_deliver(*, message_id) -> SmsMessage | None:
    """Send a notice SMS (no code in it) once, like ``sms_deliver``."""
    claim = _sms_claim(
        SmsMessage.objects.filter(pk=message_id, challenge__isnull=True), now=timezone.now()
    )
    if claim is None:
        return None
    message = SmsMessage.objects.select_related("user").get(pk=message_id)
    with override(message.user.language):
        body = gettext(message.notice.get("text", "")) % message.notice.get("params", {})
    return _sms_send(message, body=body, validity=settings.SMS_NOTICE_VALIDITY, claim=claim)


@dataclass(frozen=True)
class _Claim:
    message_id: int
    attempt: int  # the message's ``attempts`` once claimed: whose outcome may be recorded
    look_first: bool  # the provider may already have the message: ask it before sending


def _sms_claim(messages, *, now) -> _Claim | None:
    """Claim the one message of ``messages`` that may be sent (→ sending, one more attempt):
    a pending one, an ``unknown`` one (its last attempt ended without an answer), or one left
    ``sending`` longer than ``SMS_SEND_LEASE`` (its worker died, or its provider is that slow).
    Returns the claim, or None.

    A compare-and-set on (status, attempts): of two workers racing, one wins."""
    lease_over = now - timedelta(seconds=settings.SMS_SEND_LEASE)
    candidate = (
        messages.filter(
            Q(status=SmsMessage.Status.PENDING)
            | Q(status=SmsMessage.Status.UNKNOWN, provider_id__isnull=True)
            | Q(
                status=SmsMessage.Status.SENDING,
                provider_id__isnull=True,
                updated_at__lt=lease_over,
            )
        )
        .values_list("pk", "status", "attempts")
        .first()
    )
    if candidate is None:
        return None
    pk, status, attempts = candidate
    claimed = SmsMessage.objects.filter(pk=pk, status=status, attempts=attempts).update(
        status=SmsMessage.Status.SENDING, attempts=attempts + 1, updated_at=now
    )
    if not claimed:
        return None
    return _Claim(pk, attempts + 1, look_first=status != SmsMessage.Status.PENDING)


def _sms_send(message: SmsMessage, *, body: str, validity: int, claim: _Claim) -> SmsMessage:
    # No database connection is held while the provider answers (up to TWILIO_TIMEOUT): the
    # worker waits on the network with many threads, PostgreSQL allows few connections.
    _db_connection_release()
    backend = sms.get_backend()
    try:
        sent = None
        if claim.look_first:
            sent = backend.find(to=str(message.to), body=body, since=message.created_at)
        if sent is None:
            sent = backend.send(
                to=str(message.to),
                body=body,
                validity_period=validity,
                status_callback=settings.SMS_STATUS_CALLBACK_URL,
            )
    except sms.TransientSmsError as exc:
        # Not taken (or, after an uncertain attempt, not known yet): try again later, unless
        # the message is no longer this attempt's (its holder retries, not this task).
        status = SmsMessage.Status.UNKNOWN if claim.look_first else SmsMessage.Status.PENDING
        if _sms_mark(message, claim, status, error_code=exc.code):
            raise
        return message
    except sms.UncertainSmsError as exc:
        if _sms_mark(message, claim, SmsMessage.Status.UNKNOWN, error_code=exc.code):
            raise
        return message
    except sms.PermanentSmsError as exc:
        _sms_mark(message, claim, SmsMessage.Status.FAILED, error_code=exc.code)
        return message
    except BaseException:
        # Anything unforeseen (a bug, the worker told to stop): the provider may have the
        # message; a later attempt asks it before sending again.
        _sms_mark(message, claim, SmsMessage.Status.UNKNOWN, error_code="error")
        raise
    _sms_mark(
        message, claim, _provider_status(sent.status), error_code="", provider_id=sent.provider_id
    )
    return message


def _db_connection_release() -> None:
    """Hand the thread's database connection back (to the pool, or closed) before a long
    network wait, unless a transaction is open (tests run inside one)."""
    if not connection.in_atomic_block:
        connection.close()


def notice_send(
    *, user: User, text: str, params: dict, to=None, email: bool = True
) -> SmsMessage | None:
    """Tell the customer something by SMS (and email when they have one), after commit.

    ``text`` is an untranslated message (``gettext_noop``) and ``params`` its non-secret
    values: never a code. ``to`` sends the SMS to another number than the registered one (the
    old number after a change). Nothing goes to a registered phone reported lost (whoever has
    it now is not the customer); the email still goes. Audited.
    """
    phone = to or (None if account_selectors.phone_reported_lost(user=user) else user.phone)
    message = None
    if phone:
        message = SmsMessage.objects.create(
            user=user, to=phone, notice={"text": text, "params": params}
        )
        transaction.on_commit(partial(_notice_schedule, message_id=message.pk))
    if email and user.email:
        account_services.email_notice_schedule(
            address=user.email, text=text, params=params, language=user.language, user=user
        )
    account_services.audit_log(
        action=AuditEvent.Action.NOTICE_SENT,
        subject=user,
        data={"text": text, "to": phone_masked(phone) if phone else "", "email": bool(user.email)},
    )
    return message


def _notice_schedule(*, message_id) -> None:
    from .tasks import notice_sms_send

    _sms_enqueue(
        notice_sms_send, args=[message_id], message=SmsMessage.objects.filter(pk=message_id)
    )


def sms_message_give_up(*, message_id, error_code: str) -> None:
    SmsMessage.objects.filter(pk=message_id, status=SmsMessage.Status.PENDING).update(
        status=SmsMessage.Status.FAILED, error_code=error_code
    )


def sms_give_up(*, challenge_id, error_code: str) -> None:
    """No more retries: the customer may ask for a new code at once. A message whose fate is
    unknown stays ``unknown`` (the page says "SMS tertunda"): it may have been delivered."""
    SmsMessage.objects.filter(challenge_id=challenge_id, status=SmsMessage.Status.PENDING).update(
        status=SmsMessage.Status.FAILED, error_code=error_code
    )


def sms_retry_delay(*, retries: int) -> float:
    """Exponential backoff with full jitter: 2, 4, 8 … seconds at most, never less than 1."""
    ceiling = settings.SMS_SEND_RETRY_BASE * (2**retries)
    return max(1.0, secrets.SystemRandom().uniform(ceiling / 2, ceiling))


def sms_retry_worthwhile(*, challenge_id, delay: float) -> bool:
    """A retry is worth it only if the code will still be valid for a while after it."""
    expires_at = Challenge.objects.values_list("expires_at", flat=True).get(pk=challenge_id)
    margin = settings.OTP_CODE_LIFETIME / 5
    return timezone.now() + timedelta(seconds=delay + margin) < expires_at


def sms_status_update(*, provider_id: str, status: str, error_code: str = "") -> bool:
    """Apply a provider's status callback; statuses only ever move forward.

    One conditional UPDATE moves the message only from a status ranked below the new one and
    not final, so two callbacks applied at once (a late "sent", a "delivered") end on the
    higher rank in either order; a late or repeated callback changes nothing. Returns False
    for a provider id the portal does not know.
    """
    new = _provider_status(status)
    # A read-then-write would let a late "sent" overwrite a "delivered" committed in between.
    movable_from = [
        old
        for old, rank in SmsMessage.RANK.items()
        if rank < SmsMessage.RANK[new] and old not in SmsMessage.FINAL_STATES
    ]
    moved = SmsMessage.objects.filter(provider_id=provider_id, status__in=movable_from).update(
        # .update() skips auto_now, so the time of the move is set here.
        status=new,
        error_code=error_code[:16],
        updated_at=timezone.now(),
    )
    return bool(moved) or SmsMessage.objects.filter(provider_id=provider_id).exists()


def _sms_mark(
    message: SmsMessage, claim: _Claim, status: str, *, error_code: str, provider_id=None
) -> bool:
    """Record the attempt's outcome while the attempt still holds its claim; True if it did.

    One that answered after ``SMS_SEND_LEASE`` lost the message to a later attempt, whose record
    stands (its provider id is the one status callbacks name). One exception: a late acceptance
    is recorded when the later attempt has finished without a provider id (``unknown``,
    ``pending``): it is then the only news that the message was sent."""
    fields = {"status": status, "error_code": error_code, "updated_at": timezone.now()}
    if provider_id is not None:
        fields["provider_id"] = provider_id
    messages = SmsMessage.objects.filter(pk=claim.message_id)
    recorded = messages.filter(
        status=SmsMessage.Status.SENDING, attempts=claim.attempt
    ).update(**fields)
    if not recorded and provider_id is not None:
        recorded = (
            messages.filter(provider_id__isnull=True)
            .exclude(status=SmsMessage.Status.SENDING)
            .update(**fields)
        )
    if recorded:
        for name, value in fields.items():
            setattr(message, name, value)
    else:
        logger.warning(
            "SMS %s: attempt %s answered (%s, provider id %s) after a later attempt took it "
            "over; not recorded",
            claim.message_id,
            claim.attempt,
            status,
            provider_id or "-",
        )
    return bool(recorded)


def _provider_status(status: str) -> str:
    mapping = {
        "accepted": SmsMessage.Status.ACCEPTED,
        "queued": SmsMessage.Status.ACCEPTED,
        "scheduled": SmsMessage.Status.ACCEPTED,
        "sending": SmsMessage.Status.ACCEPTED,
        "sent": SmsMessage.Status.SENT,
        "delivered": SmsMessage.Status.DELIVERED,
        "read": SmsMessage.Status.DELIVERED,
        "undelivered": SmsMessage.Status.UNDELIVERED,
        "failed": SmsMessage.Status.FAILED,
        "canceled": SmsMessage.Status.FAILED,
    }
    return mapping.get(status, SmsMessage.Status.UNKNOWN)


# --- Changes of a customer's mobile number -------------------------------------------------


@transaction.atomic
def phone_number_change(
    *,
    user: User,
    new_phone,
    actor: User,
    reason: str,
    ip: str | None = None,
    profile_change=None,
    data: dict | None = None,
) -> str:
    """The one way a customer's mobile number changes, whoever asked: the customer (step 2 of
    Profil Saya, ``profile_change``, completed here) or staff (a change a supervisor approved).

    In one transaction: the number is written (``accounts.services.phone_number_set``: one
    number, one customer; open changes voided; audited), the codes still on their way to the
    old number are voided (they must confirm nothing any more), and the customer is told on
    the old number and by email. It lives here, not in accounts, because voiding challenges
    and sending SMS belong to the OTP core, and accounts' services import nothing of tokens.
    Returns the old number. Raises PhoneNotAvailable, SamePhone or ChangeNotPending.
    """
    if profile_change is not None:
        account_services.phone_change_complete(change=profile_change)
    old_phone = account_services.phone_number_set(
        user=user, new_phone=new_phone, actor=actor, reason=reason, ip=ip, data=data
    )
    user.phone = new_phone
    params = {"phone": phone_masked(new_phone)}
    if old_phone:
        challenges_void_for_phone(user=user, phone=old_phone)
        notice_send(
            user=user, text=account_services.PHONE_CHANGED_TEXT, params=params, to=old_phone
        )
    elif user.email:
        account_services.email_notice_schedule(
            address=user.email,
            text=account_services.PHONE_CHANGED_TEXT,
            params=params,
            language=user.language,
            user=user,
        )
    return old_phone


@transaction.atomic
def contact_change_approve(
    *, change_request, approver: User, note: str = "", ip: str | None = None
):
    """A supervisor who did not ask approves a staff change of a customer's phone or email
    (four eyes, checked in ``accounts.services.contact_change_approval_record``), and it takes
    effect in the same transaction: a number through ``phone_number_change`` (codes on their
    way to the old number voided; the old number and the email told), an email through
    ``accounts.services.email_address_set`` (the old address told) and an SMS to the phone.

    Here rather than in accounts because it voids challenges and sends SMS. Returns the
    request. Raises a StaffError (PhoneInUse if the number was taken since it was asked).
    """
    from accounts import exceptions as account_exceptions
    from accounts.models import ContactChangeRequest
    from portal.formatting import email_masked

    approved = account_services.contact_change_approval_record(
        change_request=change_request, approver=approver, note=note, ip=ip
    )
    user = approved.user
    data = {"request": approved.pk, "requested_by": approved.requested_by.user_id}
    if approved.kind == ContactChangeRequest.Kind.PHONE:
        try:
            phone_number_change(
                user=user,
                new_phone=approved.new_phone,
                actor=approver,
                reason=approved.reason,
                ip=ip,
                data=data,
            )
        except account_exceptions.PhoneNotAvailable:
            # Staff may be told why (unlike a customer): taken since it was asked, say.
            raise account_exceptions.PhoneInUse() from None
    else:
        account_services.email_address_set(
            user=user,
            new_email=approved.new_email,
            actor=approver,
            reason=approved.reason,
            ip=ip,
            data=data,
        )
        user.refresh_from_db(fields=["email"])
        notice_send(
            user=user,
            text=account_services.EMAIL_CHANGED_TEXT,
            params={"email": email_masked(user.email)},
            email=False,
        )
    return approved
