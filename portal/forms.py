"""Form fields every app's forms share."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from .formatting import day_typed

# The shapes a day may be typed in (``day_typed``): one in this shape that is no day of the
# calendar (31/02) is told so, not asked for its shape again.
_DAY_SHAPE = re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}|[0-9]{8}", re.ASCII)


class DayField(forms.CharField):
    """A day typed as DD/MM/YYYY, or as DDMMYYYY from a phone's number pad (no "/"): ASCII
    digits only, spaces ignored (``portal.formatting.day_typed``). ``None`` when left empty."""

    default_error_messages = {
        "invalid_date": _("Enter the date as DD/MM/YYYY, for example 05/03/2026."),
        "no_such_date": _("That date is not in the calendar: check the day and the month."),
    }
    invalid_code = "invalid_date"

    def __init__(self, *, autocomplete: str = "off", **kwargs):
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", _("DD/MM/YYYY"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "autocomplete": autocomplete,
                    "inputmode": "numeric",
                    "placeholder": "DD/MM/YYYY",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        day = day_typed(value)
        if day is None:
            code = (
                "no_such_date"
                if _DAY_SHAPE.fullmatch(re.sub(r"\s", "", value))
                else self.invalid_code
            )
            raise forms.ValidationError(self.error_messages[code], code=code)
        return day


class BirthDateField(DayField):
    """The customer's birth date, asked to prove who they are (never said whether it matched)."""

    default_error_messages = {
        "invalid_birth_date": _("Enter your birth date as DD/MM/YYYY, for example 05/03/1992."),
    }
    invalid_code = "invalid_birth_date"

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Birth date"))
        super().__init__(autocomplete="bday", **kwargs)
