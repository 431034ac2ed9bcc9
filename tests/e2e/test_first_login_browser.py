"""The first login of a customer whose Internet Banking the bank opened (issue 10 item 6): rina
from the demo data logs in with the password of her PIN mailer, is kept on Ganti Password
whatever she opens, sets her own with an OTP from the development outbox (a real Celery worker
sends it), and then the dashboard opens. Screenshots in var/screenshots/ (first-*), desktop and
phone."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from accounts.models import AuditEvent, User
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, outbox_code_read, shoot

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

FIRST_PASSWORD = "Rina-Awal-2026"
OWN_PASSWORD = "Rina-Sendiri-Pilihan-31"


def test_rina_sets_her_own_password_at_first_login(new_page, live_server, celery_worker, settings):
    settings.DEBUG = True  # demo_data loads only with DEBUG on
    call_command("demo_data")
    settings.DEBUG = False
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url

    page = new_page(locale="id-ID")
    login(page, base, "rina", FIRST_PASSWORD)
    expect(page).to_have_url(re.compile(r"/profil/password/$"))
    expect(page.locator("main")).to_contain_text("dibuat oleh bank")
    shoot(page, "first01-change-required", phone=True)
    # The dashboard (or any other page) sends her back.
    page.goto(f"{base}/dashboard/")
    expect(page).to_have_url(re.compile(r"/profil/password/$"))
    page.goto(f"{base}/transfers/new/")
    expect(page).to_have_url(re.compile(r"/profil/password/$"))

    page.locator("#id_old_password").fill(FIRST_PASSWORD)
    page.locator("#id_new_password1").fill(OWN_PASSWORD)
    page.locator("#id_new_password2").fill(OWN_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/profil/password/\d+/confirm/$"))
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_contain_text("+62 812-****-8888")
    phone_tab = page.context.new_page()
    code = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    page.bring_to_front()
    page.get_by_label("One Time Password", exact=True).fill(code)
    shoot(page, "first02-change-otp", phone=True)
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/profil/password/\d+/done/$"))
    shoot(page, "first03-change-done", phone=True)

    rina = User.objects.get(user_id="rina")
    assert rina.check_password(OWN_PASSWORD) and not rina.must_change_password
    assert AuditEvent.objects.filter(action="password_changed", subject=rina).exists()
    page.goto(f"{base}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("main")).to_contain_text("1004000019")
    shoot(page, "first04-dashboard", phone=True)


def test_agent_resets_a_password_and_the_customer_sets_one(
    new_page, live_server, celery_worker, customer, settings
):
    """A call-centre agent presses "Reset kata sandi" on budi's page with a reason (no password
    seen or typed); budi's open page ends, the old password fails, and the SMS names "Lupa
    Password?"."""
    from base64 import b32encode

    import pyotp

    from accounts import services
    from tests.factories import PASSWORD

    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    budi = new_page(locale="id-ID")
    login(budi, base, "budi", PASSWORD)
    expect(budi).to_have_url(re.compile(r"/dashboard/$"))

    user, device = services.staff_create(
        user_id="agen01", full_name="Agen", password=PASSWORD, role="agent"
    )
    staff = new_page(locale="id-ID")
    staff.goto(f"{base}/admin/login/")
    staff.locator("#id_username").fill("agen01")
    staff.locator("#id_password").fill(PASSWORD)
    staff.locator("#id_otp_token").fill(pyotp.TOTP(b32encode(device.bin_key).decode()).now())
    staff.locator("#login-form input[type=submit]").click()
    expect(staff).to_have_url(re.compile(r"/admin/$"))
    staff.goto(f"{base}/admin/accounts/user/{customer.pk}/change/")
    staff.get_by_role("link", name="Reset kata sandi").click()
    expect(staff).to_have_url(re.compile(r"/password-reset/$"))
    staff.get_by_label(re.compile("Alasan")).fill("Nasabah lupa kata sandi; identitas dicek lewat telepon")
    shoot(staff, "first05-staff-reset-form", phone=True)
    staff.locator("form input[type=submit]").click()
    expect(staff.locator(".messagelist")).to_contain_text("telah direset")
    shoot(staff, "first06-staff-reset-done", phone=True)

    budi.goto(f"{base}/dashboard/")
    expect(budi).to_have_url(re.compile(r"/login/"))
    login(budi, base, "budi", PASSWORD)
    expect(budi).to_have_url(re.compile(r"/login/$"))
    phone_tab = new_page(locale="id-ID")
    phone_tab.goto(f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("Lupa Password?")
    shoot(phone_tab, "first07-reset-notice-sms", phone=True)
