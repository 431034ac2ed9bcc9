"""The strict Content-Security-Policy in a real browser: the main pages of a customer, an
anonymous visitor and a member of staff load their static scripts and styles, and Chromium
reports no CSP violation on any of them (a ``securitypolicyviolation`` listener installed
before each page's own code, and the console, which ``new_page`` watches for errors)."""

import os
import re

import pytest
from playwright.sync_api import expect

from tests.accounts.test_admin import totp_now
from tests.conftest import needs_chromium
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, login, new_page  # noqa: F401 (fixture)
from tests.factories import PASSWORD
from tests.security.hostile import RETAIL_SOURCE, World

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]



@pytest.fixture(scope="module")
def browser():
    """tests/e2e's browser for this module only (``new_page`` uses it), so that its
    DJANGO_ALLOW_ASYNC_UNSAFE (see tests/e2e/conftest.py) ends with this module and never
    reaches the production checks that run after it."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def visit(page, url):
    page.goto(url)
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__cspViolations")
    sheets = page.evaluate("document.styleSheets.length")
    return violations, sheets


def test_main_pages_have_no_csp_violation(new_page, live_server, settings):  # noqa: F811
    world = World()
    base = live_server.url
    customer_pages = [
        "/dashboard/", "/transfers/new/", f"/transfers/{world.transfer.reference}/confirm/",
        "/transfers/", "/payees/", "/payees/new/", "/mutasi/",
        f"/accounts/{RETAIL_SOURCE}/mutasi/", "/profil/", "/profil/aktivasi-token/",
        "/mobile-token/daftar/", "/profil/phone/", "/bantuan/",
    ]
    public_pages = ["/login/", "/corporate/login/", "/lupa-password/", "/mobile-token/"]
    staff_pages = [
        "/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{world.customer.pk}/change/",
        "/admin/tokens/hardwaretoken/", "/admin/corporate/corporaterequest/",
        "/admin/accounts/auditevent/",
    ]
    seen = {}

    anonymous = new_page()
    anonymous.add_init_script(WATCH)
    for path in public_pages:
        seen[path] = visit(anonymous, base + path)

    customer = new_page()
    customer.add_init_script(WATCH)
    login(customer, base, "budi", PASSWORD)
    expect(customer).to_have_url(re.compile(r"/dashboard/$"))
    for path in customer_pages:
        seen[path] = visit(customer, base + path)
        assert customer.url.endswith(path), (path, customer.url)

    staff = new_page()
    staff.add_init_script(WATCH)
    staff.goto(f"{base}/admin/login/?next=/admin/")
    staff.locator("#id_username").fill(world.staff.user_id)
    staff.locator("#id_password").fill(PASSWORD)
    staff.locator("#id_otp_token").fill(totp_now(world.staff_device))
    staff.locator("input[type=submit]").click()
    expect(staff).to_have_url(re.compile(r"/admin/$"))
    for path in staff_pages:
        seen[path] = visit(staff, base + path)
        assert staff.url.endswith(path), (path, staff.url)

    assert {path: v for path, (v, _sheets) in seen.items() if v} == {}
    # The styles came from the static files (no page lost its look to the policy).
    assert {path for path, (_v, sheets) in seen.items() if sheets == 0} == set()
