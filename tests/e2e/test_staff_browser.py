"""The staff pages in a real browser, in Indonesian although the browser asks for English, with
English one click away (issue 10 items 10-14): the staff login's errors, a lost phone flagged
with one reason field, the unblock result as a sentence, the audit log in Jakarta time with the
client's address and browser, a second token refused then given as a replacement, and a PSKC
key that cannot be decrypted. Screenshots (desktop and phone) in var/screenshots/staff-*.png.
"""

import re
from base64 import b32encode
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import AccessBlock, AuditEvent
from tests.conftest import needs_chromium
from tests.e2e.conftest import shoot
from tests.factories import PASSWORD
from tests.tokens.conftest import token_make
from tokens import hardware
from tokens.models import HardwareToken

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]
PSKC_DIR = Path(__file__).resolve().parents[1] / "data" / "pskc"


def test_staff_pages_in_indonesian(new_page, live_server, customer, other_customer):
    base = live_server.url
    hardware.token_roles_grant()

    def staff(user_id, role):
        user, device = services.staff_create(
            user_id=user_id, full_name=f"Staf {role}", password=PASSWORD, role=role
        )
        hardware.token_roles_grant()
        return pyotp.TOTP(b32encode(device.bin_key).decode())

    def login(user_id, totp, *, code=None):
        page = new_page()  # Accept-Language: en-US, as most desks' browsers
        page.goto(f"{base}/admin/login/")
        page.locator("#id_username").fill(user_id)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("#id_otp_token").fill(code if code is not None else totp.now())
        page.locator("#login-form input[type=submit]").click()
        return page

    agent, boss, officer = staff("agen01", "agent"), staff("kepala01", "supervisor"), staff(
        "cabang01", "branch"
    )

    # The staff login's errors are Indonesian sentences, not django-otp's English.
    page = login("agen01", agent, code="")
    expect(page.locator(".errornote")).to_contain_text("Masukkan 6 digit kode")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    shoot(page, "staff-01-login-no-code", phone=True)

    # A call-centre agent flags a lost phone: one reason field, not two called "Alasan".
    page = login("agen01", agent)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto(f"{base}/admin/accounts/user/{customer.pk}/flag/")
    expect(page.locator("label.field-label")).to_have_text(
        ["Jenis penandaan", "Alasan (dicatat di log audit)"]
    )
    shoot(page, "staff-02-flag-form", phone=True)
    page.locator("#id_reason").fill("Nasabah melapor ponsel dicuri")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_contain_text("ditandai")
    assert AccessBlock.objects.active().filter(user=customer, kind="lost_phone").exists()

    # A supervisor unblocks: the result is a sentence.
    page = login("kepala01", boss)
    page.goto(f"{base}/admin/accounts/user/{customer.pk}/unblock/")
    page.locator("#id_reason").fill("KTP dicek di cabang")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Akses budi dibuka kembali. Blokir karena ponsel hilang dicabut."
    )
    expect(page.locator(".messagelist")).not_to_contain_text("lifted")
    shoot(page, "staff-03-unblocked", phone=True)

    # The audit log: Jakarta time, the client's address and browser, codes as sentences.
    page.goto(f"{base}/admin/accounts/auditevent/?q=budi")
    expect(page.locator("#result_list thead")).to_contain_text("Waktu (WIB)")
    expect(page.locator("#result_list")).to_contain_text("127.0.0.1")
    shoot(page, "staff-04-audit-list", phone=True)
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_UNBLOCKED, subject=customer)
    assert event.user_agent and "Chrome" in event.user_agent
    page.goto(f"{base}/admin/accounts/auditevent/{event.pk}/change/")
    expect(page.locator("#content h1, #content h2").first).to_contain_text("Catatan audit")
    expect(page.locator(".field-data_display")).to_contain_text(
        "Blokir karena ponsel hilang dicabut."
    )
    expect(page.locator(".field-user_agent")).to_contain_text("Chrome")
    shoot(page, "staff-05-audit-event", phone=True)

    # English one click away, and back.
    page.locator(".staff-lang-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".field-data_display")).to_contain_text(
        "The block for a lost phone was lifted."
    )
    shoot(page, "staff-06-audit-event-english")
    page.locator(".staff-lang-form button").click()
    expect(page.locator("html")).to_have_attribute("lang", "id")

    # A branch officer: a second token is refused until "replace" is chosen.
    old = token_make("FT10000001", state="active", user=customer)
    new = token_make("FT10000002")
    page = login("cabang01", officer)
    page.goto(f"{base}/admin/tokens/hardwaretoken/{new.pk}/assign/")
    page.locator("#id_user_id").fill("budi")
    page.locator("#id_reason").fill("Serah terima di cabang")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".errornote")).to_contain_text("budi sudah memegang token FT10000001")
    shoot(page, "staff-07-second-token-refused", phone=True)
    page.get_by_label("Ganti: baterai token lama habis").check()
    page.locator("input[type=submit].default").click()
    expect(page.locator(".messagelist")).to_contain_text("menggantikan FT10000001")
    shoot(page, "staff-08-token-replaced", phone=True)
    old.refresh_from_db()
    assert old.state == HardwareToken.State.BATTERY_DEAD

    # A PSKC key that cannot be read with the given pre-shared key says so.
    page.goto(f"{base}/admin/tokens/hardwaretoken/import/")
    page.locator("#id_file").set_input_files(str(PSKC_DIR / "rfc6030-figure4.pskcxml"))
    page.locator("#id_psk").fill("12345678901234567890123456789012")
    page.locator("#id_reason").fill("Kiriman vendor")
    page.locator("input[type=submit].default").click()
    expect(page.locator(".import-problems")).to_contain_text(
        "tidak dapat didekripsi dengan kunci pra-bagi (pre-shared key) yang diberikan"
    )
    expect(page.locator("body")).not_to_contain_text("--psk")
    shoot(page, "staff-09-pskc-undecryptable", phone=True)
