"""Hardware OATH tokens: stock from PSKC files, sealed seeds, and checking their codes.

Kept apart from ``services.py`` (the SMS challenge core) because a token's code is checked
against the token's own state (HOTP counter, TOTP step and drift), not derived from a
challenge. The OATH arithmetic is django-otp's (``django_otp.oath``).
"""

import binascii
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import pskc
import pskc.parser
import pskc.xml
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext, gettext_lazy, gettext_noop
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


# --- Seeds at rest ------------------------------------------------------------------------


def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.TOKEN_SEED_KEYS])


def seed_seal(secret: bytes) -> str:
    return _cipher().encrypt(secret).decode()


def seed_unseal(sealed: str) -> bytes:
    return _cipher().decrypt(sealed.encode())


# --- Import -------------------------------------------------------------------------------

_HOTP, _TOTP = HardwareToken.Algorithm.HOTP, HardwareToken.Algorithm.TOTP
# Key algorithm identifiers as python-pskc reads them (``key.algorithm``, as written in the
# file), compared in lower case: RFC 6030's, and those vendors still ship from the drafts.
PSKC_ALGORITHMS = {
    "urn:ietf:params:xml:ns:keyprov:pskc:hotp": _HOTP,
    "urn:ietf:params:xml:ns:keyprov:pskc:totp": _TOTP,
    # draft-ietf-keyprov-pskc
    "urn:ietf:params:xml:ns:keyprov:pskc#hotp": _HOTP,
    "urn:ietf:params:xml:ns:keyprov:pskc#totp": _TOTP,
    # draft-hoyer-keyprov-portable-symmetric-key-container
    "http://www.ietf.org/keyprov/pskc#hotp": _HOTP,
    "http://www.ietf.org/keyprov/pskc#totp": _TOTP,
    "hotp": _HOTP,
    "totp": _TOTP,
}
# The counter and T0 columns are signed 64-bit; a counter must still move on by the look-ahead
# and resync windows without overflowing. Real tokens start at 0 or a few thousand.
PSKC_NUMBER_MAX = 2**62
# No cipher a PSKC file names takes a longer key; a larger PBKDF2 KeyLength only burns CPU.
PSKC_MAX_KEY_BYTES = 64
_FIELD_NAMES = {
    "secret": gettext_lazy("secret"),
    "counter": gettext_lazy("counter"),
    "time_offset": gettext_lazy("time"),
    "time_interval": gettext_lazy("time step"),
    "time_drift": gettext_lazy("time drift"),
}


class ImportProblem(str):
    """One line of an import report, readable as it is; ``code`` says what is wrong and
    ``token`` names the token as the file writes its serial ("" for the file as a whole)."""

    code: str
    token: str

    def __new__(cls, text: str, *, code: str, token: str = ""):
        problem = super().__new__(cls, text)
        problem.code, problem.token = code, token
        return problem


class ImportRefused(Exception):
    """The file was not imported at all; ``report`` says why, token by token."""

    def __init__(self, report: "ImportReport"):
        self.report = report
        super().__init__("; ".join(report.problems))


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    skipped: list[ImportProblem] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)


class _KeyProblem(Exception):
    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


class _PskcParser(pskc.parser.PSKCParser):
    """python-pskc's parser, except that a value it cannot read inside a key package (bad
    base64, a word where a number or a boolean belongs) marks that package's device with
    ``import_problem`` and the parse goes on: the report then names every bad token, by the
    serial its ``DeviceInfo`` gave, instead of failing the whole file on the first."""

    @classmethod
    def parse_key_package(cls, device, key_package):
        try:
            super().parse_key_package(device, key_package)
        except _KeyProblem as problem:
            device.import_problem = problem
        except (ValueError, TypeError, OverflowError) as exc:
            device.import_problem = _unreadable(exc)

    @classmethod
    def parse_data(cls, key, field, element):
        try:
            super().parse_data(key, field, element)
        except (ValueError, OverflowError):
            name = _FIELD_NAMES.get(field, field)
            value = pskc.xml.findtext(element, "PlainValue") or pskc.xml.findtext(element, "Value")
            if field != "secret" and value is not None and not _integer_text(value):
                raise _KeyProblem(
                    "not_integer",
                    gettext('its %(field)s "%(value)s" is not a whole number')
                    % {"field": name, "value": _shortened(value)},
                ) from None
            # The secret itself, a cipher value or a MAC value.
            raise _KeyProblem(
                "not_base64", gettext("its %(field)s is not valid base64") % {"field": name}
            ) from None


def _integer_text(value: str) -> bool:
    """True if python-pskc reads ``value`` as an integer (decimal, or big-endian base64)."""
    try:
        pskc.parser.plain2int(value)
    except ValueError:
        return False
    return True


def _shortened(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _unreadable(exc: Exception) -> _KeyProblem:
    """What python-pskc (or Python under it) could not read, in the staff's words."""
    text = str(exc)
    match = re.fullmatch(r"invalid boolean value: '(.*)'", text, flags=re.S)
    if match:
        return _KeyProblem(
            "not_boolean",
            gettext('it has "%(value)s" where true or false belongs')
            % {"value": _shortened(match[1])},
        )
    match = re.fullmatch(r"invalid literal for int\(\) with base 10: '(.*)'", text, flags=re.S)
    if match:
        return _KeyProblem(
            "not_integer",
            gettext('it has "%(value)s" where a whole number belongs')
            % {"value": _shortened(match[1])},
        )
    if isinstance(exc, binascii.Error):
        return _KeyProblem("not_base64", gettext("it has a value that is not valid base64"))
    return _KeyProblem(
        "malformed",
        gettext("it has a value that cannot be read (%(error)s)") % {"error": _shortened(text)},
    )


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
    key (``psk``, hex) or with a password (PBKDF2, at most
    ``TOKEN_PSKC_MAX_PBKDF2_ITERATIONS``, checked before deriving). Keys that are not OTP keys
    (a PIN key) are skipped and named; any real problem (unreadable file or value, RSA
    encryption, wrong key, failed MAC, a secret too short, a serial too long, a counter out of
    range, unsupported digits or step, a serial already in stock or twice in the file) is
    reported per token and nothing at all is imported. ``actor`` None is the server
    (``manage.py import_tokens``); a member of staff needs ``tokens.import_tokens``.
    """
    if actor is not None:
        _staff_check(actor=actor, permission=PERM_IMPORT)
    report = ImportReport()
    try:
        document = _pskc_open(source, password=password, psk=psk)
    except _KeyProblem as problem:
        report.problems.append(_problem(problem))
        raise ImportRefused(report) from None
    given = "psk" if psk else "password" if password else None
    tokens, seen, position = [], set(), 0
    for device in document.devices:
        device_problem = getattr(device, "import_problem", None)
        if device_problem is not None:
            position += 1
            report.problems.append(_problem(device_problem, serial=device.serial, position=position))
            continue
        for key in device.keys:
            position += 1
            algorithm = PSKC_ALGORITHMS.get((key.algorithm or "").strip().lower())
            if algorithm is None:
                report.skipped.append(
                    _problem(
                        _KeyProblem(
                            "not_otp",
                            gettext("not an OTP key (%(algorithm)s), skipped")
                            % {"algorithm": _shortened(str(key.algorithm))},
                        ),
                        serial=key.serial,
                        position=position,
                    )
                )
                continue
            try:
                token = _token_from_key(key, algorithm, batch, given=given)
                if token.serial in seen:
                    raise _KeyProblem("duplicate", gettext("its serial appears twice in the file"))
            except _KeyProblem as problem:
                report.problems.append(_problem(problem, serial=key.serial, position=position))
                continue
            seen.add(token.serial)
            tokens.append(token)
    existing = set(
        HardwareToken.objects.filter(serial__in=seen).values_list("serial", flat=True)
    )
    report.problems += [
        _problem(_KeyProblem("in_stock", gettext("serial already in stock")), serial=serial)
        for serial in sorted(existing)
    ]
    if not tokens and not report.problems:
        report.problems.append(
            _problem(_KeyProblem("no_otp_key", gettext("there is no OTP key in it")))
        )
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


def _problem(problem: _KeyProblem, *, serial=None, position=None) -> ImportProblem:
    """A report line: the file, or the token by its serial as written (or its position)."""
    serial = (serial or "").strip()
    if serial:
        subject = gettext("token %(serial)s") % {"serial": _shortened(serial)}
    elif position is not None:
        subject = gettext("token #%(position)s (no serial)") % {"position": position}
    else:
        subject = gettext("file")
    return ImportProblem(f"{subject}: {problem.message}", code=problem.code, token=serial)


def _pskc_open(source, *, password: str | None, psk: str | None) -> pskc.PSKC:
    """Parse the file and set up its decryption key; ``_KeyProblem`` for the whole file."""
    document = pskc.PSKC()
    try:
        _PskcParser.parse_file(document, source)
    except pskc.exceptions.PSKCError as exc:
        raise _KeyProblem(
            "not_pskc", gettext("it is not a readable PSKC file (%(error)s)") % {"error": exc}
        ) from None
    except _KeyProblem:
        raise
    except (ValueError, TypeError, OverflowError) as exc:
        # Outside any key package: the encryption, MAC or signature part of the file.
        raise _unreadable(exc) from None
    if "rsa" in (document.encryption.algorithm or "").lower():
        raise _KeyProblem(
            "asymmetric_encryption",
            gettext(
                "its secrets are encrypted with RSA, for the holder of a private key (RFC 6030 "
                "section 6.3); the portal imports files encrypted with a pre-shared key or a "
                "password only: ask the vendor for one"
            ),
        )
    if psk:
        try:
            document.encryption.key = bytes.fromhex(psk)
        except ValueError:
            raise _KeyProblem(
                "bad_key", gettext("the pre-shared key is not written in hexadecimal")
            ) from None
    elif password:
        derivation = document.encryption.derivation
        if not derivation.algorithm:
            raise _KeyProblem(
                "bad_key",
                gettext("a password was given, but the file is not encrypted with a password"),
            )
        limit = settings.TOKEN_PSKC_MAX_PBKDF2_ITERATIONS
        if (derivation.pbkdf2_iterations or 0) > limit:
            raise _KeyProblem(
                "pbkdf2_iterations",
                gettext(
                    "it asks for %(count)s PBKDF2 iterations, more than the %(limit)s the "
                    "portal allows: ask the vendor for a file with fewer"
                )
                % {"count": derivation.pbkdf2_iterations, "limit": limit},
            )
        if (derivation.pbkdf2_key_length or 0) > PSKC_MAX_KEY_BYTES:
            raise _KeyProblem(
                "pbkdf2_key_length",
                gettext("it asks PBKDF2 for a key of %(length)s bytes, more than %(limit)s")
                % {"length": derivation.pbkdf2_key_length, "limit": PSKC_MAX_KEY_BYTES},
            )
        try:
            document.encryption.derive_key(password)
        except pskc.exceptions.KeyDerivationError as exc:
            raise _KeyProblem(
                "bad_key",
                gettext("the password cannot be used with this file (%(error)s)")
                % {"error": exc},
            ) from None
    return document


def _key_value(key, name: str, *, given: str | None):
    """A value of the key, decrypted if it is encrypted; ``_KeyProblem`` if it cannot be."""
    field_name = _FIELD_NAMES[name]
    try:
        return getattr(key, name)
    # TypeError: python-pskc decrypting an empty cipher value (of the value or the MAC key).
    except (pskc.exceptions.DecryptionError, ValueError, TypeError) as exc:
        if given is None:
            raise _KeyProblem(
                "encrypted",
                gettext("its %(field)s is encrypted: give the file's password or pre-shared key")
                % {"field": field_name},
            ) from None
        raise _undecryptable(field_name, given, str(exc)) from None


def _undecryptable(field_name, given: str, error: str = "", reference: str = "") -> _KeyProblem:
    key_name = gettext("pre-shared key") if given == "psk" else gettext("password")
    if reference:
        why = gettext(
            "the file holds no secret for it, only the name of the vendor's master key "
            '"%(reference)s"'
        ) % {"reference": _shortened(reference)}
    elif error.startswith("MAC value does not match"):
        why = gettext("its MAC does not match: a wrong key, or the file was altered")
    elif error.startswith("Invalid key length"):
        why = gettext("the key does not have the length the file's cipher needs")
    elif error.startswith("Unsupported algorithm"):
        why = gettext("the file's cipher is not supported")
    else:
        why = gettext("a wrong key, or the file was altered")
    return _KeyProblem(
        "undecryptable",
        gettext("its %(field)s could not be decrypted with the given %(key)s: %(why)s")
        % {"field": field_name, "key": key_name, "why": why},
    )


def _token_from_key(key, algorithm, batch, *, given: str | None) -> HardwareToken:
    """The stock token for one OTP key of the file; ``_KeyProblem`` says what is wrong."""
    secret = _key_value(key, "secret", given=given)
    if secret is None:
        reference = (key.key_reference or "").strip()
        if given is not None:
            raise _undecryptable(_FIELD_NAMES["secret"], given, reference=reference)
        if reference:
            raise _KeyProblem(
                "no_secret",
                gettext(
                    "the file holds no secret for it, only the name of the vendor's master "
                    'key "%(reference)s"'
                )
                % {"reference": _shortened(reference)},
            )
        raise _KeyProblem("no_secret", gettext("the file holds no secret for it"))
    if len(secret) < settings.TOKEN_MIN_SEED_BYTES:
        raise _KeyProblem(
            "secret_too_short",
            gettext("its secret of %(length)s bytes is too short (at least %(min)s)")
            % {"length": len(secret), "min": settings.TOKEN_MIN_SEED_BYTES},
        )
    serial = serial_normalise(key.serial)
    if not serial:
        raise _KeyProblem("no_serial", gettext("it has no serial number"))
    max_length = HardwareToken._meta.get_field("serial").max_length
    if len(serial) > max_length:
        raise _KeyProblem(
            "serial_too_long",
            gettext("its serial has %(length)s characters, more than %(max)s")
            % {"length": len(serial), "max": max_length},
        )
    if not serial_typable(serial):
        # Activation could never find it: the customer types letters and digits only.
        raise _KeyProblem(
            "serial_invalid",
            gettext(
                "its serial cannot be typed at activation: letters and digits only, at least 4"
            ),
        )
    digits = key.response_length or 6
    if digits not in (6, 8):
        raise _KeyProblem(
            "digits", gettext("%(digits)s digits are not supported (6 or 8)") % {"digits": digits}
        )
    if (key.algorithm_suite or "SHA1").upper().replace("-", "") not in ("SHA1", ""):
        raise _KeyProblem(
            "hash",
            gettext("hash %(hash)s is not supported (SHA1)")
            % {"hash": _shortened(key.algorithm_suite)},
        )
    step = None
    if algorithm == HardwareToken.Algorithm.TOTP:
        step = _key_value(key, "time_interval", given=given) or 30
        if step not in (30, 60):
            raise _KeyProblem(
                "step",
                gettext("a time step of %(step)s s is not supported (30 or 60)") % {"step": step},
            )
    counter = _key_value(key, "counter", given=given) or 0
    if not 0 <= counter <= PSKC_NUMBER_MAX:
        raise _KeyProblem(
            "counter_out_of_range",
            gettext("its counter %(counter)s is out of range (0 to %(max)s)")
            % {"counter": counter, "max": PSKC_NUMBER_MAX},
        )
    t0 = (_key_value(key, "time_offset", given=given) or 0) * (step or 0)
    if abs(t0) > PSKC_NUMBER_MAX:
        raise _KeyProblem("time_out_of_range", gettext("its time is out of range"))
    return HardwareToken(
        serial=serial,
        algorithm=algorithm,
        digits=digits,
        step=step,
        t0=t0,
        counter=counter,
        sealed_seed=seed_seal(secret),
        manufacturer=(key.manufacturer or "")[:100],
        batch=batch[:200],
    )


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


def serial_normalise(serial: str | None) -> str:
    """The serial as stored, however it is written: as printed on the back of the token or in
    a vendor file (dashes, spaces), typed on a phone (full-width characters, a no-break space,
    an en dash) or in lower case.

    The one function for every serial that comes in: PSKC import, activation, the admin's
    search and ``manage.py token_code``; migration tokens 0010 holds a frozen copy.
    """
    text = unicodedata.normalize("NFKC", serial or "")
    return "".join(
        c for c in text if not (c.isspace() or unicodedata.category(c) == "Pd")
    ).upper()


def serial_typable(serial: str) -> bool:
    """True if a customer can type this stored serial at activation: 4 to 32 ASCII letters
    and digits (the activation form's rule, and the serial column's length)."""
    return re.fullmatch(r"[0-9A-Z]{4,32}", serial, flags=re.ASCII) is not None


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
