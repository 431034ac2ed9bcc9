from django.db import migrations, models


def refuse_shared_numbers(apps, schema_editor):
    """Stop with a readable message instead of a bare IntegrityError if two users already
    share a number: which of them keeps it is a decision for staff, not for a migration."""
    User = apps.get_model("accounts", "User")
    shared = (
        User.objects.using(schema_editor.connection.alias)
        .exclude(phone="")
        .values("phone")
        .annotate(holders=models.Count("pk"))
        .filter(holders__gt=1)
    )
    if shared.exists():
        user_ids = sorted(
            User.objects.using(schema_editor.connection.alias)
            .filter(phone__in=shared.values("phone"))
            .values_list("user_id", flat=True)
        )
        raise RuntimeError(
            f"{shared.count()} phone numbers are held by more than one user "
            f"(users: {', '.join(user_ids)}); give each number to one user, then migrate again."
        )


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0006_audit_log_names"),
    ]

    operations = [
        migrations.RunPython(refuse_shared_numbers, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("phone", ""), _negated=True),
                fields=("phone",),
                name="accounts_user_phone_unique",
            ),
        ),
    ]
