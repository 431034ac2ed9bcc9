"""Housekeeping run by Celery beat (``CELERY_BEAT_SCHEDULE`` in settings names each task here
with its period): one task per retention job,
each calling the owning app's ``housekeeping`` function. Every job is idempotent (it deletes
what is past its retention now), so a run repeated or skipped does no harm."""

from celery import shared_task

from accounts import housekeeping as accounts_housekeeping
from payments import housekeeping as payments_housekeeping
from tokens import housekeeping as tokens_housekeeping


@shared_task(ignore_result=True)
def sessions_clear() -> dict[str, int]:
    return accounts_housekeeping.sessions_clear()


@shared_task(ignore_result=True)
def login_records_purge() -> dict[str, int]:
    return accounts_housekeeping.login_records_purge()


@shared_task(ignore_result=True)
def challenges_purge() -> dict[str, int]:
    return tokens_housekeeping.challenges_purge()


@shared_task(ignore_result=True)
def sms_purge() -> dict[str, int]:
    return tokens_housekeeping.sms_purge()


@shared_task(ignore_result=True)
def emails_purge() -> dict[str, int]:
    return accounts_housekeeping.emails_purge()


@shared_task(ignore_result=True)
def unconfirmed_payments_purge() -> dict[str, int]:
    return payments_housekeeping.unconfirmed_purge()


@shared_task(ignore_result=True)
def unconfirmed_changes_purge() -> dict[str, int]:
    return accounts_housekeeping.unconfirmed_changes_purge()


@shared_task(ignore_result=True)
def mobile_registrations_purge() -> dict[str, int]:
    return tokens_housekeeping.mobile_registrations_purge()
