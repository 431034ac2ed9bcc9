"""Retention jobs of the accounts app (run by Celery beat through ``portal.tasks``).

Each deletes in bounded batches (``portal.housekeeping.delete_in_batches``), returns what it
deleted per model and logs only those counts. The audit log (``AuditEvent``) is never touched:
it is append-only (the database refuses UPDATE and DELETE) and a banking record.
"""

from importlib import import_module

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import Q, Sum
from django.utils import timezone

from portal.housekeeping import cutoff, delete_in_batches, report

from .models import EmailMessage, LoginAddressThrottle, PasswordChange, PasswordReset, ProfileChange

_DB_SESSION_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
    "accounts.sessions.db",  # the portal's (Django's, with leaner writes)
    "accounts.sessions.cached_db",
)


def sessions_clear() -> dict[str, int]:
    """Expired sessions: what ``manage.py clearsessions`` does, in batches for the database
    engines (their ``clear_expired`` is one DELETE over the whole table). A session in the
    cache of ``cached_db`` expires there by itself."""
    if settings.SESSION_ENGINE in _DB_SESSION_ENGINES:
        count = delete_in_batches(Session.objects.filter(expire_date__lt=timezone.now()))
        return report("sessions", {"sessions.Session": count})
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return report("sessions", {})


def login_records_purge() -> dict[str, int]:
    """django-axes' records of logins and failed logins (User IDs, addresses, browsers) and the
    per-address login throttle, older than ``RETENTION_LOGIN_RECORDS_DAYS``.

    A User ID locked by wrong passwords stays locked: axes sums ``failures_since_start`` over
    all of a User ID's attempts and, with no cool-off, only staff unlock it, so no attempt of a
    User ID at the limit is deleted. An address still locked keeps its throttle row.
    """
    now = timezone.now()
    before = cutoff(days=settings.RETENTION_LOGIN_RECORDS_DAYS, now=now)
    locked_usernames = (
        AccessAttempt.objects.values("username")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .values("username")
    )
    attempts = AccessAttempt.objects.filter(attempt_time__lt=before).exclude(
        username__in=locked_usernames
    )
    throttles = LoginAddressThrottle.objects.filter(window_started_at__lt=before).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    return report(
        "login_records",
        {
            "axes.AccessLog": delete_in_batches(AccessLog.objects.filter(attempt_time__lt=before)),
            "axes.AccessFailureLog": delete_in_batches(
                AccessFailureLog.objects.filter(attempt_time__lt=before)
            ),
            "axes.AccessAttempt": delete_in_batches(attempts),
            "accounts.LoginAddressThrottle": delete_in_batches(throttles),
        },
    )


def emails_purge() -> dict[str, int]:
    """The e-mail outbox (addresses, what each customer was told) older than
    ``RETENTION_EMAILS_DAYS``; the audit log keeps that a notice was queued, sent or failed."""
    before = cutoff(days=settings.RETENTION_EMAILS_DAYS)
    return report(
        "emails",
        {
            "accounts.EmailMessage": delete_in_batches(
                EmailMessage.objects.filter(created_at__lt=before)
            )
        },
    )


def unconfirmed_changes_purge() -> dict[str, int]:
    """Changes of phone, e-mail and password that never completed, and forgotten-password
    tries, older than ``RETENTION_UNCONFIRMED_DAYS``.

    A completed phone or e-mail change is kept (it says when the customer's factor changed);
    a completed password change holds no hash any more. Refused phone changes are counted per
    day and password-reset tries per ``PASSWORD_RESET_WINDOW``: the retention is longer than
    both (``portal.checks``). The audit log keeps every completed and refused change.
    """
    before = cutoff(days=settings.RETENTION_UNCONFIRMED_DAYS)
    return report(
        "unconfirmed_changes",
        {
            "accounts.ProfileChange": delete_in_batches(
                ProfileChange.objects.filter(created_at__lt=before).exclude(
                    state=ProfileChange.State.COMPLETED
                )
            ),
            "accounts.PasswordChange": delete_in_batches(
                PasswordChange.objects.filter(created_at__lt=before).exclude(
                    state=PasswordChange.State.COMPLETED
                )
            ),
            "accounts.PasswordReset": delete_in_batches(
                PasswordReset.objects.filter(created_at__lt=before)
            ),
        },
    )
