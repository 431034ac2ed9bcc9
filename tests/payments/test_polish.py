"""What a new customer tripped over: the transfer form's destination starts empty and each
source shows its balance; the history shows each status as a readable badge; adding a payee
says so and its confirm page has a way out; the e-statement's footer says "page x of y"."""

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.test import TestCase
from django.utils import timezone
from pypdf import PdfReader

from payments import services
from payments.models import BankAccount, Payee, Transfer
from tests.conftest import outbox_code

pytestmark = pytest.mark.django_db

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "portal.css"


def account(number):
    return BankAccount.objects.get(number=number)


def transfer_started(source, destination, amount, *, confirm=False, when=None):
    """A transfer waiting for its code (``confirm=True``: confirmed with it)."""
    with time_machine.travel(when or timezone.now(), tick=False):
        transfer = services.transfer_create(
            user=source.owner, source=source, destination=destination,
            amount=Decimal(amount), description="",
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            services.transfer_challenge_issue(transfer=transfer)
        if confirm:
            services.transfer_confirm(transfer=transfer, code=outbox_code())
    return transfer


# 1. The transfer form


def test_destination_starts_on_an_empty_choice(customer_client, customer, other_customer):
    page = customer_client.get("/transfers/new/").content.decode()
    select = re.search(r'<select name="destination".*?</select>', page, re.S).group(0)
    first = re.search(r"<option[^>]*>[^<]*</option>", select).group(0)
    assert first == '<option value="" selected>— pilih —</option>'
    # No own account is pre-selected (it used to be the source itself).
    assert select.count(" selected") == 1


def test_destination_is_required(customer_client, customer, other_customer):
    response = customer_client.post(
        "/transfers/new/",
        {"source": account("1001000011").pk, "destination": "", "amount": "10.000"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["destination"] == ["Pilih rekening tujuan."]
    assert not Transfer.objects.exists()


def test_source_accounts_show_their_balance(customer_client, customer, other_customer):
    savings = account("1001000011")
    savings.balance = Decimal("1234567.50")
    savings.save(update_fields=["balance"])
    page = customer_client.get("/transfers/new/").content.decode()
    select = re.search(r'<select name="source".*?</select>', page, re.S).group(0)
    assert f">1001000011 ({savings.get_product_display()}) · Rp 1.234.567,50</option>" in select
    assert "Rp 1.234.567,50" not in page.replace(select, "")  # not in the destination list


# 2. The history


def test_history_shows_each_status_as_a_badge(customer_client, customer, other_customer):
    savings, siti = account("1001000011"), account("1002000017")
    done = transfer_started(savings, siti, "10000", confirm=True)
    waiting = transfer_started(savings, siti, "20000")
    expired = transfer_started(savings, siti, "30000", when=timezone.now() - timedelta(hours=2))
    page = customer_client.get("/transfers/").content.decode()
    for transfer, status, word in (
        (done, "completed", "Selesai"),
        (waiting, "pending", "Menunggu konfirmasi"),
        (expired, "expired", "Kedaluwarsa"),
    ):
        row = re.search(rf'<tr data-reference="{transfer.reference}">.*?</tr>', page, re.S).group(0)
        assert f'<span class="badge badge-{status}">{word}</span>' in row, status


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(one: str, other: str) -> float:
    high, low = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("status", [s.value for s in Transfer.Status])
def test_every_badge_meets_wcag_aa_contrast(status):
    css = re.sub(r"/\*.*?\*/", "", CSS.read_text(), flags=re.S)
    variables = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))

    def declared(prop, selector_part):
        found = None
        for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", css):
            if any(s.strip() == selector_part for s in selectors.split(",")):
                match = re.search(rf"(?<![\w-]){prop}:\s*([^;]+);", body)
                if match:
                    found = match.group(1).strip()
        return found

    def colour(prop):
        value = declared(prop, f".badge-{status}") or declared(prop, ".badge")
        var = re.fullmatch(r"var\(--([\w-]+)\)", value)
        return variables[var.group(1)] if var else value

    assert _contrast(colour("color"), colour("background")) >= 4.5


# 3. Payees


def test_adding_a_payee_says_so(customer_client, customer, other_customer, django_capture_on_commit_callbacks):
    customer_client.post("/payees/new/", {"account_number": "1002000017", "nickname": "Siti kos"})
    payee = Payee.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/payees/{payee.pk}/otp/")
    code = outbox_code()
    wrong = "000000" if code != "000000" else "111111"
    refused = customer_client.post(f"/payees/{payee.pk}/confirm/", {"code": wrong}, follow=True)
    assert "ditambahkan" not in refused.content.decode()

    response = customer_client.post(f"/payees/{payee.pk}/confirm/", {"code": code}, follow=True)
    assert response.redirect_chain[-1][0] == "/payees/"
    assert "Penerima Siti kos (rekening ****0017) ditambahkan." in response.content.decode()
    # Once: the list shown again says nothing more.
    assert "ditambahkan" not in customer_client.get("/payees/").content.decode()


def test_payee_confirm_page_has_a_cancel_link_back_to_the_list(customer_client, customer, other_customer):
    customer_client.post("/payees/new/", {"account_number": "1002000017", "nickname": "Siti kos"})
    payee = Payee.objects.get()
    page = customer_client.get(f"/payees/{payee.pk}/confirm/").content.decode()
    assert '<a href="/payees/">Batal</a>' in page


# 4. The PDF e-statement


@pytest.mark.parametrize(
    "language, first, last",
    [("id", "halaman 1 dari {n}", "halaman {n} dari {n}"), ("en", "page 1 of {n}", "page {n} of {n}")],
)
def test_pdf_footer_says_page_x_of_y(
    customer_client, customer, other_customer, settings, language, first, last
):
    settings.OTP_SMS_USER_LIMIT = settings.OTP_SMS_PHONE_LIMIT = 1000  # many transfers, fast
    savings, current = account("1001000011"), account("1001000029")
    start = timezone.now() - timedelta(days=2)
    for i in range(45):  # back and forth: more lines than one page holds
        source, destination = (savings, current) if i % 2 == 0 else (current, savings)
        transfer_started(source, destination, "1000", confirm=True, when=start + timedelta(minutes=i))
    if language == "en":
        customer_client.post("/language/", {"language": "en", "next": "/dashboard/"})
    response = customer_client.get("/accounts/1001000011/mutasi.pdf")
    assert response.status_code == 200
    pages = PdfReader(io.BytesIO(response.content)).pages
    count = len(pages)
    assert count >= 2
    texts = [re.sub(r"\s+", " ", page.extract_text()) for page in pages]
    assert first.format(n=count) in texts[0]
    assert last.format(n=count) in texts[-1]
    for number, text in enumerate(texts, start=1):
        assert f" {number} " in f" {text} "  # each page its own number
