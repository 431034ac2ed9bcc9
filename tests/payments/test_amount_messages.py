"""Amounts in form errors are written the bank's way ("Rp 1"), never Django's bare numbers."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from payments.forms import RupiahField


@pytest.mark.parametrize(
    "typed, english, indonesian",
    [
        ("0", "at least Rp 1", "Rp 1"),
        ("0,50", "at least Rp 1", "Rp 1"),
        ("99.999.999.999.999", "too large", "terlalu besar"),
        ("1,505", "two digits after the comma", "dua angka"),
    ],
)
def test_amount_messages_are_readable(typed, english, indonesian):
    field = RupiahField()
    for language, expected in (("en", english), ("id", indonesian)):
        with translation.override(language):
            with pytest.raises(ValidationError) as refused:
                field.clean(typed)
            text = " ".join(refused.value.messages)
        assert expected in text
        assert "greater than" not in text and "lebih besar dari atau sama dengan" not in text
