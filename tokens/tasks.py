"""Celery tasks of the OTP core. A task carries only the challenge id, never a code."""

from celery import shared_task
from django.conf import settings

from . import services
from .sms import TransientSmsError


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def challenge_sms_send(self, challenge_id: str) -> None:
    """Send a challenge's SMS; retry transient provider errors while the code is still young."""
    try:
        services.sms_deliver(challenge_id=challenge_id)
    except TransientSmsError as exc:
        delay = services.sms_retry_delay(retries=self.request.retries)
        if self.request.retries >= settings.SMS_SEND_MAX_RETRIES or not (
            services.sms_retry_worthwhile(challenge_id=challenge_id, delay=delay)
        ):
            services.sms_give_up(challenge_id=challenge_id, error_code=exc.code)
            return
        raise self.retry(countdown=delay, exc=exc) from None


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def notice_sms_send(self, message_id: int) -> None:
    """Send a notice SMS (no code in it); retry transient provider errors a few times."""
    try:
        services.notice_deliver(message_id=message_id)
    except TransientSmsError as exc:
        if self.request.retries >= settings.SMS_SEND_MAX_RETRIES:
            services.sms_message_give_up(message_id=message_id, error_code=exc.code)
            return
        raise self.retry(
            countdown=services.sms_retry_delay(retries=self.request.retries), exc=exc
        ) from None


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True
)
def notice_email_send(user_id: int, text: str, params: dict) -> None:
    services.notice_email_deliver(user_id=user_id, text=text, params=params)
