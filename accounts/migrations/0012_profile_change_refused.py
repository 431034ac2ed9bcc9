"""A customer's change of number refused after both codes is kept as such, and counted per
day (issue 9, item 10): the state ``refused``, its time, and the audit action. AlterField of
choices changes no column (accounts_auditevent and its triggers stay)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0011_audit_customer_viewed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='profilechange',
            name='state',
            field=models.CharField(choices=[('awaiting_current', 'Waiting for the OTP on the current factor'), ('awaiting_new', 'Waiting for the new phone or email to be verified'), ('completed', 'Completed'), ('voided', 'Voided'), ('refused', 'Refused')], default='awaiting_current', max_length=20),
        ),
        migrations.AddField(
            model_name='profilechange',
            name='refused_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('login', 'Logged in'), ('login_failed', 'Failed login'), ('login_locked', 'Login locked'), ('logout', 'Logged out'), ('otp_issued', 'OTP issued'), ('otp_verified', 'OTP verified'), ('otp_failed', 'OTP failed'), ('access_blocked', 'Access blocked'), ('access_unblocked', 'Access unblocked'), ('sms_alarm', 'SMS rate alarm'), ('transfer', 'Transfer made'), ('payee_added', 'Payee added'), ('staff_created', 'Staff member created'), ('staff_device_enrolled', 'Staff authenticator enrolled'), ('phone_changed', 'Phone number changed'), ('email_changed', 'Email changed'), ('confirmation_method_changed', 'Confirmation method changed'), ('token_imported', 'Tokens imported'), ('token_assigned', 'Token assigned'), ('token_activated', 'Token activated'), ('token_state_changed', 'Token state changed'), ('token_resynced', 'Token resynchronised'), ('token_code_reused', 'Token code used again'), ('notice_sent', 'Notice sent'), ('notice_email_queued', 'Notice email queued'), ('notice_email_sent', 'Notice email sent'), ('notice_email_failed', 'Notice email failed'), ('login_address_locked', 'Login locked for a network address'), ('contact_change_requested', 'Staff change of phone or email asked'), ('contact_change_approved', 'Staff change of phone or email approved'), ('contact_change_rejected', 'Staff change of phone or email rejected'), ('customer_viewed', "Customer's page viewed by staff"), ('phone_change_refused', 'Phone number change refused')], db_index=True, max_length=30),
        ),
    ]
