"""A hardware token in real browsers: a branch officer (TOTP login) assigns it in the admin, the
customer activates it under Profil Saya with a code from Debian's oathtool, then confirms a
transfer with the token's next code. Every page is saved in var/screenshots/."""

import re
import subprocess
import time
from base64 import b32encode
from decimal import Decimal

import pyotp
import pytest
from playwright.sync_api import expect

from accounts import services as account_services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import login, shoot
from tests.factories import PASSWORD
from tokens import hardware
from tokens.models import HardwareToken

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]
SEED_HEX = "446577692d44656d6f2d546f6b656e2d32303236"


def oathtool_totp(at: float) -> str:
    return subprocess.run(
        ["oathtool", "--totp", "-s", "30s", "-N", f"@{int(at)}", SEED_HEX],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def test_branch_assigns_customer_activates_and_confirms_a_transfer(
    new_page, live_server, customer, other_customer
):
    base = live_server.url
    officer, device = account_services.staff_create(
        user_id="cabang01", full_name="Petugas Cabang", password=PASSWORD, role="branch"
    )
    hardware.token_roles_grant()
    token = HardwareToken.objects.create(
        serial="DEMO0000001", algorithm="totp", step=30, digits=6, manufacturer="Demo",
        batch="browser-test", sealed_seed=hardware.seed_seal(bytes.fromhex(SEED_HEX)),
    )

    # The branch officer logs into the admin with their TOTP and assigns the token to budi.
    admin = new_page()
    admin.goto(f"{base}/admin/login/")
    admin.locator("#id_username").fill("cabang01")
    admin.locator("#id_password").fill(PASSWORD)
    admin.locator("#id_otp_token").fill(pyotp.TOTP(b32encode(device.bin_key).decode()).now())
    admin.locator("#login-form input[type=submit]").click()
    expect(admin).to_have_url(re.compile(r"/admin/$"))
    admin.goto(f"{base}/admin/tokens/hardwaretoken/")
    expect(admin.locator("#result_list")).to_contain_text("DEMO0000001")
    shoot(admin, "token-01-admin-list")
    assert SEED_HEX not in admin.content()
    admin.locator("#result_list a", has_text="DEMO0000001").click()
    shoot(admin, "token-02-admin-detail")
    admin.locator(".object-tools a[href$='assign/']").click()
    admin.locator("#id_user_id").fill("budi")
    admin.locator("#id_reason").fill("Handed over at KCP Bandung, ID card checked")
    shoot(admin, "token-03-admin-assign-form")
    admin.locator("input[type=submit]").click()
    expect(admin.locator(".messagelist")).to_contain_text(
        re.compile("assigned to budi|diserahkan ke budi")
    )
    shoot(admin, "token-04-admin-assigned")
    token.refresh_from_db()
    assert (token.state, token.user) == ("assigned", customer)

    # The customer activates it under Profil Saya.
    page = new_page(locale="id-ID")
    login(page, base, "budi", PASSWORD)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    page.goto(f"{base}/profil/aktivasi-token/")
    expect(page.locator("#id_birth_date")).to_be_visible()
    shoot(page, "token-05-activation", phone=True)
    page.locator("#id_birth_date").fill("18/08/1988")  # a wrong birth date first
    page.locator("#id_serial").fill("demo 0000 001")
    page.locator("#id_code").fill(oathtool_totp(time.time()))
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".form-errors")).to_be_visible()
    expect(page.locator("#id_code")).to_have_value("")
    expect(page.locator("#id_serial")).to_have_value("demo 0000 001")
    shoot(page, "token-06-activation-error", phone=True)
    assert HardwareToken.objects.get(pk=token.pk).state == "assigned"

    now = time.time()
    page.locator("#id_birth_date").fill("17/08/1988")
    page.locator("#id_serial").fill("demo 0000 001")
    page.locator("#id_code").fill(oathtool_totp(now))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.locator(".messages")).to_contain_text("DEMO0000001")
    shoot(page, "token-07-activation-success", phone=True)
    assert HardwareToken.objects.get(pk=token.pk).state == "active"

    # A transfer, confirmed with the token's NEXT code (no "Generate OTP" for token users).
    page.locator("nav.main-nav a[href='/transfers/new/']").click()
    page.locator("#id_source").select_option(str(BankAccount.objects.get(number="1001000011").pk))
    page.locator("#id_destination").select_option("other")
    page.locator("#id_destination_number").fill("1002000017")
    page.locator("#id_amount").fill("250.000")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    expect(page.locator("form.otp-issue")).to_have_count(0)
    shoot(page, "token-08-transfer-confirm-token-user", phone=True)
    transfer = Transfer.objects.get(initiated_by=customer)
    page.locator("#id_code").fill(oathtool_totp(now + 30))
    page.locator("form.otp-confirm button[type=submit]").click()
    expect(page).to_have_url(f"{base}/transfers/{transfer.reference}/")
    shoot(page, "token-09-transfer-done", phone=True)
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("14750000.00")
