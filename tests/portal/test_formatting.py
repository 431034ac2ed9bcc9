from decimal import Decimal

import pytest

from portal.formatting import account_masked, phone_masked, rupiah


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1500000"), "Rp 1.500.000"),
        (Decimal("1500000.50"), "Rp 1.500.000,50"),
        (Decimal("0"), "Rp 0"),
        (Decimal("999"), "Rp 999"),
        (Decimal("1000"), "Rp 1.000"),
        (Decimal("-25000"), "-Rp 25.000"),
        (Decimal("12345678901.99"), "Rp 12.345.678.901,99"),
        ("7500000.00", "Rp 7.500.000"),
    ],
)
def test_rupiah(amount, text):
    assert rupiah(amount) == text


def test_phone_masked():
    assert phone_masked("+6281234565678") == "+62 812-****-5678"
    assert phone_masked("081398761234") == "+62 813-****-1234"
    assert phone_masked("") == ""


def test_account_masked():
    assert account_masked("1002000017") == "****0017"
