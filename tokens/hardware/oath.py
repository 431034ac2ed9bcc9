"""OATH codes of hardware tokens: seeds sealed at rest, and a code checked against the token's
own state (HOTP counter, TOTP last step and learnt drift) under a row lock, so it is accepted
once. The OATH arithmetic is django-otp's (``django_otp.oath``).
"""

import time

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils.crypto import constant_time_compare
from django_otp.oath import hotp

from ..models import HardwareToken

# --- Seeds at rest ------------------------------------------------------------------------


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TOKEN_SEED_KEYS])


def seed_seal(secret: bytes) -> str:
    return _cipher().encrypt(secret).decode()


def seed_unseal(sealed: str) -> bytes:
    return _cipher().decrypt(sealed.encode())


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
