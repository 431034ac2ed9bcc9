"""The Mobile Token's staff side and Bantuan in a real browser (issue 12 items 5 and 8).

A call-centre agent finds a customer's phone by User ID, opens it (no key on the page), and
de-registers it as lost with a written reason: the phone's codes are refused from then on and
the audit holds the agent, the reason and the address. Bantuan is read on a phone: the table
of contents leads to each section. Screenshots in var/screenshots/mobile-staff-*.png and
mobile-help-*.png.
"""

import time
from base64 import b32encode

import pyotp
import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import AuditEvent, User
from tests.conftest import needs_chromium
from tests.e2e.conftest import PHONE, SCREENSHOTS, shoot
from tests.factories import PASSWORD
from tokens import hardware, mobile
from tokens.models import MobileDevice

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]
KEY = bytes(range(32))


def staff_login(new_page, base, user_id, role):
    user, device = services.staff_create(
        user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
    )
    hardware.token_roles_grant()
    page = new_page()
    page.goto(f"{base}/admin/login/")
    page.locator("#id_username").fill(user_id)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(pyotp.TOTP(b32encode(device.bin_key).decode()).now())
    page.locator("#login-form input[type=submit]").click()
    page.wait_for_load_state()
    return page, user


def test_an_agent_de_registers_a_lost_phone_in_the_admin(new_page, live_server, customer):
    base = live_server.url
    customer.confirmation_method = User.ConfirmationMethod.MOBILE_TOKEN
    customer.save(update_fields=["confirmation_method"])
    device = MobileDevice.objects.create(
        user=customer, sealed_key=hardware.seed_seal(KEY), name="Pixel 8 Budi"
    )
    page, agent = staff_login(new_page, base, "agen01", "agent")

    # The list, searched by User ID: Indonesian, times in WIB, no key.
    page.goto(f"{base}/admin/tokens/mobiledevice/?q=budi")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("#result_list")).to_contain_text("Pixel 8 Budi")
    expect(page.locator("#result_list thead")).to_contain_text("Terdaftar (WIB)")
    shoot(page, "mobile-staff-01-list")
    page.get_by_role("link", name="Pixel 8 Budi").click()
    html = page.content()
    assert device.sealed_key[:24] not in html and "sealed" not in html.lower()
    shoot(page, "mobile-staff-02-device")

    page.get_by_role("link", name="Batalkan registrasi (ponsel hilang)").click()
    expect(page.locator("h1")).to_contain_text("Batalkan registrasi (ponsel hilang)")
    # No reason: refused, nothing changes.
    page.locator("#content-main input[type=submit]").click()
    expect(page.locator(".errorlist")).to_be_visible()
    assert MobileDevice.objects.get(pk=device.pk).revoked_at is None
    page.locator("#id_reason").fill("Nasabah menelepon: ponsel hilang di bandara")
    shoot(page, "mobile-staff-03-deregister", phone=True)
    page.locator("#content-main input[type=submit]").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Registrasi Mobile Token budi di Pixel 8 Budi dibatalkan"
    )
    expect(page.locator("body")).not_to_contain_text("Batalkan registrasi (ponsel hilang)")
    shoot(page, "mobile-staff-04-done")

    device.refresh_from_db()
    assert (device.revoke_reason, device.revoked_by, device.confirmed) == ("staff", agent, False)
    event = AuditEvent.objects.get(action=AuditEvent.Action.MOBILE_TOKEN_REVOKED)
    assert (event.actor, event.subject) == (agent, customer)
    assert event.reason == "Nasabah menelepon: ponsel hilang di bandara"
    assert event.ip_address == "127.0.0.1"
    customer.refresh_from_db()
    assert customer.confirmation_method == User.ConfirmationMethod.SMS
    # The phone's code for now is refused.
    t = mobile.step(time.time())
    assert not mobile.device_code_verify(device=device, code=mobile.code_for(KEY, t), link="")

    # The list's filter for de-registered phones shows it with when, why and by whom.
    page.goto(f"{base}/admin/tokens/mobiledevice/?q=budi&state=revoked")
    expect(page.locator("#result_list tbody")).to_contain_text("Dibatalkan oleh bank · agen01")
    shoot(page, "mobile-staff-05-list-revoked")

    # The customer's page shows the de-registered phone with who did it.
    page.goto(f"{base}/admin/accounts/user/{customer.pk}/change/")
    part = page.locator("#customer-mobile-token")
    expect(part).to_contain_text("Pixel 8 Budi")
    expect(part).to_contain_text("Dibatalkan oleh bank")
    expect(part).to_contain_text("agen01")
    shoot(page, "mobile-staff-06-customer-page")


def test_help_on_a_phone(new_page, live_server):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{live_server.url}/login/")
    links = page.locator(".login-links")
    expect(links.get_by_role("link", name="Daftar Mobile Token")).to_have_attribute(
        "href", "/mobile-token/daftar/"
    )
    shoot(page, "mobile-help-00-login")
    page.locator(".login-links").get_by_role("link", name="Bantuan").click()
    expect(page.locator("h1")).to_have_text("Bantuan")
    toc = page.locator("nav.help-toc")
    expect(toc.locator("a")).to_have_count(8)
    shoot(page, "mobile-help-01-top")
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    toc.get_by_role("link", name="OTP di luar negeri").click()
    expect(page).to_have_url(f"{live_server.url}/bantuan/#help-abroad")
    expect(page.locator("#help-abroad")).to_be_in_viewport()
    toc_link = toc.get_by_role("link", name="Pertanyaan yang sering diajukan (FAQ)")
    toc_link.click()
    expect(page.locator("#help-faq")).to_be_in_viewport()
    page.screenshot(path=str(SCREENSHOTS / "mobile-help-02-faq-phone.png"))  # as scrolled
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "mobile-help-03-full", phone=True)
