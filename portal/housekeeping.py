"""Retention: the shared way housekeeping jobs delete old rows (each app owns its jobs in its
own ``housekeeping.py``; ``portal.tasks`` runs them from Celery beat).

Rows go in bounded batches, each its own short transaction: a table with millions of old rows
is never locked by one long DELETE, and a job stopped half-way has kept what it committed.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger("portal.housekeeping")


def cutoff(*, days: float, now: datetime | None = None) -> datetime:
    """The moment ``days`` ago: rows older than this are past their retention."""
    return (now or timezone.now()) - timedelta(days=days)


def delete_in_batches(queryset: QuerySet, *, batch_size: int | None = None) -> int:
    """Delete every row of ``queryset`` in batches of at most ``HOUSEKEEPING_BATCH_SIZE``
    primary keys (each batch one transaction, with Django's cascades); return how many rows of
    the queryset's model went (rows removed by cascade are not counted).

    The batches walk the primary key upwards from where the last one ended, so rows the
    queryset keeps are read once per run, not again for every batch."""
    batch_size = batch_size or settings.HOUSEKEEPING_BATCH_SIZE
    model = queryset.model
    label = model._meta.label
    deleted = 0
    last = None
    while True:
        batch = queryset.order_by("pk")
        if last is not None:
            batch = batch.filter(pk__gt=last)
        ids = list(batch.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        with transaction.atomic():
            _total, per_model = model._default_manager.filter(pk__in=ids).delete()
        deleted += per_model.get(label, 0)
        if len(ids) < batch_size:
            return deleted
        last = ids[-1]


def report(job: str, counts: dict[str, int]) -> dict[str, int]:
    """Log what a job deleted (model labels and counts only, never a row's content)."""
    logger.info(
        "housekeeping %s: %s",
        job,
        ", ".join(f"{label}={count}" for label, count in counts.items()) or "nothing",
    )
    return counts
