from django.db import migrations, models
from django.db.models import Count, Min


def duplicates_merge(apps, schema_editor):
    """Keep each customer's oldest SMS device, delete the copies parallel requests made.

    The devices hold no secret and no state a session needs beyond its id: a session verified
    by a deleted copy is simply no longer verified (the customer confirms with a new OTP).
    """
    SMSDevice = apps.get_model("tokens", "SMSDevice")
    doubled = (
        SMSDevice.objects.values("user_id")
        .annotate(n=Count("id"), keep=Min("id"))
        .filter(n__gt=1)
    )
    for row in doubled:
        SMSDevice.objects.filter(user_id=row["user_id"]).exclude(pk=row["keep"]).delete()


class Migration(migrations.Migration):
    dependencies = [("tokens", "0008_hardware_token_names")]

    operations = [
        migrations.RunPython(duplicates_merge, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="smsdevice",
            constraint=models.UniqueConstraint(fields=["user"], name="tokens_smsdevice_one_per_user"),
        ),
    ]
