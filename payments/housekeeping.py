"""Retention jobs of payments (run by Celery beat through ``portal.tasks``).

Only what never moved money goes: a completed or failed transfer, a corporate payment (its
approval or rejection is the company's record) and every ledger entry stay. Ledger entries
PROTECT their transfer, so the database itself refuses to delete a transfer that has legs.
"""

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from portal.housekeeping import cutoff, delete_in_batches, report
from tokens.models import Challenge

from .models import DestinationLookup, Payee, Transfer


def unconfirmed_purge() -> dict[str, int]:
    """Transfers and payees the customer never confirmed, older than
    ``RETENTION_UNCONFIRMED_DAYS``: drafts (a look-up nobody went on with), and pending
    (long overdue), cancelled and expired transfers from a customer's own account with no
    ledger entry, payees still pending (pending ones by when they were last started: see
    below); and
    the record of whose name a customer was shown (counted per day against harvesting names).

    The audit log keeps that a transfer was cancelled or expired (with its reference)."""
    before = cutoff(days=settings.RETENTION_UNCONFIRMED_DAYS)
    # A pending transfer's life runs from when the customer went on with it (``started_at``,
    # set by Generate OTP; its creation for one older than that field), as in
    # ``Transfer.objects.overdue``: a draft made long ago and resumed today is young. A draft
    # goes by its creation (nothing changes a draft: going on with it makes it pending).
    started_before = Q(started_at__lt=before) | Q(started_at__isnull=True, created_at__lt=before)
    transfers = Transfer.objects.filter(
        Q(status=Transfer.Status.DRAFT, created_at__lt=before)
        | Q(status=Transfer.Status.PENDING, source__company__isnull=True) & started_before
        | Q(
            status__in=[Transfer.Status.CANCELLED, Transfer.Status.EXPIRED],
            source__company__isnull=True,
            created_at__lt=before,
        ),
        completed_at__isnull=True,
        entries__isnull=True,
    )
    # A pending payee goes by its last code asked for (its creation if none is left), and
    # never while that code still waits.
    payees = (
        Payee.objects.filter(status=Payee.Status.PENDING, created_at__lt=before)
        .filter(
            Q(challenge__isnull=True) | Q(challenge__created_at__lt=before)
        )
        .exclude(
            challenge__status=Challenge.Status.PENDING,
            challenge__expires_at__gt=timezone.now(),
        )
    )
    return report(
        "unconfirmed_payments",
        {
            "payments.Transfer": delete_in_batches(transfers),
            "payments.Payee": delete_in_batches(payees),
            "payments.DestinationLookup": delete_in_batches(
                DestinationLookup.objects.filter(created_at__lt=before)
            ),
        },
    )
