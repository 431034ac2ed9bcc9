"""Pending transfers and saved payees in a real browser: a transfer waiting for its code is
listed as such and cancelled by the customer (its code, typed in a tab still open, confirms
nothing), another is left to expire and is refused; a payee is renamed and deleted.
Screenshots in var/screenshots/pending-*.png, desktop and phone."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import BankAccount, Payee, Transfer
from tests.conftest import needs_chromium, outbox_code
from tests.e2e.conftest import login, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def start_transfer(page, base, amount, description):
    """Fill in the transfer form to Siti's account and press "Generate OTP"; the reference."""
    page.goto(f"{base}/transfers/new/")
    page.locator("#id_source").select_option(str(BankAccount.objects.get(number="1001000011").pk))
    page.locator("#id_destination").select_option("other")
    page.locator("#id_destination_number").fill("1002000017")
    page.locator("#id_amount").fill(amount)
    page.locator("#id_description").fill(description)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_contain_text("+62 812-****-5678")
    return page.url.rstrip("/").split("/")[-2]


def assert_nothing_moved():
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000.00")
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("7500000.00")


def test_a_pending_transfer_cancelled_and_another_expired(
    new_page, live_server, customer, other_customer, settings
):
    settings.TRANSFER_PENDING_LIFETIME = 120
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)

    # Started, then left: the history lists it as waiting, with its two ways on.
    reference = start_transfer(page, base, "1.500.000", "Bayar kos")
    code = outbox_code()
    expect(page.locator(".expires-at")).to_contain_text("WIB")
    shoot(page, "pending-01-confirm-page", phone=True)
    confirm_tab = page.context.new_page()  # the confirmation page stays open in another tab
    confirm_tab.goto(f"{base}/transfers/{reference}/confirm/")

    page.locator("nav.main-nav a[href='/transfers/']").click()
    row = page.locator(f"tr[data-reference='{reference}']")
    expect(row.locator(".transfer-status")).to_have_text("Menunggu konfirmasi")
    expect(row.get_by_role("link", name=re.compile("^Lanjutkan"))).to_be_visible()
    shoot(page, "pending-02-history-waiting", phone=True)

    # "Batalkan": a page that asks first, then the cancel.
    row.get_by_role("link", name=re.compile("^Batalkan")).click()
    expect(page).to_have_url(re.compile(rf"/transfers/{reference}/cancel/$"))
    expect(page.locator(".summary .amount")).to_have_text("Rp 1.500.000")
    shoot(page, "pending-03-cancel-asks", phone=True)
    page.get_by_role("button", name="Ya, batalkan transfer ini").click()
    expect(page).to_have_url(re.compile(r"/transfers/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Transfer Rp 1.500.000 ke rekening ****0017 dibatalkan"
    )
    expect(row.locator(".transfer-status")).to_have_text("Dibatalkan")
    expect(row.get_by_role("link", name=re.compile("^Batalkan"))).to_have_count(0)
    shoot(page, "pending-04-history-cancelled", phone=True)

    # The code, typed in the tab that was still open: refused, the page says why.
    confirm_tab.bring_to_front()
    confirm_tab.get_by_label("One Time Password", exact=True).fill(code)
    confirm_tab.locator("form.otp-confirm button[type=submit]").click()
    expect(confirm_tab.locator("h1")).to_have_text("Transfer dibatalkan")
    expect(confirm_tab.locator(".messages")).to_contain_text("Rp 1.500.000 telah dibatalkan")
    expect(confirm_tab.locator("#id_code")).to_have_count(0)
    expect(confirm_tab.locator("main a[href='/transfers/new/']")).to_be_visible()
    shoot(confirm_tab, "pending-05-cancelled-code-refused", phone=True)
    assert Transfer.objects.get(reference=reference).status == Transfer.Status.CANCELLED
    assert_nothing_moved()
    confirm_tab.close()

    # Another, left until its waiting time is over: shown expired, its code refused.
    page.bring_to_front()
    later = start_transfer(page, base, "2.750.000", "Cicilan")
    code = outbox_code()
    with time_machine.travel(timezone.now() + timedelta(seconds=121), tick=True):
        page.get_by_label("One Time Password", exact=True).fill(code)
        page.locator("form.otp-confirm button[type=submit]").click()
        expect(page.locator("h1")).to_have_text("Transfer kedaluwarsa")
        expect(page.locator(".messages")).to_contain_text(
            "Transfer Rp 2.750.000 kedaluwarsa sebelum dikonfirmasi"
        )
        expect(page.locator(".ended-status")).to_contain_text("WIB")
        expect(page.locator("#id_code")).to_have_count(0)
        expect(page.locator("form.otp-issue")).to_have_count(0)
        shoot(page, "pending-06-expired-refused", phone=True)
        page.get_by_role("link", name="Riwayat transfer").click()
        row = page.locator(f"tr[data-reference='{later}']")
        expect(row.locator(".transfer-status")).to_have_text("Kedaluwarsa")
        expect(row.get_by_role("link", name=re.compile("^Batalkan"))).to_have_count(0)
        shoot(page, "pending-07-history-expired", phone=True)
    assert Transfer.objects.get(reference=later).status == Transfer.Status.EXPIRED
    assert_nothing_moved()


def test_a_payee_renamed_and_deleted(new_page, live_server, customer, other_customer):
    payee = Payee.objects.create(
        owner=customer, account=BankAccount.objects.get(number="1002000017"),
        nickname="Siti kos", status=Payee.Status.ACTIVE, confirmed_at=timezone.now(),
    )
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    page.locator("nav.main-nav a[href='/payees/']").click()
    card = page.locator(f"[data-payee='{payee.pk}']")
    expect(card).to_contain_text("Siti kos")
    shoot(page, "pending-10-payees", phone=True)

    card.get_by_role("link", name="Ubah nama Siti kos").click()
    expect(page.locator("#id_nickname")).to_have_value("Siti kos")
    expect(page.locator(".summary")).to_contain_text("1002000017")
    page.locator("#id_nickname").fill("")
    page.get_by_role("button", name="Simpan").click()
    expect(page.locator(".field-error")).to_be_visible()
    page.locator("#id_nickname").fill("Ibu kos")
    shoot(page, "pending-11-payee-rename", phone=True)
    page.get_by_role("button", name="Simpan").click()
    expect(page).to_have_url(re.compile(r"/payees/$"))
    expect(page.locator(".messages")).to_contain_text("Penerima Siti kos sekarang bernama Ibu kos.")
    expect(card).to_contain_text("Ibu kos")

    card.get_by_role("link", name="Hapus Ibu kos").click()
    expect(page.locator("h1")).to_have_text("Hapus penerima?")
    shoot(page, "pending-12-payee-delete-asks", phone=True)
    page.get_by_role("button", name="Ya, hapus penerima ini").click()
    expect(page).to_have_url(re.compile(r"/payees/$"))
    expect(page.locator(".messages")).to_contain_text("(rekening ****0017) telah dihapus")
    expect(card).to_have_count(0)
    shoot(page, "pending-13-payee-deleted", phone=True)
    assert not Payee.objects.filter(pk=payee.pk).exists()
