"""Messages a person can read (issue 10 item 5): amounts in Rupiah, waits as exact times,
the login failure count never above its limit, a blocked customer told why and whom to call,
a page that says the customer logged out; and the login page's help (item 9)."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone, translation

from accounts import selectors, services
from accounts.models import AccessBlock, AuditEvent
from payments import exceptions as payment_exceptions
from portal.formatting import duration
from tests.factories import PASSWORD
from tokens import exceptions as otp_exceptions

pytestmark = pytest.mark.django_db

LOCKED = "User ID ini terkunci setelah 5 kali salah kata sandi berturut-turut. "


def login(client, user_id, password):
    return client.post("/login/", {"username": user_id, "password": password})


def text_of(response):
    return response.content.decode()


# --- Amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            payment_exceptions.TransferLimitExceeded(limit=Decimal("500000000")),
            "Jumlah melebihi batas Rp 500.000.000 per transfer.",
        ),
        (
            payment_exceptions.TransferLimitExceeded(limit=500_000_000),
            "Jumlah melebihi batas Rp 500.000.000 per transfer.",
        ),
        (
            payment_exceptions.DailyLimitExceeded(
                limit=Decimal("1000000000"), used=Decimal("999000000"), left=Decimal("1000000")
            ),
            "Rp 1.000.000.000",
        ),
    ],
)
def test_amounts_in_refusals_are_written_in_rupiah(error, expected):
    with translation.override("id"):
        shown = str(error)
    assert expected in shown
    assert "500000000" not in shown and "1000000000" not in shown


def test_a_transfer_over_the_limit_says_the_limit_in_rupiah(customer, other_customer, settings):
    from payments import services as payment_services
    from payments.models import BankAccount

    settings.TRANSFER_MAX_AMOUNT = 500_000_000
    with pytest.raises(payment_exceptions.PaymentError) as refused:
        payment_services.transfer_create(
            user=customer, source=BankAccount.objects.get(number="1001000029"),
            destination=BankAccount.objects.get(number="1002000017"),
            amount=Decimal("600000000"), description="",
        )
    with translation.override("id"):
        assert "Rp 500.000.000" in str(refused.value)
        assert "500000000" not in str(refused.value)


# --- Waits as exact times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "indonesian", "english"),
    [
        (1, "1 detik", "1 second"),
        (42, "42 detik", "42 seconds"),
        (41.2, "42 detik", "42 seconds"),
        (119, "119 detik", "119 seconds"),
        (120, "2 menit", "2 minutes"),
        (15 * 60, "15 menit", "15 minutes"),
        (14 * 60 + 1, "15 menit", "15 minutes"),
    ],
)
def test_durations_are_exact_and_never_shorter_than_the_wait(seconds, indonesian, english):
    with translation.override("id"):
        assert duration(seconds) == indonesian
    with translation.override("en"):
        assert duration(seconds) == english


def test_the_sms_limit_never_says_wait_a_while():
    from portal.formatting import duration_lazy

    error = otp_exceptions.SmsLimitReached(wait=duration_lazy(15 * 60))
    with translation.override("id"):
        assert str(error) == (
            "Terlalu banyak kode yang diminta. Anda dapat meminta kode baru dalam 15 menit."
        )
    with translation.override("en"):  # the same error, shown later in another language
        assert str(error).endswith("ask for a new one in 15 minutes.")


def test_the_address_lock_says_how_many_minutes(client, customer, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 2
    settings.LOGIN_ADDRESS_COOLOFF = 15 * 60
    for n in range(2):
        login(client, f"orang{n}", "salah")
    refused = login(client, "budi", PASSWORD)
    assert refused.status_code == 429
    assert "Coba lagi dalam 15 menit." in text_of(refused)


def test_a_locked_user_id_says_after_how_many_and_whom_to_call(client, customer, settings):
    settings.BANK_CALL_CENTRE = "1500 999"
    for _ in range(5):
        login(client, "budi", "salah-sekali")
    locked = login(client, "budi", PASSWORD)
    assert locked.status_code == 403
    assert LOCKED + "Hubungi Bank Nusantara di 1500 999 untuk membukanya." in text_of(locked)
    # An unknown User ID locks the same way and reads the same: nothing is given away.
    for _ in range(5):
        login(client, "tidak-ada", "salah-sekali")
    unknown = login(client, "tidak-ada", "salah-sekali")
    assert unknown.status_code == 403
    assert LOCKED + "Hubungi Bank Nusantara di 1500 999 untuk membukanya." in text_of(unknown)


def test_a_lock_with_a_cool_off_says_the_minutes_left(client, customer, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            login(client, "budi", "salah-sekali")
    with time_machine.travel(start + timedelta(minutes=4, seconds=30), tick=False):
        locked = login(client, "budi", PASSWORD)
    assert locked.status_code == 403
    assert LOCKED + "Coba lagi dalam 11 menit, atau hubungi Bank Nusantara di 1500 123." in (
        text_of(locked)
    )


def test_the_failure_count_never_passes_its_limit(client, customer):
    """Tries on a locked User ID are refused uncounted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_
    LOCKOUT off), and the staff's figure is at most the limit: never "6 / 5"."""
    for _ in range(8):
        login(client, "budi", "salah-sekali")
    counted = sum(AccessAttempt.objects.values_list("failures_since_start", flat=True))
    assert counted == 5
    state = selectors.access_state(user=customer)
    assert (state["login_failures"], state["login_failure_limit"]) == (5, 5)
    assert state["login_locked"]


def test_staff_never_read_more_failures_than_the_limit(customer):
    # Parallel tries counted before any of them saw the lock.
    AccessAttempt.objects.create(
        username="budi", ip_address="10.0.0.1", user_agent="a", failures_since_start=4,
        get_data="", post_data="", http_accept="", path_info="/login/",
    )
    AccessAttempt.objects.create(
        username="budi", ip_address="10.0.0.2", user_agent="b", failures_since_start=3,
        get_data="", post_data="", http_accept="", path_info="/login/",
    )
    state = selectors.access_state(user=customer)
    assert state["login_failures"] == state["login_failure_limit"] == 5


# --- A blocked customer is told why ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        (AccessBlock.Kind.LOST_PHONE, "karena ponsel Anda dilaporkan hilang atau dicuri"),
        (AccessBlock.Kind.STAFF_FLAG, "Bank memblokir akses online Anda untuk melindungi"),
        (AccessBlock.Kind.SELF_FLAG, "Anda sendiri yang memblokir akses online Anda"),
    ],
)
def test_a_flagged_customer_is_told_why_and_the_call_centre(client, customer, settings, kind, why):
    settings.BANK_CALL_CENTRE = "1500 777"
    services.access_block(user=customer, kind=kind, reason="for the test")
    refused = login(client, "budi", PASSWORD)
    assert refused.status_code == 200
    page = text_of(refused)
    assert why in page
    assert "hubungi bank nusantara di 1500 777" in page.lower()
    assert "access_blocked" in [
        e.code for e in refused.context["form"].non_field_errors().as_data()
    ]


def test_a_flag_is_not_told_to_someone_without_the_password(client, customer):
    services.access_block(user=customer, kind=AccessBlock.Kind.LOST_PHONE, reason="lost")
    refused = login(client, "budi", "bukan-kata-sandinya")
    page = text_of(refused)
    assert "dilaporkan hilang" not in page
    assert "User ID atau password salah." in page


def test_otp_blocked_names_the_call_centre(settings):
    settings.BANK_CALL_CENTRE = "1500 555"
    with translation.override("id"):
        assert "Hubungi Bank Nusantara di 1500 555" in str(otp_exceptions.OtpBlocked())


def test_the_otp_box_of_a_customer_blocked_by_wrong_codes_names_the_call_centre(
    customer_client, customer, other_customer
):
    from payments import services as payment_services
    from payments.models import BankAccount

    transfer = payment_services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("1500000"),
        description="",
    )
    services.access_block(user=customer, kind=AccessBlock.Kind.OTP_FAILURES, reason="5 wrong")
    page = text_of(customer_client.get(f"/transfers/{transfer.reference}/confirm/"))
    assert "Konfirmasi dengan One Time Password diblokir untuk User ID Anda." in page
    assert "Hubungi Bank Nusantara di 1500 123" in page


# --- Logging out -----------------------------------------------------------------------------


def test_logging_out_shows_a_page_that_says_so(customer_client, customer):
    response = customer_client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/logout/done/"
    page = customer_client.get("/logout/done/")
    assert page.status_code == 200
    assert "<h1>Anda telah keluar</h1>" in text_of(page)
    assert 'href="/login/"' in text_of(page) and "Login kembali" in text_of(page)
    assert AuditEvent.objects.filter(action="logout", subject=customer).exists()
    # Really logged out: the dashboard asks for a login.
    assert customer_client.get("/dashboard/")["Location"].startswith("/login/")


def test_the_logged_out_page_is_not_shown_to_someone_still_logged_in(customer_client):
    response = customer_client.get("/logout/done/")
    assert response.status_code == 302 and response["Location"] == "/"


# --- The login page and Bantuan ----------------------------------------------------------------


def test_the_login_page_links_help_and_shows_the_call_centre_and_fraud_warning(client, settings):
    settings.BANK_CALL_CENTRE = "1500 321"
    page = text_of(client.get("/login/"))
    assert 'href="/bantuan/"' in page
    assert "1500 321" in page
    assert "Waspada penipuan" in page
    assert "Bank Nusantara tidak pernah meminta kode OTP, PIN atau kata sandi Anda" in page


def test_help_is_public_and_says_how_otp_works_a_lost_phone_and_fraud(client, settings):
    settings.OTP_MAX_ATTEMPTS = 3
    response = client.get("/bantuan/")
    assert response.status_code == 200
    page = text_of(response)
    assert "<h1>Bantuan</h1>" in page
    assert "Cara kerja One Time Password (OTP)" in page
    assert "Setelah 3 kali salah, kode tidak berlaku lagi" in page
    assert "Bila ponsel Anda hilang atau dicuri" in page
    assert "Waspada penipuan" in page
    assert "1500 123" in page


def test_every_page_links_help_in_its_footer(customer_client):
    page = text_of(customer_client.get("/dashboard/"))
    footer = page[page.index('<footer class="site-footer'):]
    assert 'href="/bantuan/"' in footer and "1500 123" in footer
