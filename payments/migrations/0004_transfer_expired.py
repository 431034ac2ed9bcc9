"""A pending transfer expires (status "expired"), counted from when it was started.

Neither change rebuilds payments_transfer on SQLite, which would drop the currency triggers
of 0002 (tests/payments/test_currency.py checks they are there): a nullable column without a
default is added with ALTER TABLE ... ADD COLUMN, and the new choice is said to the state
alone, as in 0003 (choices live in the model only).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0003_transfer_draft_destination_lookup'),
    ]

    operations = [
        migrations.AddField(
            model_name='transfer',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='transfer',
                    name='status',
                    field=models.CharField(choices=[('draft', 'Not started'), ('pending', 'Waiting for confirmation'), ('completed', 'Completed'), ('failed', 'Failed'), ('cancelled', 'Cancelled'), ('expired', 'Expired')], default='draft', max_length=10),
                ),
            ],
            database_operations=[],
        ),
    ]
