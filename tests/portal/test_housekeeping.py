"""Retention (issue 13 item 13): each housekeeping job, run as its Celery task, deletes the
rows past their retention and keeps the young ones, the ones a limit still counts, and every
banking record (audit events, ledger entries, transfers that moved or were decided)."""

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.models import Session
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import (
    AuditEvent,
    Company,
    EmailMessage,
    LoginAddressThrottle,
    PasswordChange,
    PasswordReset,
    ProfileChange,
)
from payments import services as payments
from payments.models import BankAccount, DestinationLookup, LedgerEntry, Payee, Transfer
from portal import tasks
from portal.housekeeping import delete_in_batches
from tests.conftest import ROOT, outbox_code
from tests.factories import BankAccountFactory
from tokens.models import Challenge, MobileRegistration, OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db

OLD = 400  # days: past every default retention


def ago(days):
    return timezone.now() - timedelta(days=days)


def back(days):
    """Travel to ``days`` ago (the clock ticks on), to make rows through the real services."""
    return time_machine.travel(ago(days), tick=True)


def account(number):
    return BankAccount.objects.get(number=number)


def banking_records():
    return (
        AuditEvent.objects.count(),
        sorted(LedgerEntry.objects.values_list("pk", "amount")),
    )


def test_sessions_expired_go_alive_stay():
    Session.objects.create(session_key="e" * 32, session_data="x", expire_date=ago(1))
    Session.objects.create(session_key="a" * 32, session_data="x", expire_date=ago(-1))

    counts = tasks.sessions_clear.delay().get()

    assert counts == {"sessions.Session": 1}
    assert list(Session.objects.values_list("session_key", flat=True)) == ["a" * 32]


def _attempt(username, failures, days, ip="192.0.2.1"):
    attempt = AccessAttempt.objects.create(
        username=username,
        ip_address=ip,
        user_agent="ua",
        get_data="",
        post_data="",
        http_accept="*/*",
        path_info="/login/",
        failures_since_start=failures,
    )
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=ago(days))
    return attempt.pk


def test_login_records_old_go_a_locked_user_id_stays_locked(settings):
    for model in (AccessLog, AccessFailureLog):
        for days in (OLD, 1):
            row = model.objects.create(
                username=f"u{days}", user_agent="ua", http_accept="", path_info="/"
            )
            model.objects.filter(pk=row.pk).update(attempt_time=ago(days))
    old_unlocked = _attempt("lupa", 2, OLD)
    # Locked (failures summed over its rows reach AXES_FAILURE_LIMIT): only staff unlock it.
    locked = [_attempt("dikunci", 3, OLD), _attempt("dikunci", 2, 1, ip="192.0.2.2")]
    young = _attempt("baru", 1, 1)
    old_address = LoginAddressThrottle.objects.create(
        address="198.51.100.1", window_started_at=ago(OLD)
    )
    still_locked = LoginAddressThrottle.objects.create(
        address="198.51.100.2", window_started_at=ago(OLD), locked_until=ago(-1)
    )
    fresh_address = LoginAddressThrottle.objects.create(address="198.51.100.3")

    counts = tasks.login_records_purge.delay().get()

    assert counts == {
        "axes.AccessLog": 1,
        "axes.AccessFailureLog": 1,
        "axes.AccessAttempt": 1,
        "accounts.LoginAddressThrottle": 1,
    }
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["u1"]
    assert list(AccessFailureLog.objects.values_list("username", flat=True)) == ["u1"]
    assert set(AccessAttempt.objects.values_list("pk", flat=True)) == {*locked, young}
    assert not AccessAttempt.objects.filter(pk=old_unlocked).exists()
    assert set(LoginAddressThrottle.objects.values_list("pk", flat=True)) == {
        still_locked.pk,
        fresh_address.pk,
    }
    assert not LoginAddressThrottle.objects.filter(pk=old_address.pk).exists()


def _draft(customer, amount="125000", description="Sewa"):
    """A transfer from Budi's account to Siti's, not yet confirmed."""
    return payments.transfer_create(
        user=customer,
        source=account("1001000011"),
        destination=account("1002000017"),
        amount=Decimal(amount),
        description=description,
    )


def _confirmed_transfer(customer, run_on_commit):
    """A transfer confirmed through the services: challenge, SMS, audit events, ledger legs."""
    transfer = _draft(customer)
    run_on_commit(payments.transfer_challenge_issue, transfer=transfer)
    return payments.transfer_confirm(transfer=transfer, code=outbox_code())


def _pending_transfer(customer, run_on_commit):
    transfer = _draft(customer, amount="5000", description="")
    run_on_commit(payments.transfer_challenge_issue, transfer=transfer)
    return Transfer.objects.get(pk=transfer.pk)


def test_challenges_expired_go_with_their_sms_a_kept_transfer_keeps_its_own(
    customer, other_customer, run_on_commit
):
    """``other_customer`` holds the destination account."""
    with back(OLD):
        done = _confirmed_transfer(customer, run_on_commit)
        abandoned = _pending_transfer(customer, run_on_commit)
        lone = Challenge.objects.create(
            user=customer, purpose="login", intent_digest="x", salt="s", expires_at=timezone.now()
        )
        SmsMessage.objects.create(challenge=lone, user=customer, to=customer.phone)
    young = _pending_transfer(customer, run_on_commit)
    records = banking_records()

    counts = tasks.challenges_purge.delay().get()

    assert counts == {"tokens.Challenge": 1}
    assert not Challenge.objects.filter(pk=lone.pk).exists()
    assert not SmsMessage.objects.filter(challenge_id=lone.pk).exists()  # its SMS went along
    # Still named by a transfer: the confirmed one (kept for good) and the abandoned one (until
    # the payments job takes it; then the next run takes its challenge).
    kept = {done.challenge_id, abandoned.challenge_id, young.challenge_id}
    assert set(Challenge.objects.values_list("pk", flat=True)) == kept
    assert Transfer.objects.get(pk=done.pk).challenge_id == done.challenge_id
    tasks.unconfirmed_payments_purge.delay()
    assert tasks.challenges_purge.delay().get() == {"tokens.Challenge": 1}
    assert set(Challenge.objects.values_list("pk", flat=True)) == {
        done.challenge_id,
        young.challenge_id,
    }
    assert banking_records() == records


def test_sms_and_the_development_outbox_old_go_young_stay(customer):
    for days in (OLD, 1 / 24):
        with back(days):
            SmsMessage.objects.create(user=customer, to=customer.phone, notice={"text": "t"})
            OutboxMessage.objects.create(to=customer.phone, body="Kode 123456")
    # The SMS records keep 90 days, the development phone (it holds codes) a day.
    with back(2):
        SmsMessage.objects.create(user=customer, to=customer.phone, notice={"text": "t"})
        OutboxMessage.objects.create(to=customer.phone, body="Kode 654321")

    counts = tasks.sms_purge.delay().get()

    assert counts == {"tokens.SmsMessage": 1, "tokens.OutboxMessage": 2}
    assert SmsMessage.objects.filter(created_at__gt=ago(3)).count() == 2
    assert OutboxMessage.objects.get().created_at > ago(0.5)


def test_sms_purge_leaves_the_send_limits_counting(customer, run_on_commit, settings):
    """The rows the per-user limit counts are inside the retention: after a purge the limit
    still refuses the next code."""
    from tokens import exceptions as otp_exceptions
    from tokens import services as otp

    settings.OTP_RESEND_COOLDOWN = 0
    for n in range(settings.OTP_SMS_USER_LIMIT):
        run_on_commit(
            otp.challenge_issue,
            user=customer,
            purpose="login",
            summary={"n": n},
            text="t",
            text_params={},
        )
    tasks.sms_purge.delay()
    tasks.challenges_purge.delay()
    with pytest.raises(otp_exceptions.SmsLimitReached):
        otp.challenge_issue(
            user=customer, purpose="login", summary={"n": 99}, text="t", text_params={}
        )


def test_emails_old_go_young_stay(customer):
    old = EmailMessage.objects.create(user=customer, to=customer.email, created_at=ago(OLD))
    young = EmailMessage.objects.create(user=customer, to=customer.email, created_at=ago(1))

    assert tasks.emails_purge.delay().get() == {"accounts.EmailMessage": 1}
    assert list(EmailMessage.objects.values_list("pk", flat=True)) == [young.pk]
    assert not EmailMessage.objects.filter(pk=old.pk).exists()


def _transfer(customer, status, *, source="1001000011", days=OLD):
    return Transfer.objects.create(
        reference=uuid.uuid4().hex[:20],
        initiated_by=customer,
        source=account(source),
        destination=account("1002000017"),
        amount=Decimal("1000"),
        status=status,
        created_at=ago(days),
    )


def test_unconfirmed_transfers_payees_and_lookups_old_go_money_and_decisions_stay(
    customer, other_customer, run_on_commit
):
    with back(OLD):
        done = _confirmed_transfer(customer, run_on_commit)
    failed = _transfer(customer, Transfer.Status.FAILED)
    gone = [_transfer(customer, status) for status in ("draft", "pending", "cancelled", "expired")]
    young = _transfer(customer, Transfer.Status.PENDING, days=1)
    company = Company.objects.create(name="PT Maju", cif="CIF9", corporate_id="MAJU01")
    BankAccountFactory(owner=customer, company=company, number="1009000019")
    corporate = [
        _transfer(customer, status, source="1009000019")
        for status in ("cancelled", "expired", "approval", "rejected")
    ]
    corporate_draft = _transfer(customer, Transfer.Status.DRAFT, source="1009000019")
    payees = {
        (status, days): Payee.objects.create(
            owner=customer,
            account=account("1002000017"),
            nickname=f"{status}{days}",
            status=status,
            created_at=ago(days),
        )
        for status, days in (("pending", OLD), ("pending", 1), ("cancelled", OLD))
    }
    Payee.objects.create(
        owner=customer,
        account=account("1002000017"),
        nickname="a",
        status="active",
        created_at=ago(OLD),
    )
    DestinationLookup.objects.create(
        user=customer, account=account("1002000017"), created_at=ago(OLD)
    )
    DestinationLookup.objects.create(
        user=customer, account=account("1002000017"), created_at=ago(1)
    )
    records = banking_records()

    counts = tasks.unconfirmed_payments_purge.delay().get()

    assert counts == {
        "payments.Transfer": 5,
        "payments.Payee": 1,
        "payments.DestinationLookup": 2,  # mine and the confirmed transfer's look-up
    }
    left = set(Transfer.objects.values_list("pk", flat=True))
    assert left == {done.pk, failed.pk, young.pk, *(t.pk for t in corporate)}
    assert not left & {t.pk for t in gone} and corporate_draft.pk not in left
    assert Transfer.objects.get(pk=done.pk).status == Transfer.Status.COMPLETED
    assert not Payee.objects.filter(pk=payees["pending", OLD].pk).exists()
    assert Payee.objects.filter(status="active").count() == 1
    assert DestinationLookup.objects.get().created_at > ago(2)
    assert banking_records() == records


def test_unfinished_changes_and_reset_tries_old_go(customer):
    def change(state, days, **extra):
        return ProfileChange.objects.create(
            user=customer,
            kind="email",
            new_email="b@example.co.id",
            state=state,
            created_at=ago(days),
            **extra,
        )

    old = [
        change(state, OLD) for state in ("awaiting_current", "awaiting_new", "voided", "refused")
    ]
    completed = change("completed", OLD)
    young = change("awaiting_current", 1)
    PasswordChange.objects.create(user=customer, password_hash="h", created_at=ago(OLD))
    done = PasswordChange.objects.create(user=customer, state="completed", created_at=ago(OLD))
    fresh_change = PasswordChange.objects.create(
        user=customer, password_hash="h", created_at=ago(1)
    )
    PasswordReset.objects.create(user_key="budi", address="192.0.2.1", created_at=ago(OLD))
    fresh_reset = PasswordReset.objects.create(
        user_key="budi", address="192.0.2.1", created_at=ago(0.01)
    )
    records = banking_records()

    counts = tasks.unconfirmed_changes_purge.delay().get()

    assert counts == {
        "accounts.ProfileChange": 4,
        "accounts.PasswordChange": 1,
        "accounts.PasswordReset": 1,
    }
    assert set(ProfileChange.objects.values_list("pk", flat=True)) == {completed.pk, young.pk}
    assert not ProfileChange.objects.filter(pk__in=[c.pk for c in old]).exists()
    assert set(PasswordChange.objects.values_list("pk", flat=True)) == {done.pk, fresh_change.pk}
    assert list(PasswordReset.objects.values_list("pk", flat=True)) == [fresh_reset.pk]
    assert banking_records() == records


def test_ended_mobile_registrations_old_go(customer):
    abandoned = MobileRegistration.objects.create(
        user=customer, created_at=ago(OLD), expires_at=ago(OLD)
    )
    completed = MobileRegistration.objects.create(
        user=customer, created_at=ago(OLD), expires_at=ago(OLD), completed_at=ago(OLD)
    )
    ended_lately = MobileRegistration.objects.create(user=customer, expires_at=ago(1))
    under_way = MobileRegistration.objects.create(user=customer, expires_at=ago(-0.01))

    assert tasks.mobile_registrations_purge.delay().get() == {"tokens.MobileRegistration": 2}
    assert set(MobileRegistration.objects.values_list("pk", flat=True)) == {
        ended_lately.pk,
        under_way.pk,
    }
    assert not MobileRegistration.objects.filter(pk__in=[abandoned.pk, completed.pk]).exists()


def test_batches_are_bounded(customer):
    """Many old rows go in several short deletes, each of at most a batch, not one long one;
    rows the job keeps, in between, are stepped over."""
    EmailMessage.objects.bulk_create(
        EmailMessage(user=customer, to=customer.email, created_at=ago(OLD if n % 2 else 1))
        for n in range(50)
    )
    with CaptureQueriesContext(connection) as queries:
        deleted = delete_in_batches(
            EmailMessage.objects.filter(created_at__lt=ago(100)), batch_size=10
        )
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    assert deleted == 25 and len(deletes) == 3
    assert EmailMessage.objects.count() == 25
    assert not EmailMessage.objects.filter(created_at__lt=ago(100)).exists()


# Each beat entry and the setting its period comes from (README "Retention").
SCHEDULE = {
    "sessions": ("portal.tasks.sessions_clear", "HOUSEKEEPING_SESSIONS_EVERY"),
    "login-records": ("portal.tasks.login_records_purge", "HOUSEKEEPING_LOGIN_RECORDS_EVERY"),
    "challenges": ("portal.tasks.challenges_purge", "HOUSEKEEPING_CHALLENGES_EVERY"),
    "sms": ("portal.tasks.sms_purge", "HOUSEKEEPING_SMS_EVERY"),
    "emails": ("portal.tasks.emails_purge", "HOUSEKEEPING_EMAILS_EVERY"),
    "unconfirmed-payments": (
        "portal.tasks.unconfirmed_payments_purge",
        "HOUSEKEEPING_UNCONFIRMED_EVERY",
    ),
    "unconfirmed-changes": (
        "portal.tasks.unconfirmed_changes_purge",
        "HOUSEKEEPING_UNCONFIRMED_EVERY",
    ),
    "mobile-registrations": (
        "portal.tasks.mobile_registrations_purge",
        "HOUSEKEEPING_UNCONFIRMED_EVERY",
    ),
}


def test_beat_schedule_names_every_job_with_its_period_from_the_environment():
    """Every task of portal.tasks is scheduled, each with the period its setting reads from
    the environment (distinct values set, read back from a fresh process)."""
    from celery import Task

    jobs = {task.name for task in vars(tasks).values() if isinstance(task, Task)}
    assert {task for task, _setting in SCHEDULE.values()} == jobs
    periods = {
        setting: 1000 + n for n, setting in enumerate(sorted({s for _t, s in SCHEDULE.values()}))
    }
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from portal.celery import app; print(json.dumps(app.conf.beat_schedule))",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            **{k: str(v) for k, v in periods.items()},
        },
        capture_output=True,
        text=True,
        check=True,
    )
    schedule = json.loads(shown.stdout.strip().splitlines()[-1])
    assert set(schedule) == set(SCHEDULE)
    for name, (task, setting) in SCHEDULE.items():
        assert schedule[name]["task"] == task
        assert schedule[name]["schedule"] == periods[setting]
        # A run still queued when the next is due is dropped.
        assert schedule[name]["options"]["expires"] == periods[setting]


def test_retention_shorter_than_a_limit_window_is_refused(settings):
    from portal.checks import retention_outlives_limits

    assert retention_outlives_limits() == []
    settings.RETENTION_SMS_DAYS = settings.OTP_SMS_PHONE_WINDOW / 86400  # not longer
    settings.RETENTION_UNCONFIRMED_DAYS = 0.5  # refused phone changes are counted for a day
    errors = retention_outlives_limits()
    assert {e.id for e in errors} == {"portal.E101"}
    text = " ".join(e.msg for e in errors)
    assert "RETENTION_SMS_DAYS must be longer than OTP_SMS_PHONE_WINDOW" in text
    assert "PHONE_CHANGE_REFUSALS_PER_DAY" in text
    assert all(isinstance(e, checks.Error) for e in errors)


def test_a_draft_resumed_after_the_retention_is_not_purged_while_it_waits(
    customer_client, customer, other_customer, run_on_commit, settings
):
    """The outside attack (F3): a draft made 31 days ago, resumed now with "Generate OTP"
    (pending, started now, its SMS sent), survives the purge and its right code confirms it.
    Likewise a payee made long ago whose code was just asked for."""
    with back(settings.RETENTION_UNCONFIRMED_DAYS + 1):
        transfer = _draft(customer)
        payee = payments.payee_create(
            user=customer, account=account("1002000017"), nickname="Kos"
        )
    run_on_commit(customer_client.post, f"/transfers/{transfer.reference}/otp/")
    code = outbox_code()
    run_on_commit(payments.payee_challenge_issue, payee=payee)

    counts = tasks.unconfirmed_payments_purge.delay().get()

    assert counts["payments.Transfer"] == 0 and counts["payments.Payee"] == 0
    response = customer_client.post(f"/transfers/{transfer.reference}/confirm/", {"code": code})
    assert response.status_code == 302
    assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.COMPLETED
    assert Payee.objects.filter(pk=payee.pk, status=Payee.Status.PENDING).exists()


def test_pending_transfers_and_payees_go_by_when_they_were_last_started(
    customer, other_customer, settings
):
    """Pending: by ``started_at`` past the retention (or its creation, if it has none); a
    payee by its last code, never while that code still waits."""
    days = settings.RETENTION_UNCONFIRMED_DAYS
    old_started = _transfer(customer, Transfer.Status.PENDING)
    Transfer.objects.filter(pk=old_started.pk).update(started_at=ago(OLD))
    young_started = _transfer(customer, Transfer.Status.PENDING)
    Transfer.objects.filter(pk=young_started.pk).update(started_at=ago(days - 1))
    payee_account = account("1002000017")

    def payee(created, asked=None, expires=None):
        challenge = None
        if asked is not None:
            challenge = Challenge.objects.create(
                user=customer, purpose="payee", created_at=ago(asked),
                expires_at=expires or ago(asked) + timedelta(minutes=5),
            )
        return Payee.objects.create(
            owner=customer, account=payee_account, nickname="p", created_at=ago(created),
            challenge=challenge,
        )

    never_asked = payee(OLD)
    asked_long_ago = payee(OLD, asked=OLD)
    asked_lately = payee(OLD, asked=days - 1)
    still_waiting = payee(OLD, asked=OLD, expires=timezone.now() + timedelta(minutes=5))

    counts = tasks.unconfirmed_payments_purge.delay().get()

    assert counts["payments.Transfer"] == 1 and counts["payments.Payee"] == 2
    assert set(Transfer.objects.values_list("pk", flat=True)) == {young_started.pk}
    assert set(Payee.objects.values_list("pk", flat=True)) == {asked_lately.pk, still_waiting.pk}
    assert not {never_asked.pk, asked_long_ago.pk} & set(Payee.objects.values_list("pk", flat=True))
