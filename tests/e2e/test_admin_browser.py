"""The staff side in a real browser: a newcomer enrols a TOTP app from the QR page, logs into
the admin with it, finds a customer, flags the access (the customer's open page fails on its
next request), unblocks it, and reads the audit log. Every page is saved in var/screenshots/.
"""

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services
from accounts.models import AccessBlock
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, shoot
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_staff_enrol_login_flag_unblock_audit(new_page, live_server, customer, other_customer):
    base = live_server.url
    groups = services.roles_sync()
    staff = UserFactory(user_id="stafbaru", full_name="Staf Baru", is_staff=True, phone="")
    staff.groups.add(groups["supervisor"])
    services.access_block(user=other_customer, kind=AccessBlock.Kind.OTP_FAILURES, reason="5 wrong OTPs")

    # The admin login page tells a newcomer where to set up the authenticator; the first
    # login (User ID and password, no code yet) goes straight there, to no admin page.
    page = new_page()
    page.goto(f"{base}/admin/login/")
    shoot(page, "admin-01-login")
    page.locator(".staff-enrol-hint a").click()
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/staff/otp/enrol/"))
    page.locator("#id_username").fill("stafbaru")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#login-form input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/staff/otp/enrol/$"))
    page.goto(f"{base}/admin/accounts/user/")
    expect(page).to_have_url(re.compile(r"/staff/otp/enrol/$"))
    expect(page.locator(".staff-enrol-qr svg")).to_be_visible()
    shoot(page, "admin-02-otp-enrol")
    secret = page.locator(".otp-secret").inner_text().strip()
    totp = pyotp.TOTP(secret)
    page.locator("#id_code").fill(totp.now())
    page.locator("input[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    shoot(page, "admin-03-index")

    # A fresh browser: User ID + password + the app's code (a later time step: codes are
    # accepted once).
    with time_machine.travel(timezone.now() + timedelta(seconds=60), tick=True):
        admin = new_page()
        admin.goto(f"{base}/admin/login/")
        admin.locator("#id_username").fill("stafbaru")
        admin.locator("#id_password").fill(PASSWORD)
        admin.locator("#id_otp_token").fill(totp.now())
        admin.locator("#login-form input[type=submit]").click()
        expect(admin).to_have_url(re.compile(r"/admin/$"))

        # Find a customer by account number.
        admin.goto(f"{base}/admin/accounts/user/")
        shoot(admin, "admin-04-customers")
        admin.locator("#searchbar").fill("1001000011")
        admin.locator("#changelist-search input[type=submit]").click()
        expect(admin.locator("#result_list tbody tr")).to_have_count(1)
        shoot(admin, "admin-05-customer-search")

        # The customer is logged in elsewhere.
        customer_page = new_page(locale="id-ID")
        login(customer_page, base, "budi", PASSWORD)
        expect(customer_page).to_have_url(re.compile(r"/dashboard/$"))

        admin.locator("#result_list tbody tr a").first.click()
        expect(admin.locator(".customer-overview")).to_be_visible()
        shoot(admin, "admin-06-customer-overview")
        admin.get_by_role("link", name=re.compile("Flag access|Tandai akses")).click()
        shoot(admin, "admin-07-flag-form")
        admin.locator("#id_kind_0").check()
        admin.locator("#id_reason").fill("Customer called: phone stolen in Bandung")
        admin.locator("input[type=submit]").click()
        expect(admin.locator(".messagelist")).to_be_visible()
        shoot(admin, "admin-08-customer-flagged")

        # The customer's open page fails on its next request.
        customer_page.reload()
        expect(customer_page).to_have_url(re.compile(r"/login/"))

        admin.get_by_role("link", name=re.compile("^(Unblock|Buka blokir)$")).click()
        shoot(admin, "admin-09-unblock-form")
        admin.locator("#id_reason").fill("New SIM card; identity checked at the branch")
        admin.locator("input[type=submit]").click()
        expect(admin.locator(".messagelist")).to_be_visible()
        assert not AccessBlock.objects.active().filter(user=customer).exists()

        admin.goto(f"{base}/admin/accounts/auditevent/")
        expect(admin.locator("#result_list")).to_be_visible()
        shoot(admin, "admin-10-audit-log")
        admin.locator("#result_list tbody tr th a").first.click()
        shoot(admin, "admin-11-audit-event")

        admin.goto(f"{base}/admin/accounts/user/{other_customer.pk}/change/")
        shoot(admin, "admin-12-customer-otp-blocked")
    assert Group.objects.filter(name="Supervisor").exists()


def test_four_eyes_on_a_staff_phone_change(new_page, live_server, customer):
    """A branch officer asks to change a customer's number; it changes only when a supervisor,
    someone else, approves it in another browser; the officer cannot approve it."""
    from base64 import b32encode

    from accounts.models import User
    from tokens.models import OutboxMessage

    base = live_server.url

    def staff_page(user_id, role):
        user, device = services.staff_create(
            user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
        )
        page = new_page()
        page.goto(f"{base}/admin/login/")
        page.locator("#id_username").fill(user_id)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#id_otp_token").fill(pyotp.TOTP(b32encode(device.bin_key).decode()).now())
        page.locator("#login-form input[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/admin/$"))
        return page

    officer = staff_page("cabang01", "branch")
    officer.goto(f"{base}/admin/accounts/user/")
    expect(officer.locator("#result_list tbody tr")).to_have_count(0)  # nobody without a search
    officer.locator("#searchbar").fill("0812 3456 5678")
    officer.locator("#changelist-search input[type=submit]").click()
    officer.locator("#result_list tbody tr a").first.click()
    officer.get_by_role("link", name=re.compile("Change mobile number|Ubah nomor")).click()
    officer.locator("#id_new_phone").fill("0813 1111 2222")
    officer.locator("#id_reason").fill("Phone stolen; KTP checked at the branch, form signed")
    officer.locator("input[type=submit]").click()
    expect(officer.locator(".messagelist")).to_be_visible()
    shoot(officer, "admin-20-change-asked")
    assert str(User.objects.get(pk=customer.pk).phone) == "+6281234565678"

    boss = staff_page("kepala01", "supervisor")
    boss.goto(f"{base}/admin/accounts/contactchangerequest/")
    shoot(boss, "admin-21-changes-waiting")
    boss.locator("#result_list tbody tr a").first.click()
    expect(boss.locator(".contact-change-new")).to_have_text("+6281311112222")
    shoot(boss, "admin-22-change-to-decide")
    boss.locator("#id_note").fill("Called the customer back on the branch's record")
    boss.locator("input[formaction$='/approve/']").click()
    expect(boss.locator(".messagelist")).to_be_visible()
    shoot(boss, "admin-23-change-approved")
    assert str(User.objects.get(pk=customer.pk).phone) == "+6281311112222"
    assert OutboxMessage.objects.filter(to="+6281234565678").exists()  # the old number is told
