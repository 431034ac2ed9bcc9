"""The staff admin after a new user's walk (issue 10), in a real browser: the audit list fits a
1280 px screen with its reason column whole (the browser only on the event's page), system
reasons in Indonesian, one time format on the customer's page, and a throttled staff login
that says how long to wait. Screenshots in var/screenshots/staffpolish-*.png.
"""

import re
from base64 import b32encode

import pyotp
import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts import services
from accounts.models import AuditEvent
from tests.conftest import needs_chromium
from tests.e2e.conftest import shoot
from tests.factories import PASSWORD
from tokens import hardware
from tokens.models import SmsMessage

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]
AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)
STAFF_TIME = re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d\d:\d\d( WIB)?$")


def _staff(user_id, role):
    user, device = services.staff_create(
        user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
    )
    hardware.token_roles_grant()
    return user, device


def _login(new_page, base, user_id, device, **context):
    page = new_page(**context)
    page.goto(f"{base}/admin/login/")
    page.locator("#id_username").fill(user_id)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(pyotp.TOTP(b32encode(device.bin_key).decode()).now())
    page.locator("#login-form input[type=submit]").click()
    return page


def test_audit_list_fits_and_times_agree(new_page, live_server, customer):
    base = live_server.url
    _, device = _staff("kepala01", "supervisor")
    for reason in (
        "Forgotten password: User ID, birth date, account number and an SMS OTP",
        "Changed by the customer (OTP on the old number, code to the new one)",
        "Changed by the customer (current password and an OTP)",
    ):
        services.audit_log(
            action=AuditEvent.Action.PASSWORD_CHANGED, subject=customer, actor=customer,
            ip="203.0.113.45", user_agent=AGENT, reason=reason,
        )
    SmsMessage.objects.create(user=customer, to=customer.phone, notice={"text": "x", "params": {}})

    page = _login(new_page, base, "kepala01", device)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto(f"{base}/admin/accounts/auditevent/")
    table = page.locator("#result_list")
    expect(table.locator("thead")).to_contain_text("Alasan")
    expect(table).to_contain_text("203.0.113.45")
    expect(table).not_to_contain_text("Mozilla")
    expect(table).to_contain_text("Lupa kata sandi: User ID, tanggal lahir")
    expect(table).to_contain_text("Diubah oleh nasabah (OTP ke nomor lama")
    expect(table).not_to_contain_text("Changed by")
    # Nothing sticks out of a 1280 px screen: the reason column ends inside the window.
    width = page.evaluate("window.innerWidth")
    assert width == 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = table.locator("thead th").last.bounding_box()
    assert box["x"] + box["width"] <= width, box
    shoot(page, "staffpolish-01-audit-list", phone=True)

    event = AuditEvent.objects.filter(user_agent=AGENT).first()
    page.goto(f"{base}/admin/accounts/auditevent/{event.pk}/change/")
    expect(page.locator(".field-user_agent")).to_contain_text("Edg/131")
    shoot(page, "staffpolish-02-audit-event", phone=True)

    page.goto(f"{base}/admin/accounts/user/{customer.pk}/change/")
    times = [
        text.strip()
        for text in page.locator("table td").all_inner_texts()
        if re.search(r"\d\d:\d\d", text)
    ]
    assert len(times) >= 5, times  # two per SMS, one per audit event
    assert all(STAFF_TIME.match(text) for text in times), times
    shoot(page, "staffpolish-03-customer-times", phone=True)


def test_throttled_staff_login_says_how_long(new_page, live_server):
    user, device = _staff("agen01", "agent")
    device = TOTPDevice.objects.get(pk=device.pk)
    device.throttling_failure_count = 9  # django-otp waits 2**8 = 256 s: 5 minutes
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    page = _login(new_page, live_server.url, "agen01", device)
    expect(page.locator(".errornote, .errorlist").first).to_contain_text(
        re.compile(r"Coba lagi dalam [45] menit\.")
    )
    expect(page.locator("body")).not_to_contain_text("sebentar")
    shoot(page, "staffpolish-04-login-throttled", phone=True)
