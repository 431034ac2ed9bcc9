"""A customer's transfer in a real browser: login, transfer, "Generate OTP", the code read off
the development phone (the outbox page, written by a real Celery worker), confirmation,
receipt, new balance, language switch. Every page is saved as a screenshot in var/screenshots/.
"""

import re
from decimal import Decimal

import pytest
from django.utils import translation
from playwright.sync_api import expect

from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, outbox_code_read, shoot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def test_login_page_speaks_indonesian_whatever_the_browser_prefers(page, live_server):
    page.goto(f"{live_server.url}/")  # this browser sends Accept-Language: en-US
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("form.lang-form button")).to_have_text("English")


def test_transfer_with_sms_otp_in_the_browser(
    new_page, live_server, celery_worker, customer, other_customer, settings
):
    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    page = new_page(locale="id-ID")

    # The login page speaks Bahasa Indonesia.
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "id")
    with translation.override("id"):  # the catalogue's Indonesian, once it is compiled
        heading = translation.gettext("Log in to Internet Banking")
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("#id_username")).to_be_focused()
    shoot(page, "01-login", phone=True)

    # A wrong password: one message that does not say which of the two was wrong.
    login(page, base, "budi", "not-the-password")
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("#id_password")).to_have_value("")
    shoot(page, "02-login-wrong-password", phone=True)

    login(page, base, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator('.account-balance[data-account="1001000011"]')).to_have_text(
        "Rp 15.000.000"
    )
    shoot(page, "03-dashboard", phone=True)

    # Transfer form: Rp 1.500.000 to Siti's account, typed the Indonesian way.
    page.locator("nav.main-nav a[href='/transfers/new/']").click()
    expect(page.locator("#id_source")).to_be_visible()
    page.locator("#id_source").select_option(str(BankAccount.objects.get(number="1001000011").pk))
    page.locator("#id_destination").select_option("other")
    page.locator("#id_destination_number").fill("1002000017")
    page.locator("#id_amount").fill("1.500.000")
    page.locator("#id_description").fill("Bayar kos")
    shoot(page, "04-transfer-form", phone=True)
    page.locator("main form button[type=submit]").click()

    # Confirmation page, before any code was asked for.
    expect(page).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    transfer = Transfer.objects.get(initiated_by=customer)
    expect(page.locator(".summary")).to_contain_text("Rp 1.500.000")
    expect(page.locator(".summary")).to_contain_text("1002000017")
    expect(page.locator(".summary")).to_contain_text(transfer.reference)
    generate = page.locator("form.otp-issue button[type=submit]")
    expect(generate).to_be_enabled()
    shoot(page, "05-confirm-before-otp", phone=True)

    # "Generate OTP": the page says where the code went and counts down to a resend.
    generate.click()
    expect(page).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    expect(page.locator(".otp-status")).to_contain_text("+62 812-****-5678")
    expect(generate).to_be_disabled()
    expect(page.locator("#resend-wait")).to_contain_text(re.compile(r"\d+"))
    expect(page.get_by_label("One Time Password", exact=True)).to_be_focused()
    shoot(page, "06-confirm-after-generate-otp", phone=True)

    # The customer's phone: the outbox page in another tab, once the worker has sent the SMS.
    phone_tab = page.context.new_page()
    code = outbox_code_read(phone_tab, f"{base}/dev/sms/")
    expect(phone_tab.locator(".sms-body").first).to_contain_text("1.500.000")
    shoot(phone_tab, "07-outbox", phone=True)
    phone_tab.close()

    # A wrong code first: the page says so, nothing moves, the code stays usable.
    code_field = page.get_by_label("One Time Password", exact=True)
    confirm = page.locator("form.otp-confirm button[type=submit]")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    page.bring_to_front()
    code_field.fill(wrong)
    confirm.click()
    expect(page.locator(".otp-confirm .field-error")).to_be_visible()
    expect(code_field).to_be_focused()
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000.00")
    shoot(page, "08-confirm-wrong-otp", phone=True)

    # The right code: the receipt with its reference.
    page.get_by_label("One Time Password", exact=True).fill(code)
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page).to_have_url(f"{base}/transfers/{transfer.reference}/")
    expect(page.locator(".receipt .reference")).to_have_text(transfer.reference)
    expect(page.locator(".receipt .amount")).to_have_text("Rp 1.500.000")
    shoot(page, "09-receipt", phone=True)

    page.locator("nav.main-nav a[href='/dashboard/']").click()
    expect(page.locator('.account-balance[data-account="1001000011"]')).to_have_text(
        "Rp 13.500.000"
    )
    expect(page.locator("#recent-heading + .table-wrap")).to_contain_text(transfer.reference)
    shoot(page, "10-dashboard-after", phone=True)
    assert BankAccount.objects.get(number="1002000017").balance == Decimal("9000000.00")

    # The other pages of the menu, for the screenshots (and that they answer at all).
    page.locator("nav.main-nav a[href='/transfers/']").click()
    expect(page.locator("main table")).to_contain_text(transfer.reference)
    expect(page.locator("nav.main-nav a[aria-current=page]")).to_have_attribute(
        "href", "/transfers/"
    )
    shoot(page, "11-history", phone=True)
    page.locator("nav.main-nav a[href='/payees/']").click()
    page.locator("main a[href='/payees/new/']").click()
    expect(page.locator("#id_account_number")).to_be_visible()
    shoot(page, "12-payee-form", phone=True)
    page.locator("nav.main-nav a[href='/dashboard/']").click()

    # English is one click away, and Bahasa Indonesia one click back.
    page.locator("form.lang-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator("form.lang-form button")).to_have_text("Bahasa Indonesia")
    shoot(page, "13-dashboard-english", phone=True)
    page.locator("form.lang-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")
    expect(page.locator("form.lang-form button")).to_have_text("English")


def test_new_login_elsewhere_ends_the_first_session(new_page, live_server, customer):
    base = live_server.url
    first = new_page()
    login(first, base, "budi", PASSWORD)
    expect(first).to_have_url(re.compile(r"/dashboard/$"))

    second = new_page()
    login(second, base, "budi", PASSWORD)
    expect(second).to_have_url(re.compile(r"/dashboard/$"))

    # The first browser's next click lands on the login page, logged out.
    first.locator("nav.main-nav a[href='/transfers/new/']").click()
    expect(first).to_have_url(re.compile(r"/login/"))
    expect(first.locator("#id_password")).to_be_visible()
    expect(first.locator("nav.main-nav")).to_have_count(0)
    shoot(first, "14-session-ended-elsewhere", phone=True)

    # The newer session goes on working.
    second.locator("nav.main-nav a[href='/transfers/new/']").click()
    expect(second).to_have_url(re.compile(r"/transfers/new/$"))
