"""Hardware OATH tokens: stock from PSKC files, sealed seeds, and checking their codes.

Kept apart from ``services.py`` (the SMS challenge core) because a token's code is checked
against the token's own state (HOTP counter, TOTP step and drift), not derived from a
challenge. The OATH arithmetic is django-otp's (``django_otp.oath``).
"""

import re
import time
from dataclasses import dataclass, field
from datetime import date

import pskc
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop
from django_otp.oath import hotp

from accounts import services as account_services
from accounts.models import AuditEvent, User

from . import exceptions
from .models import HardwareToken, HardwareTokenDevice

PERM_IMPORT = "tokens.import_tokens"
PERM_ASSIGN = "tokens.assign_token"
PERM_STATE = "tokens.change_token_state"
PERM_RESYNC = "tokens.resync_token"
PERM_SMS_FALLBACK = "tokens.switch_sms_fallback"
# What each staff role may do with tokens (migration tokens 0006_token_roles holds a frozen
# copy). A branch officer runs the stock; only a supervisor may move a customer down to SMS.
TOKEN_ROLE_PERMISSIONS = {
    "Branch officer": [
        "view_hardwaretoken", "import_tokens", "assign_token", "change_token_state",
        "resync_token",
    ],
    "Supervisor": [
        "view_hardwaretoken", "import_tokens", "assign_token", "change_token_state",
        "resync_token", "switch_sms_fallback",
    ],
}

PSKC_ALGORITHMS = {
    "urn:ietf:params:xml:ns:keyprov:pskc:hotp": HardwareToken.Algorithm.HOTP,
    "urn:ietf:params:xml:ns:keyprov:pskc:totp": HardwareToken.Algorithm.TOTP,
}


# --- Seeds at rest ------------------------------------------------------------------------


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TOKEN_SEED_KEYS])


def seed_seal(secret: bytes) -> str:
    return _cipher().encrypt(secret).decode()


def seed_unseal(sealed: str) -> bytes:
    return _cipher().decrypt(sealed.encode())


# --- Import -------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The file was not imported at all; ``report`` says why, token by token."""

    def __init__(self, report: "ImportReport"):
        self.report = report
        super().__init__("; ".join(report.problems))


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def tokens_import(
    *,
    source,
    batch: str,
    password: str | None = None,
    psk: str | None = None,
    actor: User | None = None,
    ip: str | None = None,
    reason: str = "",
) -> ImportReport:
    """Import every OTP key of a PSKC file (RFC 6030) into stock, all or nothing.

    ``source`` is a path or a binary file. The file may be plain, encrypted with a pre-shared
    key (``psk``, hex) or with a password (PBKDF2). Keys that are not OTP keys (a PIN key) are
    skipped and named; any real problem (unreadable file, wrong key, failed MAC, a secret too
    short, unsupported digits or step, a serial already in stock or twice in the file) is
    reported per token and nothing at all is imported. ``actor`` None is the server
    (``manage.py import_tokens``); a member of staff needs ``tokens.import_tokens``.
    """
    if actor is not None:
        _staff_check(actor=actor, permission=PERM_IMPORT)
    report = ImportReport()
    try:
        document = pskc.PSKC(source)
    except pskc.exceptions.PSKCError as exc:
        report.problems.append(f"file: not a readable PSKC file ({exc})")
        raise ImportRefused(report) from None
    try:
        if psk:
            document.encryption.key = bytes.fromhex(psk)
        elif password:
            document.encryption.derive_key(password)
    except (ValueError, pskc.exceptions.KeyDerivationError) as exc:
        report.problems.append(f"file: the key or password cannot be used ({exc})")
        raise ImportRefused(report) from None
    tokens, seen = [], set()
    for position, key in enumerate(document.keys, start=1):
        label = f"token {key.serial or f'#{position} (no serial)'}"
        algorithm = PSKC_ALGORITHMS.get(key.algorithm or "")
        if algorithm is None:
            report.skipped.append(f"{label}: not an OTP key ({key.algorithm}), skipped")
            continue
        token, problem = _token_from_key(key, algorithm, batch, key_given=bool(psk or password))
        if problem is None and token.serial in seen:
            problem = "serial appears twice in the file"
        if problem:
            report.problems.append(f"{label}: {problem}")
            continue
        seen.add(token.serial)
        tokens.append(token)
    existing = set(
        HardwareToken.objects.filter(serial__in=seen).values_list("serial", flat=True)
    )
    report.problems += [f"token {serial}: serial already in stock" for serial in sorted(existing)]
    if not tokens and not report.problems:
        report.problems.append("file: no OTP key in it")
    if report.problems:
        raise ImportRefused(report)
    with transaction.atomic():
        HardwareToken.objects.bulk_create(tokens)
        report.imported = [t.serial for t in tokens]
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_IMPORTED,
            actor=actor,
            ip=ip,
            reason=reason,
            data={
                "batch": batch[:200],
                "count": len(report.imported),
                "first": report.imported[0],
                "last": report.imported[-1],
                "skipped": len(report.skipped),
            },
        )
    return report


def _token_from_key(
    key, algorithm, batch, *, key_given: bool
) -> tuple[HardwareToken | None, str | None]:
    try:
        secret = key.secret
    except pskc.exceptions.DecryptionError as exc:
        if not key_given:
            return None, "secret is encrypted with a key that was not given (--psk or --password)"
        return None, f"secret cannot be decrypted ({exc}): wrong key or password?"
    if secret is None:
        return None, "secret is encrypted with a key that was not given"
    if len(secret) < settings.TOKEN_MIN_SEED_BYTES:
        return None, f"secret of {len(secret)} bytes is too short (at least 16)"
    serial = (key.serial or "").strip().upper()
    if not serial:
        return None, "no serial number"
    digits = key.response_length or 6
    if digits not in (6, 8):
        return None, f"{digits} digits are not supported (6 or 8)"
    if (key.algorithm_suite or "SHA1").upper().replace("-", "") not in ("SHA1", ""):
        return None, f"hash {key.algorithm_suite} is not supported (SHA1)"
    step = None
    if algorithm == HardwareToken.Algorithm.TOTP:
        step = key.time_interval or 30
        if step not in (30, 60):
            return None, f"time step of {step} s is not supported (30 or 60)"
    token = HardwareToken(
        serial=serial,
        algorithm=algorithm,
        digits=digits,
        step=step,
        t0=int(key.time_offset or 0) * (step or 0),
        counter=int(key.counter or 0),
        sealed_seed=seed_seal(secret),
        manufacturer=(key.manufacturer or "")[:100],
        batch=batch[:200],
    )
    return token, None


# --- Codes --------------------------------------------------------------------------------


def _now() -> float:
    """The time seam: tests travel with time-machine."""
    return time.time()


def _code(secret: bytes, counter: int, digits: int) -> str:
    return str(hotp(secret, counter, digits)).zfill(digits)


def token_code_verify(
    *,
    token: HardwareToken,
    code: str,
    accept_states: tuple[str, ...] = (HardwareToken.State.ACTIVE,),
) -> bool:
    """Accept a code from the token once, under a row lock, and move its state on.

    HOTP: the next ``TOKEN_HOTP_WINDOW`` counters are tried and the counter moves past the
    match. TOTP: ±``TOKEN_TOTP_TOLERANCE`` steps around the learnt drift, never a step at or
    before the last one accepted, and the drift is learnt. Returns False for a wrong or
    replayed code; the caller decides what a failure costs. Activation checks an ``assigned``
    token by passing ``accept_states``.
    """
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        if locked.state not in accept_states:
            return False
        matched = _match(locked, code)
        if matched is None:
            return False
        HardwareToken.objects.filter(pk=locked.pk).update(**matched)
        for name, value in matched.items():
            setattr(token, name, value)
        return True


def _match(token: HardwareToken, code: str) -> dict | None:
    secret = seed_unseal(token.sealed_seed)
    if token.algorithm == HardwareToken.Algorithm.HOTP:
        for counter in range(token.counter, token.counter + settings.TOKEN_HOTP_WINDOW):
            if constant_time_compare(_code(secret, counter, token.digits), code):
                return {"counter": counter + 1}
        return None
    now_t = int((_now() - token.t0) // token.step)
    tolerance = settings.TOKEN_TOTP_TOLERANCE
    for offset in sorted(range(-tolerance, tolerance + 1), key=abs):
        t = now_t + token.drift + offset
        if t > token.last_t and constant_time_compare(_code(secret, t, token.digits), code):
            return {"last_t": t, "drift": t - now_t}
    return None


def token_resync(*, token: HardwareToken, first: str, second: str) -> bool:
    """Staff resynchronise a token from two consecutive codes, searching a wide window.

    Only codes the token has not given yet count: the HOTP search starts at the next counter,
    the TOTP search after the last step accepted. So the counter and the last step never move
    backwards, and two old (maybe watched) codes cannot shift the drift either.
    """
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        secret = seed_unseal(locked.sealed_seed)
        window = settings.TOKEN_RESYNC_WINDOW
        if locked.algorithm == HardwareToken.Algorithm.HOTP:
            start = locked.counter
            counters = range(start, start + window)
        else:
            now_t = int((_now() - locked.t0) // locked.step)
            counters = range(max(now_t - window, locked.last_t + 1), now_t + window)
        for t in counters:
            if constant_time_compare(
                _code(secret, t, locked.digits), first
            ) and constant_time_compare(_code(secret, t + 1, locked.digits), second):
                # Never backwards (max as a second guard): a counter or step the portal
                # already passed would make its codes good again.
                if locked.algorithm == HardwareToken.Algorithm.HOTP:
                    changes = {"counter": max(locked.counter, t + 2)}
                else:
                    changes = {"last_t": max(locked.last_t, t + 1), "drift": t + 1 - now_t}
                HardwareToken.objects.filter(pk=locked.pk).update(**changes)
                for name, value in changes.items():
                    setattr(token, name, value)
                return True
        return False


def token_code_current(*, token: HardwareToken) -> str:
    """The code the token shows now (TOTP) or on its next press (HOTP), without using it.

    For ``manage.py token_code``, which plays the token in local development only.
    """
    secret = seed_unseal(token.sealed_seed)
    if token.algorithm == HardwareToken.Algorithm.HOTP:
        return _code(secret, token.counter, token.digits)
    return _code(secret, int((_now() - token.t0) // token.step), token.digits)


def token_code_reused(*, token: HardwareToken, code: str) -> bool:
    """True if ``code`` is one the token already gave and the portal already accepted.

    Asked only after ``token_code_verify`` refused the code, to tell a replay (rejected,
    logged, the holder told) from a wrong code. HOTP: the last ``TOKEN_HOTP_WINDOW`` counters
    before the next one; TOTP: the steps around now, at or before the last accepted step.
    """
    token = HardwareToken.objects.get(pk=token.pk)
    secret = seed_unseal(token.sealed_seed)
    if token.algorithm == HardwareToken.Algorithm.HOTP:
        candidates = range(max(0, token.counter - settings.TOKEN_HOTP_WINDOW), token.counter)
    else:
        now_t = int((_now() - token.t0) // token.step)
        tolerance = settings.TOKEN_TOTP_TOLERANCE
        candidates = [
            t
            for t in range(now_t + token.drift - tolerance, now_t + token.drift + tolerance + 1)
            if 0 <= t <= token.last_t
        ]
    return any(constant_time_compare(_code(secret, c, token.digits), code) for c in candidates)


# --- Life of a token (staff and customer) -------------------------------------------------


def token_roles_grant() -> None:
    """Give the staff roles their token permissions (idempotent; adds, never removes).

    Migration 0006 does this on ``migrate``; call it again after
    ``accounts.services.roles_sync``, which sets each group to its accounts permissions only.
    """
    from django.contrib.auth.models import Group, Permission

    for group_name, codenames in TOKEN_ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="tokens", codename__in=codenames)
        )


def _staff_check(*, actor: User, permission: str) -> None:
    if actor is None or not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise exceptions.TokenActionRefused(
            "You do not have the permission for this action on tokens."
        )


def serial_normalise(serial: str) -> str:
    """The serial as printed on the token, however typed: spaces and dashes go, upper case."""
    return re.sub(r"[\s\-]", "", serial or "").upper()


def token_assign(
    *, token: HardwareToken, user: User, actor: User, reason: str, ip: str | None
) -> HardwareToken:
    """Hand a token from stock to a customer (branch officer); only ``in_stock → assigned``."""
    _staff_check(actor=actor, permission=PERM_ASSIGN)
    if user.is_staff or not user.is_active:
        raise exceptions.TokenActionRefused("A token can be assigned to an active customer only.")
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        if locked.state != HardwareToken.State.IN_STOCK:
            raise exceptions.TokenActionRefused(
                f"Token {locked.serial} is {locked.get_state_display()}, not in stock."
            )
        locked.state, locked.user, locked.assigned_at = (
            HardwareToken.State.ASSIGNED, user, timezone.now()
        )
        locked.save(update_fields=["state", "user", "assigned_at"])
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_ASSIGNED,
            subject=user,
            actor=actor,
            ip=ip,
            reason=reason,
            data={"serial": locked.serial},
        )
    return locked


STATE_CHANGE_OWN_SERVICE = (HardwareToken.State.ASSIGNED, HardwareToken.State.ACTIVE)


def token_state_change(
    *, token: HardwareToken, state: str, actor: User, reason: str, ip: str | None
) -> HardwareToken:
    """Move a token on as ``HardwareToken.TRANSITIONS`` allows (lost, damaged, …), at once.

    Confirmation checks the token's state on every code, so a token that is no longer active
    confirms nothing from this commit on, in every session. The holder keeps the hardware-token
    method (and so sees "token cannot be used") until staff switch SMS on for them.
    """
    _staff_check(actor=actor, permission=PERM_STATE)
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        # Assigning and activating have their own services (and checks).
        if state in STATE_CHANGE_OWN_SERVICE or not locked.may_become(state):
            raise exceptions.TokenActionRefused(
                f"Token {locked.serial} cannot go from {locked.get_state_display()} "
                f"to {HardwareToken.State(state).label}."
            )
        previous, holder = locked.state, locked.user
        locked.state = state
        fields = ["state"]
        if state == HardwareToken.State.IN_STOCK:
            locked.user, locked.assigned_at = None, None
            fields += ["user", "assigned_at"]
        locked.save(update_fields=fields)
        HardwareTokenDevice.objects.filter(token=locked).update(confirmed=False)
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_STATE_CHANGED,
            subject=holder,
            actor=actor,
            ip=ip,
            reason=reason,
            data={"serial": locked.serial, "from": previous, "to": state},
        )
    return locked


def token_resync_staff(
    *, token: HardwareToken, first: str, second: str, actor: User, reason: str, ip: str | None
) -> bool:
    """Staff resynchronise a token from two consecutive codes; audited either way."""
    _staff_check(actor=actor, permission=PERM_RESYNC)
    done = token_resync(token=token, first=first, second=second)
    account_services.audit_log(
        action=AuditEvent.Action.TOKEN_RESYNCED,
        subject=token.user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"serial": token.serial, "resynchronised": done},
    )
    return done


def sms_fallback_switch(*, user: User, actor: User, reason: str, ip: str | None) -> None:
    """Let a token holder confirm with SMS OTP again (token lost or broken), and tell them.

    Activating a new token ends the fallback (``token_activate``).
    """
    from .services import notice_send

    _staff_check(actor=actor, permission=PERM_SMS_FALLBACK)
    if user.is_staff:
        raise exceptions.TokenActionRefused("Staff members have no SMS fallback.")
    if not user.phone:
        raise exceptions.TokenActionRefused("The customer has no registered mobile number.")
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.confirmation_method == User.ConfirmationMethod.SMS:
            raise exceptions.TokenActionRefused("The customer already confirms with SMS OTP.")
        previous = locked.confirmation_method
        User.objects.filter(pk=user.pk).update(confirmation_method=User.ConfirmationMethod.SMS)
        user.confirmation_method = User.ConfirmationMethod.SMS
        account_services.audit_log(
            action=AuditEvent.Action.CONFIRMATION_METHOD_CHANGED,
            subject=user,
            actor=actor,
            ip=ip,
            reason=reason,
            data={"from": previous, "to": User.ConfirmationMethod.SMS},
        )
        notice_send(
            user=user,
            text=gettext_noop(
                "Bank Nusantara: from now on your transactions are confirmed with an OTP by "
                "SMS instead of your token. Not you? Call the bank."
            ),
            params={},
        )


class _ActivationRejected(Exception):
    pass


def token_activate(
    *, user: User, birth_date: date, serial: str, code: str, ip: str | None
) -> HardwareToken:
    """Activate the token the branch assigned to ``user`` (Profil Saya → Aktivasi Token).

    Birth date, serial and a code from the token must all fit a token assigned to this
    customer; any mismatch raises the one ``ActivationFailed`` (never which part, never whether
    the serial exists), counts toward the OTP block (``OtpBlocked`` when it is reached) and is
    audited. On success the token becomes the customer's way to confirm (ending any SMS
    fallback), any other active token of theirs is revoked, and they are told by SMS and email.
    """
    # One durable transaction under the user's lock, like every code check: the block is read
    # and a wrong try counted there, so parallel tries cannot outrun the block.
    with transaction.atomic(durable=True):
        if account_services.otp_check_lock(user=user):
            raise exceptions.OtpBlocked()
        try:
            with transaction.atomic():
                return _token_activate(
                    user=user, birth_date=birth_date, serial=serial, code=code, ip=ip
                )
        except _ActivationRejected:
            count = account_services.otp_failure_record(
                user=user, max_failures=settings.OTP_MAX_CONSECUTIVE_FAILURES
            )
            account_services.audit_log(
                action=AuditEvent.Action.OTP_FAILED,
                subject=user,
                actor=user,
                ip=ip,
                data={"reason": "activation", "consecutive": count},
            )
    if count >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
        raise exceptions.OtpBlocked()
    raise exceptions.ActivationFailed()


def _token_activate(*, user: User, birth_date: date, serial: str, code: str, ip) -> HardwareToken:
    """The activation itself, once the user's lock is held; ``_ActivationRejected`` on any
    mismatch."""
    from .services import notice_send

    token = (
        HardwareToken.objects.select_for_update()
        .filter(serial=serial_normalise(serial), user=user)
        .first()
    )
    if (
        token is None
        or token.state != HardwareToken.State.ASSIGNED
        or user.birth_date is None
        or birth_date != user.birth_date
        or not token_code_verify(
            token=token, code=code, accept_states=(HardwareToken.State.ASSIGNED,)
        )
    ):
        raise _ActivationRejected
    now = timezone.now()
    replaced = list(
        HardwareToken.objects.select_for_update()
        .filter(user=user, state=HardwareToken.State.ACTIVE)
        .exclude(pk=token.pk)
    )
    for old in replaced:
        old.state = HardwareToken.State.REVOKED
        old.save(update_fields=["state"])
        HardwareTokenDevice.objects.filter(token=old).update(confirmed=False)
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_STATE_CHANGED,
            subject=user,
            actor=user,
            ip=ip,
            reason="replaced by a newly activated token",
            data={"serial": old.serial, "from": "active", "to": "revoked"},
        )
    token.state, token.activated_at = HardwareToken.State.ACTIVE, now
    token.save(update_fields=["state", "activated_at"])
    HardwareTokenDevice.objects.create(
        user=user, token=token, name=f"Token {token.serial}", confirmed=True
    )
    previous = user.confirmation_method
    if previous != User.ConfirmationMethod.HARDWARE_TOKEN:
        User.objects.filter(pk=user.pk).update(
            confirmation_method=User.ConfirmationMethod.HARDWARE_TOKEN
        )
        user.confirmation_method = User.ConfirmationMethod.HARDWARE_TOKEN
        account_services.audit_log(
            action=AuditEvent.Action.CONFIRMATION_METHOD_CHANGED,
            subject=user,
            actor=user,
            ip=ip,
            reason="token activated",
            data={"from": previous, "to": User.ConfirmationMethod.HARDWARE_TOKEN},
        )
    account_services.otp_failure_reset(user=user)
    account_services.audit_log(
        action=AuditEvent.Action.TOKEN_ACTIVATED,
        subject=user,
        actor=user,
        ip=ip,
        data={"serial": token.serial, "replaced": [t.serial for t in replaced]},
    )
    notice_send(
        user=user,
        text=gettext_noop(
            "Bank Nusantara: your token %(serial)s was activated and now confirms your "
            "transactions. Not you? Call the bank."
        ),
        params={"serial": token.serial},
    )
    return token
