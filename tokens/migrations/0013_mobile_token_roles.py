"""Grant the Mobile Token staff permissions to the roles that help customers with a lost phone.

The permissions are created here because on a fresh database Django adds them only after all
migrations ran (as in 0006).
"""

from django.db import migrations

PERMISSIONS = {
    "view_mobiledevice": "Can view Mobile Token",
    "deregister_mobile_device": "Can de-register a customer's Mobile Token",
}

ROLES = {
    "Call centre agent": list(PERMISSIONS),
    "Supervisor": list(PERMISSIONS),
}


def roles_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="tokens", model="mobiledevice")
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
        ("tokens", "0012_mobile_token"),
        ("accounts", "0002_staff_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_grant, roles_revoke)]
