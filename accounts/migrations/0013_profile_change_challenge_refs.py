"""ProfileChange keeps the ids of its challenges as opaque references instead of foreign keys
to tokens.Challenge: accounts' models point to nothing up the dependency order (payments ->
tokens -> accounts); the views resolve the ids through tokens. The ids are copied over."""

from django.db import migrations, models
from django.db.models import F


def references_copy(apps, schema_editor):
    ProfileChange = apps.get_model("accounts", "ProfileChange")
    ProfileChange.objects.using(schema_editor.connection.alias).update(
        current_challenge_ref=F("current_challenge_id"), new_challenge_ref=F("new_challenge_id")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0012_profile_change_refused'),
    ]

    operations = [
        migrations.AddField(
            model_name='profilechange',
            name='current_challenge_ref',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='profilechange',
            name='new_challenge_ref',
            field=models.UUIDField(blank=True, editable=False, null=True),
        ),
        # Backwards the references are dropped (no dependency on tokens for it): a change in
        # flight then asks for a new code.
        migrations.RunPython(references_copy, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='profilechange',
            name='current_challenge',
        ),
        migrations.RemoveField(
            model_name='profilechange',
            name='new_challenge',
        ),
    ]
