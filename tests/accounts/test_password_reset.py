"""Forgotten password ("Lupa Password?", issue 10 item 4) through the real views: identity
(User ID, birth date, account number), an SMS OTP, a new password. No enumeration, throttled
per User ID and per address, a blocked customer sent to the bank, every session ended, the
customer told, audited."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone, translation

from accounts import exceptions as account_exceptions
from accounts.models import AccessBlock, AuditEvent, PasswordReset, User
from tests.conftest import needs_postgres, outbox_code
from tests.factories import PASSWORD, UserFactory
from tokens import exceptions as otp_exceptions
from tokens.models import Challenge, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sandi-Baru-Budi-77"
GOOD = {"user_id": "budi", "birth_date": "17/08/1988", "account_number": "1001000011"}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def text(exc_class, **params):
    with translation.override("id"):
        return str(exc_class(**params))


def wrong(code):
    return f"{(int(code) + 1) % 10**6:06d}"


def page(response) -> str:
    """The page's text without what differs per request (CSRF token)."""
    return CSRF.sub("", response.content.decode())


@pytest.fixture
def ask(run_on_commit):
    """Post step 1 from ``client`` (a fresh anonymous one by default) and follow nothing."""

    def post(data, client=None, ip="203.0.113.7"):
        client = client or Client()
        response = run_on_commit(
            client.post, "/lupa-password/", data, REMOTE_ADDR=ip
        )
        return client, response

    return post


def test_login_page_links_to_forgotten_password(client):
    assert 'href="/lupa-password/"' in client.get("/login/").content.decode()


def test_whole_flow_resets_the_password_ends_sessions_and_tells(customer, ask, run_on_commit):
    logged_in = Client()
    assert logged_in.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    assert logged_in.get("/dashboard/").status_code == 200

    client, response = ask(GOOD)
    assert response.status_code == 302 and response["Location"] == "/lupa-password/kode/"
    sms = OutboxMessage.objects.get()
    assert sms.to == "+6281234565678"
    challenge = Challenge.objects.get()
    assert challenge.purpose == "password_reset" and challenge.channel == "sms"

    response = client.post("/lupa-password/kode/", {"code": outbox_code()})
    assert response.status_code == 302 and response["Location"] == "/lupa-password/baru/"
    assert client.get("/lupa-password/baru/").status_code == 200
    mail.outbox.clear()
    response = run_on_commit(
        client.post,
        "/lupa-password/baru/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/lupa-password/selesai/"

    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD) and not customer.check_password(PASSWORD)
    # The other browser's session ended: no session is the customer's any more.
    assert customer.session_key == ""
    response = logged_in.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    # Told by SMS (no code in it) and email.
    notice = OutboxMessage.objects.first()
    assert "kata sandi" in notice.body.lower() and not re.search(r"\b\d{6}\b", notice.body)
    assert [m.to for m in mail.outbox] == [["budi@example.co.id"]]
    assert "kata sandi" in mail.outbox[0].body.lower()
    # Audited: asked (matched) and reset; never the birth date or the account number.
    asked = AuditEvent.objects.get(action=AuditEvent.Action.PASSWORD_RESET_ASKED)
    assert asked.subject == customer and asked.data["matched"] is True
    assert "1001000011" not in str(asked.data) and "1988" not in str(asked.data)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.PASSWORD_RESET, subject=customer
    ).exists()
    # And the new password logs in.
    assert Client().post("/login/", {"username": "budi", "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    "data",
    [
        {**GOOD, "birth_date": "18/08/1988"},
        {**GOOD, "account_number": "1002000017"},  # siti's account
        {**GOOD, "user_id": "nobody"},
    ],
    ids=["wrong-birth-date", "another-customers-account", "unknown-user-id"],
)
@time_machine.travel("2026-12-01 09:00 +0700", tick=False)  # the pages show seconds to wait
def test_no_enumeration_same_flow_whether_or_not_the_data_match(
    customer, other_customer, ask, data
):
    """Every step answers the same for matching and non-matching data: status, where it
    leads, the page's text, the refusal of a wrong code, and the voiding after three."""
    good_client, good = ask(GOOD)
    bad_client, bad = ask(data)
    assert (good.status_code, good["Location"]) == (bad.status_code, bad["Location"])
    assert page(good_client.get(good["Location"])) == page(bad_client.get(bad["Location"]))
    # Only the matching customer got an SMS.
    assert OutboxMessage.objects.count() == 1
    code = outbox_code()
    for _ in range(3):
        answers = [
            c.post("/lupa-password/kode/", {"code": wrong(code)}) for c in (good_client, bad_client)
        ]
        assert answers[0].status_code == answers[1].status_code == 200
        assert page(answers[0]) == page(answers[1])
    assert text(otp_exceptions.ChallengeVoided) in page(answers[0])
    # "Generate OTP" again says the same, cooldown included.
    answers = [c.post("/lupa-password/kode/kirim/") for c in (good_client, bad_client)]
    assert [a["Location"] for a in answers] == ["/lupa-password/kode/"] * 2
    assert page(good_client.get("/lupa-password/kode/")) == page(bad_client.get("/lupa-password/kode/"))
    # The non-matching reset never reaches the new-password step, whatever is typed.
    assert bad_client.post("/lupa-password/kode/", {"code": code}).status_code == 200
    assert bad_client.get("/lupa-password/baru/")["Location"] == "/lupa-password/"


def test_non_matching_codes_do_not_block_the_customer(customer, ask):
    """A stranger who knows only the User ID cannot block the customer's OTP by guessing."""
    client, _ = ask({**GOOD, "birth_date": "01/01/1990"})
    for _ in range(3):
        client.post("/lupa-password/kode/", {"code": "123456"})
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0 and not customer.access_blocks.exists()


def test_wrong_codes_of_a_real_reset_never_block_the_customer(customer, ask, settings):
    """Someone who knows the three facts must not be able to block the customer's OTP (and
    learn from the bank page that they matched): wrong reset codes count on the challenge and
    on the reset only, and after OTP_MAX_CONSECUTIVE_FAILURES the reset is dead, answered as a
    non-matching reset is."""
    for round_ in range(2):
        client, response = ask(GOOD, ip=f"198.51.100.{round_ + 1}")
        assert response["Location"] == "/lupa-password/kode/"
        code = outbox_code()
        for _ in range(3):
            client.post("/lupa-password/kode/", {"code": wrong(code)})
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0 and not customer.access_blocks.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED, subject=customer).exists()
    _, response = ask(GOOD, ip="198.51.100.9")
    assert response["Location"] == "/lupa-password/kode/"


@time_machine.travel("2026-12-01 09:00 +0700", tick=False)
def test_a_real_reset_dies_after_the_failure_limit_like_a_false_one(
    customer, ask, settings, run_on_commit
):
    settings.OTP_RESEND_COOLDOWN = 0
    good_client, _ = ask(GOOD)
    bad_client, _ = ask({**GOOD, "birth_date": "01/01/1990"})
    answers = {}
    for name, client in (("good", good_client), ("bad", bad_client)):
        for n in range(settings.OTP_MAX_CONSECUTIVE_FAILURES):
            if n and n % settings.OTP_MAX_ATTEMPTS == 0:
                run_on_commit(client.post, "/lupa-password/kode/kirim/")
            answer = client.post("/lupa-password/kode/", {"code": "000000"})
        answers[name] = page(answer)
    assert answers["good"] == answers["bad"]
    assert text(otp_exceptions.OtpBlocked) in answers["good"]
    # Even the right code no longer opens the new-password step of the dead reset.
    run_on_commit(good_client.post, "/lupa-password/kode/kirim/")
    good_client.post("/lupa-password/kode/", {"code": outbox_code()})
    assert good_client.get("/lupa-password/baru/")["Location"] == "/lupa-password/"
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0 and not customer.access_blocks.exists()


def test_throttled_per_user_id(customer, ask, settings):
    settings.PASSWORD_RESET_USER_LIMIT = 3
    for n in range(3):
        # Matching or not, from different addresses: every try counts for the User ID.
        data = GOOD if n == 0 else {**GOOD, "birth_date": "01/01/1990"}
        _, response = ask(data, ip=f"198.51.100.{n + 1}")
        assert response.status_code == 302
    _, response = ask(GOOD, ip="198.51.100.99")
    assert response.status_code == 429
    with translation.override("id"):
        assert "Terlalu banyak" in response.content.decode() or "60 menit" in response.content.decode()
    # Another User ID is not held back by budi's tries.
    _, response = ask({**GOOD, "user_id": "siti"}, ip="198.51.100.99")
    assert response.status_code == 302
    # Once the window has passed, budi may try again.
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_WINDOW + 1)):
        _, response = ask(GOOD, ip="198.51.100.99")
    assert response.status_code == 302


def test_throttled_per_address(customer, ask, settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 3
    for n in range(3):
        _, response = ask({**GOOD, "user_id": f"tebak{n}"}, ip="203.0.113.50")
        assert response.status_code == 302
    _, response = ask(GOOD, ip="203.0.113.50")
    assert response.status_code == 429
    assert OutboxMessage.objects.count() == 0  # the throttled try sent nothing
    _, response = ask(GOOD, ip="203.0.113.51")
    assert response.status_code == 302


@pytest.mark.parametrize("kind", [AccessBlock.Kind.LOST_PHONE, AccessBlock.Kind.OTP_FAILURES])
@time_machine.travel("2026-12-01 09:00 +0700", tick=False)
def test_blocked_customer_is_sent_to_the_bank_by_their_own_channels(
    customer, ask, kind, settings, run_on_commit
):
    """A blocked or flagged customer gets no code: the customer is told to call the bank by
    email (and by SMS unless the phone is the one reported lost). The web answer is the one
    any non-matching data get, so the page never tells a stranger that the data matched."""
    AccessBlock.objects.create(user=customer, kind=kind, reason="test")
    client, response = ask(GOOD)
    other_client, other = ask({**GOOD, "account_number": "9999999999"})
    assert response["Location"] == other["Location"] == "/lupa-password/kode/"
    assert page(client.get(response["Location"])) == page(other_client.get(other["Location"]))
    assert settings.BANK_CALL_CENTRE in page(client.get(response["Location"]))
    assert not Challenge.objects.exists()
    assert len(mail.outbox) == 1 and settings.BANK_CALL_CENTRE in mail.outbox[0].body
    sms = list(OutboxMessage.objects.all())
    if kind == AccessBlock.Kind.LOST_PHONE:
        assert sms == []
    else:
        assert len(sms) == 1 and settings.BANK_CALL_CENTRE in sms[0].body
        assert not re.search(r"\b\d{6}\b", sms[0].body)
    # Codes typed for it are answered like those of data that did not match.
    assert page(client.post("/lupa-password/kode/", {"code": "123456"})) == page(
        other_client.post("/lupa-password/kode/", {"code": "123456"})
    )


def test_code_for_another_purpose_does_not_work(customer, ask, customer_client):
    """A code issued for a transfer (or any other intent) cannot confirm the reset."""
    from tokens import services as otp_services

    client, _ = ask(GOOD)
    other = otp_services.challenge_issue(
        user=customer, purpose="add_payee", summary={"x": 1}, text="x", text_params={}
    )
    response = client.post(
        "/lupa-password/kode/", {"code": otp_services.code_generator.code(other)}
    )
    assert response.status_code == 200
    assert PasswordReset.objects.get(user=customer).state == PasswordReset.State.ASKED


def test_new_password_step_needs_the_code_and_is_used_once(customer, ask, run_on_commit):
    client, _ = ask(GOOD)
    response = client.get("/lupa-password/baru/")
    assert response.status_code == 302 and response["Location"] == "/lupa-password/"
    client, _ = ask(GOOD)
    client.post("/lupa-password/kode/", {"code": outbox_code()})
    form = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert run_on_commit(client.post, "/lupa-password/baru/", form)["Location"] == (
        "/lupa-password/selesai/"
    )
    # Once: the same browser cannot set another password with that reset.
    again = client.post("/lupa-password/baru/", {**form, "new_password1": "Lain-Sandi-88x"})
    assert again["Location"] == "/lupa-password/"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)


def test_new_password_follows_the_password_rules(customer, ask):
    client, _ = ask(GOOD)
    client.post("/lupa-password/kode/", {"code": outbox_code()})
    response = client.post("/lupa-password/baru/", {"new_password1": "budi", "new_password2": "budi"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_expired_reset_is_refused(customer, ask, settings):
    client, _ = ask(GOOD)
    client.post("/lupa-password/kode/", {"code": outbox_code()})
    later = timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_LIFETIME + 1)
    with time_machine.travel(later):
        response = client.post(
            "/lupa-password/baru/",
            {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert response.status_code == 302 and response["Location"] == "/lupa-password/"
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)


def test_reset_lifts_the_login_lock_after_wrong_passwords(customer, ask, settings, run_on_commit):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/login/", {"username": "budi", "password": "salah-salah"})
    assert Client().post("/login/", {"username": "budi", "password": PASSWORD}).status_code != 302
    client, _ = ask(GOOD)
    client.post("/lupa-password/kode/", {"code": outbox_code()})
    run_on_commit(
        client.post,
        "/lupa-password/baru/",
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert Client().post("/login/", {"username": "budi", "password": NEW_PASSWORD}).status_code == 302


def test_token_user_gets_the_code_by_sms_too(customer, ask):
    User.objects.filter(pk=customer.pk).update(confirmation_method="hardware_token")
    _, response = ask(GOOD)
    assert response["Location"] == "/lupa-password/kode/"
    assert OutboxMessage.objects.get().to == "+6281234565678"


def test_staff_cannot_reset_online(ask):
    staff = UserFactory(user_id="petugas", is_staff=True)
    from tests.factories import BankAccountFactory

    BankAccountFactory(owner=staff, number="1009000011")
    _, response = ask({"user_id": "petugas", "birth_date": "17/08/1988", "account_number": "1009000011"})
    assert response["Location"] == "/lupa-password/kode/"
    assert not SmsMessage.objects.exists()


@pytest.mark.parametrize("language", ["id", "en"])
def test_code_and_notice_sms_are_one_plain_segment(customer, ask, run_on_commit, language):
    """The reset's code SMS and the notices of a reset and a change fit one GSM-7 segment."""
    from accounts import services as account_services
    from tests.tokens.test_sms_text import GSM7
    from tokens import services as otp_services
    from tokens.services import code_generator, sms_body

    User.objects.filter(pk=customer.pk).update(language=language)
    customer.refresh_from_db()
    ask(GOOD)
    challenge = Challenge.objects.select_related("user").get()
    bodies = [sms_body(challenge, code_generator.code(challenge))]
    for notice in (account_services.PASSWORD_RESET_TEXT, account_services.PASSWORD_CHANGED_TEXT):
        message = run_on_commit(otp_services.notice_send, user=customer, text=notice, params={})
        bodies.append(OutboxMessage.objects.filter(to=message.to).first().body)
    for body in bodies:
        assert body.startswith("Bank Nusantara:") and len(body) <= 160, (len(body), body)
        assert set(body) <= GSM7, set(body) - GSM7


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("by", ["user_id", "address"])
def test_parallel_tries_cannot_pass_the_limits(customer, settings, by):
    """Parallel tries are counted one after another: all of them reach the identity check at
    the same moment if nothing serialises them (the barrier), and only the limit pass."""
    import contextlib
    import threading

    from accounts import services as account_services
    from tests.payments.test_concurrency import run_at_once

    settings.PASSWORD_RESET_USER_LIMIT = settings.PASSWORD_RESET_ADDRESS_LIMIT = 2
    count = 5
    together = threading.Barrier(count, timeout=1)

    def account_held(*, user, number):
        # Serialised, the barrier breaks: the others wait for the lock, not here.
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait()
        return False

    def try_once(i):
        return account_services.password_reset_request(
            user_id="budi" if by == "user_id" else f"tebak{i}",
            birth_date=None,
            account_number="1001000011",
            ip=f"198.51.100.{i + 1}" if by == "user_id" else "203.0.113.9",
            account_held=account_held,
        )

    results = run_at_once(count, try_once)
    refused = [r for r in results if isinstance(r, account_exceptions.PasswordResetThrottled)]
    assert len(refused) == count - 2, results
    assert PasswordReset.objects.count() == 2
