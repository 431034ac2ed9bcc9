"""Retention jobs of the OTP core (run by Celery beat through ``portal.tasks``).

Each deletes in bounded batches (``portal.housekeeping.delete_in_batches``), returns what it
deleted per model and logs only those counts. Audit events name challenges by id (text): they
stay, and a deleted challenge is simply no longer found.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef

from portal.housekeeping import cutoff, delete_in_batches, report

from .models import Challenge, MobileRegistration, OutboxMessage, SmsMessage


def _still_referenced(model) -> models.Q:
    """Rows of ``model`` another row still points at with a nullable foreign key (a kept
    transfer or payee names the challenge that confirmed it): deleting them would rewrite the
    kept row (SET_NULL). Found from the models, so the OTP core imports no app above it."""
    condition = models.Q()
    # Hidden too: the referrers name the challenge with related_name="+".
    for relation in model._meta.get_fields(include_hidden=True):
        if relation.auto_created and getattr(relation, "on_delete", None) is models.SET_NULL:
            referrers = relation.related_model._default_manager.filter(
                **{relation.field.name: OuterRef("pk")}
            )
            condition |= Exists(referrers)
    return condition


def challenges_purge() -> dict[str, int]:
    """Challenges expired more than ``RETENTION_CHALLENGES_DAYS`` ago, whatever became of them
    (a pending one past its lifetime can never be used), with their SMS row (CASCADE); never
    one a kept transfer or payee still names.

    The SMS send limits count SMS rows over windows of at most an hour, far inside the
    retention (``portal.checks``)."""
    before = cutoff(days=settings.RETENTION_CHALLENGES_DAYS)
    expired = Challenge.objects.filter(expires_at__lt=before).exclude(_still_referenced(Challenge))
    return report("challenges", {"tokens.Challenge": delete_in_batches(expired)})


def sms_purge() -> dict[str, int]:
    """SMS records (phone numbers, delivery status) older than ``RETENTION_SMS_DAYS``, and the
    development phone's outbox (it holds codes) older than ``RETENTION_SMS_OUTBOX_DAYS``.

    Every SMS limit counts rows within a window far shorter than the retention
    (``portal.checks`` refuses settings where it is not)."""
    return report(
        "sms",
        {
            "tokens.SmsMessage": delete_in_batches(
                SmsMessage.objects.filter(created_at__lt=cutoff(days=settings.RETENTION_SMS_DAYS))
            ),
            "tokens.OutboxMessage": delete_in_batches(
                OutboxMessage.objects.filter(
                    created_at__lt=cutoff(days=settings.RETENTION_SMS_OUTBOX_DAYS)
                )
            ),
        },
    )


def mobile_registrations_purge() -> dict[str, int]:
    """Mobile Token registrations that ended (completed, or never finished within their
    lifetime) more than ``RETENTION_UNCONFIRMED_DAYS`` ago. A registered phone is a
    ``MobileDevice``, kept also once de-registered (the audit trail names it)."""
    before = cutoff(days=settings.RETENTION_UNCONFIRMED_DAYS)
    return report(
        "mobile_registrations",
        {
            "tokens.MobileRegistration": delete_in_batches(
                MobileRegistration.objects.filter(expires_at__lt=before)
            )
        },
    )
