"""Branch officers and supervisors may change the mobile phone of a customer who lost it.

The permission lives on the User content type (``accounts.change_phone``); the groups are
the roles of 0002_staff_roles.
"""

from django.db import migrations

CODENAME = "change_phone"
NAME = "Can change a customer's mobile phone (customer lost it)"
GROUPS = ["Branch officer", "Supervisor"]


def permission_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename=CODENAME, defaults={"name": NAME}
    )
    for name in GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(permission)


def permission_revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="accounts", codename=CODENAME).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_audit_actions")]

    operations = [migrations.RunPython(permission_grant, permission_revoke)]
