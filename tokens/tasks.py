"""Celery tasks of the OTP core. A task carries only an id (challenge or notice), never a code.

Both are ``acks_late``: a worker killed while sending leaves the task on the broker, which
hands it to another worker after the visibility timeout; the services make that redelivery,
a retry after a lost answer, or a duplicate, send the message once (see ``sms_deliver``).
"""

from functools import partial

from celery import shared_task
from django.conf import settings

from . import services
from .sms import TransientSmsError, UncertainSmsError


def _retry_or_give_up(
    task, exc: TransientSmsError | UncertainSmsError, *, give_up, worthwhile=None
) -> None:
    """Retry a transient provider error or an uncertain outcome (the retry asks the provider
    before sending again) with backoff and jitter, at most
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
    """Send a challenge's SMS; retry provider errors and lost answers while the code is young."""
    try:
        services.sms_deliver(challenge_id=challenge_id)
    except (TransientSmsError, UncertainSmsError) as exc:
        _retry_or_give_up(
            self,
            exc,
            give_up=partial(services.sms_give_up, challenge_id=challenge_id),
            worthwhile=partial(services.sms_retry_worthwhile, challenge_id=challenge_id),
        )


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def notice_sms_send(self, message_id: int) -> None:
    """Send a notice SMS (no code in it); retry provider errors and lost answers a few times."""
    try:
        services.notice_deliver(message_id=message_id)
    except (TransientSmsError, UncertainSmsError) as exc:
        _retry_or_give_up(
            self, exc, give_up=partial(services.sms_message_give_up, message_id=message_id)
        )
