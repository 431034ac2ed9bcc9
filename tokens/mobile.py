"""The Mobile Token's key and code scheme (issue 12; docs/mobile-token-design.md §1): pure
functions, the same as the phone's WebCrypto code, with no model behind them yet.

The Unlock Code is checked by the server, never by the phone: the phone holds a device secret
``S`` as a non-extractable HKDF key and derives ``K_u = HKDF-SHA256(S, salt=device id,
info=INFO ‖ Unlock Code)`` when the Unlock Code is typed; the server holds only ``K_u``. A wrong
Unlock Code gives another key, so codes the server refuses (they count toward the OTP block).

A code is an HMAC-SHA256 over the time step and, for money ("APPLI 2", offline dynamic
linking), the last 8 digits of the destination account, cut to 6 digits as HOTP does: a code
made for another destination is refused.
"""

import re
from uuid import UUID

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

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
# Signatures fixed as the contract between the pages and the services; bodies to come.


def registration_start(*, user):
    """The user's live ``MobileRegistration`` (reused), else a new one (expired ones deleted)."""
    raise NotImplementedError


def registration_intent(registration) -> dict:
    """The summary of the "mobile_registration" intent: ``{"registration": str(pk)}``."""
    raise NotImplementedError


def registration_otp_confirmed(*, registration) -> None:
    """Mark the registration's OTP as confirmed (called inside ``challenge_verify``)."""
    raise NotImplementedError


def registration_seed_issue(*, registration):
    """A new device secret ``S`` (at most MOBILE_TOKEN_SEEDS_PER_REGISTRATION per
    registration), sealed into the row: returns ``(device_id: UUID, seed: bytes)``."""
    raise NotImplementedError


def registration_complete(*, registration, unlock_key: bytes, user_agent: str, ip=None):
    """Store ``K_u`` as the user's one active ``MobileDevice`` (the old one revoked, reason
    "replaced"); raises RegistrationExpired or UnlockCodeTooSimple. Returns the device."""
    raise NotImplementedError


def device_revoke(*, device, actor, reason: str, ip=None) -> None:
    """De-register (customer or staff): codes refused at once, audited, customer told."""
    raise NotImplementedError


def device_code_verify(*, device, code: str, link: str) -> bool:
    """The code within the window, after ``last_t``; sets ``last_t`` and ``last_used_at``."""
    raise NotImplementedError


def device_code_reused(*, device, code: str, link: str) -> bool:
    """The code matches a step of the window at or before ``last_t``."""
    raise NotImplementedError
