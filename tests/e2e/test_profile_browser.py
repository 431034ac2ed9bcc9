"""Profil Saya in a real browser: the phone change with the development outbox as both phones
(a real Celery worker sends the SMS), and "Blokir akses saya". Every page is saved as a
screenshot in var/screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AccessBlock, AuditEvent
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, outbox_code_read, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_phone_change_in_the_browser(new_page, live_server, celery_worker, customer, settings):
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.locator("nav.main-nav a[href='/profil/']").click()
    expect(page.locator(".profile-phone")).to_have_text("+62 812-****-5678")
    expect(page.locator("nav.main-nav a[aria-current=page]")).to_have_attribute("href", "/profil/")
    shoot(page, "p01-profile", phone=True)

    page.locator("main a[href='/profil/phone/']").click()
    page.locator("#id_new_phone").fill("0813 1111 2222")
    shoot(page, "p02-phone-change-form", phone=True)
    page.locator("main form button[type=submit]").click()

    # Step 1: an OTP to the current number.
    expect(page).to_have_url(re.compile(r"/profil/phone/\d+/confirm/$"))
    expect(page.locator(".new-value")).to_have_text("+62 813-1111-2222")
    shoot(page, "p03-phone-change-otp-before", phone=True)
    page.locator("form.otp-issue button[type=submit]").click()
    expect(page.locator(".otp-status")).to_contain_text("+62 812-****-5678")
    phone_tab = page.context.new_page()
    first = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("+62 813-****-2222")
    page.bring_to_front()
    page.get_by_label("One Time Password", exact=True).fill(first)
    shoot(page, "p04-phone-change-otp", phone=True)
    page.locator("form.otp-confirm button[type=submit]").click()

    # Step 2: the code sent to the new number.
    expect(page).to_have_url(re.compile(r"/profil/phone/\d+/verify/$"))
    expect(page.locator(".otp-status")).to_contain_text("+62 813-****-2222")
    second = outbox_code_read(phone_tab, f"{base}/dev/sms/", skip={first})
    page.bring_to_front()
    # The step-1 code does not verify the new number.
    page.get_by_label("One Time Password", exact=True).fill(first)
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page.locator(".otp-confirm .field-error")).to_be_visible()
    shoot(page, "p05-new-number-wrong-code", phone=True)
    page.get_by_label("One Time Password", exact=True).fill(second)
    shoot(page, "p06-new-number", phone=True)
    page.locator("form.otp-confirm button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/profil/phone/\d+/done/$"))
    expect(page.locator("main")).to_contain_text("+62 813-****-2222")
    shoot(page, "p07-phone-change-done", phone=True)
    customer.refresh_from_db()
    assert str(customer.phone) == "+6281311112222"
    assert AuditEvent.objects.filter(action="phone_changed", subject=customer).exists()

    # The old phone got the notice.
    phone_tab.goto(f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("+62 813-****-2222")
    shoot(phone_tab, "p08-outbox-notice", phone=True)

    page.locator("nav.main-nav a[href='/profil/']").click()
    expect(page.locator(".profile-phone")).to_have_text("+62 813-****-2222")


def test_self_block_in_the_browser(new_page, live_server, customer):
    base = live_server.url
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    page.locator("nav.main-nav a[href='/profil/']").click()
    page.locator("main a[href='/profil/block/']").click()
    expect(page.locator(".warning")).to_be_visible()
    shoot(page, "p09-self-block", phone=True)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator(".message")).to_be_visible()
    expect(page.locator("nav.main-nav")).to_have_count(0)
    shoot(page, "p10-self-blocked-login", phone=True)
    assert AccessBlock.objects.active().filter(user=customer, kind="self_flag").exists()
    login(page, base, "budi", PASSWORD)
    expect(page.locator(".form-errors")).to_be_visible()
