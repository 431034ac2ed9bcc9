"""A corporate payment in a real browser (issue 11), the seed's flow step by step: andi (maker)
confirms with his hardware token's code (no "Generate OTP" for him); the company requires a
second user, so rudi, on SMS OTP, opens Daftar Pembayaran, presses "Setujui", "Generate OTP",
types the code from the development phone into "One Time Password", presses "Konfirmasi
Pembayaran" and reads "Selesai". Screenshots in /tmp/pay-shots/ (PAY_SHOTS to change)."""

import base64
import os
import re
from decimal import Decimal
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from accounts.models import Company, User, corporate_user_id
from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import PHONE, outbox_code_read
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tokens import hardware
from tokens.models import HardwareToken

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("PAY_SHOTS", "/tmp/pay-shots"))
TOKEN_SEED = b"Andi-Corp-Token-2026"


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    finally:
        page.set_viewport_size(size)


def corporate_login(page, base, user_id):
    page.goto(f"{base}/corporate/login/")
    page.get_by_label("ID Corporate").fill("MAJUBERSAMA")
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_maker_with_token_and_approver_with_sms_otp(new_page, live_server, celery_worker, settings):
    settings.SMS_OUTBOX_PAGE = True
    company = Company.objects.create(
        name="PT Maju Bersama", cif="C000123", corporate_id="MAJUBERSAMA", requires_approval=True
    )
    andi, rudi = (
        UserFactory(
            user_id=corporate_user_id(corporate_id="MAJUBERSAMA", user_id=name),
            company=company,
            full_name=full_name,
            phone=phone,
        )
        for name, full_name, phone in (
            ("andi", "Andi Wijaya", "+6281277001122"),
            ("rudi", "Rudi Hartono", "+6281277003344"),
        )
    )
    HardwareToken.objects.create(
        serial="DEMO0000002",
        algorithm="totp",
        step=30,
        digits=6,
        state="active",
        user=andi,
        sealed_seed=hardware.seed_seal(TOKEN_SEED),
    )
    User.objects.filter(pk=andi.pk).update(
        confirmation_method=User.ConfirmationMethod.HARDWARE_TOKEN
    )
    # rudi confirms by SMS (the fallback after his token's battery died).
    User.objects.filter(pk=rudi.pk).update(confirmation_method=User.ConfirmationMethod.SMS)
    BankAccountFactory(
        owner=andi, company=company, number="2001000018", product="current", balance="250000000"
    )
    siti = UserFactory(user_id="siti", full_name="Siti Rahayu")
    BankAccountFactory(owner=siti, number="1002000017", balance="1000000")
    base = live_server.url

    # andi, the maker: Pembayaran from the menu.
    page = new_page(locale="id-ID")
    corporate_login(page, base, "andi")
    page.locator("nav.main-nav a[href='/payments/new/']").click()
    expect(page.locator("h1")).to_have_text("Pembayaran baru")
    page.locator("#id_source").select_option(str(BankAccount.objects.get(number="2001000018").pk))
    page.locator("#id_destination").select_option("other")
    page.locator("#id_destination_number").fill("1002000017")
    page.locator("#id_amount").fill("12.500.000")
    page.locator("#id_description").fill("Invoice 17")
    shoot(page, "01-payment-form")
    page.locator("main form button[type=submit]").click()

    # His confirm page: no "Generate OTP" (a token user), the token code in "One Time Password".
    expect(page).to_have_url(re.compile(r"/payments/[^/]+/confirm/$"))
    payment = Transfer.objects.get(initiated_by=andi)
    expect(page.locator("main")).not_to_contain_text("Generate OTP")
    expect(page.locator("form.otp-issue")).to_have_count(0)
    shoot(page, "02-maker-confirm-token")
    code = pyotp.TOTP(base64.b32encode(TOKEN_SEED).decode()).now()
    page.get_by_label("One Time Password", exact=True).fill(code)
    page.get_by_role("button", name="Konfirmasi Pembayaran").click()
    expect(page).to_have_url(f"{base}/payments/{payment.reference}/")
    expect(page.locator(".receipt")).to_contain_text("Menunggu persetujuan")
    expect(page.locator(".messages")).to_contain_text("menunggu persetujuan")
    shoot(page, "03-maker-submitted")
    assert BankAccount.objects.get(number="2001000018").balance == Decimal("250000000.00")

    # rudi, the approver: Daftar Pembayaran, "Setujui".
    second = new_page(locale="id-ID")
    corporate_login(second, base, "rudi")
    second.locator("nav.main-nav a[href='/payments/']").click()
    expect(second.locator("h1")).to_have_text("Daftar Pembayaran")
    row = second.locator(f"tr[data-reference='{payment.reference}']")
    expect(row).to_contain_text("Andi Wijaya")
    expect(row).to_contain_text("Menunggu persetujuan")
    shoot(second, "04-payment-list")
    row.get_by_role("link", name=re.compile("Setujui")).click()
    expect(second).to_have_url(f"{base}/payments/{payment.reference}/confirm/")
    expect(second.locator("main")).to_contain_text("Andi Wijaya membuat pembayaran ini")
    shoot(second, "05-approver-before-otp")

    # "Generate OTP": an SMS to rudi's own phone.
    second.get_by_role("button", name="Generate OTP").click()
    expect(second.locator(".otp-status")).to_contain_text("+62 812-****-3344")
    shoot(second, "06-approver-after-generate-otp")
    phone_tab = second.context.new_page()
    sms_code = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("12.500.000")
    shoot(phone_tab, "07-outbox")
    phone_tab.close()

    second.bring_to_front()
    second.get_by_label("One Time Password", exact=True).fill(sms_code)
    second.get_by_role("button", name="Konfirmasi Pembayaran").click()
    expect(second).to_have_url(f"{base}/payments/{payment.reference}/")
    expect(second.locator("h1")).to_have_text("Selesai")
    receipt = second.locator(".receipt")
    for text in (payment.reference, "Rp 12.500.000", "Siti Rahayu", "Andi Wijaya", "Rudi Hartono"):
        expect(receipt).to_contain_text(text)
    shoot(second, "08-selesai")
    assert BankAccount.objects.get(number="2001000018").balance == Decimal("237500000.00")
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("13500000.00")

    # Mutasi Rekening of the company's account names Siti; Siti's names the company.
    second.goto(f"{base}/accounts/2001000018/mutasi/")
    expect(second.locator("main table")).to_contain_text("Siti Rahayu")
    shoot(second, "09-company-mutasi")
