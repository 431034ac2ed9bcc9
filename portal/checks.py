"""System checks of the retention settings (``manage.py check``, and every process start).

A row still counted by a limit must outlive the limit's window, or purging it would hand the
customer (or an attacker) a fresh allowance: the SMS send limits count SMS rows, the phone-change
refusals count refused changes per day, the password-reset throttle counts tries per window.
"""

from django.conf import settings
from django.core import checks

DAY = 24 * 60 * 60


def _sms_windows() -> dict[str, int]:
    """Every ``OTP_SMS_*_WINDOW`` setting (seconds), read now: a limit added later is covered."""
    return {
        name: getattr(settings, name)
        for name in dir(settings)
        if name.startswith("OTP_SMS_") and name.endswith("_WINDOW")
    }


@checks.register()
def retention_outlives_limits(app_configs=None, **kwargs):
    counted = [
        *(("RETENTION_SMS_DAYS", name, seconds) for name, seconds in _sms_windows().items()),
        *(("RETENTION_CHALLENGES_DAYS", name, seconds) for name, seconds in _sms_windows().items()),
        # Refused phone changes are counted since midnight WIB: at most a day back.
        ("RETENTION_UNCONFIRMED_DAYS", "PHONE_CHANGE_REFUSALS_PER_DAY (a day)", DAY),
        ("RETENTION_UNCONFIRMED_DAYS", "PASSWORD_RESET_WINDOW", settings.PASSWORD_RESET_WINDOW),
        ("RETENTION_UNCONFIRMED_DAYS", "TRANSFER_LOOKUP_DAILY_LIMIT (a day)", DAY),
        (
            "RETENTION_UNCONFIRMED_DAYS",
            "TRANSFER_PENDING_LIFETIME",
            settings.TRANSFER_PENDING_LIFETIME,
        ),
        ("RETENTION_LOGIN_RECORDS_DAYS", "LOGIN_ADDRESS_WINDOW", settings.LOGIN_ADDRESS_WINDOW),
    ]
    errors = []
    for retention, window, seconds in counted:
        if getattr(settings, retention) * DAY <= seconds:
            errors.append(
                checks.Error(
                    f"{retention} must be longer than {window}: rows younger than it are "
                    "still counted by a limit",
                    id="portal.E101",
                )
            )
    for name in dir(settings):
        if name.startswith(("RETENTION_", "HOUSEKEEPING_")) and getattr(settings, name) <= 0:
            errors.append(checks.Error(f"{name} must be positive", id="portal.E102"))
    return errors
