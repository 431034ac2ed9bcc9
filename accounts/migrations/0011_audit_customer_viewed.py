"""Every look of staff at a customer's page is audited (issue 9, item 4): the audit action.
AlterField of choices changes no column (accounts_auditevent and its triggers stay)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0010_contact_change_request'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('login', 'Logged in'), ('login_failed', 'Failed login'), ('login_locked', 'Login locked'), ('logout', 'Logged out'), ('otp_issued', 'OTP issued'), ('otp_verified', 'OTP verified'), ('otp_failed', 'OTP failed'), ('access_blocked', 'Access blocked'), ('access_unblocked', 'Access unblocked'), ('sms_alarm', 'SMS rate alarm'), ('transfer', 'Transfer made'), ('payee_added', 'Payee added'), ('staff_created', 'Staff member created'), ('staff_device_enrolled', 'Staff authenticator enrolled'), ('phone_changed', 'Phone number changed'), ('email_changed', 'Email changed'), ('confirmation_method_changed', 'Confirmation method changed'), ('token_imported', 'Tokens imported'), ('token_assigned', 'Token assigned'), ('token_activated', 'Token activated'), ('token_state_changed', 'Token state changed'), ('token_resynced', 'Token resynchronised'), ('token_code_reused', 'Token code used again'), ('notice_sent', 'Notice sent'), ('notice_email_queued', 'Notice email queued'), ('notice_email_sent', 'Notice email sent'), ('notice_email_failed', 'Notice email failed'), ('login_address_locked', 'Login locked for a network address'), ('contact_change_requested', 'Staff change of phone or email asked'), ('contact_change_approved', 'Staff change of phone or email approved'), ('contact_change_rejected', 'Staff change of phone or email rejected'), ('customer_viewed', "Customer's page viewed by staff")], db_index=True, max_length=30),
        ),
    ]
