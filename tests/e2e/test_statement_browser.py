"""Mutasi Rekening in a real browser: budi sends money to siti (SMS code from the development
outbox, written by a real Celery worker); siti logs in, sees the credit on her dashboard and in
her statement, and downloads the period as CSV and PDF, which this test opens. Screenshots
statement-*.png in var/screenshots/.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, outbox_code_read, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_money_received_is_on_the_dashboard_and_in_the_statement(
    new_page, live_server, celery_worker, customer, other_customer, settings, tmp_path
):
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url

    # budi sends Rp 1.500.000 to siti, confirmed with the code from the outbox.
    budi = new_page(locale="id-ID")
    login(budi, base, "budi", PASSWORD)
    expect(budi).to_have_url(re.compile(r"/dashboard/$"))
    budi.goto(f"{base}/transfers/new/")
    budi.locator("#id_source").select_option(str(BankAccount.objects.get(number="1001000011").pk))
    budi.locator("#id_destination").select_option("other")
    budi.locator("#id_destination_number").fill("1002000017")
    budi.locator("#id_amount").fill("1.500.000")
    budi.locator("#id_description").fill("Bayar kos Desember")
    budi.locator("main form button[type=submit]").click()
    expect(budi).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    budi.locator("form.otp-issue button[type=submit]").click()
    expect(budi.locator(".otp-status")).to_be_visible()
    phone = budi.context.new_page()
    code = outbox_code_read(phone, f"{base}/dev/sms/")
    phone.close()
    budi.get_by_label("One Time Password", exact=True).fill(code)
    budi.locator("form.otp-confirm button[type=submit]").click()
    transfer = Transfer.objects.get(initiated_by=customer)
    expect(budi).to_have_url(f"{base}/transfers/{transfer.reference}/")
    assert transfer.status == Transfer.Status.COMPLETED

    # siti, in another browser: the credit on her dashboard, with a link to the statement.
    siti = new_page(locale="id-ID")
    login(siti, base, "siti", PASSWORD)
    expect(siti).to_have_url(re.compile(r"/dashboard/$"))
    recent = siti.locator('.recent-movements tbody[data-account="1002000017"]')
    expect(recent).to_contain_text(transfer.reference)
    expect(recent).to_contain_text("+Rp 1.500.000")
    expect(recent).to_contain_text("Budi Santoso")
    expect(recent).to_contain_text("Transfer masuk")
    shoot(siti, "statement-01-dashboard-credit", phone=True)

    # The menu's "Mutasi Rekening" opens her statement.
    siti.locator("nav.main-nav a[href='/mutasi/']").click()
    expect(siti).to_have_url(re.compile(r"/accounts/1002000017/mutasi/$"))
    expect(siti.locator("h1")).to_have_text("Mutasi Rekening")
    row = siti.locator("table.movements tbody tr").first
    expect(row).to_contain_text(transfer.reference)
    expect(row).to_contain_text("Bayar kos Desember")
    expect(row).to_contain_text("Budi Santoso ****0011")
    expect(row).to_contain_text("Rp 9.000.000")  # the running balance after the credit
    expect(siti.locator('[data-balance="closing"]')).to_have_text("Rp 9.000.000")
    shoot(siti, "statement-02-page", phone=True)

    # A period the bank refuses is explained, in Indonesian, next to the form.
    siti.locator("#id_start").fill("01/01/2020")
    siti.locator(".statement-range button[type=submit]").click()
    expect(siti.locator(".form-errors")).to_contain_text("Mutasi tersedia hingga 183 hari")
    expect(siti.locator("table.movements")).to_have_count(0)
    shoot(siti, "statement-03-refused-period", phone=True)
    siti.locator("#id_start").fill("")
    siti.locator("#id_end").fill("")
    siti.locator(".statement-range button[type=submit]").click()
    expect(siti.locator("table.movements")).to_contain_text(transfer.reference)

    # Downloads: the shown period as CSV and as the PDF e-statement, opened here.
    with siti.expect_download() as caught:
        siti.locator(".statement-downloads a", has_text="CSV").click()
    download = caught.value
    assert re.fullmatch(r"mutasi-1002000017-\d{8}-\d{8}\.csv", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Tanggal dan waktu (WIB)"
    assert [row[4] for row in rows[1:]] == [transfer.reference]
    assert rows[1][1:3] == ["Bayar kos Desember", "Budi Santoso"]
    assert rows[1][5:] == ["", "Rp 1.500.000", "Rp 9.000.000"]

    with siti.expect_download() as caught:
        siti.locator(".statement-downloads a", has_text="PDF").click()
    download = caught.value
    assert re.fullmatch(r"mutasi-1002000017-\d{8}-\d{8}\.pdf", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    text = re.sub(r"\s+", " ", PdfReader(io.BytesIO(path.read_bytes())).pages[0].extract_text())
    for expected in ("Mutasi Rekening", "Siti Rahayu", transfer.reference, "Rp 1.500.000",
                     "Saldo akhir Rp 9.000.000", "Transfer masuk: Bayar kos Desember"):
        assert expected in text, expected


def test_demo_history_reads_as_a_statement(new_page, live_server, settings):
    """The demo customers' months of history: budi's savings over the default period, an
    older period, and a second page."""
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("demo_data")
    settings.STATEMENT_PAGE_SIZE = 3
    page = new_page(locale="id-ID")
    login(page, live_server.url, "budi", "Budi-Demo-2026")
    expect(page.locator('.recent-movements tbody[data-account="1001000011"] tr.movement')).to_have_count(5)
    expect(page.locator(".recent-movements .movement-credit").first).to_be_visible()
    shoot(page, "statement-04-demo-dashboard", phone=True)
    page.locator('a[href="/accounts/1001000011/mutasi/"]').first.click()
    rows = page.locator("table.movements tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator('[data-balance="closing"]')).to_have_text("Rp 15.000.000")
    shoot(page, "statement-05-demo-history", phone=True)
    page.locator(".pagination a", has_text="Berikutnya").click()
    expect(page).to_have_url(re.compile(r"start=.*end=.*page=2"))
    expect(page.locator(".pagination")).to_contain_text("Halaman 2")
    page.locator('.account-switch a[href="/accounts/1001000029/mutasi/"]').click()
    expect(page.locator("#statement-account")).to_contain_text("1001000029")
    expect(page.locator(".movement-credit").first).to_be_visible()
