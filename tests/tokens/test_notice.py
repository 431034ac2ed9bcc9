"""Notices: SMS and email that tell the customer something changed; never a code."""

import pytest
from django.utils.translation import gettext_noop

from accounts.models import AuditEvent, EmailMessage
from tests.fakes.twilio import Reply
from tokens import services
from tokens.models import OutboxMessage, SmsMessage

pytestmark = pytest.mark.django_db
TEXT = gettext_noop("adding payee acct %(destination)s")


def test_notice_goes_by_sms_and_email_in_the_customers_language(
    customer, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notice_send(user=customer, text=TEXT, params={"destination": "****0017"})
    sms = OutboxMessage.objects.get()
    assert sms.body == "tambah penerima rek ****0017"  # Indonesian: the customer's language
    assert str(sms.to) == "+6281234565678"
    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.Status.DELIVERED
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [customer.email]
    assert "****0017" in mailoutbox[0].body
    assert AuditEvent.objects.filter(action="notice_sent", subject=customer).exists()
    # The outbox row and its audit name the customer (another customer may share the address).
    assert EmailMessage.objects.get().user == customer
    assert AuditEvent.objects.filter(action="notice_email_queued", subject=customer).exists()


def test_notice_to_another_number_and_sent_once(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notice_send(
            user=customer, text=TEXT, params={"destination": "x"}, to="+6285700001111", email=False
        )
    assert str(OutboxMessage.objects.get().to) == "+6285700001111"
    assert services.notice_deliver(message_id=message.pk) is None  # claimed already: not again


def test_notice_retries_a_busy_provider(customer, fake_twilio, django_capture_on_commit_callbacks):
    fake_twilio.script(Reply(status=503), Reply())
    with django_capture_on_commit_callbacks(execute=True):
        message = services.notice_send(user=customer, text=TEXT, params={"destination": "y"}, email=False)
    assert len(fake_twilio.requests) == 2
    assert SmsMessage.objects.get(pk=message.pk).status == SmsMessage.Status.ACCEPTED
