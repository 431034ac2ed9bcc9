"""Corporate payments (issue 11): who submitted, approved or rejected a payment and until when
it waits for approval. Only nullable columns, added with ALTER TABLE ADD COLUMN (no table
rebuild, so SQLite keeps the currency triggers of 0002); the new statuses are choices only.

Unapplying it on SQLite rebuilds payments_transfer: as in 0006, the triggers are dropped
before and created again after."""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

currency_triggers = importlib.import_module(
    "payments.migrations.0002_transfer_currency_matches_accounts"
)


def sqlite_triggers_create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        currency_triggers.triggers_create(apps, schema_editor)


def sqlite_triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        currency_triggers.triggers_drop(apps, schema_editor)


def user_fk():
    return models.ForeignKey(
        blank=True,
        null=True,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_account_company"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Reversed in the opposite order: drop the triggers, rebuild, create them again.
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_create),
        migrations.AddField(
            model_name="transfer",
            name="submitted_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="transfer",
            name="approval_deadline",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(model_name="transfer", name="approved_by", field=user_fk()),
        migrations.AddField(
            model_name="transfer",
            name="approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(model_name="transfer", name="rejected_by", field=user_fk()),
        migrations.AddField(
            model_name="transfer",
            name="rejected_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="transfer",
            name="rejection_reason",
            field=models.CharField(blank=True, max_length=200, null=True),
        ),
        migrations.AlterField(
            model_name="transfer",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Not started"),
                    ("pending", "Waiting for confirmation"),
                    ("completed", "Completed"),
                    ("failed", "Failed"),
                    ("cancelled", "Cancelled"),
                    ("expired", "Expired"),
                    ("approval", "Waiting for approval"),
                    ("rejected", "Rejected"),
                ],
                default="draft",
                max_length=10,
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_drop),
    ]
