"""Email the accounts app sends through Celery: the new-email link and notices to old addresses."""

from celery import shared_task

from . import services


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True
)
def email_change_link_send(change_id: int) -> None:
    services.email_change_link_deliver(change_id=change_id)


@shared_task(
    acks_late=True, ignore_result=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True
)
def email_notice_send(address: str, text: str, params: dict, language: str) -> None:
    services.email_notice_deliver(address=address, text=text, params=params, language=language)
