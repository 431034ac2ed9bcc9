"""A new customer's walk, in a real browser: the transfer form starts with no destination
chosen (and says so if Lanjutkan is pressed), the history's table fits its box at 1280px with
a transfer waiting (Indonesian and English), adding a payee says so and its confirm page has
"Batal". Screenshots in var/screenshots/polish-*.png, desktop and phone."""

import re

import pytest
from playwright.sync_api import expect

from payments.models import BankAccount
from tests.conftest import needs_chromium, outbox_code
from tests.e2e.conftest import login, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

TABLE_FITS = """() => {
  const wrap = document.querySelector('.table-wrap');
  return [wrap.scrollWidth, wrap.clientWidth];
}"""


def test_transfer_form_history_and_payee(new_page, live_server, customer, other_customer):
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)

    # The form: nothing chosen as destination; the sources show their balance.
    page.goto(f"{base}/transfers/new/")
    expect(page.locator("#id_destination")).to_have_value("")
    expect(page.locator("#id_source option").first).to_contain_text("Rp 15.000.000")
    shoot(page, "polish-01-transfer-form", phone=True)
    page.locator("#id_amount").fill("10.000")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#id_destination").locator("xpath=..")).to_contain_text(
        "Pilih rekening tujuan."
    )

    # A transfer left waiting for its code: the history still fits its box.
    page.locator("#id_source").select_option(str(BankAccount.objects.get(number="1001000011").pk))
    page.locator("#id_destination").select_option("other")
    page.locator("#id_destination_number").fill("1002000017")
    page.locator("#id_amount").fill("1.500.000")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_be_visible()
    for language in ("id", "en"):
        page.goto(f"{base}/transfers/")
        if language == "en":
            page.locator(".lang-form button[value=en]").click()
            expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator(".badge-pending")).to_be_visible()
        scroll, client = page.evaluate(TABLE_FITS)
        assert scroll <= client, (language, scroll, client)
        shoot(page, f"polish-02-history-{language}", phone=True)
    page.locator(".lang-form button[value=id]").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")

    # A new payee: its confirm page has "Batal"; confirmed, the list says it was added.
    page.goto(f"{base}/payees/new/")
    page.locator("#id_account_number").fill("1002000017")
    page.locator("#id_nickname").fill("Siti kos")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/payees/\d+/confirm/$"))
    expect(page.get_by_role("link", name="Batal", exact=True)).to_have_attribute("href", "/payees/")
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_be_visible()
    shoot(page, "polish-03-payee-confirm", phone=True)
    page.locator("#id_code").fill(outbox_code())
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/payees/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Penerima Siti kos (rekening ****0017) ditambahkan."
    )
    shoot(page, "polish-04-payee-added", phone=True)
