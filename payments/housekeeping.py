"""Retention jobs of payments (run by Celery beat through ``portal.tasks``).

Only what never moved money goes: a completed or failed transfer, a corporate payment (its
approval or rejection is the company's record) and every ledger entry stay. Ledger entries
PROTECT their transfer, so the database itself refuses to delete a transfer that has legs.
"""

from django.conf import settings
from django.db.models import Q

from portal.housekeeping import cutoff, delete_in_batches, report

from .models import DestinationLookup, Payee, Transfer


def unconfirmed_purge() -> dict[str, int]:
    """Transfers and payees the customer never confirmed, older than
    ``RETENTION_UNCONFIRMED_DAYS``: drafts (a look-up nobody went on with), and pending
    (long overdue), cancelled and expired transfers from a customer's own account with no
    ledger entry, payees still pending; and
    the record of whose name a customer was shown (counted per day against harvesting names).

    The audit log keeps that a transfer was cancelled or expired (with its reference)."""
    before = cutoff(days=settings.RETENTION_UNCONFIRMED_DAYS)
    transfers = Transfer.objects.filter(
        Q(status=Transfer.Status.DRAFT)
        | Q(
            status__in=[
                Transfer.Status.PENDING,
                Transfer.Status.CANCELLED,
                Transfer.Status.EXPIRED,
            ],
            source__company__isnull=True,
        ),
        created_at__lt=before,
        completed_at__isnull=True,
        entries__isnull=True,
    )
    return report(
        "unconfirmed_payments",
        {
            "payments.Transfer": delete_in_batches(transfers),
            "payments.Payee": delete_in_batches(
                Payee.objects.filter(created_at__lt=before, status=Payee.Status.PENDING)
            ),
            "payments.DestinationLookup": delete_in_batches(
                DestinationLookup.objects.filter(created_at__lt=before)
            ),
        },
    )
