"""Staff roles as Django groups, each with only the permissions it needs.

The custom permissions are created here (on AccessBlock's content type) rather than in
``Meta.permissions``; the default ``view_*`` permissions are created here too, because on a
fresh database Django adds them only after all migrations ran.
"""

from django.db import migrations

# (app_label, model, codename, name)
PERMISSIONS = {
    "view_user": ("accounts", "user", "Can view user"),
    "view_auditevent": ("accounts", "auditevent", "Can view audit event"),
    "flag_access": ("accounts", "accessblock", "Can flag a customer's access"),
    "unblock_access": (
        "accounts",
        "accessblock",
        "Can unblock after failures (login lockout, wrong OTPs)",
    ),
    "unblock_lost_phone": (
        "accounts",
        "accessblock",
        "Can lift a lost-phone, staff or customer's own flag",
    ),
}

ROLES = {
    "Call centre agent": ["view_user", "flag_access", "unblock_access"],
    "Branch officer": ["view_user"],
    "Supervisor": [
        "view_user",
        "view_auditevent",
        "flag_access",
        "unblock_access",
        "unblock_lost_phone",
    ],
}


def roles_create(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    permissions = {}
    for codename, (app_label, model, name) in PERMISSIONS.items():
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
        permissions[codename], _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
    for group_name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set([permissions[c] for c in codenames])


def roles_delete(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.filter(name__in=ROLES).delete()
    Permission.objects.filter(
        content_type__app_label="accounts",
        codename__in=["flag_access", "unblock_access", "unblock_lost_phone"],
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_create, roles_delete)]
