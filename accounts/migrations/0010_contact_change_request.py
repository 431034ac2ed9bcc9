"""Four eyes on a staff change of a customer's phone or email (issue 9, item 2).

ContactChangeRequest: a member of staff asks, a supervisor who is someone else approves or
rejects (the database refuses an approver who is the requester). The permissions, on the User
content type as in 0004_change_phone_permission: ``change_email`` (branch officer, supervisor)
and ``approve_contact_change`` (supervisor); ``change_phone`` now means asking for a change.
The audit actions they write. AlterField of choices changes no column, so SQLite does not
rebuild accounts_auditevent (its append-only triggers stay).
"""

import django.db.models.deletion
import django.utils.timezone
import phonenumber_field.modelfields
from django.conf import settings
from django.db import migrations, models

# codename -> (name, groups); frozen copy of what accounts.services.ROLE_PERMISSIONS adds.
GRANTS = {
    "change_email": ("Can ask to change a customer's email", ["Branch officer", "Supervisor"]),
    "approve_contact_change": (
        "Can approve or reject a staff change of a customer's phone or email",
        ["Supervisor"],
    ),
}
CHANGE_PHONE_NAMES = (
    "Can change a customer's mobile phone (customer lost it)",
    "Can ask to change a customer's mobile phone (customer lost it)",
)


def permissions_grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    content_type, _ = ContentType.objects.get_or_create(app_label="accounts", model="user")
    for codename, (name, groups) in GRANTS.items():
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        for group_name in groups:
            group, _ = Group.objects.get_or_create(name=group_name)
            group.permissions.add(permission)
    Permission.objects.filter(content_type=content_type, codename="change_phone").update(
        name=CHANGE_PHONE_NAMES[1]
    )


def permissions_revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="accounts", codename__in=GRANTS).delete()
    Permission.objects.filter(content_type__app_label="accounts", codename="change_phone").update(
        name=CHANGE_PHONE_NAMES[0]
    )


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0009_email_outbox'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('login', 'Logged in'), ('login_failed', 'Failed login'), ('login_locked', 'Login locked'), ('logout', 'Logged out'), ('otp_issued', 'OTP issued'), ('otp_verified', 'OTP verified'), ('otp_failed', 'OTP failed'), ('access_blocked', 'Access blocked'), ('access_unblocked', 'Access unblocked'), ('sms_alarm', 'SMS rate alarm'), ('transfer', 'Transfer made'), ('payee_added', 'Payee added'), ('staff_created', 'Staff member created'), ('staff_device_enrolled', 'Staff authenticator enrolled'), ('phone_changed', 'Phone number changed'), ('email_changed', 'Email changed'), ('confirmation_method_changed', 'Confirmation method changed'), ('token_imported', 'Tokens imported'), ('token_assigned', 'Token assigned'), ('token_activated', 'Token activated'), ('token_state_changed', 'Token state changed'), ('token_resynced', 'Token resynchronised'), ('token_code_reused', 'Token code used again'), ('notice_sent', 'Notice sent'), ('notice_email_queued', 'Notice email queued'), ('notice_email_sent', 'Notice email sent'), ('notice_email_failed', 'Notice email failed'), ('login_address_locked', 'Login locked for a network address'), ('contact_change_requested', 'Staff change of phone or email asked'), ('contact_change_approved', 'Staff change of phone or email approved'), ('contact_change_rejected', 'Staff change of phone or email rejected')], db_index=True, max_length=30),
        ),
        migrations.CreateModel(
            name='ContactChangeRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('phone', 'Mobile phone'), ('email', 'Email')], max_length=10, verbose_name='what')),
                ('new_phone', phonenumber_field.modelfields.PhoneNumberField(blank=True, max_length=128, region='ID', verbose_name='new mobile phone')),
                ('new_email', models.EmailField(blank=True, max_length=254, verbose_name='new email')),
                ('reason', models.TextField(verbose_name='reason')),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='asked at')),
                ('state', models.CharField(choices=[('pending', 'Waiting for approval'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('voided', 'Replaced by a later change')], default='pending', max_length=10, verbose_name='state')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided at')),
                ('decision_note', models.TextField(blank=True, verbose_name='note of the decision')),
                ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='decided by')),
                ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='asked by')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contact_change_requests', to=settings.AUTH_USER_MODEL, verbose_name='customer')),
            ],
            options={
                'verbose_name': 'change of phone or email',
                'verbose_name_plural': 'changes of phone or email',
                'ordering': ['-requested_at', '-pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind', 'phone'), ('new_email', ''), models.Q(('new_phone', ''), _negated=True)), models.Q(('kind', 'email'), ('new_phone', ''), models.Q(('new_email', ''), _negated=True)), _connector='OR'), name='accounts_contactchangerequest_value_fits_kind'), models.CheckConstraint(condition=models.Q(('decided_by__isnull', True), models.Q(('decided_by', models.F('requested_by')), _negated=True), _connector='OR'), name='accounts_contactchangerequest_four_eyes'), models.CheckConstraint(condition=models.Q(models.Q(('decided_by__isnull', False), ('state__in', ['approved', 'rejected'])), models.Q(('decided_by__isnull', True), ('state', 'pending')), ('state', 'voided'), _connector='OR'), name='accounts_contactchangerequest_decided_by_someone'), models.UniqueConstraint(condition=models.Q(('state', 'pending')), fields=('user', 'kind'), name='accounts_contactchangerequest_one_pending_per_kind')],
            },
        ),
        migrations.RunPython(permissions_grant, permissions_revoke),
    ]
