"""Mutasi Rekening: the period's rules, whose accounts, the lines and their running balance,
pages, the CSV (and its guard against formulas), the PDF, the audit, and the demo history."""

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django.test import TestCase
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader

from accounts.models import AuditEvent, User
from payments import selectors, services
from payments.forms import StatementRangeForm
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import outbox_code
from tests.factories import PASSWORD, BankAccountFactory

pytestmark = pytest.mark.django_db

WIB = ZoneInfo("Asia/Jakarta")
TODAY = datetime(2026, 12, 1, 10, 0, tzinfo=WIB)  # "now" in these tests


def at(text: str) -> datetime:
    """``"30/11/2026 08:15"`` in Asia/Jakarta."""
    return datetime.strptime(text, "%d/%m/%Y %H:%M").replace(tzinfo=WIB)


def move(source: BankAccount, destination: BankAccount, amount, description="", *, when):
    """A transfer made the customer's way at ``when``: created, OTP by SMS, confirmed."""
    with time_machine.travel(when, tick=False):
        transfer = services.transfer_create(
            user=source.owner, source=source, destination=destination,
            amount=Decimal(amount), description=description,
        )
        with TestCase.captureOnCommitCallbacks(execute=True):  # the SMS task, eagerly
            services.transfer_challenge_issue(transfer=transfer)
        services.transfer_confirm(transfer=transfer, code=outbox_code())
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    return transfer


@pytest.fixture
def now():
    with time_machine.travel(TODAY, tick=False):
        yield TODAY


@pytest.fixture
def accounts(customer, other_customer):
    return {account.number: account for account in BankAccount.objects.select_related("owner")}


@pytest.fixture
def history(accounts):
    """budi's savings 1001000011 (Rp 15.000.000 to start with): out, in, out, over days."""
    savings, current, siti = (accounts[n] for n in ("1001000011", "1001000029", "1002000017"))
    return [
        move(savings, siti, "1500000", "Bayar kos", when=at("20/11/2026 09:00")),
        move(siti, savings, "200000", "Ganti makan", when=at("25/11/2026 19:30")),
        move(savings, current, "1000000", "Tabungan", when=at("28/11/2026 08:15")),
    ]


def statement_url(number="1001000011", ext="/", **query):
    suffix = "mutasi/" if ext == "/" else f"mutasi.{ext}"
    url = f"/accounts/{number}/{suffix}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


# --- The period --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("", "", (date(2026, 11, 1), date(2026, 12, 1))),  # the last 31 days
        ("01/11/2026", "01/12/2026", (date(2026, 11, 1), date(2026, 12, 1))),  # exactly 31
        (" 5/11/2026 ", "6/11/2026", (date(2026, 11, 5), date(2026, 11, 6))),
        ("01/12/2026", "01/12/2026", (date(2026, 12, 1), date(2026, 12, 1))),
        ("01/06/2026", "", (date(2026, 6, 1), date(2026, 7, 1))),  # 183 days back, to +30
        ("", "15/11/2026", (date(2026, 10, 16), date(2026, 11, 15))),
        ("31/10/2026", "01/12/2026", "too_long"),  # 32 days
        ("02/11/2026", "01/11/2026", "reversed"),
        ("31/05/2026", "15/06/2026", "too_old"),  # 184 days back
        ("30/11/2026", "02/12/2026", "future"),
        ("05112026", "06112026", (date(2026, 11, 5), date(2026, 11, 6))),  # a phone's pad: no "/"
        # Days at the edge of the calendar are refused, never overflow into a 500.
        ("", "01/01/0001", "too_old"),
        ("01/01/0001", "", "too_old"),
        ("31/12/9999", "", "future"),
        ("", "31/12/9999", "future"),
        ("31/02/2026", "", "no_such_date"),
        ("2026-11-01", "", "invalid_date"),
        ("", "11/2026", "invalid_date"),
        ("١٢/١١/٢٠٢٦", "", "invalid_date"),  # Arabic-Indic digits
        ("01/11/26", "", "invalid_date"),
        ("<script>", "", "invalid_date"),
        ("01/11/2026\x00", "", "null_characters_not_allowed"),
        ("9" * 40, "", "max_length"),
    ],
)
def test_statement_range_rules(start, end, expected):
    form = StatementRangeForm({"start": start, "end": end}, today=date(2026, 12, 1))
    if isinstance(expected, tuple):
        assert form.is_valid(), form.errors.as_json()
        assert (form.cleaned_data["start"], form.cleaned_data["end"]) == expected
    else:
        assert not form.is_valid()
        assert any(
            error.code == expected
            for errors in form.errors.as_data().values()
            for error in errors
        ), form.errors.as_json()


@given(st.text(max_size=30), st.text(max_size=30))
@hypothesis_settings(max_examples=300, deadline=None)
def test_any_text_is_a_period_or_a_form_error(start, end):
    form = StatementRangeForm({"start": start, "end": end}, today=date(2026, 12, 1))
    if form.is_valid():
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
        assert date(2026, 6, 1) <= first <= last <= date(2026, 12, 1)
        assert (last - first).days < 31
    else:
        assert form.errors


def test_the_limits_are_settings_read_when_the_form_checks(settings):
    settings.STATEMENT_MAX_RANGE_DAYS = 7
    settings.STATEMENT_HISTORY_DAYS = 30
    today = date(2026, 12, 1)
    form = StatementRangeForm({}, today=today)
    assert form.is_valid() and form.cleaned_data["start"] == date(2026, 11, 25)
    assert not StatementRangeForm({"start": "24/11/2026", "end": "01/12/2026"}, today=today).is_valid()
    assert not StatementRangeForm({"start": "31/10/2026", "end": "01/11/2026"}, today=today).is_valid()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"start": "02/11/2026", "end": "01/11/2026"}, "Tanggal awal tidak boleh setelah tanggal akhir."),
        ({"start": "01/10/2026", "end": "30/11/2026"}, "Mutasi ditampilkan paling banyak 31 hari sekaligus"),
        ({"start": "01/01/2026", "end": "15/01/2026"}, "Mutasi tersedia hingga 183 hari ke belakang: pilih tanggal awal mulai 01/06/2026."),
        ({"start": "30/11/2026", "end": "05/12/2026"}, "Periode tidak boleh melewati hari ini (01/12/2026)."),
        ({"start": "31/02/2026"}, "Tanggal itu tidak ada di kalender: periksa hari dan bulannya."),
    ],
)
def test_a_refused_period_is_told_in_indonesian_and_shows_nothing(customer_client, history, now, query, message):
    response = customer_client.get(statement_url(**query))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "movements" not in response.context or not response.context["movements"]
    assert "TRF" not in html


# --- Whose accounts ----------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["/", "csv", "pdf"])
def test_another_customers_account_is_not_found(customer_client, history, now, ext):
    assert customer_client.get(statement_url("1002000017", ext)).status_code == 404
    assert customer_client.get(statement_url("9999999999", ext)).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.STATEMENT_DOWNLOADED).exists()


def test_the_recipient_reads_the_credit_on_their_own_statement(client, history, now):
    client.post("/login/", {"username": "siti", "password": PASSWORD})
    response = client.get(statement_url("1002000017"))
    assert response.status_code == 200
    lines = response.context["movements"]
    assert [(m.reference, m.amount, m.counterparty_name) for m in lines] == [
        (history[1].reference, Decimal("-200000"), "Budi Santoso"),
        (history[0].reference, Decimal("1500000"), "Budi Santoso"),
    ]
    assert customer_statement_anonymous_redirects(client)


def customer_statement_anonymous_redirects(client):
    client.post("/logout/")
    response = client.get(statement_url("1002000017"))
    return response.status_code == 302 and "/login/" in response["Location"]


def test_statement_index_opens_the_first_account(customer_client):
    response = customer_client.get("/mutasi/")
    assert response.status_code == 302 and response["Location"] == statement_url("1001000011")


# --- The lines ---------------------------------------------------------------------------


def test_lines_newest_first_with_the_running_balance_the_transfer_wrote(customer_client, history, now):
    response = customer_client.get(statement_url())
    lines = response.context["movements"]
    assert [m.reference for m in lines] == [t.reference for t in reversed(history)]
    assert [m.amount for m in lines] == [Decimal("-1000000"), Decimal("200000"), Decimal("-1500000")]
    assert [m.balance_after for m in lines] == [
        Decimal("12700000"), Decimal("13700000"), Decimal("13500000"),
    ]
    # The balance shown is the leg's own, not a sum made again by the page.
    entry = LedgerEntry.objects.get(transfer=history[0], account__number="1001000011")
    LedgerEntry.objects.filter(pk=entry.pk).update(balance_after=Decimal("1.00"))
    lines = customer_client.get(statement_url()).context["movements"]
    assert lines[-1].balance_after == Decimal("1.00")


def test_line_shows_time_in_jakarta_counterparty_masked_and_description(customer_client, history, now):
    html = customer_client.get(statement_url()).content.decode()
    assert "20/11/2026</span> <span class=\"nowrap\">09:00" in html  # 02:00 UTC
    assert "Siti Rahayu" in html and "****0017" in html and "1002000017" not in html
    assert "Bayar kos" in html and "Transfer keluar" in html and "Transfer masuk" in html
    assert "Rp 1.500.000" in html and "Rp 12.700.000" in html


def test_days_are_jakarta_days(customer_client, accounts, now):
    """17:30 UTC on 30/11 is 00:30 WIB on 01/12: it belongs to the first of December."""
    late = move(accounts["1001000011"], accounts["1002000017"], "50000",
                when=datetime(2026, 11, 30, 17, 30, tzinfo=ZoneInfo("UTC")))
    on_30 = customer_client.get(statement_url(start="30/11/2026", end="30/11/2026")).context
    on_1 = customer_client.get(statement_url(start="01/12/2026", end="01/12/2026")).context
    assert on_30["movements"] == []
    assert [m.reference for m in on_1["movements"]] == [late.reference]
    assert on_1["movements"][0].created_at.strftime("%d/%m/%Y %H:%M") == "01/12/2026 00:30"


def test_opening_and_closing_balance_of_the_period(customer_client, history, now):
    context = customer_client.get(statement_url(start="21/11/2026", end="26/11/2026")).context
    assert [m.reference for m in context["movements"]] == [history[1].reference]
    statement = context["statement"]
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("13500000"), Decimal("13700000"),
    )
    before = customer_client.get(statement_url(start="01/11/2026", end="19/11/2026")).context
    assert before["movements"] == []
    assert before["statement"].opening_balance == before["statement"].closing_balance == Decimal("15000000")
    html = customer_client.get(statement_url(start="01/11/2026", end="19/11/2026")).content.decode()
    assert "Tidak ada mutasi pada periode ini." in html


def test_pages_keep_the_period(customer_client, accounts, now, settings):
    settings.STATEMENT_PAGE_SIZE = 2
    savings, siti = accounts["1001000011"], accounts["1002000017"]
    made = [
        move(savings, siti, 1000 + n, when=at(f"{10 + n:02d}/11/2026 09:00")) for n in range(5)
    ]
    first = customer_client.get(statement_url(start="05/11/2026", end="30/11/2026"))
    assert [m.reference for m in first.context["movements"]] == [made[4].reference, made[3].reference]
    html = first.content.decode()
    assert "?start=05%2F11%2F2026&amp;end=30%2F11%2F2026&amp;page=2" in html
    third = customer_client.get(statement_url(start="05/11/2026", end="30/11/2026", page=3))
    assert [m.reference for m in third.context["movements"]] == [made[0].reference]
    assert "Halaman 3 dari 3" in third.content.decode()
    assert customer_client.get(statement_url(page="zzz")).status_code == 200


# --- Downloads ---------------------------------------------------------------------------


def download_events():
    return AuditEvent.objects.filter(action=AuditEvent.Action.STATEMENT_DOWNLOADED)


def test_csv_lists_the_period_oldest_first_in_rupiah(customer_client, customer, history, now):
    response = customer_client.get(statement_url(ext="csv", start="01/11/2026", end="30/11/2026"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="mutasi-1001000011-20261101-20261130.csv"'
    )
    assert "no-store" in response["Cache-Control"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Tanggal dan waktu (WIB)", "Keterangan", "Dari/Ke", "Rekening dari/ke",
        "Referensi", "Debit", "Kredit", "Saldo",
    ]
    assert rows[1:] == [
        ["20/11/2026 09:00:00", "Bayar kos", "Siti Rahayu", "****0017", history[0].reference,
         "Rp 1.500.000", "", "Rp 13.500.000"],
        ["25/11/2026 19:30:00", "Ganti makan", "Siti Rahayu", "****0017", history[1].reference,
         "", "Rp 200.000", "Rp 13.700.000"],
        ["28/11/2026 08:15:00", "Tabungan", "Budi Santoso", "****0029", history[2].reference,
         "Rp 1.000.000", "", "Rp 12.700.000"],
    ]
    event = download_events().get()
    assert (event.actor, event.subject) == (customer, customer)
    assert event.data == {"account": "****0011", "from": "2026-11-01", "to": "2026-11-30", "format": "csv"}


@pytest.mark.parametrize(
    "description",
    ['=HYPERLINK("http://evil.example","klik")', "+1+2", "-2+3", "@SUM(A1)", "\tx"],
)
def test_csv_cells_cannot_start_a_formula(customer_client, accounts, now, description):
    move(accounts["1002000017"], accounts["1001000011"], "10000", description, when=at("30/11/2026 10:00"))
    response = customer_client.get(statement_url(ext="csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1][1] == "'" + description
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for row in rows for cell in row)


def test_csv_separators_in_a_description_never_start_a_cell(customer_client, accounts, now):
    """The sender writes the description the recipient downloads: ";" and "," inside it stay
    in its one quoted cell, whatever separator the spreadsheet uses."""
    description = "Bayar;=1+1;@SUM(1+1),-2+3"
    move(accounts["1002000017"], accounts["1001000011"], "10000", description, when=at("30/11/2026 10:00"))
    raw = customer_client.get(statement_url(ext="csv")).content.decode("utf-8-sig")
    assert '"Bayar;\'=1+1;\'@SUM(1+1),\'-2+3"' in raw
    for separator in (";", ","):
        for row in csv.reader(io.StringIO(raw), delimiter=separator):
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


@pytest.mark.parametrize("ext", ["/", "csv", "pdf"])
@pytest.mark.parametrize("query", [{"end": "01/01/0001"}, {"start": "31/12/9999"}])
def test_edge_of_the_calendar_is_a_form_error_not_a_500(customer_client, history, now, ext, query):
    response = customer_client.get(statement_url(ext=ext, **query))
    assert response.status_code in (200, 302)


def test_pdf_e_statement_opens_and_shows_the_period(customer_client, customer, history, now):
    response = customer_client.get(statement_url(ext="pdf", start="01/11/2026", end="30/11/2026"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="mutasi-1001000011-20261101-20261130.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = re.sub(r"\s+", " ", text)
    for expected in (
        "Bank Nusantara", "Mutasi Rekening", "Budi Santoso", "1001000011", "01/11/2026 – 30/11/2026",
        "Saldo awal", "Rp 15.000.000", "Saldo akhir", "Rp 12.700.000", history[0].reference,
        "Rp 1.500.000", "Transfer keluar: Bayar kos", "Siti Rahayu ****0017", "Transfer masuk",
    ):
        assert expected in text, expected
    assert download_events().get().data["format"] == "pdf"


def test_pdf_speaks_the_customers_language(customer_client, history, now):
    customer_client.post("/language/", {"language": "en", "next": "/dashboard/"})
    response = customer_client.get(statement_url(ext="pdf"))
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Account statement" in text and "Opening balance" in text and "Saldo awal" not in text


def test_pdf_of_a_quiet_period_says_so(customer_client, now):
    response = customer_client.get(statement_url(ext="pdf"))
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Tidak ada mutasi pada periode ini." in text


@pytest.mark.parametrize("ext", ["csv", "pdf"])
def test_a_refused_period_downloads_nothing(customer_client, history, now, ext):
    response = customer_client.get(statement_url(ext=ext, start="01/01/2026", end="31/01/2026"))
    assert response.status_code == 302
    assert response["Location"] == statement_url(start="01%2F01%2F2026", end="31%2F01%2F2026")
    assert not download_events().exists()


def test_download_links_carry_the_shown_period(customer_client, history, now):
    html = customer_client.get(statement_url(start="20/11/2026", end="25/11/2026")).content.decode()
    assert 'href="/accounts/1001000011/mutasi.csv?start=20%2F11%2F2026&amp;end=25%2F11%2F2026"' in html
    assert 'href="/accounts/1001000011/mutasi.pdf?start=20%2F11%2F2026&amp;end=25%2F11%2F2026"' in html


def test_statement_queries_are_bounded(customer_client, accounts, now, django_assert_max_num_queries):
    savings, siti = accounts["1001000011"], accounts["1002000017"]
    for n in range(12):
        move(savings, siti, 1000 + n, f"n{n}", when=at(f"{10 + n:02d}/11/2026 09:00"))
    for ext in ("/", "csv"):
        with django_assert_max_num_queries(12):
            assert customer_client.get(statement_url(ext=ext)).status_code == 200


# --- The reads ---------------------------------------------------------------------------


def test_balance_at_reads_the_legs_and_falls_back_to_the_balance(accounts, history):
    savings = accounts["1001000011"]
    savings.refresh_from_db()
    assert selectors.balance_at(account=savings, moment=at("01/11/2026 00:00")) == Decimal("15000000")
    assert selectors.balance_at(account=savings, moment=at("21/11/2026 00:00")) == Decimal("13500000")
    assert selectors.balance_at(account=savings, moment=at("30/11/2026 00:00")) == Decimal("12700000")
    untouched = BankAccountFactory(owner=savings.owner, balance=Decimal("1.00"))  # no legs
    assert selectors.balance_at(account=untouched, moment=at("01/01/2027 00:00")) == Decimal("1")


# --- Demo data ---------------------------------------------------------------------------


def test_demo_data_gives_every_account_history_in_and_out_that_adds_up(settings):
    settings.DEBUG = True
    call_command("demo_data")
    call_command("demo_data")  # idempotent: no second history
    customers = User.objects.filter(user_id__in=["budi", "siti", "dewi"])
    demo_accounts = BankAccount.objects.filter(owner__in=customers)
    assert demo_accounts.count() == 5
    transfers = Transfer.objects.filter(reference__startswith="DEMO").count()
    assert transfers == 28
    for account in demo_accounts:
        legs = LedgerEntry.objects.filter(account=account)
        assert legs.filter(amount__gt=0).count() >= 2, account.number
        assert legs.filter(amount__lt=0).count() >= 2, account.number
        assert legs.aggregate(total=Sum("amount"))["total"] == account.balance, account.number
        assert legs.first().balance_after == account.balance, account.number  # the newest leg
        # Every running balance follows from the one before it.
        previous = Decimal(0)
        for leg in legs.order_by("created_at", "pk"):
            assert leg.balance_after == previous + leg.amount
            previous = leg.balance_after
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000")
    call_command("demo_data")
    assert Transfer.objects.filter(reference__startswith="DEMO").count() == 28
