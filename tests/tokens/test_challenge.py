"""The OTP core: issue and verify a challenge bound to an intent."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccessBlock, AuditEvent
from tests.tokens.intent import PARAMS, SUMMARY, TEXT
from tokens import exceptions, services
from tokens.models import Challenge, OutboxMessage, SmsMessage


def issue(user, summary=SUMMARY, purpose="transfer"):
    return services.challenge_issue(
        user=user, purpose=purpose, summary=summary, text=TEXT, text_params=PARAMS
    )


def confirm(user, challenge, code, summary=SUMMARY, purpose="transfer"):
    """Verify around an action that records it ran; returns whether it ran."""
    ran = []
    with services.challenge_verify(
        user=user, challenge=challenge, purpose=purpose, summary=summary, code=code
    ):
        ran.append(True)
    return bool(ran)


def wrong(code):
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def challenge(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return issue(customer)


def test_code_is_derived_not_stored(challenge):
    code = services.code_generator.code(challenge)
    assert len(code) == 6 and code.isdigit()
    row = Challenge.objects.filter(pk=challenge.pk).values().get()
    assert code not in str(row)
    assert code not in str(list(SmsMessage.objects.values()))
    assert code not in str(list(AuditEvent.objects.values()))
    # The development outbox is the one place the code is written: it plays the phone.
    assert code in OutboxMessage.objects.get().body


def test_codes_differ_per_challenge_and_key(customer, challenge, settings):
    other = Challenge.objects.create(
        user=customer, purpose="transfer", intent_digest="x", salt="00" * 16,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert services.code_generator.code(other) != services.code_generator.code(challenge)
    before = services.code_generator.code(challenge)
    settings.OTP_SMS_KEY = "another-key"
    assert services.code_generator.code(challenge) != before


def test_sms_names_amount_masked_destination_and_warns(challenge):
    body = OutboxMessage.objects.get().body
    assert "Rp 1.500.000" in body and "****0017" in body
    assert "1002000017" not in body


def test_right_code_confirms_once(customer, challenge):
    code = services.code_generator.code(challenge)
    assert confirm(customer, challenge, code)
    challenge.refresh_from_db()
    assert challenge.status == Challenge.Status.CONSUMED
    with pytest.raises(exceptions.ChallengeUsed):
        confirm(customer, challenge, code)


def test_code_for_another_intent_is_refused(customer, challenge):
    code = services.code_generator.code(challenge)
    other = {**SUMMARY, "amount": "9500000.00"}
    with pytest.raises(exceptions.IntentMismatch):
        confirm(customer, challenge, code, summary=other)
    with pytest.raises(exceptions.IntentMismatch):
        confirm(customer, challenge, code, purpose="add_payee")
    customer.refresh_from_db()
    assert customer.otp_failure_count == 2
    assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.PENDING


def test_code_of_another_customer_is_refused(customer, other_customer, challenge):
    code = services.code_generator.code(challenge)
    with pytest.raises(exceptions.IntentMismatch):
        confirm(other_customer, challenge, code)


def test_expired_code_is_refused(customer, challenge):
    code = services.code_generator.code(challenge)
    with time_machine.travel(timezone.now() + timedelta(seconds=301)), pytest.raises(
        exceptions.ChallengeExpired
    ):
        confirm(customer, challenge, code)


def test_three_wrong_tries_void_the_code(customer, challenge):
    code = services.code_generator.code(challenge)
    with pytest.raises(exceptions.WrongCode) as first:
        confirm(customer, challenge, wrong(code))
    assert first.value.params == {"remaining": 2}
    with pytest.raises(exceptions.WrongCode):
        confirm(customer, challenge, wrong(code))
    with pytest.raises(exceptions.ChallengeVoided):
        confirm(customer, challenge, wrong(code))
    with pytest.raises(exceptions.ChallengeVoided):
        confirm(customer, challenge, code)
    assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.VOIDED


def test_action_failure_leaves_code_unused(customer, challenge):
    code = services.code_generator.code(challenge)
    with pytest.raises(RuntimeError), services.challenge_verify(
        user=customer, challenge=challenge, purpose="transfer", summary=SUMMARY, code=code
    ):
        raise RuntimeError("the action failed")
    assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.PENDING
    assert confirm(customer, challenge, code)


def test_five_consecutive_failures_block_otp(customer, django_capture_on_commit_callbacks, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    raised = []
    for n in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            challenge = issue(customer, summary={**SUMMARY, "reference": f"TRF{n}"})
        try:
            confirm(customer, challenge, wrong(services.code_generator.code(challenge)),
                    summary={**SUMMARY, "reference": f"TRF{n}"})
        except exceptions.OtpError as exc:
            raised.append(type(exc))
    assert raised == [exceptions.WrongCode] * 4 + [exceptions.OtpBlocked]
    assert AccessBlock.objects.active().filter(user=customer, kind="otp_failures").exists()
    with pytest.raises(exceptions.OtpBlocked):
        issue(customer, summary={**SUMMARY, "reference": "TRF-next"})


def test_a_right_code_resets_the_failure_run(customer, challenge):
    code = services.code_generator.code(challenge)
    with pytest.raises(exceptions.WrongCode):
        confirm(customer, challenge, wrong(code))
    customer.refresh_from_db()
    assert customer.otp_failure_count == 1
    confirm(customer, challenge, code)
    customer.refresh_from_db()
    assert customer.otp_failure_count == 0


def test_resend_too_soon_then_allowed(customer, challenge, django_capture_on_commit_callbacks):
    with pytest.raises(exceptions.ResendTooSoon) as too_soon:
        issue(customer)
    assert 0 < too_soon.value.params["seconds"] <= 60
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        with django_capture_on_commit_callbacks(execute=True):
            newer = issue(customer)
        assert Challenge.objects.get(pk=challenge.pk).status == Challenge.Status.VOIDED
        with pytest.raises(exceptions.ChallengeVoided):
            confirm(customer, challenge, services.code_generator.code(challenge))
        assert confirm(customer, newer, services.code_generator.code(newer))


def test_sms_limit_per_user(customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_PHONE_LIMIT = 100
    for n in range(5):
        issue(customer, summary={**SUMMARY, "reference": f"R{n}"})
    with pytest.raises(exceptions.SmsLimitReached):
        issue(customer, summary={**SUMMARY, "reference": "R5"})
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        issue(customer, summary={**SUMMARY, "reference": "R6"})


def test_sms_limit_per_phone_number(customer, other_customer, settings):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = 100
    for n in range(3):
        issue(customer, summary={**SUMMARY, "reference": f"A{n}"})
    # The number passes to another customer (one number, one user at a time); the SMS it
    # already received still count.
    number, customer.phone = customer.phone, "+6281377778888"
    customer.save()
    other_customer.phone = number
    other_customer.save()
    for n in range(2):
        issue(other_customer, summary={**SUMMARY, "reference": f"B{n}"})
    with pytest.raises(exceptions.SmsLimitReached):
        issue(other_customer, summary={**SUMMARY, "reference": "B9"})


def test_global_rate_alarm_is_audited_once_a_window(customer, other_customer, settings, caplog):
    settings.OTP_RESEND_COOLDOWN = 0
    settings.OTP_SMS_USER_LIMIT = settings.OTP_SMS_PHONE_LIMIT = 100
    settings.OTP_SMS_GLOBAL_ALARM = 3
    for n in range(4):
        issue(customer, summary={**SUMMARY, "reference": f"G{n}"})
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SMS_ALARM).count() == 1
    assert "SMS rate alarm" in caplog.text
    with time_machine.travel(timezone.now() + timedelta(seconds=61)):
        for n in range(3):
            issue(customer, summary={**SUMMARY, "reference": f"H{n}"})
    assert AuditEvent.objects.filter(action=AuditEvent.Action.SMS_ALARM).count() == 2


def test_no_phone_no_challenge(customer):
    customer.phone = ""
    customer.save()
    with pytest.raises(exceptions.NoPhone):
        issue(customer)


def test_no_challenge_yet(customer):
    with pytest.raises(exceptions.NoChallenge):
        confirm(customer, None, "123456")


def test_session_policy(customer, settings):
    settings.OTP_POLICY = {**settings.OTP_POLICY, "transfer": "per_session"}
    assert services.policy_for("transfer") == "per_transaction"  # money: never per session
    assert services.policy_for("profile_update") == "per_session"
    assert services.policy_for("something_new") == "per_transaction"
    assert not services.session_covers(purpose="transfer", session_verified=False)
    assert not services.session_covers(purpose="profile_update", session_verified=False)
    assert not services.session_covers(purpose="transfer", session_verified=True)
    assert services.session_covers(purpose="profile_update", session_verified=True)


def test_intent_digest_is_canonical():
    a = services.intent_digest(purpose="transfer", summary={"a": "1", "b": "2"})
    b = services.intent_digest(purpose="transfer", summary={"b": "2", "a": "1"})
    c = services.intent_digest(purpose="add_payee", summary={"a": "1", "b": "2"})
    assert a == b != c and len(a) == 64


def test_a_voided_challenges_unsent_sms_is_marked_failed_not_left_waiting(customer, settings):
    """Its SMS would never go (only a pending challenge's SMS is sent): it says so."""
    settings.OTP_RESEND_COOLDOWN = 0
    first = services.challenge_issue(
        user=customer, purpose="transfer", summary={"r": "1"}, text="t", text_params={}
    )  # not committed in this test: its SMS is still waiting to be sent
    second = services.challenge_issue(
        user=customer, purpose="transfer", summary={"r": "1"}, text="t", text_params={}
    )
    first_sms = SmsMessage.objects.get(challenge=first)
    assert (first_sms.status, first_sms.error_code) == (SmsMessage.Status.FAILED, "voided")
    assert SmsMessage.objects.get(challenge=second).status == SmsMessage.Status.PENDING
    services.challenges_void_for_phone(user=customer, phone=customer.phone)
    second_sms = SmsMessage.objects.get(challenge=second)
    assert (second_sms.status, second_sms.error_code) == (SmsMessage.Status.FAILED, "voided")
