"""Hardware OATH tokens: stock from PSKC files, sealed seeds, and checking their codes.

Kept apart from ``services.py`` (the SMS challenge core) because a token's code is checked
against the token's own state (HOTP counter, TOTP step and drift), not derived from a
challenge. The OATH arithmetic is django-otp's (``django_otp.oath``).
"""

import time
from dataclasses import dataclass, field

import pskc
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django_otp.oath import hotp

from .models import HardwareToken

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
    *, source, batch: str, password: str | None = None, psk: str | None = None
) -> ImportReport:
    """Import every OTP key of a PSKC file (RFC 6030) into stock, all or nothing.

    ``source`` is a path or a binary file. The file may be plain, encrypted with a pre-shared
    key (``psk``, hex) or with a password (PBKDF2). Keys that are not OTP keys (a PIN key) are
    skipped and named; any real problem (unreadable file, wrong key, failed MAC, a secret too
    short, unsupported digits or step, a serial already in stock or twice in the file) is
    reported per token and nothing at all is imported.
    """
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
    """Staff resynchronise a token from two consecutive codes, searching a wide window."""
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        secret = seed_unseal(locked.sealed_seed)
        window = settings.TOKEN_RESYNC_WINDOW
        if locked.algorithm == HardwareToken.Algorithm.HOTP:
            start = locked.counter
            counters = range(start, start + window)
        else:
            now_t = int((_now() - locked.t0) // locked.step)
            counters = range(now_t - window, now_t + window)
        for t in counters:
            if constant_time_compare(
                _code(secret, t, locked.digits), first
            ) and constant_time_compare(_code(secret, t + 1, locked.digits), second):
                if locked.algorithm == HardwareToken.Algorithm.HOTP:
                    changes = {"counter": t + 2}
                else:
                    changes = {"last_t": t + 1, "drift": t + 1 - now_t}
                HardwareToken.objects.filter(pk=locked.pk).update(**changes)
                for name, value in changes.items():
                    setattr(token, name, value)
                return True
        return False
