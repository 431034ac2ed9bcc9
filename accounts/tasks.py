"""Email the accounts app sends through Celery: the new-email link and security notices.

A notice task carries only the id of its outbox row (accounts.EmailMessage), never the address.
"""

import smtplib

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True
)
def email_change_link_send(change_id: int) -> None:
    services.email_change_link_deliver(change_id=change_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def email_notice_send(self, message_id: int) -> None:
    """Send a notice's outbox row; retry SMTP and network trouble with backoff and jitter,
    ``EMAIL_SEND_MAX_RETRIES`` times (about an hour), then mark it failed."""
    try:
        services.email_notice_deliver(message_id=message_id)
    except (OSError, smtplib.SMTPException) as exc:
        if self.request.retries >= settings.EMAIL_SEND_MAX_RETRIES:
            services.email_notice_give_up(message_id=message_id, error="")
            return
        delay = services.email_retry_delay(retries=self.request.retries)
        raise self.retry(countdown=delay, exc=exc) from None
