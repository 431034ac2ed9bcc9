"""How the bank writes money, phone numbers and account numbers for people."""

import math
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import phonenumbers
from django.utils.functional import lazy


def rupiah(amount) -> str:
    """``Decimal("1500000")`` → ``"Rp 1.500.000"``; cents only when there are any (``Rp 10,50``)."""
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    whole, cents = f"{abs(value):.2f}".split(".")
    grouped = f"{int(whole):,}".replace(",", ".")
    return f"{sign}Rp {grouped}" + (f",{cents}" if cents != "00" else "")


def phone_masked(phone) -> str:
    """``+6281234565678`` → ``"+62 812-****-5678"``: enough for the customer to recognise it."""
    if not phone:
        return ""
    number = (
        phone
        if isinstance(phone, phonenumbers.PhoneNumber)
        else phonenumbers.parse(str(phone), "ID")
    )
    national = str(number.national_number)
    return f"+{number.country_code} {national[:3]}-****-{national[-4:]}"


def account_masked(number: str) -> str:
    """``"1234566789"`` → ``"****6789"``."""
    return f"****{number[-4:]}" if number else ""


def email_masked(email) -> str:
    """``"budi.santoso@example.com"`` → ``"b***o@example.com"``: recognisable, not readable."""
    if not email or "@" not in email:
        return ""
    local, domain = str(email).rsplit("@", 1)
    shown = local[0] + "***" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def email_masked_short(email) -> str:
    """``"budi.santoso@example.com"`` → ``"b***@e***"``: for an SMS, which must stay one plain
    (GSM-7) segment and must not spell out a domain someone typed (an IDN domain would turn the
    SMS into several UCS-2 segments)."""
    if not email or "@" not in email:
        return ""
    local, domain = str(email).rsplit("@", 1)

    def first(text):
        return text[0] if text[:1].isascii() and text[:1].isalnum() else "*"

    return f"{first(local)}***@{first(domain)}***"


def name_masked(name: str) -> str:
    """``"Siti Rahayu"`` → ``"Si** Ra****"``: enough to recognise the person one meant."""
    return " ".join(word[:2] + "*" * max(0, len(word) - 2) for word in str(name).split())


def duration(seconds) -> str:
    """How long a customer has to wait, in the active language: ``42`` → ``"42 detik"``,
    ``900`` → ``"15 menit"``. Under two minutes in seconds, else in whole minutes rounded up
    (a wait is never shown shorter than it is)."""
    from django.utils.translation import ngettext

    seconds = max(0, math.ceil(seconds))
    if seconds < 120:
        return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}


# For an error's parameters: translated when the message is shown, not when it is raised.
duration_lazy = lazy(duration, str)


def day_typed(text) -> date | None:
    """The day a person typed as DD/MM/YYYY, or as eight digits DDMMYYYY (a phone's number pad
    has no "/"); spaces are ignored and only ASCII digits count. None when it is no real day."""
    value = re.sub(r"\s", "", str(text or ""))
    match = re.fullmatch(
        r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})|([0-9]{2})([0-9]{2})([0-9]{4})", value, re.ASCII
    )
    if not match:
        return None
    parts = match.groups()[:3] if match[1] else match.groups()[3:]
    day, month, year = (int(part) for part in parts)
    try:
        return date(year, month, day)
    except ValueError:
        return None
