"""What a customer sees when the bank says no at confirmation: a limit reached (the receipt
says why and that nothing moved) and OTP blocked (the page says so and offers no form)."""

import re
from decimal import Decimal

import pytest
from django.utils import translation
from playwright.sync_api import expect

from accounts import services as account_services
from accounts.models import AccessBlock
from payments import services
from payments.models import BankAccount, Transfer
from tests.conftest import needs_chromium, outbox_code
from tests.e2e.conftest import login, shoot
from tests.factories import PASSWORD
from tokens import exceptions as otp_exceptions

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


def pending_transfer(customer, amount):
    return services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal(amount),
        description="Bayar kos",
    )


def test_a_limit_reached_at_confirmation_ends_on_the_receipt(
    new_page, live_server, customer, other_customer, settings
):
    transfer = pending_transfer(customer, "3000000")
    settings.TRANSFER_DAILY_LIMIT = 2_000_000  # lowered after the transfer was made
    page = new_page(locale="id-ID")
    login(page, live_server.url, "budi", PASSWORD)
    page.goto(f"{live_server.url}/transfers/{transfer.reference}/confirm/")
    page.locator("form.otp-issue button[type=submit]").click()
    page.locator("#id_code").fill(outbox_code())
    page.locator("form.otp-confirm button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/transfers/{transfer.reference}/$"))
    expect(page.locator(".messages")).to_contain_text("Rp 2.000.000")
    with translation.override("id"):
        reason = str(Transfer.FAILURE_REASONS["daily_limit"])
    expect(page.locator(".summary")).to_contain_text(reason)
    expect(page.locator("#id_code")).to_have_count(0)
    shoot(page, "20-refused-daily-limit-receipt", phone=True)
    assert BankAccount.objects.get(number="1001000011").balance == Decimal("15000000.00")


def test_a_blocked_customer_is_told_and_offered_no_form(
    new_page, live_server, customer, other_customer
):
    transfer = pending_transfer(customer, "1500000")
    account_services.access_block(
        user=customer, kind=AccessBlock.Kind.OTP_FAILURES, reason="5 consecutive wrong OTPs"
    )
    page = new_page(locale="id-ID")
    login(page, live_server.url, "budi", PASSWORD)
    page.goto(f"{live_server.url}/transfers/{transfer.reference}/confirm/")
    with translation.override("id"):
        message = str(otp_exceptions.OtpBlocked())
    expect(page.locator(".otp-box [role=alert]")).to_have_text(message)
    expect(page.locator("#id_code")).to_have_count(0)
    expect(page.locator("form.otp-issue")).to_have_count(0)
    shoot(page, "21-otp-blocked", phone=True)
