"""Login Corporate in a real browser (issue 11, first slice): from the retail login page to
the corporate one, a wrong try that names nothing, then Corporate ID + User ID + password and
the company's account on the dashboard; a second user of the company sees the same account.
Screenshots corporate-*.png in var/screenshots/.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Company, corporate_user_id
from tests.conftest import needs_chromium
from tests.e2e.conftest import shoot
from tests.factories import PASSWORD, BankAccountFactory, UserFactory

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def corporate_fill(page, corporate_id, user_id, password):
    page.get_by_label("ID Corporate").fill(corporate_id)
    page.get_by_label("User ID").fill(user_id)
    page.get_by_label("Password").fill(password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def test_corporate_user_logs_in_and_sees_the_companys_account(new_page, live_server):
    company = Company.objects.create(
        name="PT Maju Bersama", cif="C000123", corporate_id="MAJUBERSAMA"
    )
    andi, rudi = (
        UserFactory(
            user_id=corporate_user_id(corporate_id="MAJUBERSAMA", user_id=name),
            company=company,
            full_name=full_name,
            email=f"{name}@majubersama.co.id",
        )
        for name, full_name in (("andi", "Andi Wijaya"), ("rudi", "Rudi Hartono"))
    )
    BankAccountFactory(
        owner=andi,
        company=company,
        number="2001000018",
        product="current",
        balance="250000000.00",
    )
    other = UserFactory(user_id="budi")
    BankAccountFactory(owner=other, number="1001000011")
    base = live_server.url

    page = new_page(locale="id-ID")
    page.goto(f"{base}/login/")
    page.get_by_role("link", name="Nasabah Corporate? Login di sini").click()
    expect(page).to_have_url(f"{base}/corporate/login/")
    expect(page.get_by_role("heading", name="Login Corporate")).to_be_visible()
    expect(page.get_by_label("ID Corporate")).to_be_focused()
    shoot(page, "corporate-login", phone=True)

    corporate_fill(page, "MAJUBERSAMA", "andi", "salah-sekali")
    expect(page.locator(".form-errors")).to_contain_text(
        "ID Corporate, User ID atau password salah."
    )
    shoot(page, "corporate-login-wrong", phone=True)

    corporate_fill(page, "majubersama", "andi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    main = page.locator("main")
    expect(main).to_contain_text("2001000018")
    expect(main).to_contain_text("Rp 250.000.000")
    expect(main).not_to_contain_text("1001000011")
    shoot(page, "corporate-dashboard", phone=True)

    second = new_page(locale="id-ID")
    second.goto(f"{base}/corporate/login/")
    corporate_fill(second, "MAJUBERSAMA", "rudi", PASSWORD)
    expect(second).to_have_url(re.compile(r"/dashboard/$"))
    expect(second.locator("main")).to_contain_text("2001000018")
    assert rudi.company_id == company.pk
