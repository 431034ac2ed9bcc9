"""INSTAN (issue 12 item 6, docs/mobile-token-design.md §3.4): on the registered phone a
transfer's confirm page takes the Unlock Code alone; the page computes the code over the
destination's 8 digits with the phone's key and submits it through the ordinary code field.
A wrong Unlock Code gives a code the server refuses (and counts); the right one, the receipt."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from payments.models import Transfer
from tests.conftest import needs_chromium
from tests.e2e.conftest import shoot
from tests.e2e.test_mobile_token_browser import PHONE_CONTEXT, register_phone, transfer_start

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _outbox_page(settings):
    settings.SMS_OUTBOX_PAGE = True


def test_the_unlock_code_alone_confirms_on_the_phone(
    new_page, live_server, customer, other_customer
):
    base = live_server.url
    sim = new_page(**PHONE_CONTEXT)
    phone = new_page(**PHONE_CONTEXT)
    register_phone(phone, sim, base, unlock="482915", label="Ponsel Budi")

    digits = transfer_start(phone, base, "75.000", instant="on")
    assert digits == "02000017"
    instant = phone.locator("#mt-instant")
    expect(instant).to_be_visible()
    unlock = phone.locator("#mt-instant-unlock")
    assert unlock.get_attribute("name") is None
    expect(instant).to_contain_text("Untuk rekening berakhiran 0200 0017")
    # On the registered phone the manual path is folded behind its summary (no script needed
    # to open it).
    manual = phone.locator("#mt-manual")
    expect(phone.locator("#mt-manual-summary")).to_have_text("Atau ketik kode dari Mobile Token")
    expect(phone.locator("#id_code")).to_be_hidden()
    shoot(phone, "mobile-token-instant", phone=True)
    phone.locator("#mt-manual-summary").click()
    expect(phone.locator("#id_code")).to_be_visible()
    phone.locator("#mt-manual-summary").click()
    expect(phone.locator("#id_code")).to_be_hidden()
    transfer = Transfer.objects.get(initiated_by=customer)

    # A wrong Unlock Code: a code the server refuses, one failure toward the block.
    unlock.fill("482916")
    phone.locator("#mt-instant-go").click()
    # One message, by the INSTAN field where the customer typed; the manual field (folded)
    # is not marked, and the cursor is back in the Unlock Code.
    expect(phone.locator("#mt-instant-error")).to_have_text(
        re.compile(r"^Unlock Code salah atau kode ditolak")
    )
    expect(phone.locator("#mt-instant-unlock")).to_have_value("")
    expect(phone.locator("#mt-instant-unlock")).to_be_focused()
    expect(phone.locator("#mt-instant-unlock")).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#otp-error")).to_have_count(0)
    expect(phone.locator(".otp-confirm .has-error")).to_have_count(0)
    expect(phone.locator("#id_code")).not_to_have_attribute("aria-invalid", "true")
    expect(manual).not_to_have_attribute("open", "")
    expect(instant).to_contain_text("Untuk rekening berakhiran 0200 0017")
    assert User.objects.get(pk=customer.pk).otp_failure_count == 1
    transfer.refresh_from_db()
    assert transfer.status != Transfer.Status.COMPLETED
    shoot(phone, "mobile-token-instant-wrong", phone=True)

    # Too short: said on the page, nothing posted.
    phone.locator("#mt-instant-unlock").fill("4829")
    phone.locator("#mt-instant-go").click()
    expect(phone.locator("#mt-instant-error")).to_have_text(re.compile("6 digit"))

    phone.locator("#mt-instant-unlock").fill("482915")
    phone.locator("#mt-instant-go").click()
    expect(phone).to_have_url(re.compile(rf"/transfers/{transfer.reference}/$"))
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED
    assert User.objects.get(pk=customer.pk).otp_failure_count == 0
