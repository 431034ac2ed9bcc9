"""The Mobile Token's key and code scheme (issue 12; docs/mobile-token-design.md §1): pure
functions, the same as the phone's WebCrypto code; then the services that register a phone,
check its codes and de-register it.

The Unlock Code is checked by the server, never by the phone: the phone holds a device secret
``S`` as a non-extractable HKDF key and derives ``K_u = HKDF-SHA256(S, salt=device id,
info=INFO ‖ Unlock Code)`` when the Unlock Code is typed; the server holds only ``K_u``. A wrong
Unlock Code gives another key, so codes the server refuses (they count toward the OTP block).

A code is an HMAC-SHA256 over the time step and, for money ("APPLI 2", offline dynamic
linking), the last 8 digits of the destination account, cut to 6 digits as HOTP does: a code
made for another destination is refused.
"""

import re
import secrets
import time
from datetime import timedelta
from uuid import UUID

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext, gettext_noop

from accounts import services as account_services
from accounts.exceptions import ReasonRequired
from accounts.models import AuditEvent, User

from . import exceptions
from .hardware import confirmation_method_set, seed_seal, seed_unseal
from .models import HardwareToken, MobileDevice, MobileRegistration

INFO = b"BN-MobileToken-v1\x00"
MAGIC, VERSION = b"BNMT", 1
MODE_PLAIN, MODE_LINKED = 1, 2  # no transaction data | the destination's last digits
DIGITS, LINK_DIGITS = 6, 8


def unlock_key(seed: bytes, device_id: UUID, unlock: str) -> bytes:
    """``K_u``: the key the server keeps, derived from the device secret and the Unlock Code."""
    if not re.fullmatch(r"[0-9]{6}", unlock, re.ASCII):
        raise ValueError("an Unlock Code is 6 ASCII digits")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=device_id.bytes, info=INFO + unlock.encode()
    ).derive(seed)


def code_message(t: int, link: str) -> bytes:
    """What is signed for time step ``t``: mode 1 with no link, mode 2 with 8 digits."""
    if link and not re.fullmatch(rf"[0-9]{{{LINK_DIGITS}}}", link, re.ASCII):
        raise ValueError("a link is 8 ASCII digits")
    mode = MODE_LINKED if link else MODE_PLAIN
    return (
        MAGIC + bytes([VERSION, mode]) + t.to_bytes(8, "big") + bytes([len(link)]) + link.encode()
    )


def code_for(key: bytes, t: int, link: str = "") -> str:
    """The 6-digit code of ``key`` for step ``t`` (and ``link``): RFC 4226 truncation."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(code_message(t, link))
    digest = mac.finalize()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step(unix_time: float) -> int:
    return int(unix_time // settings.MOBILE_TOKEN_STEP)


def link_for(*, purpose: str, summary: dict) -> str:
    """The digits a code for this intent is made over: the last 8 digits of the destination
    for money, nothing for anything else. Only the server decides; the page shows it."""
    from .services import MONEY_PURPOSES  # here: services will use this module

    if purpose not in MONEY_PURPOSES:
        return ""
    digits = re.sub(r"[^0-9]", "", summary["destination"], flags=re.ASCII)
    return digits[-LINK_DIGITS:].rjust(LINK_DIGITS, "0")


def trivial_unlock_codes(*, birth_date=None, phone: str = "") -> set[str]:
    """Unlock Codes too easy to guess: repeated digits, runs up or down (with wrap), xyxyxy,
    xyzxyz, xxxyyy, forms of the birth date, the phone's last 6 digits. The server refuses
    them by deriving ``K_u`` for each and comparing (it never sees the Unlock Code)."""
    digits = "0123456789"
    codes = {d * 6 for d in digits}
    for start in range(10):
        run = "".join(digits[(start + i) % 10] for i in range(6))
        codes |= {run, run[::-1]}
    codes |= {(x + y) * 3 for x in digits for y in digits}
    codes |= {f"{n:03d}" * 2 for n in range(1000)}
    codes |= {x * 3 + y * 3 for x in digits for y in digits}
    if birth_date is not None:
        day, month, year = f"{birth_date.day:02d}", f"{birth_date.month:02d}", f"{birth_date.year}"
        full = day + month + year
        codes |= {
            day + month + year[2:],
            month + day + year[2:],
            year[2:] + month + day,
            year + month,
            month + year,
            full[:6],
            full[2:],
        }
    phone_digits = re.sub(r"[^0-9]", "", str(phone or ""), flags=re.ASCII)
    if len(phone_digits) >= 6:
        codes.add(phone_digits[-6:])
    return codes


# --- Registration, verification and de-registration (docs/mobile-token-design.md §2.3) ------

PERM_DEREGISTER = "tokens.deregister_mobile_device"
# One GSM-7 segment with the longest label (LABEL_MAX) and call-centre number, in both languages
# (tests/tokens/test_mobile_services.py renders them).
MOBILE_REGISTERED_TEXT = gettext_noop(
    "Bank Nusantara: Mobile Token registered on %(device)s. Not you? Call %(call_centre)s."
)
MOBILE_REVOKED_TEXT = gettext_noop(
    "Bank Nusantara: the Mobile Token on %(device)s was de-registered. Not you? Call "
    "%(call_centre)s."
)
LABEL_MAX = 40
# A label goes into an SMS: plain letters, digits and a few signs keep it one GSM-7 segment.
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9 .,()'/_-]+", re.ASCII)


def _now() -> float:
    """The time seam: tests move the clock by patching this."""
    return time.time()


def label_clean(label: str, *, user_agent: str = "") -> str:
    """The device's name as the customer and the SMS see it: their own words kept to safe
    characters and LABEL_MAX, else guessed from the browser ("Android", "iPhone", …)."""
    cleaned = " ".join(_LABEL_UNSAFE.sub(" ", label or "").split())[:LABEL_MAX].strip()
    if cleaned:
        return cleaned
    agent = user_agent or ""
    for needle, name in (
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Macintosh", "Mac"),
        ("Linux", "Linux"),
    ):
        if needle in agent:
            return name
    return "Mobile Token"


def _retail_check(user) -> None:
    """Only a retail customer registers a Mobile Token: corporate users have hardware tokens
    (and their company's SMS fallback request), staff their own authenticator."""
    if user.company_id is not None or user.is_staff or not user.is_active:
        raise exceptions.MobileTokenRetailOnly()
    if not user.phone:
        raise exceptions.NoPhone()


def registration_start(*, user) -> MobileRegistration:
    """A new ``MobileRegistration`` for the user; every open one of theirs is deleted (with
    any sealed seed it holds).

    A registration is reached only through the session that started it (the page keeps its
    random id in the session), so one confirmed by an OTP is never handed to another login:
    with the password alone a second login would otherwise skip the OTP and register its own
    phone. A new start ends the others; one session per user means the other session is
    ended anyway. Under the user's row lock. Raises MobileTokenRetailOnly (corporate user,
    staff) or NoPhone."""
    _retail_check(user)
    now = timezone.now()
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        MobileRegistration.objects.filter(user=user, completed_at__isnull=True).delete()
        return MobileRegistration.objects.create(
            user=user,
            created_at=now,
            expires_at=now + timedelta(seconds=settings.MOBILE_TOKEN_REGISTRATION_LIFETIME),
        )


def registration_intent(registration) -> dict:
    """The summary of the "mobile_registration" intent: ``{"registration": str(pk)}``."""
    return {"registration": str(registration.pk)}


def _registration_locked(registration, *, confirmed: bool = True) -> MobileRegistration:
    """The registration's row, locked, if it may still be used: not completed, not expired
    and (``confirmed``) its OTP confirmed; else RegistrationExpired."""
    locked = MobileRegistration.objects.select_for_update().filter(pk=registration.pk).first()
    if (
        locked is None
        or locked.completed_at is not None
        or locked.is_expired
        or (confirmed and locked.otp_confirmed_at is None)
    ):
        raise exceptions.RegistrationExpired()
    return locked


def registration_otp_confirmed(*, registration) -> None:
    """Mark the registration's OTP as confirmed (called inside ``challenge_verify``, so the
    code is consumed only if the registration was still open; else RegistrationExpired rolls
    both back)."""
    with transaction.atomic():
        locked = _registration_locked(registration, confirmed=False)
        locked.otp_confirmed_at = timezone.now()
        locked.save(update_fields=["otp_confirmed_at"])
        registration.otp_confirmed_at = locked.otp_confirmed_at


def registration_seed_issue(*, registration):
    """A new device secret ``S`` (at most MOBILE_TOKEN_SEEDS_PER_REGISTRATION per
    registration), sealed into the row: returns ``(device_id: UUID, seed: bytes)``.

    Only after the OTP. Each call replaces the seed before it (the phone asks again after a
    refused Unlock Code); past the limit the registration is over (RegistrationExpired): it
    expires at once, seed deleted, so the page starts a new one (with a new OTP) instead of
    sending the customer back to a step that can only refuse."""
    with transaction.atomic():
        locked = _registration_locked(registration)
        if locked.seeds_issued >= settings.MOBILE_TOKEN_SEEDS_PER_REGISTRATION:
            locked.expires_at, locked.sealed_seed = timezone.now(), ""
            locked.save(update_fields=["expires_at", "sealed_seed"])
            seed = None
        else:
            seed = secrets.token_bytes(32)
            locked.sealed_seed = seed_seal(seed)
            locked.seeds_issued += 1
            locked.save(update_fields=["sealed_seed", "seeds_issued"])
            registration.seeds_issued = locked.seeds_issued
    if seed is None:  # raised after the commit: the registration stays ended
        raise exceptions.RegistrationExpired()
    return locked.device_id, seed


def _unlock_key_trivial(*, seed: bytes, device_id: UUID, key: bytes, user) -> bool:
    """True when ``key`` is the key of a guessable Unlock Code. Every candidate is derived and
    compared in constant time, with no early exit: the time says nothing of which matched."""
    trivial = False
    for candidate in sorted(trivial_unlock_codes(birth_date=user.birth_date, phone=user.phone)):
        trivial |= constant_time_compare(unlock_key(seed, device_id, candidate), key)
    return trivial


def registration_complete(
    *, registration, unlock_key: bytes, user_agent: str, ip=None, label: str = ""
) -> MobileDevice:
    """Store ``K_u`` as the user's one active ``MobileDevice`` (the old one revoked, reason
    "replaced"); raises RegistrationExpired or UnlockCodeTooSimple. Returns the device.

    One transaction under the user's row lock (the one code checks take: a user blocked since
    the OTP registers nothing), then the registration's row and the active device: two
    completions at once make one device. A guessable Unlock Code keeps the seed, so the
    customer may choose again. On success the seed is deleted (the server keeps ``K_u``
    alone), the method becomes Mobile Token, and the customer is told by SMS and email.
    """
    from .services import notice_send

    if not isinstance(unlock_key, bytes) or len(unlock_key) != 32:
        raise ValueError("K_u is 32 bytes")
    _retail_check(registration.user)
    with transaction.atomic():
        user = registration.user
        if account_services.otp_check_lock(user=user):
            raise exceptions.OtpBlocked()
        locked = _registration_locked(registration)
        if not locked.sealed_seed:
            raise exceptions.RegistrationExpired()
        user = User.objects.get(pk=user.pk)
        seed = seed_unseal(locked.sealed_seed)
        if _unlock_key_trivial(seed=seed, device_id=locked.device_id, key=unlock_key, user=user):
            raise exceptions.UnlockCodeTooSimple()
        label = label_clean(label, user_agent=user_agent)
        replaced = list(
            MobileDevice.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
        )
        for old in replaced:
            _revoke(device=old, actor=user, kind=MobileDevice.RevokeReason.REPLACED, ip=ip)
        now = timezone.now()
        device = MobileDevice.objects.create(
            user=user,
            name=label,
            confirmed=True,
            public_id=locked.device_id,
            sealed_key=seed_seal(unlock_key),
            user_agent=(user_agent or "")[:300],
            registered_at=now,
        )
        locked.sealed_seed, locked.completed_at = "", now
        locked.save(update_fields=["sealed_seed", "completed_at"])
        registration.sealed_seed, registration.completed_at = "", now
        confirmation_method_set(
            user=user,
            method=User.ConfirmationMethod.MOBILE_TOKEN,
            actor=user,
            ip=ip,
        )
        registration.user.confirmation_method = user.confirmation_method
        account_services.audit_log(
            action=AuditEvent.Action.MOBILE_TOKEN_REGISTERED,
            subject=user,
            actor=user,
            ip=ip,
            data={
                "device": str(device.public_id),
                "label": label,
                "replaced": [str(old.public_id) for old in replaced],
            },
        )
        notice_send(
            user=user,
            text=MOBILE_REGISTERED_TEXT,
            params={"device": label, "call_centre": settings.BANK_CALL_CENTRE},
        )
    return device


def _revoke(*, device: MobileDevice, actor, kind: str, ip, note: str = "") -> None:
    """Revoke a locked active device: its codes are refused from this commit on, and
    ``confirmed=False`` makes django-otp drop it from every session at once."""
    device.revoked_at = timezone.now()
    device.revoked_by = actor
    device.revoke_reason = kind
    device.confirmed = False
    device.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "confirmed"])
    account_services.audit_log(
        action=AuditEvent.Action.MOBILE_TOKEN_REVOKED,
        subject=device.user,
        actor=actor,
        ip=ip,
        reason=note,
        data={"device": str(device.public_id), "label": device.name, "reason": kind},
    )


def device_revoke(*, device, actor, reason: str = "", ip=None) -> None:
    """De-register (customer or staff): codes refused at once, audited, customer told.

    Who acts decides the kind kept on the device: the holder ("customer"), or a member of
    staff with ``tokens.deregister_mobile_device`` ("staff", checked here again, not only in
    the admin); anyone else is refused (TokenActionRefused). ``reason``: for staff the words
    they wrote (required, the audit event's reason); the holder need not give one. The method
    goes back to the hardware token when the customer holds a usable one, else to SMS OTP. A
    device already revoked: NoMobileDevice.
    """
    from .services import notice_send

    if actor is not None and actor.pk == device.user_id:
        kind = MobileDevice.RevokeReason.CUSTOMER
    elif (
        actor is not None and actor.is_active and actor.is_staff and actor.has_perm(PERM_DEREGISTER)
    ):
        kind = MobileDevice.RevokeReason.STAFF
        if not (reason or "").strip():
            raise ReasonRequired()
    else:
        raise exceptions.TokenActionRefused(
            gettext("You do not have the permission to de-register this Mobile Token.")
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=device.user_id)
        locked = (
            MobileDevice.objects.select_for_update()
            .filter(pk=device.pk, revoked_at__isnull=True)
            .first()
        )
        if locked is None:
            raise exceptions.NoMobileDevice()
        # Staff's own words are the event's reason; the customer's kind is in its data.
        note = reason.strip() if kind == MobileDevice.RevokeReason.STAFF else ""
        _revoke(device=locked, actor=actor, kind=kind, ip=ip, note=note)
        for name in ("revoked_at", "revoked_by", "revoke_reason", "confirmed"):
            setattr(device, name, getattr(locked, name))
        if user.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN:
            usable_token = HardwareToken.objects.usable().filter(user=user).exists()
            confirmation_method_set(
                user=user,
                method=(
                    User.ConfirmationMethod.HARDWARE_TOKEN
                    if usable_token
                    else User.ConfirmationMethod.SMS
                ),
                actor=actor,
                ip=ip,
            )
        notice_send(
            user=user,
            text=MOBILE_REVOKED_TEXT,
            params={"device": locked.name, "call_centre": settings.BANK_CALL_CENTRE},
        )


def _window(now_t: int) -> list[int]:
    """The steps a code may be for, nearest first."""
    tolerance = settings.MOBILE_TOKEN_TOLERANCE
    return [now_t + offset for offset in sorted(range(-tolerance, tolerance + 1), key=abs)]


def _step_matching(device: MobileDevice, code: str, link: str, steps: list[int]) -> int | None:
    """The first of ``steps`` whose code (with ``link``) is ``code``, or None: the one
    comparison a fresh code and a replayed one are both told by."""
    key = seed_unseal(device.sealed_key)
    for t in steps:
        if constant_time_compare(code_for(key, t, link), code):
            return t
    return None


def device_code_verify(*, device, code: str, link: str) -> bool:
    """The code within the window, after ``last_t``; sets ``last_t`` and ``last_used_at``.

    Under the device's row lock, so a code is accepted once; False for a revoked device.
    """
    with transaction.atomic():
        locked = MobileDevice.objects.select_for_update().filter(pk=device.pk).first()
        if locked is None or locked.revoked_at is not None:
            return False
        fresh = [t for t in _window(step(_now())) if t > locked.last_t and t >= 0]
        t = _step_matching(locked, code, link, fresh)
        if t is None:
            return False
        now = timezone.now()
        MobileDevice.objects.filter(pk=locked.pk).update(last_t=t, last_used_at=now)
        device.last_t, device.last_used_at = t, now
        return True


def device_code_reused(*, device, code: str, link: str) -> bool:
    """The code matches a step of the window at or before ``last_t``: asked only after
    ``device_code_verify`` refused it, to tell a replay (audited, the holder told) from a
    wrong code."""
    locked = MobileDevice.objects.filter(pk=device.pk).first()
    if locked is None:
        return False
    candidates = [t for t in _window(step(_now())) if 0 <= t <= locked.last_t]
    return _step_matching(locked, code, link, candidates) is not None
