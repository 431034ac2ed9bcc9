"""What a customer reads when something stops them, in a real browser: the wait before a new
code after three wrong ones (the server's seconds, counted down by static/js/portal.js, the
button enabled at 0), the error pages (404, an expired form), the page after logging out, and
the login page's help. Screenshots messages-*.png, desktop and phone."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium, outbox_code
from tests.e2e.conftest import DESKTOP, _errors_collect, login, shoot
from tests.factories import PASSWORD
from tokens.models import Challenge

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

COOLDOWN = 12  # seconds: short, so that the test sees the button come back


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


def wait_seconds(page) -> int:
    text = page.locator(".resend-wait-text").inner_text()
    return int(re.search(r"\d+", text).group(0))


def test_after_three_wrong_codes_the_page_counts_down_to_a_new_code(
    new_page, live_server, customer, other_customer, settings
):
    settings.OTP_RESEND_COOLDOWN = COOLDOWN
    transfer = services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("1500000"),
        description="Bayar kos",
    )
    page = new_page(locale="id-ID")
    login(page, live_server.url, "budi", PASSWORD)
    page.goto(f"{live_server.url}/transfers/{transfer.reference}/confirm/")
    generate = page.locator("form.otp-issue button[type=submit]")
    generate.click()
    code = outbox_code()
    # Right after sending, the button already waits out the cooldown.
    expect(generate).to_be_disabled()
    for _ in range(3):
        page.locator("#id_code").fill(wrong(code))
        page.locator("form.otp-confirm button[type=submit]").click()
        page.wait_for_load_state()
    expect(page.locator("#otp-error")).to_contain_text("Terlalu banyak kode salah")

    # Disabled, with the server's seconds as text; the script counts them down.
    expect(generate).to_be_disabled()
    expect(page.locator(".resend-wait-text")).to_have_text(
        re.compile(r"^Kirim ulang OTP dalam \d+ detik\.$")
    )
    first = wait_seconds(page)
    assert 0 < first <= COOLDOWN
    shoot(page, "messages-01-otp-wait-after-wrong-codes", phone=True)
    page.wait_for_function(
        "n => parseInt(document.querySelector('.resend-wait-text').textContent.match(/\\d+/)[0]) < n",
        arg=first,
    )
    assert wait_seconds(page) < first
    assert Challenge.objects.filter(user=customer).count() == 1

    # At 0 the button is enabled, and the server accepts the press.
    expect(generate).to_be_enabled(timeout=(COOLDOWN + 5) * 1000)
    expect(page.locator(".resend-wait-text")).to_have_text("Anda dapat mengirim OTP baru sekarang.")
    shoot(page, "messages-02-otp-wait-over", phone=True)
    generate.click()
    page.wait_for_load_state()
    expect(page.locator(".messages .message-error")).to_have_count(0)
    assert Challenge.objects.filter(user=customer).count() == 2
    page.locator("#id_code").fill(outbox_code())
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/transfers/{transfer.reference}/$"))
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED


def test_an_early_press_is_refused_with_the_seconds(new_page, live_server, customer, other_customer, settings):
    """Without the script (or faster than it), the server still refuses, readably."""
    settings.OTP_RESEND_COOLDOWN = 60
    transfer = services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("250000"),
        description="",
    )
    page = new_page(locale="id-ID", java_script_enabled=False)
    login(page, live_server.url, "budi", PASSWORD)
    page.goto(f"{live_server.url}/transfers/{transfer.reference}/confirm/")
    page.locator("form.otp-issue button[type=submit]").click()
    page.wait_for_load_state()
    generate = page.locator("form.otp-issue button[type=submit]")
    expect(generate).to_be_disabled()
    expect(page.locator(".resend-wait-text")).to_have_text(
        re.compile(r"^Kirim ulang OTP dalam (59|60) detik\.$")
    )
    expect(page.locator(".resend-wait noscript")).to_have_count(1)
    shoot(page, "messages-03-otp-wait-without-script", phone=True)
    # A hand-made early press (the disabled button cannot be clicked): refused with seconds.
    page.evaluate("document.querySelector('form.otp-issue').submit()")
    page.wait_for_load_state()
    expect(page.locator(".messages .message-error")).to_contain_text(
        re.compile(r"Anda dapat meminta kode baru dalam \d+ detik")
    )
    assert Challenge.objects.filter(user=customer).count() == 1


@pytest.fixture
def error_page(browser):
    """A page whose context accepts the expected failed load (a 404 or 403 document shows as
    a console error "Failed to load resource") but still fails on any script error."""
    contexts, errors = [], []

    def make(**kwargs):
        context = browser.new_context(viewport=DESKTOP, locale="id-ID", **kwargs)
        context.set_default_timeout(10_000)
        context.on("page", lambda p: _errors_collect(p, errors))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert not [e for e in errors if "Failed to load resource" not in e], errors


def test_a_missing_page_in_the_portal_look(error_page, live_server, settings):
    settings.DEBUG = False
    page = error_page()
    response = page.goto(f"{live_server.url}/tidak-ada-halaman-ini/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Halaman tidak ditemukan")
    expect(page.locator(".error-call")).to_contain_text("1500 123")
    shoot(page, "messages-04-error-404", phone=True)
    page.get_by_role("link", name="Kembali ke beranda").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_an_expired_form_says_reload_and_reloading_works(error_page, live_server, customer, settings):
    settings.DEBUG = False
    page = error_page()
    page.goto(f"{live_server.url}/login/")
    # Another tab logs in and out: the first tab's form now carries a stale CSRF token.
    other = page.context.new_page()
    login(other, live_server.url, "budi", PASSWORD)
    other.locator("form.logout-form button").click()
    other.wait_for_load_state()
    other.close()

    page.locator("#id_username").fill("budi")
    page.locator("#id_password").fill(PASSWORD)
    with page.expect_response(re.compile(r"/login/$")) as posted:
        page.locator("main form button[type=submit]").click()
    assert posted.value.status == 403
    expect(page.locator("h1")).to_have_text("Halaman kedaluwarsa, muat ulang")
    expect(page.locator(".error-call")).to_contain_text("1500 123")
    shoot(page, "messages-05-error-403-csrf", phone=True)
    page.get_by_role("link", name="Muat ulang halaman").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    login(page, live_server.url, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_logging_out_says_so_and_leads_back_to_login(new_page, live_server, customer):
    page = new_page(locale="id-ID")
    login(page, live_server.url, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.locator("form.logout-form button").click()
    expect(page).to_have_url(re.compile(r"/logout/done/$"))
    expect(page.locator("h1")).to_have_text("Anda telah keluar")
    expect(page.locator("nav.main-nav")).to_have_count(0)
    shoot(page, "messages-06-logged-out", phone=True)
    page.get_by_role("link", name="Login kembali").click()
    expect(page).to_have_url(re.compile(r"/login/$"))


def test_the_login_page_shows_help_the_call_centre_and_the_fraud_warning(new_page, live_server, db):
    page = new_page(locale="id-ID")
    page.goto(f"{live_server.url}/login/")
    expect(page.locator(".fraud-warning h2")).to_have_text("Waspada penipuan")
    expect(page.locator(".fraud-warning")).to_contain_text(
        "tidak pernah meminta kode OTP, PIN atau kata sandi"
    )
    expect(page.locator(".login-help")).to_contain_text("1500 123")
    shoot(page, "messages-07-login-help", phone=True)
    page.locator(".login-help a[href='/bantuan/']").click()
    expect(page).to_have_url(re.compile(r"/bantuan/$"))
    expect(page.locator("h1")).to_have_text("Bantuan")
    expect(page.locator("#help-lost")).to_have_text("Bila ponsel Anda hilang atau dicuri")
    shoot(page, "messages-08-help", phone=True)
    # The footer of every page links it too.
    expect(page.locator(".site-footer a[href='/bantuan/']")).to_have_count(1)
