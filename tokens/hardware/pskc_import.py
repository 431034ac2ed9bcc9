"""Token stock from vendor PSKC files (RFC 6030), read with python-pskc: all of a file or
nothing, every problem named per token."""

import binascii
import re
from dataclasses import dataclass, field

import pskc
import pskc.parser
import pskc.xml
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext, gettext_lazy

from accounts import services as account_services
from accounts.models import AuditEvent, User

from ..models import HardwareToken
from .lifecycle import PERM_IMPORT, _staff_check, serial_normalise, serial_typable
from .oath import seed_seal

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
        if derivation.pbkdf2_iterations is not None and derivation.pbkdf2_iterations < 1:
            raise _KeyProblem(
                "pbkdf2_iterations",
                gettext("its PBKDF2 iteration count (%(count)s) is not a positive number")
                % {"count": derivation.pbkdf2_iterations},
            )
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
        # OverflowError/ValueError: odd PBKDF2 parameters (a salt or length out of range).
        except (pskc.exceptions.KeyDerivationError, OverflowError, ValueError) as exc:
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
