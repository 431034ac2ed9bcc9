"""Security e-mails go through an outbox row (accounts.EmailMessage): the task gets only the
row's id, claims it with one conditional UPDATE (sent at most once), retries SMTP trouble
with backoff for about an hour, and the audit says what really happened: queued when it was
scheduled, sent or failed when that is known."""

import smtplib
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import translation

from accounts import services, tasks
from accounts.models import AuditEvent, EmailMessage
from tokens import services as token_services

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = services.EMAIL_CHANGED_TEXT


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.EMAIL_SEND_MAX_RETRIES = 3


def schedule(customer, address="budi@example.com"):
    with transaction.atomic():
        return services.email_notice_schedule(
            address=address, text=TEXT, params={"email": "b***i@example.com"},
            language="en", user=customer,
        )


def actions(customer=None):
    events = AuditEvent.objects.order_by("pk")
    if customer is not None:
        events = events.filter(subject=customer)
    return [e.action for e in events if e.action.startswith("notice_email")]


def failing_send(exc):
    return mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", side_effect=exc)


def test_the_task_gets_only_the_row_id(customer):
    with mock.patch.object(tasks.email_notice_send, "apply_async") as queued:
        message = schedule(customer)
    queued.assert_called_once()
    assert queued.call_args.kwargs["args"] == [message.pk]
    assert "budi@example.com" not in repr(queued.call_args)
    message.refresh_from_db()
    assert (message.to, message.state, message.attempts) == ("budi@example.com", "pending", 0)
    assert actions(customer) == ["notice_email_queued"]
    queued_event = AuditEvent.objects.get(action="notice_email_queued")
    assert queued_event.data["to"] == "b***i@example.com"  # masked: the row holds the address


def test_sent_once_and_audited_as_sent(customer):
    message = schedule(customer)  # eager: the task runs at commit
    message.refresh_from_db()
    assert (message.state, message.attempts, message.error) == ("sent", 1, "")
    assert [m.to for m in mail.outbox] == [["budi@example.com"]]
    with translation.override("en"):
        assert "the email of your Internet Banking was changed" in mail.outbox[0].body
    assert actions(customer) == ["notice_email_queued", "notice_email_sent"]
    # A redelivered task or a second worker finds the row claimed and sends nothing.
    assert services.email_notice_deliver(message_id=message.pk) is None
    tasks.email_notice_send.apply(args=[message.pk])
    assert len(mail.outbox) == 1


def test_a_row_being_sent_is_not_sent_again(customer):
    with mock.patch.object(tasks.email_notice_send, "apply_async"):
        message = schedule(customer)
    EmailMessage.objects.filter(pk=message.pk).update(state="sending")
    tasks.email_notice_send.apply(args=[message.pk])
    assert mail.outbox == []


def test_smtp_trouble_is_retried_then_sent(customer):
    calls = []

    def flaky(backend, messages):
        calls.append(1)
        if len(calls) < 3:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return len(messages)

    with mock.patch("django.core.mail.backends.locmem.EmailBackend.send_messages", flaky):
        message = schedule(customer)
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("sent", 3)
    assert actions(customer) == ["notice_email_queued", "notice_email_sent"]


def test_smtp_down_for_good_ends_failed_and_audited(customer):
    with failing_send(ConnectionRefusedError(111, "Connection refused")):
        message = schedule(customer)
    message.refresh_from_db()
    assert message.state == "failed" and message.attempts == 4  # 1 + EMAIL_SEND_MAX_RETRIES
    assert message.error == "ConnectionRefusedError"
    assert actions(customer) == ["notice_email_queued", "notice_email_failed"]


def test_a_refused_address_fails_at_once(customer):
    refused = smtplib.SMTPRecipientsRefused({"budi@example.com": (550, b"no such user")})
    with failing_send(refused):
        message = schedule(customer)
    message.refresh_from_db()
    assert (message.state, message.attempts, message.error) == (
        "failed", 1, "SMTPRecipientsRefused 550"
    )
    assert actions(customer) == ["notice_email_queued", "notice_email_failed"]


def test_a_greylisted_address_is_retried(customer):
    greylisted = smtplib.SMTPRecipientsRefused({"budi@example.com": (451, b"try again later")})
    with failing_send(greylisted):
        message = schedule(customer)
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("failed", 4)


def test_an_error_that_is_not_smtp_trouble_ends_failed_at_once(customer):
    with failing_send(TypeError("bad backend")):
        schedule(customer)  # the task's error is logged by Celery
    message = EmailMessage.objects.get()
    assert (message.state, message.attempts, message.error) == ("failed", 1, "TypeError")
    assert actions(customer) == ["notice_email_queued", "notice_email_failed"]


def test_broker_unreachable_is_failed_at_once(customer):
    from kombu.exceptions import OperationalError

    with mock.patch.object(
        tasks.email_notice_send, "apply_async", side_effect=OperationalError("down")
    ):
        message = schedule(customer)
    message.refresh_from_db()
    assert (message.state, message.error) == ("failed", "queue")
    assert actions(customer) == ["notice_email_queued", "notice_email_failed"]


def test_nothing_is_queued_when_the_transaction_rolls_back(customer):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.email_notice_schedule(
            address="budi@example.com", text=TEXT, params={"email": "x"}, language="en",
            user=customer,
        )
        raise RuntimeError("the change failed")
    assert not EmailMessage.objects.exists() and mail.outbox == []
    assert actions() == []


def test_retries_back_off_over_about_an_hour(settings):
    settings.EMAIL_SEND_MAX_RETRIES = 18
    ceilings = [
        settings.EMAIL_SEND_RETRY_BASE * 2**n for n in range(settings.EMAIL_SEND_MAX_RETRIES)
    ]
    ceilings = [min(c, settings.EMAIL_SEND_RETRY_MAX_DELAY) for c in ceilings]
    assert 55 * 60 <= sum(ceilings) <= 75 * 60
    for retries in range(settings.EMAIL_SEND_MAX_RETRIES):
        delay = services.email_retry_delay(retries=retries)
        assert 1 <= delay <= ceilings[retries]
        # A countdown longer than the Redis visibility timeout would hand the waiting task
        # to a second worker.
        assert delay < settings.OTP_CODE_LIFETIME
    assert settings.EMAIL_TIMEOUT and settings.EMAIL_TIMEOUT <= 30


def test_a_customer_notice_records_the_email_truthfully(customer):
    customer.email = "budi@example.com"
    customer.save()
    with failing_send(ConnectionRefusedError(111, "Connection refused")), transaction.atomic():
        token_services.notice_send(user=customer, text=TEXT, params={"email": "b***i@e"})
    message = EmailMessage.objects.get()
    assert (message.to, message.state) == ("budi@example.com", "failed")
    # tokens.notice_send does not name the customer yet (user=): the rows are linked by id.
    assert actions() == ["notice_email_queued", "notice_email_failed"]
    assert {e.data["email_message"] for e in AuditEvent.objects.filter(
        action__startswith="notice_email")} == {message.pk}
