"""Grant the corporate-request permissions to the staff roles (groups of accounts 0002).

A frozen copy of ``corporate.services.CORPORATE_ROLE_PERMISSIONS``. The permissions are created
here because on a fresh database Django adds them only after all migrations ran.
"""

from django.db import migrations

PERMISSIONS = {
    "view_corporaterequest": "Can view corporate request",
    "process_corporaterequest": "Can process corporate requests (officer step)",
}
ROLES = {
    "Branch officer": list(PERMISSIONS),
    "Supervisor": list(PERMISSIONS),
}


def roles_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(
        app_label="corporate", model="corporaterequest"
    )
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
        content_type__app_label="corporate", codename__in=list(PERMISSIONS)
    )
    for group in Group.objects.filter(name__in=ROLES):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("corporate", "0001_initial"),
        ("accounts", "0002_staff_roles"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(roles_grant, roles_revoke)]
