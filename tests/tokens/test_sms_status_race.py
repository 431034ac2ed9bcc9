"""Twilio's status callbacks racing: delivery status only moves forward, whatever the order in
which two callback requests for one message are applied."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from tests.conftest import needs_postgres
from tests.payments.test_concurrency import run_at_once
from tokens import services
from tokens.models import SmsMessage


def message_make(user, sid, status=SmsMessage.Status.ACCEPTED):
    return SmsMessage.objects.create(user=user, to=user.phone, status=status, provider_id=sid)


def status_of(message):
    message.refresh_from_db()
    return message.status


@pytest.mark.django_db
def test_delivered_committed_just_before_a_late_sent_is_kept(customer):
    """The "delivered" request commits after the "sent" request decided to write and before
    its write reaches the database: the write must not undo it.

    The seam is the database call itself, so it does not depend on how the service is
    written: just before the "sent" call's first UPDATE of the message table, the other
    request's "delivered" is applied in full.
    """
    message = message_make(customer, "SM" + "a" * 32)
    other_request_done = False

    def other_request_in_between(execute, sql, params, many, context):
        nonlocal other_request_done
        if not other_request_done and sql.startswith('UPDATE "tokens_smsmessage"'):
            other_request_done = True
            assert services.sms_status_update(provider_id=message.provider_id, status="delivered")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(other_request_in_between):
        assert services.sms_status_update(provider_id=message.provider_id, status="sent")

    assert other_request_done
    assert status_of(message) == SmsMessage.Status.DELIVERED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "callbacks", "expected"),
    [
        ("accepted", ["sent"], "sent"),
        ("accepted", ["delivered", "sent"], "delivered"),
        ("sent", ["queued"], "sent"),
        ("accepted", ["undelivered", "delivered"], "undelivered"),  # a final state stays
        ("unknown", ["sent"], "sent"),  # the sender did not know; the provider does
        ("pending", ["failed"], "failed"),
    ],
)
def test_status_only_moves_forward(customer, start, callbacks, expected):
    message = message_make(customer, "SM" + "b" * 32, status=start)
    for status in callbacks:
        assert services.sms_status_update(provider_id=message.provider_id, status=status)
    assert status_of(message) == expected


@pytest.mark.django_db
def test_a_move_records_its_time_and_error_code_an_ignored_callback_neither(customer):
    message = message_make(customer, "SM" + "c" * 32)
    created = SmsMessage.objects.get(pk=message.pk).updated_at
    later = timezone.now() + timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        assert services.sms_status_update(
            provider_id=message.provider_id, status="undelivered", error_code="30003" * 5
        )
    moved = SmsMessage.objects.get(pk=message.pk)
    assert moved.status == SmsMessage.Status.UNDELIVERED
    assert moved.error_code == ("30003" * 5)[:16]
    assert moved.updated_at == later > created
    with time_machine.travel(later + timedelta(minutes=5), tick=False):
        assert services.sms_status_update(provider_id=message.provider_id, status="delivered")
    ignored = SmsMessage.objects.get(pk=message.pk)
    assert (ignored.status, ignored.error_code, ignored.updated_at) == (
        moved.status,
        moved.error_code,
        moved.updated_at,
    )


@pytest.mark.django_db
def test_unknown_provider_id_is_reported(customer):
    assert not services.sms_status_update(provider_id="SM" + "d" * 32, status="delivered")


@needs_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sent_and_delivered_at_once_for_thirty_messages_all_end_delivered(customer):
    messages = [message_make(customer, f"SM{i:032d}") for i in range(30)]
    calls = [(m.provider_id, status) for m in messages for status in ("sent", "delivered")]

    results = run_at_once(
        len(calls), lambda i: services.sms_status_update(provider_id=calls[i][0], status=calls[i][1])
    )

    assert results == [True] * len(calls), [r for r in results if r is not True]
    statuses = dict(SmsMessage.objects.values_list("provider_id", "status"))
    assert statuses == {m.provider_id: SmsMessage.Status.DELIVERED for m in messages}
