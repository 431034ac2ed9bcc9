"""The Mobile Token end to end (issue 12's browser test, docs/mobile-token-design.md §4.3): two
Chromium contexts, a "phone" at 390×844 and a "desktop", and a third playing the SIM card (the
development outbox). The phone registers with an SMS OTP, goes offline and still makes codes
from its service worker; the desktop confirms a transfer with the code the phone made over the
destination's last 8 digits ("APPLI 2"). A second phone then registers: the first phone's code
for the next transfer is refused, the second phone's accepted.

One session per customer: each login ends the other context's session, so the desktop logs in
again after the second phone did; the token page itself needs no session."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import PHONE, login, outbox_code_read, shoot
from tests.factories import PASSWORD
from tokens.models import MobileDevice

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

PHONE_CONTEXT = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "locale": "id-ID"}
DESTINATION = "1002000017"  # Siti's account: the phone signs "02000017"


@pytest.fixture(autouse=True)
def _outbox_page(settings):
    settings.SMS_OUTBOX_PAGE = True


def register_phone(phone, sim, base, *, unlock, label, skip=(), name=None):
    """Register this phone's browser as the customer's Mobile Token through the pages: log in,
    "Generate OTP", the SMS code from the outbox, the Unlock Code twice. Returns the SMS code."""
    login(phone, base, "budi", PASSWORD)
    expect(phone).to_have_url(re.compile(r"/dashboard/$"))
    phone.goto(f"{base}/mobile-token/daftar/")
    phone.locator("main form.otp-issue button[type=submit]").click()
    code = outbox_code_read(sim, f"{base}/dev/sms/", skip=skip)
    phone.locator("#id_code").fill(code)
    phone.locator("main form.otp-confirm button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/mobile-token/daftar/unlock-code/$"))
    phone.locator("#mt-unlock-1").fill(unlock)
    phone.locator("#mt-unlock-2").fill(unlock)
    phone.locator("#mt-label").fill(label)
    if name:
        shoot(phone, name, phone=True)
    phone.locator("#mt-register-go").click()
    phone.wait_for_url("**/mobile-token/?registered=1")
    assert phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    expect(phone.locator("#mt-menu")).to_be_visible()
    return code


def phone_code(phone, digits, unlock):
    """What the customer does on the token: Transaksi, the 8 digits, check them, the Unlock Code:
    the code shown."""
    phone.locator("#mt-mode-sign").click()
    phone.locator("#mt-link").fill(digits)
    phone.locator("#mt-link-next").click()
    expect(phone.locator("#mt-signing")).to_contain_text(digits[-4:])
    phone.locator("#mt-unlock").fill(unlock)
    phone.locator("#mt-unlock-go").click()
    code = phone.locator("#mt-code")
    expect(code).to_have_text(re.compile(r"^\s*\d{3}\s?\d{3}\s*$"))
    expect(phone.locator("#mt-unlock")).to_have_value("")
    return re.sub(r"\D", "", code.inner_text())


def transfer_start(desktop, base, amount, *, instant="off"):
    """The transfer form to Siti; returns the 8 digits its confirm page shows. ``instant``: what
    the INSTAN script found ("on": the registered phone, "off": a browser without its key)."""
    desktop.goto(f"{base}/transfers/new/")
    desktop.locator("#id_source").select_option(
        str(BankAccount.objects.get(number="1001000011").pk)
    )
    desktop.locator("#id_destination").select_option("other")
    desktop.locator("#id_destination_number").fill(DESTINATION)
    desktop.locator("#id_amount").fill(amount)
    desktop.locator("main form button[type=submit]").click()
    expect(desktop).to_have_url(re.compile(r"/transfers/[^/]+/confirm/$"))
    digits = desktop.locator("#mt-link-digits")
    expect(digits).to_have_text("0200 0017")
    # No SMS for a Mobile Token customer; INSTAN only on the phone that holds the key.
    expect(desktop.locator("form.otp-issue")).to_have_count(0)
    expect(desktop.locator("section.otp-box")).to_have_attribute("data-mt-instant", instant)
    expect(desktop.locator("#mt-instant")).to_be_visible(visible=instant == "on")
    return digits.text_content().replace(" ", "")  # folded on the registered phone


def code_submit(desktop, code):
    desktop.get_by_label("One Time Password", exact=True).fill(code)
    desktop.locator("main form.otp-confirm button[type=submit]").click()


def test_phone_offline_confirms_a_desktop_transfer_and_a_new_phone_voids_it(
    new_page, live_server, customer, other_customer
):
    base = live_server.url
    sim = new_page(**PHONE_CONTEXT)  # the SIM card: the outbox page
    phone = new_page(**PHONE_CONTEXT)
    first_sms = register_phone(
        phone, sim, base, unlock="482915", label="Ponsel Budi", name="mobile-token-register"
    )
    first = MobileDevice.objects.get(user=customer, revoked_at__isnull=True)
    assert first.name == "Ponsel Budi"
    shoot(phone, "mobile-token-app", phone=True)

    # Offline ("OTP di luar negeri"): the page comes from the service worker.
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator("#mt-menu")).to_be_visible()
    assert phone.evaluate("navigator.onLine") is False

    # The desktop logs in (the phone's session ends: it needs none) and starts a transfer.
    desktop = new_page()
    login(desktop, base, "budi", PASSWORD)
    expect(desktop).to_have_url(re.compile(r"/dashboard/$"))
    digits = transfer_start(desktop, base, "250.000")
    assert digits == "02000017"
    shoot(desktop, "mobile-token-desktop-confirm", phone=True)
    code = phone_code(phone, digits, "482915")
    shoot(phone, "mobile-token-code", phone=True)
    transfer = Transfer.objects.get(initiated_by=customer)
    code_submit(desktop, code)
    expect(desktop).to_have_url(f"{base}/transfers/{transfer.reference}/")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert transfer.amount == Decimal("250000.00")
    shoot(desktop, "mobile-token-desktop-receipt")

    # A second phone registers (its login ends the desktop's session): the first is void.
    phone2 = new_page(**PHONE_CONTEXT)
    second_sms = register_phone(
        phone2, sim, base, unlock="736194", label="Ponsel Baru", skip=(first_sms,)
    )
    first.refresh_from_db()
    assert first.revoked_at is not None and first.revoke_reason == "replaced"

    login(desktop, base, "budi", PASSWORD)
    digits = transfer_start(desktop, base, "100.000")
    second = Transfer.objects.filter(initiated_by=customer).exclude(pk=transfer.pk).get()
    # The first phone, still offline, still makes codes: the server refuses them.
    phone.reload()
    old_code = phone_code(phone, digits, "482915")
    code_submit(desktop, old_code)
    expect(desktop.locator(".otp-confirm .field-error")).to_be_visible()
    second.refresh_from_db()
    assert second.status != Transfer.Status.COMPLETED
    shoot(desktop, "mobile-token-desktop-old-phone-refused")
    # The new phone's code is accepted.
    new_code = phone_code(phone2, digits, "736194")
    code_submit(desktop, new_code)
    expect(desktop).to_have_url(f"{base}/transfers/{second.reference}/")
    second.refresh_from_db()
    assert second.status == Transfer.Status.COMPLETED

    # Profil Saya names the phone; "Hapus pendaftaran" with an SMS code removes it.
    desktop.goto(f"{base}/profil/")
    expect(desktop.locator(".profile-mobile-label")).to_have_text("Ponsel Baru")
    expect(desktop.locator(".profile-mobile-used")).to_contain_text("WIB")
    shoot(desktop, "mobile-token-profile", phone=True)
    desktop.locator("a[href='/profil/mobile-token/hapus/']").click()
    expect(desktop.locator(".mt-device-label")).to_have_text("Ponsel Baru")
    desktop.locator("main form.otp-issue button[type=submit]").click()
    code = outbox_code_read(sim, f"{base}/dev/sms/", skip=(first_sms, second_sms))
    shoot(desktop, "mobile-token-deregister", phone=True)
    code_submit(desktop, code)
    expect(desktop).to_have_url(f"{base}/profil/")
    expect(desktop.locator(".message-success")).to_contain_text("Ponsel Baru")
    expect(desktop.locator(".profile-mobile-label")).to_have_count(0)
    shoot(desktop, "mobile-token-profile-deregistered", phone=True)
    assert not MobileDevice.objects.filter(user=customer, revoked_at__isnull=True).exists()
