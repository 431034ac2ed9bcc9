"""Forgotten password ("Lupa Password?") and "Ganti Password" in a real browser, with the
development outbox as the phone (a real Celery worker sends the SMS). Every page is saved as a
screenshot in var/screenshots/ (pw-*), desktop and phone."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEvent, EmailMessage
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, outbox_code_read, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Sandi-Baru-Budi-77"
NEWER_PASSWORD = "Sandi-Lebih-Baru-88"


def test_forgotten_password_in_the_browser(new_page, live_server, celery_worker, customer, settings):
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    # Budi is logged in on another computer: that session ends with the reset.
    other = new_page(locale="id-ID")
    login(other, base, "budi", PASSWORD)
    expect(other).to_have_url(re.compile(r"/dashboard/$"))

    page = new_page(locale="id-ID")
    page.goto(f"{base}/login/")
    shoot(page, "pw01-login-forgot-link", phone=True)
    page.get_by_role("link", name="Lupa Password?").click()
    expect(page).to_have_url(re.compile(r"/lupa-password/$"))
    page.get_by_label("User ID").fill("budi")
    page.get_by_label("Tanggal lahir").fill("17/08/1988")
    page.get_by_label("Nomor rekening").fill("1001000011")
    shoot(page, "pw02-reset-identity", phone=True)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/lupa-password/kode/$"))
    expect(page.locator(".otp-status")).to_contain_text("Jika data yang Anda masukkan cocok")
    phone_tab = page.context.new_page()
    code = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("atur ulang kata sandi")
    page.bring_to_front()
    # A wrong code first: refused in the OTP core's words.
    page.get_by_label("One Time Password", exact=True).fill(f"{(int(code) + 1) % 10**6:06d}")
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page.locator(".otp-confirm .field-error")).to_contain_text("Kode salah")
    shoot(page, "pw03-reset-code-wrong", phone=True)
    page.get_by_label("One Time Password", exact=True).fill(code)
    shoot(page, "pw04-reset-code", phone=True)
    page.locator("form.otp-confirm button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/lupa-password/baru/$"))
    page.locator("#id_new_password1").fill("budi")
    page.locator("#id_new_password2").fill("budi")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".field-error").first).to_be_visible()
    shoot(page, "pw05-reset-new-password-refused", phone=True)
    page.locator("#id_new_password1").fill(NEW_PASSWORD)
    page.locator("#id_new_password2").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/lupa-password/selesai/$"))
    shoot(page, "pw06-reset-done", phone=True)
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    assert AuditEvent.objects.filter(action="password_reset", subject=customer).exists()
    # Told by SMS and email.
    phone_tab.goto(f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("telah diatur ulang")
    shoot(phone_tab, "pw07-reset-notice-sms", phone=True)
    from accounts.services import PASSWORD_RESET_TEXT

    emails = EmailMessage.objects.filter(user=customer)
    assert [e.notice["text"] for e in emails if e.to == customer.email] == [PASSWORD_RESET_TEXT]

    # The other computer's session ended.
    other.goto(f"{base}/dashboard/")
    expect(other).to_have_url(re.compile(r"/login/"))

    # The new password logs in.
    login(page, base, "budi", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_forgotten_password_with_data_that_do_not_match(new_page, live_server, customer):
    """The same page follows; no SMS is sent; no code is accepted."""
    base = live_server.url
    page = new_page(locale="id-ID")
    page.goto(f"{base}/lupa-password/")
    page.get_by_label("User ID").fill("budi")
    page.get_by_label("Tanggal lahir").fill("01/01/1990")
    page.get_by_label("Nomor rekening").fill("1001000011")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/lupa-password/kode/$"))
    expect(page.locator(".otp-status")).to_contain_text("Jika data yang Anda masukkan cocok")
    page.get_by_label("One Time Password", exact=True).fill("123456")
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page.locator(".otp-confirm .field-error")).to_contain_text("Kode salah")
    shoot(page, "pw08-reset-no-match-code", phone=True)


def test_password_change_in_the_browser(new_page, live_server, celery_worker, customer, settings):
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    page.locator("nav.main-nav a[href='/profil/']").click()
    shoot(page, "pw10-profile-link", phone=True)
    page.get_by_role("link", name="Ganti Password").click()
    expect(page).to_have_url(re.compile(r"/profil/password/$"))
    page.locator("#id_old_password").fill("salah-sekali")
    page.locator("#id_new_password1").fill(NEWER_PASSWORD)
    page.locator("#id_new_password2").fill(NEWER_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".field-error").first).to_contain_text("Kata sandi Anda saat ini salah")
    shoot(page, "pw11-change-wrong-current", phone=True)
    page.locator("#id_old_password").fill(PASSWORD)
    page.locator("#id_new_password1").fill(NEWER_PASSWORD)
    page.locator("#id_new_password2").fill(NEWER_PASSWORD)
    page.locator("main form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/profil/password/\d+/confirm/$"))
    shoot(page, "pw12-change-otp-before", phone=True)
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_contain_text("+62 812-****-5678")
    phone_tab = page.context.new_page()
    code = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("ganti kata sandi")
    page.bring_to_front()
    page.get_by_label("One Time Password", exact=True).fill(code)
    shoot(page, "pw13-change-otp", phone=True)
    page.locator("form.otp-confirm button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/profil/password/\d+/done/$"))
    shoot(page, "pw14-change-done", phone=True)
    customer.refresh_from_db()
    assert customer.check_password(NEWER_PASSWORD)
    assert AuditEvent.objects.filter(action="password_changed", subject=customer).exists()
    phone_tab.goto(f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("telah diganti")
    # This session goes on.
    page.goto(f"{base}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_first_login_with_a_password_the_bank_chose(new_page, live_server, customer):
    customer.must_change_password = True
    customer.save(update_fields=["must_change_password"])
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/profil/password/$"))
    page.goto(f"{base}/transfers/new/")
    expect(page).to_have_url(re.compile(r"/profil/password/$"))
    expect(page.locator("main")).to_contain_text("dibuat oleh bank")
    shoot(page, "pw15-first-login-change", phone=True)


def test_blocked_customer_is_sent_to_the_bank(new_page, live_server, customer, settings):
    from accounts.models import AccessBlock

    AccessBlock.objects.create(user=customer, kind=AccessBlock.Kind.LOST_PHONE, reason="hilang")
    base = live_server.url
    page = new_page(locale="id-ID")
    page.goto(f"{base}/lupa-password/")
    page.get_by_label("User ID").fill("budi")
    page.get_by_label("Tanggal lahir").fill("17/08/1988")
    page.get_by_label("Nomor rekening").fill("1001000011")
    page.locator("main form button[type=submit]").click()
    # The page goes on as for any data (a stranger must not learn they matched); the page
    # names the call centre, and the customer is told by email to call the bank.
    expect(page).to_have_url(re.compile(r"/lupa-password/kode/$"))
    expect(page.locator("main")).to_contain_text(settings.BANK_CALL_CENTRE)
    shoot(page, "pw09-reset-sent-to-bank", phone=True)
