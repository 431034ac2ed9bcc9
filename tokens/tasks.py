"""Celery tasks of the OTP core. A task carries only an id (challenge or notice), never a code."""

from functools import partial

from celery import shared_task
from django.conf import settings

from . import services
from .sms import TransientSmsError


def _retry_or_give_up(task, exc: TransientSmsError, *, give_up, worthwhile=None) -> None:
    """Retry a transient provider error with backoff and jitter, at most
    ``SMS_SEND_MAX_RETRIES`` times and only while ``worthwhile(delay)``; else ``give_up``."""
    delay = services.sms_retry_delay(retries=task.request.retries)
    if task.request.retries >= settings.SMS_SEND_MAX_RETRIES or (
        worthwhile is not None and not worthwhile(delay=delay)
    ):
        give_up(error_code=exc.code)
        return
    raise task.retry(countdown=delay, exc=exc) from None


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def challenge_sms_send(self, challenge_id: str) -> None:
    """Send a challenge's SMS; retry transient provider errors while the code is still young."""
    try:
        services.sms_deliver(challenge_id=challenge_id)
    except TransientSmsError as exc:
        _retry_or_give_up(
            self,
            exc,
            give_up=partial(services.sms_give_up, challenge_id=challenge_id),
            worthwhile=partial(services.sms_retry_worthwhile, challenge_id=challenge_id),
        )


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def notice_sms_send(self, message_id: int) -> None:
    """Send a notice SMS (no code in it); retry transient provider errors a few times."""
    try:
        services.notice_deliver(message_id=message_id)
    except TransientSmsError as exc:
        _retry_or_give_up(
            self, exc, give_up=partial(services.sms_message_give_up, message_id=message_id)
        )
