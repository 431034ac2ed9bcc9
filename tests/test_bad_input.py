"""Odd and hostile input on every form that logs in, moves money, adds a payee or takes an OTP.

Each row of a table is posted through the real view. A bad row must come back as the same
form, re-rendered with a form error (HTTP 200, never a 500), and must change nothing: no login,
no transfer, no payee, no money moved, and for the OTP form no wrong-code count (a code of the
wrong shape is refused by the form before the OTP service sees it). A few rows are odd but
fine ("Rp 1.500.000,50", an OTP typed "123 456") and must go through.

Below the tables, hypothesis checks the two parsers on arbitrary text: ``RupiahField`` and
``OtpForm`` either give a well-formed value or a ``ValidationError``, never another exception.
"""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import translation
from django.utils.html import escape
from hypothesis import given, settings
from hypothesis import strategies as st

from payments import exceptions as payment_errors
from payments.forms import RupiahField
from payments.models import BankAccount, LedgerEntry, Payee, Transfer
from portal.formatting import rupiah
from tests.conftest import outbox_code
from tests.factories import PASSWORD
from tokens.forms import OtpForm

MISSING = object()  # the field is left out of the POST entirely
# Markers for the ``source`` select box, resolved when the accounts exist.
OWN_SOURCE, OTHERS_SOURCE = "<pk of 1001000011>", "<pk of 1002000017>"
OWN_SOURCE_ARABIC, OWN_SOURCE_PADDED = (
    "<pk of 1001000011, Arabic-Indic>",
    "<pk of 1001000011, spaces>",
)
KB10 = 10 * 1024
ARABIC, FULLWIDTH, DEVANAGARI = "١٢٣٤٥٦", "１２３４５６", "१२३४५६"
SCRIPT = "<script>alert(1)</script>"
SQL = "1' OR '1'='1'; DROP TABLE payments_transfer;--"
COMBINING = "\u0301"  # COMBINING ACUTE ACCENT, alone
NUL = "12\x0034"


def ok(amount=None):
    """Expectation of a row that is odd but valid: the form is accepted (302)."""
    return {"accepted": Decimal(amount) if amount else True}


def post(client, url, data):
    return client.post(url, {k: v for k, v in data.items() if v is not MISSING})


def assert_form_rejected(response, expected):
    """HTTP 200, the same form bound and re-rendered, with exactly the expected error(s).

    ``expected`` maps a field (``None`` for the whole form) to an error code, or to a domain
    exception whose message the view puts on the form.
    """
    assert response.status_code == 200, response.status_code
    form = response.context["form"]
    assert form.is_bound and form.errors
    for field, error in expected.items():
        if isinstance(error, Exception) or (isinstance(error, type) and issubclass(error, Exception)):
            with translation.override(response["Content-Language"]):
                message = str(error if isinstance(error, Exception) else error())
            assert message in form.non_field_errors(), form.errors.as_json()
        else:
            assert form.has_error(field or NON_FIELD_ERRORS, error), form.errors.as_json()
    assert {f or NON_FIELD_ERRORS for f in expected} == set(form.errors), form.errors.as_json()
    html = response.content.decode()
    for messages in form.errors.values():
        for message in messages:
            assert escape(message) in html, f"error not shown on the page: {message}"
    assert SCRIPT not in html


def balances():
    return dict(BankAccount.objects.values_list("number", "balance"))


# --- Login -------------------------------------------------------------------------------------

# fmt: off
LOGIN_ROWS = [
    pytest.param({}, {"username": "required", "password": "required"}, id="no-fields"),
    pytest.param({"username": "", "password": ""}, {"username": "required", "password": "required"}, id="both-empty"),
    pytest.param({"username": "budi"}, {"password": "required"}, id="no-password"),
    pytest.param({"password": PASSWORD}, {"username": "required"}, id="no-username"),
    pytest.param({"username": "   ", "password": PASSWORD}, {"username": "required"}, id="username-spaces-only"),
    pytest.param({"username": "b" * KB10, "password": PASSWORD}, {"username": "max_length"}, id="username-10kB"),
    pytest.param({"username": "budi", "password": "p" * KB10}, {"password": "max_length"}, id="password-10kB"),
    pytest.param({"username": "bu\x00di", "password": PASSWORD}, {"username": "null_characters_not_allowed"}, id="username-NUL"),
    pytest.param({"username": "budi", "password": PASSWORD + "\x00"}, {"password": "null_characters_not_allowed"}, id="password-NUL"),
    pytest.param({"username": ARABIC, "password": PASSWORD}, {None: "invalid_login"}, id="username-arabic-digits"),
    pytest.param({"username": DEVANAGARI, "password": PASSWORD}, {None: "invalid_login"}, id="username-devanagari-digits"),
    pytest.param({"username": "ｂｕｄｉ", "password": PASSWORD}, {None: "invalid_login"}, id="username-fullwidth"),
    pytest.param({"username": "bu di", "password": PASSWORD}, {None: "invalid_login"}, id="username-space-inside"),
    pytest.param({"username": "budi" + COMBINING, "password": PASSWORD}, {None: "invalid_login"}, id="username-combining-mark"),
    pytest.param({"username": COMBINING, "password": PASSWORD}, {None: "invalid_login"}, id="username-lone-combining-mark"),
    pytest.param({"username": "budi😀", "password": PASSWORD}, {None: "invalid_login"}, id="username-emoji"),
    pytest.param({"username": SCRIPT, "password": PASSWORD}, {None: "invalid_login"}, id="username-script"),
    pytest.param({"username": "budi'--", "password": "x"}, {None: "invalid_login"}, id="username-sql-comment"),
    pytest.param({"username": "' OR '1'='1", "password": "' OR '1'='1"}, {None: "invalid_login"}, id="sql-both"),
    # Passwords are taken as typed: spaces around a password make it another password.
    pytest.param({"username": "budi", "password": f" {PASSWORD} "}, {None: "invalid_login"}, id="password-spaces-around"),
    pytest.param({"username": "budi", "password": ARABIC}, {None: "invalid_login"}, id="password-arabic-digits"),
    # Odd but fine: spaces around a User ID and its case do not matter; ``next`` stays on site.
    pytest.param({"username": "  budi  ", "password": PASSWORD}, ok(), id="ok-username-spaces-around"),
    pytest.param({"username": "BUDI", "password": PASSWORD}, ok(), id="ok-username-upper-case"),
    pytest.param({"username": "budi", "password": PASSWORD, "next": "https://evil.example/"}, ok(), id="ok-next-offsite-ignored"),
]
# fmt: on


@pytest.mark.parametrize(("data", "expected"), LOGIN_ROWS)
def test_login_form_bad_input(client, customer, data, expected):
    response = post(client, "/login/", data)
    if "accepted" in expected:
        assert response.status_code == 302, response.content.decode()[:2000]
        assert response["Location"] == "/dashboard/"
        assert client.session["_auth_user_id"] == str(customer.pk)
        return
    assert_form_rejected(response, expected)
    assert "_auth_user_id" not in client.session


# --- Transfer ----------------------------------------------------------------------------------

TRANSFER_OK = {
    "source": OWN_SOURCE,
    "destination": "other",
    "destination_number": "1002000017",
    "amount": "1.500.000",
    "description": "Bayar kos",
}


def amount_row(amount, expected, id):
    return pytest.param({"amount": amount}, expected, id=f"amount-{id}")


# fmt: off
TRANSFER_ROWS = [
    pytest.param({k: MISSING for k in TRANSFER_OK}, {"source": "required", "destination": "required", "amount": "required"}, id="no-fields"),
    # Amount
    amount_row(MISSING, {"amount": "required"}, "missing"),
    amount_row("", {"amount": "required"}, "empty"),
    amount_row("   ", {"amount": "invalid"}, "spaces-only"),
    amount_row(ARABIC, {"amount": "invalid"}, "arabic-digits"),
    amount_row(FULLWIDTH, {"amount": "invalid"}, "fullwidth-digits"),
    amount_row(DEVANAGARI, {"amount": "invalid"}, "devanagari-digits"),
    amount_row("Rp " + ARABIC, {"amount": "invalid"}, "rp-arabic-digits"),
    amount_row("1" * KB10, {"amount": "max_digits"}, "10kB-digits"),
    amount_row("1" + ".000" * (KB10 // 4), {"amount": "max_digits"}, "10kB-grouped"),
    amount_row("x" * KB10, {"amount": "invalid"}, "10kB-text"),
    amount_row(NUL, {"amount": "invalid"}, "NUL"),
    amount_row("-100", {"amount": "invalid"}, "negative"),
    amount_row("-1.500.000", {"amount": "invalid"}, "negative-grouped"),
    amount_row("Rp -5", {"amount": "invalid"}, "rp-negative"),
    amount_row("0", {"amount": "min_value"}, "zero"),
    amount_row("0,00", {"amount": "min_value"}, "zero-cents"),
    amount_row("0,50", {"amount": "min_value"}, "half-rupiah"),
    amount_row("9" * 40, {"amount": "max_digits"}, "40-nines"),
    amount_row("1e30", {"amount": "invalid"}, "exponent"),
    amount_row("NaN", {"amount": "invalid"}, "NaN"),
    amount_row("sNaN", {"amount": "invalid"}, "sNaN"),
    amount_row("Infinity", {"amount": "invalid"}, "Infinity"),
    amount_row("-Infinity", {"amount": "invalid"}, "minus-Infinity"),
    amount_row("100,0001", {"amount": "max_decimal_places"}, "4-decimals"),
    amount_row("1.500.000,123", {"amount": "max_decimal_places"}, "grouped-3-decimals"),
    amount_row("1,500", {"amount": "max_decimal_places"}, "comma-3-decimals"),
    # Dots that are not thousands groups are a typo, not an amount (were read as 1, 15, 150000).
    amount_row("0.001", {"amount": "invalid"}, "zero-group"),
    amount_row("1.50", {"amount": "invalid"}, "dot-as-decimal"),
    amount_row("100.0001", {"amount": "invalid"}, "dot-4-decimals"),
    amount_row("1.5,00", {"amount": "invalid"}, "bad-group-cents"),
    amount_row("1.50.000,00", {"amount": "invalid"}, "indian-grouping"),
    amount_row("1,5.0", {"amount": "invalid"}, "dot-in-cents"),
    amount_row("1,500,000", {"amount": "invalid"}, "english-grouping"),
    amount_row("1.5.0", {"amount": "invalid"}, "two-dots"),
    amount_row(",", {"amount": "invalid"}, "comma-only"),
    amount_row("Rp", {"amount": "invalid"}, "rp-only"),
    amount_row("600.000.000", {None: payment_errors.TransferLimitExceeded(limit="Rp 500.000.000")}, "over-transfer-limit"),
    amount_row("400.000.000", {None: payment_errors.InsufficientFunds}, "over-balance"),
    amount_row(SCRIPT, {"amount": "invalid"}, "script"),
    amount_row(SQL, {"amount": "invalid"}, "sql"),
    amount_row("💰100", {"amount": "invalid"}, "emoji"),
    amount_row("1" + COMBINING + "00", {"amount": "invalid"}, "combining-mark"),
    # Source account (a select box, but anything can be posted)
    pytest.param({"source": MISSING}, {"source": "required"}, id="source-missing"),
    pytest.param({"source": ""}, {"source": "required"}, id="source-empty"),
    pytest.param({"source": OTHERS_SOURCE}, {"source": "invalid_choice"}, id="source-someone-elses"),
    pytest.param({"source": "abc"}, {"source": "invalid_choice"}, id="source-text"),
    pytest.param({"source": "9" * 40}, {"source": "invalid_choice"}, id="source-40-nines"),
    pytest.param({"source": "9" * KB10}, {"source": "invalid_choice"}, id="source-10kB"),
    pytest.param({"source": NUL}, {"source": "invalid_choice"}, id="source-NUL"),
    pytest.param({"source": "-1"}, {"source": "invalid_choice"}, id="source-negative"),
    pytest.param({"source": "1 OR 1=1"}, {"source": "invalid_choice"}, id="source-sql"),
    pytest.param({"source": SCRIPT}, {"source": "invalid_choice"}, id="source-script"),
    # Destination (a select box)
    pytest.param({"destination": MISSING}, {"destination": "required"}, id="destination-missing"),
    pytest.param({"destination": ""}, {"destination": "required"}, id="destination-empty"),
    pytest.param({"destination": "1002000017"}, {"destination": "invalid_choice"}, id="destination-not-a-choice"),
    pytest.param({"destination": "١٠٠١٠٠٠٠٢٩"}, {"destination": "invalid_choice"}, id="destination-arabic-digits"),
    pytest.param({"destination": " 1001000029 "}, {"destination": "invalid_choice"}, id="destination-spaces-around"),
    pytest.param({"destination": "other\x00"}, {"destination": "invalid_choice"}, id="destination-NUL"),
    pytest.param({"destination": SCRIPT}, {"destination": "invalid_choice"}, id="destination-script"),
    pytest.param({"destination": "1001000011"}, {None: payment_errors.SameAccount}, id="destination-same-account"),
    # Destination account number (free text)
    pytest.param({"destination_number": MISSING}, {"destination_number": "destination_required"}, id="number-missing"),
    pytest.param({"destination_number": ""}, {"destination_number": "destination_required"}, id="number-empty"),
    pytest.param({"destination_number": "-"}, {"destination_number": "invalid"}, id="number-dash-only"),
    pytest.param({"destination_number": "١٠٠٢٠٠٠٠١٧"}, {"destination_number": "invalid"}, id="number-arabic-digits"),
    pytest.param({"destination_number": "１００２０００００１７"}, {"destination_number": "invalid"}, id="number-fullwidth"),
    pytest.param({"destination_number": "१००२००००१७"}, {"destination_number": "invalid"}, id="number-devanagari"),
    pytest.param({"destination_number": "1" * KB10}, {"destination_number": "max_length"}, id="number-10kB"),
    pytest.param({"destination_number": "10020\x0000017"}, {"destination_number": "null_characters_not_allowed"}, id="number-NUL"),
    pytest.param({"destination_number": "100200001"}, {"destination_number": "invalid"}, id="number-9-digits"),
    pytest.param({"destination_number": "1002000017" + COMBINING}, {"destination_number": "invalid"}, id="number-combining-mark"),
    pytest.param({"destination_number": "1002000017 OR 1=1"}, {"destination_number": "invalid"}, id="number-sql"),
    pytest.param({"destination_number": SCRIPT}, {"destination_number": "invalid"}, id="number-script"),
    pytest.param({"destination_number": "😀" * 10}, {"destination_number": "invalid"}, id="number-emoji"),
    pytest.param({"destination_number": "9999999999"}, {None: payment_errors.AccountNotFound}, id="number-unknown"),
    pytest.param({"destination_number": "1001000011"}, {None: payment_errors.SameAccount}, id="number-same-account"),
    # Description
    pytest.param({"description": "d" * KB10}, {"description": "max_length"}, id="description-10kB"),
    pytest.param({"description": "Bayar\x00kos"}, {"description": "null_characters_not_allowed"}, id="description-NUL"),
    # Odd but fine
    amount_row("1.500.000", ok("1500000"), "ok-grouped"),
    amount_row("Rp 1.500.000,50", ok("1500000.50"), "ok-rp-grouped-cents"),
    amount_row("1500000", ok("1500000"), "ok-plain"),
    amount_row("  rp. 1 500 000  ", ok("1500000"), "ok-spaces-inside-and-around"),
    amount_row("1.500.000,", ok("1500000"), "ok-trailing-comma"),
    # "100.001" is Indonesian for one hundred thousand and one, like "1.500" is 1500.
    amount_row("100.001", ok("100001"), "ok-one-group"),
    pytest.param({"destination_number": " 1002 000-017 "}, ok("1500000"), id="number-ok-spaces-and-dashes"),
    pytest.param({"description": SCRIPT}, ok("1500000"), id="description-ok-script-escaped"),
    pytest.param({"description": "Bayar kos 🏠" + COMBINING}, ok("1500000"), id="description-ok-emoji"),
    pytest.param({"description": MISSING}, ok("1500000"), id="description-ok-missing"),
    # The source is one of the accounts the form read, compared as the exact string the page
    # offered (payments.forms.AccountChoiceField): another spelling of the customer's own
    # account (Arabic-Indic digits, spaces around) is not one of the choices. Django's
    # ModelChoiceField, used before, read the pk with int() and took both.
    pytest.param({"source": OWN_SOURCE_ARABIC}, {"source": "invalid_choice"}, id="source-own-pk-arabic-digits"),
    pytest.param({"source": OWN_SOURCE_PADDED}, {"source": "invalid_choice"}, id="source-own-pk-spaces"),
]
# fmt: on


@pytest.mark.parametrize(("overrides", "expected"), TRANSFER_ROWS)
def test_transfer_form_bad_input(customer_client, other_customer, overrides, expected):
    data = {**TRANSFER_OK, **overrides}
    own, others = (BankAccount.objects.get(number=n).pk for n in ("1001000011", "1002000017"))
    sources = {
        OWN_SOURCE: str(own),
        OTHERS_SOURCE: str(others),
        OWN_SOURCE_ARABIC: str(own).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        OWN_SOURCE_PADDED: f" {own} ",
    }
    data["source"] = sources.get(data["source"], data["source"])
    before = balances()

    response = post(customer_client, "/transfers/new/", data)

    assert balances() == before and not LedgerEntry.objects.exists()
    if "accepted" in expected:
        assert response.status_code == 302, response.content.decode()[:3000]
        transfer = Transfer.objects.get()
        assert response["Location"] == f"/transfers/{transfer.reference}/confirm/"
        assert transfer.status == Transfer.Status.DRAFT  # nobody went on with it yet
        assert transfer.amount == expected["accepted"]
        assert transfer.source.number == "1001000011"
        page = customer_client.get(response["Location"]).content.decode()
        assert SCRIPT not in page
        if data.get("description") == SCRIPT:
            assert escape(SCRIPT) in page
        return
    assert_form_rejected(response, expected)
    assert not Transfer.objects.exists()


# --- Payee -------------------------------------------------------------------------------------

PAYEE_OK = {"account_number": "1002000017", "nickname": "Siti"}

# fmt: off
PAYEE_ROWS = [
    pytest.param({"account_number": MISSING, "nickname": MISSING}, {"account_number": "required", "nickname": "required"}, id="no-fields"),
    pytest.param({"account_number": ""}, {"account_number": "required"}, id="number-empty"),
    pytest.param({"account_number": "   "}, {"account_number": "required"}, id="number-spaces-only"),
    pytest.param({"account_number": " - "}, {"account_number": "invalid"}, id="number-dash-only"),
    pytest.param({"account_number": "١٠٠٢٠٠٠٠١٧"}, {"account_number": "invalid"}, id="number-arabic-digits"),
    pytest.param({"account_number": "１００２０００００１７"}, {"account_number": "invalid"}, id="number-fullwidth"),
    pytest.param({"account_number": "१००२००००१७"}, {"account_number": "invalid"}, id="number-devanagari"),
    pytest.param({"account_number": "1" * KB10}, {"account_number": "max_length"}, id="number-10kB"),
    pytest.param({"account_number": "10020\x0000017"}, {"account_number": "null_characters_not_allowed"}, id="number-NUL"),
    pytest.param({"account_number": "10020000170"}, {"account_number": "invalid"}, id="number-11-digits"),
    pytest.param({"account_number": "1002000017" + COMBINING}, {"account_number": "invalid"}, id="number-combining-mark"),
    pytest.param({"account_number": "1002000017' OR '1'='1"}, {"account_number": "invalid"}, id="number-sql"),
    pytest.param({"account_number": SCRIPT}, {"account_number": "invalid"}, id="number-script"),
    pytest.param({"account_number": "😀" * 10}, {"account_number": "invalid"}, id="number-emoji"),
    pytest.param({"account_number": "9999999999"}, {None: payment_errors.AccountNotFound}, id="number-unknown"),
    pytest.param({"account_number": "1001000029"}, {None: payment_errors.SameAccount}, id="number-own-account"),
    pytest.param({"nickname": ""}, {"nickname": "required"}, id="nickname-empty"),
    pytest.param({"nickname": " \t "}, {"nickname": "required"}, id="nickname-spaces-only"),
    pytest.param({"nickname": MISSING}, {"nickname": "required"}, id="nickname-missing"),
    pytest.param({"nickname": "n" * KB10}, {"nickname": "max_length"}, id="nickname-10kB"),
    pytest.param({"nickname": "Si\x00ti"}, {"nickname": "null_characters_not_allowed"}, id="nickname-NUL"),
    # Odd but fine
    pytest.param({"account_number": " 1002-000-017 "}, ok(), id="number-ok-spaces-and-dashes"),
    pytest.param({"account_number": "-1002000017"}, ok(), id="number-ok-leading-dash"),
    pytest.param({"nickname": SCRIPT}, ok(), id="nickname-ok-script-escaped"),
    pytest.param({"nickname": "Siti 😀" + COMBINING}, ok(), id="nickname-ok-emoji"),
    pytest.param({"nickname": SQL[:40]}, ok(), id="nickname-ok-sql"),
]
# fmt: on


@pytest.mark.parametrize(("overrides", "expected"), PAYEE_ROWS)
def test_payee_form_bad_input(customer_client, other_customer, overrides, expected):
    response = post(customer_client, "/payees/new/", {**PAYEE_OK, **overrides})

    if "accepted" in expected:
        assert response.status_code == 302, response.content.decode()[:3000]
        payee = Payee.objects.get()
        assert response["Location"] == f"/payees/{payee.pk}/confirm/"
        assert payee.status == Payee.Status.PENDING and payee.account.number == "1002000017"
        page = customer_client.get(response["Location"]).content.decode()
        assert SCRIPT not in page
        if overrides.get("nickname") == SCRIPT:
            assert escape(SCRIPT) in page
        return
    assert_form_rejected(response, expected)
    assert not Payee.objects.exists()


# --- OTP confirmation --------------------------------------------------------------------------


@pytest.fixture
def transfer_with_challenge(customer_client, other_customer, django_capture_on_commit_callbacks):
    """A pending transfer of Rp 1.500.000 whose OTP has been sent (to the outbox)."""
    response = post(
        customer_client,
        "/transfers/new/",
        {**TRANSFER_OK, "source": BankAccount.objects.get(number="1001000011").pk},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    transfer = Transfer.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(f"/transfers/{transfer.reference}/otp/")
    assert response.status_code == 302
    transfer.refresh_from_db()
    assert transfer.challenge is not None
    return transfer


# fmt: off
OTP_ROWS = [
    pytest.param(MISSING, "required", id="missing"),
    pytest.param("", "required", id="empty"),
    pytest.param("   ", "required", id="spaces-only"),
    pytest.param("- -", "invalid_code", id="dashes-only"),
    pytest.param(ARABIC, "invalid_code", id="arabic-digits"),
    pytest.param(FULLWIDTH, "invalid_code", id="fullwidth-digits"),
    pytest.param(DEVANAGARI, "invalid_code", id="devanagari-digits"),
    pytest.param("123 ٤٥٦", "invalid_code", id="mixed-digits"),
    pytest.param("1" * KB10, "max_length", id="10kB"),
    pytest.param(NUL, "null_characters_not_allowed", id="NUL-short"),
    pytest.param("123\x00456", "null_characters_not_allowed", id="NUL-inside"),
    pytest.param("12345", "invalid_code", id="5-digits"),
    pytest.param("1234567", "invalid_code", id="7-digits"),
    pytest.param("+123456", "invalid_code", id="plus-sign"),
    pytest.param("12.3456", "invalid_code", id="decimal-point"),
    pytest.param("1e5", "invalid_code", id="exponent"),
    pytest.param("NaN", "invalid_code", id="NaN"),
    pytest.param(SCRIPT, "invalid_code", id="script"),
    pytest.param("123456' OR '1'='1", "invalid_code", id="sql"),
    pytest.param("😀" * 6, "invalid_code", id="emoji"),
    pytest.param("".join(d + COMBINING for d in "123456"), "invalid_code", id="combining-marks"),
    pytest.param(COMBINING, "invalid_code", id="lone-combining-mark"),
]
# fmt: on


@pytest.mark.parametrize(("code", "error"), OTP_ROWS)
def test_otp_form_rejects_malformed_codes_before_the_service(
    customer_client, customer, transfer_with_challenge, code, error
):
    transfer = transfer_with_challenge
    before = balances()

    response = post(customer_client, f"/transfers/{transfer.reference}/confirm/", {"code": code})

    assert_form_rejected(response, {"code": error})
    customer.refresh_from_db()
    transfer.refresh_from_db()
    transfer.challenge.refresh_from_db()
    assert customer.otp_failure_count == 0  # not a wrong code: the service never saw it
    assert transfer.challenge.attempts == 0
    assert transfer.challenge.status == transfer.challenge.Status.PENDING
    assert transfer.status == Transfer.Status.PENDING
    assert balances() == before and not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("{a} {b}", id="space-inside"),
        pytest.param("  {a}{b}\t", id="spaces-around"),
        pytest.param("{a}-{b}", id="dash-inside"),
        pytest.param("{a}\u00a0{b}", id="no-break-space-inside"),
        pytest.param(" {a} - {b} ", id="spaces-and-dash"),
    ],
)
def test_otp_form_tolerates_spaces_and_dashes(
    customer_client, customer, transfer_with_challenge, typed
):
    transfer = transfer_with_challenge
    code = outbox_code()

    response = customer_client.post(
        f"/transfers/{transfer.reference}/confirm/", {"code": typed.format(a=code[:3], b=code[3:])}
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == f"/transfers/{transfer.reference}/"
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("13500000.00")
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0


# --- Properties of the parsers -----------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)
ODD_CHARACTERS = "0123456789.,-+eE Rrp\t\u00a0\x00\u0301١٢３४😀"


@PROPERTY_SETTINGS
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet=ODD_CHARACTERS, max_size=25),
        st.from_regex(r"(Rp\.? ?)?[0-9]{1,5}(\.[0-9]{1,4}){0,4}(,[0-9]{0,4})?", fullmatch=True),
    )
)
def test_rupiah_field_gives_an_amount_or_a_validation_error(text):
    try:
        amount = RupiahField().clean(text)
    except ValidationError:
        return
    assert isinstance(amount, Decimal) and amount.is_finite()
    assert Decimal(1) <= amount < Decimal(10) ** 13
    assert -amount.as_tuple().exponent <= 2


@PROPERTY_SETTINGS
@given(st.decimals(min_value=1, max_value=Decimal(10) ** 13 - Decimal("0.01"), places=2))
def test_rupiah_field_reads_back_what_the_bank_writes(amount):
    assert RupiahField().clean(rupiah(amount)) == amount
    # Without grouping, with a decimal comma: "1500000,50".
    assert RupiahField().clean(f"{amount}".replace(".", ",")) == amount


@PROPERTY_SETTINGS
@given(
    st.one_of(
        st.text(max_size=40),
        st.text(alphabet="0123456789 -\t\u00a0\x00\u0301١３४", max_size=12),
    )
)
def test_otp_form_gives_six_or_eight_ascii_digits_or_a_validation_error(text):
    form = OtpForm(data={"code": text})
    if form.is_valid():
        code = form.cleaned_data["code"]
        assert re.fullmatch(r"[0-9]{6}|[0-9]{8}", code, flags=re.ASCII)
        assert code == "".join(c for c in text if c in "0123456789")
    else:
        assert set(form.errors) == {"code"}


@PROPERTY_SETTINGS
@given(
    st.lists(st.sampled_from("0123456789"), min_size=6, max_size=6),
    st.lists(st.sampled_from(["", "", " ", "-", "\t", "\u00a0"]), min_size=7, max_size=7),
)
def test_otp_form_accepts_six_digits_with_spaces_and_dashes(digits, gaps):
    typed = "".join(gap + digit for gap, digit in zip(gaps, [*digits, ""], strict=True))
    form = OtpForm(data={"code": typed})
    assert form.is_valid(), (typed, form.errors)
    assert form.cleaned_data["code"] == "".join(digits)
