"""A company's bank accounts (issue 11): a nullable foreign key, added with ALTER TABLE ADD
COLUMN (no table rebuild, so the currency triggers of 0002 stay in place; see
``manage.py sqlmigrate payments 0006``).

Unapplying it on SQLite rebuilds payments_bankaccount (a foreign key column cannot be
dropped there), and renaming the rebuilt table fails while 0002's triggers on
payments_transfer name it: the triggers are dropped before and created again after."""

import importlib

import django.db.models.deletion
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


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0017_company"),
        ("payments", "0005_statement_index"),
    ]

    operations = [
        # Reversed in the opposite order: drop the triggers, rebuild, create them again.
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_create),
        migrations.AddField(
            model_name="bankaccount",
            name="company",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="bank_accounts",
                to="accounts.company",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_drop),
    ]
