"""A Mobile Token code goes through the one verify path (``challenge_verify``), like a hardware
token's: the time window, one code per step, the destination's digits ("APPLI 2"), the OTP
block, de-registration and a replaced phone (docs/mobile-token-design.md §2.3, §4.2)."""

from decimal import Decimal
from uuid import UUID

import pytest
from django_otp import DEVICE_ID_SESSION_KEY

from accounts import services as account_services
from accounts.models import AccessBlock, AuditEvent, User
from payments import services as payments
from payments.models import BankAccount, LedgerEntry, Transfer
from tests.conftest import needs_postgres
from tests.payments.test_concurrency import run_at_once
from tests.tokens import intent
from tests.tokens.conftest import token_make
from tests.tokens.test_mobile_services import register
from tokens import exceptions, hardware, mobile, selectors, services
from tokens.models import Challenge, MobileDevice, SMSDevice

SEED = bytes(range(32))
DEVICE = UUID("00112233-4455-6677-8899-aabbccddeeff")
PIN = "482915"
WRONG_PIN = "482916"
KEY = mobile.unlock_key(SEED, DEVICE, PIN)
WRONG_KEY = mobile.unlock_key(SEED, DEVICE, WRONG_PIN)
T = 56666666
LINK = "02000017"  # the last 8 digits of intent.SUMMARY's destination, 1002000017


@pytest.fixture
def clock(monkeypatch):
    """The Mobile Token's clock, in the middle of step ``clock.t``."""

    class Clock:
        t = T

        def __call__(self):
            return self.t * 30 + 13

    now = Clock()
    monkeypatch.setattr(mobile, "_now", now)
    return now


def device_make(user, key=KEY, public_id=DEVICE, name="Pixel 8"):
    device = MobileDevice.objects.create(
        user=user,
        name=name,
        confirmed=True,
        public_id=public_id,
        sealed_key=hardware.seed_seal(key),
    )
    User.objects.filter(pk=user.pk).update(confirmation_method=User.ConfirmationMethod.MOBILE_TOKEN)
    user.confirmation_method = User.ConfirmationMethod.MOBILE_TOKEN
    return device


@pytest.fixture
def mobile_user(customer):
    device_make(customer)
    return customer


def confirm(user, code, *, reference="TRF1", purpose="transfer", summary=None):
    """Confirm one intent (a transfer to ****0017 unless told) with ``code``."""
    summary = summary or {**intent.SUMMARY, "reference": reference}
    with services.challenge_verify(user=user, purpose=purpose, summary=summary, code=code):
        pass


def code(t, key=KEY, link=LINK):
    return mobile.code_for(key, t, link)


def failures(user) -> int:
    return AuditEvent.objects.filter(action=AuditEvent.Action.OTP_FAILED, subject=user).count()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_the_step_before_now_and_after_are_accepted(mobile_user, clock, offset):
    confirm(mobile_user, code(T + offset))
    device = MobileDevice.objects.get()
    assert device.last_t == T + offset and device.last_used_at is not None
    challenge = Challenge.objects.get()
    assert challenge.channel == "mobile_token" and challenge.status == "consumed"
    assert failures(mobile_user) == 0


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [-2, 2, -30, 1000])
def test_steps_further_away_are_refused(mobile_user, clock, offset):
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(mobile_user, code(T + offset))
    assert MobileDevice.objects.get().last_t == -1
    assert failures(mobile_user) == 1


@pytest.mark.django_db
def test_a_code_is_accepted_once(mobile_user, clock):
    confirm(mobile_user, code(T), reference="TRF1")
    # The same code for another transfer to the same account: a replay, counted and audited.
    with pytest.raises(exceptions.MobileCodeReused):
        confirm(mobile_user, code(T), reference="TRF2")
    mobile_user.refresh_from_db()
    assert mobile_user.otp_failure_count == 1
    reused = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_CODE_REUSED)
    assert reused.data["device"] == str(DEVICE) and reused.data["purpose"] == "transfer"
    # An earlier step is gone too (never a step at or before the last one accepted) ...
    with pytest.raises(exceptions.MobileCodeReused):
        confirm(mobile_user, code(T - 1), reference="TRF3")
    # ... and the next step's code works.
    confirm(mobile_user, code(T + 1), reference="TRF4")
    mobile_user.refresh_from_db()
    assert mobile_user.otp_failure_count == 0


@pytest.mark.django_db
def test_a_code_for_another_destination_is_refused(mobile_user, clock):
    for link in ("12345678", "02000018", "00000017"):
        with pytest.raises(exceptions.MobileWrongCode):
            confirm(mobile_user, code(T, link=link))
    assert MobileDevice.objects.get().last_t == -1
    # The destination's digits are the stored summary's, not the form's: the code made for
    # them is the one accepted.
    confirm(mobile_user, code(T, link=mobile.link_for(purpose="transfer", summary=intent.SUMMARY)))


@pytest.mark.django_db
def test_a_plain_code_is_refused_for_money_and_a_linked_one_for_anything_else(mobile_user, clock):
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(mobile_user, code(T, link=""))
    summary = {"phone": "+6281311112222"}
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(mobile_user, code(T, link=LINK), purpose="phone_change", summary=summary)
    confirm(mobile_user, code(T, link=""), purpose="phone_change", summary=summary)


@pytest.mark.django_db
def test_five_wrong_unlock_codes_block_and_only_an_unblock_opens_again(mobile_user, clock):
    wrong = code(T, key=WRONG_KEY)
    for _ in range(4):
        with pytest.raises(exceptions.MobileWrongCode):
            confirm(mobile_user, wrong)
    with pytest.raises(exceptions.OtpBlocked):
        confirm(mobile_user, wrong)
    assert AccessBlock.objects.filter(user=mobile_user, kind="otp_failures").active().exists()
    # The right code is not even compared now.
    with pytest.raises(exceptions.OtpBlocked):
        confirm(mobile_user, code(T))
    assert MobileDevice.objects.get().last_t == -1
    assert failures(mobile_user) == 5

    account_services.access_unblock(user=mobile_user, reason="nasabah menelepon")
    clock.t = T + 1
    confirm(mobile_user, code(T + 1))
    assert MobileDevice.objects.get().last_t == T + 1


@pytest.mark.django_db
def test_a_transfer_is_confirmed_with_a_code_over_its_destination(
    mobile_user, other_customer, clock
):
    transfer = payments.transfer_create(
        user=mobile_user,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal("250000"),
        description="",
    )
    # No SMS for a Mobile Token user: the page shows the digits to sign instead.
    with pytest.raises(exceptions.MobileMakesTheCode):
        payments.transfer_challenge_issue(transfer=transfer)
    context = selectors.mobile_confirm_context(
        user=mobile_user, purpose="transfer", summary=payments.transfer_intent(transfer)
    )
    assert context == {"device": str(DEVICE), "link": "02000017"}
    with pytest.raises(exceptions.MobileWrongCode):
        payments.transfer_confirm(transfer=transfer, code=code(T, link="02000018"))
    done = payments.transfer_confirm(transfer=transfer, code=code(T, link=context["link"]))
    assert done.status == Transfer.Status.COMPLETED
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2


@pytest.mark.django_db
def test_revoked_device_codes_are_refused_and_the_session_loses_it(
    mobile_user, customer_client, clock
):
    device = MobileDevice.objects.get()
    assert services.session_device_for(user=mobile_user) == device
    session = customer_client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    customer_client.get("/")
    assert customer_client.session.get(DEVICE_ID_SESSION_KEY) == device.persistent_id

    mobile.device_revoke(device=device, actor=mobile_user, reason="customer")

    # django-otp drops the device from the session at the next request: not verified any more.
    customer_client.get("/")
    assert DEVICE_ID_SESSION_KEY not in customer_client.session
    assert not mobile.device_code_verify(device=device, code=code(T), link=LINK)
    mobile_user.refresh_from_db()
    # Back to SMS: a typed code needs an SMS sent for it, and the device is not asked.
    with pytest.raises(exceptions.NoChallenge):
        confirm(mobile_user, code(T))
    assert isinstance(services.session_device_for(user=mobile_user), SMSDevice)
    assert (
        selectors.mobile_confirm_context(user=mobile_user, purpose="transfer", summary=None) is None
    )
    assert MobileDevice.objects.get().last_t == -1


@pytest.mark.django_db
def test_a_mobile_user_whose_device_is_gone_confirms_nothing(mobile_user, clock):
    MobileDevice.objects.update(revoked_at="2026-12-01T00:00:00Z")  # data out of step
    with pytest.raises(exceptions.NoUsableToken):
        confirm(mobile_user, code(T))
    state = selectors.otp_state(user=mobile_user, challenge=None)
    assert state.channel == ""


@pytest.mark.django_db
def test_a_second_phone_replaces_the_first(mobile_user, clock):
    first = MobileDevice.objects.get()
    second, second_key = register(mobile_user, pin="730461", label="Phone baru")
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(mobile_user, code(T), reference="TRF1")
    first.refresh_from_db()
    assert first.revoke_reason == "replaced" and first.last_t == -1
    confirm(mobile_user, code(T, key=second_key), reference="TRF2")
    second.refresh_from_db()
    assert second.last_t == T
    assert services.session_device_for(user=mobile_user) == second


@pytest.mark.django_db
def test_what_the_pages_read(mobile_user, other_customer, clock):
    state = selectors.otp_state(user=mobile_user, challenge=None)
    assert state.channel == "mobile_token" and state.challenge is None
    assert selectors.mobile_factor_channel(user=mobile_user) == "sms"
    assert selectors.mobile_device_for(user=mobile_user) == MobileDevice.objects.get()
    assert selectors.mobile_confirm_context(
        user=mobile_user, purpose="payee_add", summary={"x": 1}
    ) == {"device": str(DEVICE), "link": ""}
    # Someone else: no Mobile Token context; a hardware-token user's factor is the token.
    assert selectors.mobile_device_for(user=other_customer) is None
    assert (
        selectors.mobile_confirm_context(
            user=other_customer, purpose="transfer", summary=intent.SUMMARY
        )
        is None
    )
    assert selectors.mobile_factor_channel(user=other_customer) == "sms"
    token_make(serial="FT20000001", state="active", user=other_customer)
    User.objects.filter(pk=other_customer.pk).update(confirmation_method="hardware_token")
    other_customer.refresh_from_db()
    assert selectors.mobile_factor_channel(user=other_customer) == "hardware_token"
    assert services.policy_for("mobile_deregistration") == "per_transaction"


@pytest.mark.django_db
def test_registration_and_deregistration_go_by_sms_for_a_mobile_user(mobile_user, clock):
    """The Mobile Token never confirms its own (de-)registration: an SMS to the phone does."""
    summary = {"device": str(DEVICE)}
    challenge = services.challenge_issue(
        user=mobile_user,
        purpose="mobile_deregistration",
        summary=summary,
        text="x",
        text_params={},
        to=mobile_user.phone,
    )
    assert challenge.channel == "sms"
    # A Mobile Token code does not confirm it ...
    with (
        pytest.raises(exceptions.WrongCode),
        services.challenge_verify(
            user=mobile_user,
            purpose="mobile_deregistration",
            summary=summary,
            code=code(T, link=""),
            challenge=challenge,
            by_sms=True,
        ),
    ):
        pass
    # ... the SMS code does.
    with services.challenge_verify(
        user=mobile_user,
        purpose="mobile_deregistration",
        summary=summary,
        code=services.code_generator.code(challenge),
        challenge=challenge,
        by_sms=True,
    ) as checked:
        assert checked.pk == challenge.pk
    assert MobileDevice.objects.get().last_t == -1


@pytest.mark.django_db
def test_another_users_device_never_checks_a_code(mobile_user, other_customer, clock):
    other_key = mobile.unlock_key(SEED, UUID(int=7), PIN)
    device_make(other_customer, key=other_key, public_id=UUID(int=7))
    # Each user's code is checked against their own device only.
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(other_customer, code(T))
    confirm(other_customer, code(T, key=other_key))
    confirm(mobile_user, code(T))


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "٤٨٢٩١٥", " " * 6])
def test_malformed_codes_are_wrong_codes(mobile_user, clock, typed):
    with pytest.raises(exceptions.MobileWrongCode):
        confirm(mobile_user, typed)


# --- Parallel requests (PostgreSQL) -----------------------------------------------------------


def pending(user, amount="250000"):
    return payments.transfer_create(
        user=user,
        source=BankAccount.objects.get(number="1001000011"),
        destination=BankAccount.objects.get(number="1002000017"),
        amount=Decimal(amount),
        description="",
    )


def fresh(transfer):
    return Transfer.objects.select_related(
        "source", "destination", "challenge", "initiated_by"
    ).get(pk=transfer.pk)


@pytest.mark.usefixtures("other_customer")
@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_forty_parallel_wrong_mobile_codes_compare_at_most_five(mobile_user, clock):
    transfer = pending(mobile_user)
    wrong = code(T, key=WRONG_KEY)

    results = run_at_once(
        40, lambda _: payments.transfer_confirm(transfer=fresh(transfer), code=wrong)
    )

    assert all(isinstance(r, exceptions.OtpError) for r in results), results
    assert failures(mobile_user) == 5
    mobile_user.refresh_from_db()
    assert mobile_user.otp_failure_count == 5
    assert AccessBlock.objects.filter(user=mobile_user, kind="otp_failures").active().count() == 1
    with pytest.raises(exceptions.OtpBlocked):
        payments.transfer_confirm(transfer=fresh(transfer), code=code(T))
    assert not LedgerEntry.objects.exists()
    assert MobileDevice.objects.get().last_t == -1


@pytest.mark.usefixtures("other_customer")
@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_code_for_two_transfers_at_once_moves_money_once(mobile_user, clock):
    transfers = [pending(mobile_user, "1000"), pending(mobile_user, "2000")]

    results = run_at_once(
        2, lambda i: payments.transfer_confirm(transfer=fresh(transfers[i]), code=code(T))
    )

    done = [r for r in results if isinstance(r, Transfer)]
    replayed = [r for r in results if isinstance(r, exceptions.MobileCodeReused)]
    assert len(done) == 1 and len(replayed) == 1, results
    assert LedgerEntry.objects.count() == 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.TOKEN_CODE_REUSED).count() == 1


@pytest.mark.usefixtures("other_customer")
@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_double_submit_of_one_code_confirms_once_and_counts_nothing(mobile_user, clock):
    transfer = pending(mobile_user)

    results = run_at_once(
        2, lambda _: payments.transfer_confirm(transfer=fresh(transfer), code=code(T))
    )

    assert all(isinstance(r, Transfer) for r in results), results
    assert LedgerEntry.objects.filter(transfer=transfer).count() == 2
    assert failures(mobile_user) == 0
