"""After a code voided by wrong tries, "Generate OTP" waits out the resend cooldown: the page
says how long (the server's seconds, as text), the button is disabled until then, an early
press is refused with the seconds, and the page and the server agree on the figure."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from payments import services as payment_services
from payments.models import BankAccount, Payee, Transfer
from tests.conftest import outbox_code
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import exceptions, selectors, services
from tokens.models import Challenge, SmsMessage

pytestmark = pytest.mark.django_db

WAIT_RE = re.compile(r"Kirim ulang OTP dalam (\d+) detik\.")


def issue_button(page: str) -> str:
    return re.search(r'<form method="post" action="[^"]+/otp/" class="otp-issue">.*?</form>', page, re.S).group(0)


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def transfer(customer, other_customer):
    return payment_services.transfer_create(
        user=customer, source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"), amount=Decimal("1500000"),
        description="Bayar kos",
    )


def void_by_wrong_codes(client, confirm_url):
    code = outbox_code()
    for _ in range(3):
        response = client.post(confirm_url, {"code": wrong(code)})
        assert response.status_code == 200
    return response.content.decode()


def test_after_a_voided_code_the_page_counts_down_and_the_server_agrees(
    customer_client, customer, transfer, settings, django_capture_on_commit_callbacks
):
    confirm_url = f"/transfers/{transfer.reference}/confirm/"
    issue_url = f"/transfers/{transfer.reference}/otp/"
    start = timezone.now()
    with time_machine.travel(start, tick=False), django_capture_on_commit_callbacks(execute=True):
        customer_client.post(issue_url)
    with time_machine.travel(start + timedelta(seconds=18), tick=False):
        page = void_by_wrong_codes(customer_client, confirm_url)
        # The refusal of the third wrong code already says when a new one can be sent.
        assert "Terlalu banyak kode salah" in page
        assert WAIT_RE.search(page).group(1) == "42"
        form = issue_button(page)
        assert re.search(r"<button[^>]*\bdisabled\b", form)
        assert 'data-resend-in="42"' in form

        page = customer_client.get(confirm_url).content.decode()
        assert WAIT_RE.search(page).group(1) == "42"

        # An early press is refused, readably, with the same seconds; no SMS is sent.
        response = customer_client.post(issue_url, follow=True)
        assert "Anda dapat meminta kode baru dalam 42 detik" in response.content.decode()
        assert Challenge.objects.filter(user=customer).count() == 1

    with time_machine.travel(start + timedelta(seconds=59, milliseconds=500), tick=False):
        page = customer_client.get(confirm_url).content.decode()
        assert WAIT_RE.search(page).group(1) == "1"  # rounded up: never shown shorter
        with django_capture_on_commit_callbacks(execute=True):
            customer_client.post(issue_url)
        assert Challenge.objects.filter(user=customer).count() == 1

    with time_machine.travel(start + timedelta(seconds=60), tick=False):
        page = customer_client.get(confirm_url).content.decode()
        assert not WAIT_RE.search(page)
        assert not re.search(r"<button[^>]*\bdisabled\b", issue_button(page))
        with django_capture_on_commit_callbacks(execute=True):
            customer_client.post(issue_url)
        assert Challenge.objects.filter(user=customer, status=Challenge.Status.PENDING).count() == 1
        # The new code confirms the transfer.
        assert customer_client.post(confirm_url, {"code": outbox_code()}).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.COMPLETED


def test_the_payee_page_shares_the_countdown(
    customer_client, customer, other_customer, django_capture_on_commit_callbacks
):
    payee = payment_services.payee_create(
        user=customer, account=BankAccount.objects.get(number="1002000017"), nickname="Siti"
    )
    confirm_url = f"/payees/{payee.pk}/confirm/"
    with django_capture_on_commit_callbacks(execute=True):
        customer_client.post(f"/payees/{payee.pk}/otp/")
    page = void_by_wrong_codes(customer_client, confirm_url)
    seconds = int(WAIT_RE.search(page).group(1))
    assert 55 <= seconds <= 60
    assert re.search(r"<button[^>]*\bdisabled\b", issue_button(page))
    assert Payee.objects.get(pk=payee.pk).status != Payee.Status.ACTIVE


@pytest.mark.parametrize("elapsed", [0, 0.4, 1, 30, 59, 59.6, 60, 61, 300])
def test_page_figure_and_refusal_agree_at_every_moment(customer, settings, elapsed):
    """The seconds the page shows are exactly the seconds the server refuses with, and 0
    exactly when it accepts: one reckoning (selectors.sms_resend_wait) for both."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        challenge = services.challenge_issue(
            user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
        )
    with time_machine.travel(start + timedelta(seconds=elapsed), tick=False):
        shown = selectors.otp_state(user=customer, challenge=challenge).resend_in
        try:
            services.challenge_issue(
                user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
            )
        except exceptions.ResendTooSoon as refused:
            assert refused.params["seconds"] == shown > 0
        else:
            assert shown == 0
            assert elapsed >= settings.OTP_RESEND_COOLDOWN


def test_voided_challenge_keeps_its_cooldown_in_the_state(customer):
    """The bug: a voided challenge reported no wait, so the page offered a button the server
    refused."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        challenge = services.challenge_issue(
            user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
        )
    Challenge.objects.filter(pk=challenge.pk).update(status=Challenge.Status.VOIDED)
    challenge.refresh_from_db()
    with time_machine.travel(start + timedelta(seconds=20), tick=False):
        state = selectors.otp_state(user=customer, challenge=challenge)
    assert state.challenge is None  # nothing to type any more
    assert state.resend_in == 40


def test_a_failed_sms_may_be_replaced_at_once(customer):
    challenge = services.challenge_issue(
        user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
    )
    SmsMessage.objects.filter(challenge=challenge).update(status=SmsMessage.Status.UNDELIVERED)
    assert selectors.otp_state(user=customer, challenge=challenge).resend_in == 0
    services.challenge_issue(
        user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
    )


def test_sms_limit_says_the_exact_wait_and_the_page_counts_it(customer, settings):
    """Five SMS in 15 minutes: the sixth waits until the oldest of them is 15 minutes old, and
    both the refusal and the page say so in minutes (never "wait a while")."""
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_PHONE_LIMIT = 100
    start = timezone.now()
    for n in range(5):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            last = services.challenge_issue(
                user=customer, purpose="transfer", summary={**SUMMARY, "reference": f"R{n}"},
                text=TEXT, text_params=PARAMS,
            )
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        with pytest.raises(exceptions.SmsLimitReached) as refused:
            services.challenge_issue(
                user=customer, purpose="transfer", summary={**SUMMARY, "reference": "R9"},
                text=TEXT, text_params=PARAMS,
            )
        from django.utils import translation

        with translation.override("id"):
            assert str(refused.value) == (
                "Terlalu banyak kode yang diminta. Anda dapat meminta kode baru dalam 10 menit."
            )
        assert selectors.otp_state(user=customer, challenge=last).resend_in == 10 * 60
    with time_machine.travel(start + timedelta(minutes=15), tick=False):
        assert selectors.otp_state(user=customer, challenge=last).resend_in == 0
        services.challenge_issue(
            user=customer, purpose="transfer", summary={**SUMMARY, "reference": "R9"},
            text=TEXT, text_params=PARAMS,
        )


def test_a_long_wait_is_shown_in_minutes(customer_client, customer, transfer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = 1
    customer_client.post(f"/transfers/{transfer.reference}/otp/")
    page = customer_client.get(f"/transfers/{transfer.reference}/confirm/").content.decode()
    assert "Kirim ulang OTP dalam 15 menit." in page
    assert re.search(r"<button[^>]*\bdisabled\b", issue_button(page))


def test_notices_do_not_use_up_the_otp_limits(customer, settings, django_capture_on_commit_callbacks):
    """The bank's own notices (password changed, payee added, …) are not codes the customer
    asked for: after a reset and a change (code + notice each) the next transfer's code must
    still go out, not wait an hour."""
    for n in range(settings.OTP_SMS_PHONE_LIMIT):
        services.notice_send(user=customer, text=TEXT, params=PARAMS, email=False)
    assert SmsMessage.objects.filter(user=customer).count() == settings.OTP_SMS_PHONE_LIMIT
    assert selectors.otp_state(user=customer, challenge=None).resend_in == 0
    services.challenge_issue(
        user=customer, purpose="transfer", summary=SUMMARY, text=TEXT, text_params=PARAMS
    )
