"""Grant the hardware-token permissions to the staff roles (groups of accounts 0002).

A frozen copy of ``tokens.hardware.TOKEN_ROLE_PERMISSIONS``. The permissions are created here
because on a fresh database Django adds them only after all migrations ran.
"""

from django.db import migrations

PERMISSIONS = {
    "view_hardwaretoken": "Can view hardware token",
    "import_tokens": "Can import tokens from PSKC files",
    "assign_token": "Can assign a token to a customer",
    "change_token_state": "Can mark a token lost, damaged, battery dead or revoked",
    "resync_token": "Can resynchronise a token",
    "switch_sms_fallback": "Can switch a token holder to SMS OTP",
}

ROLES = {
    "Branch officer": [
        "view_hardwaretoken", "import_tokens", "assign_token", "change_token_state",
        "resync_token",
    ],
    "Supervisor": list(PERMISSIONS),
}


def roles_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="tokens", model="hardwaretoken")
    permissions = {
        codename: Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )[0]
        for codename, name in PERMISSIONS.items()
    }
    for group_name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(*[permissions[c] for c in codenames])


def roles_revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="tokens", codename__in=list(PERMISSIONS)
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("tokens", "0005_hardware_token_permissions"),
        ("accounts", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_grant, roles_revoke)]
