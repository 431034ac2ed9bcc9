"""Reads of the accounts app that more than one place needs."""

from .models import AccessBlock, User


def login_blocks(*, user: User) -> list[AccessBlock]:
    """Active blocks that stop this customer from logging in."""
    return list(user.access_blocks.active().filter(kind__in=AccessBlock.LOGIN_KINDS))


def otp_blocked(*, user: User) -> bool:
    """True while any active block stops this customer from confirming with an OTP."""
    return user.access_blocks.active().exists()


def phone_reported_lost(*, user: User) -> bool:
    """True while the customer's phone is flagged lost: nothing is sent to it."""
    return user.access_blocks.active().filter(kind=AccessBlock.Kind.LOST_PHONE).exists()


def login_failures(*, user: User) -> int:
    """Consecutive wrong passwords counted by django-axes for this User ID."""
    from axes.models import AccessAttempt
    from django.db.models import Sum

    total = AccessAttempt.objects.filter(username=user.user_id.lower()).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return total or 0


def access_state(*, user: User) -> dict:
    """Whether the customer can log in and confirm, and every reason why not.

    ``login_locked``: django-axes reached its limit (wrong passwords); ``otp_failures``: the
    consecutive wrong OTPs; ``blocks``: the active AccessBlocks (kind, reason, who, when).
    """
    from django.conf import settings

    # Parallel tries may each be counted before the lock is seen: never "6 / 5".
    failures = min(login_failures(user=user), settings.AXES_FAILURE_LIMIT)
    blocks = list(user.access_blocks.active().select_related("created_by"))
    login_locked = failures >= settings.AXES_FAILURE_LIMIT
    return {
        "login_failures": failures,
        "login_failure_limit": settings.AXES_FAILURE_LIMIT,
        "login_locked": login_locked,
        "otp_failures": user.otp_failure_count,
        "otp_failure_limit": settings.OTP_MAX_CONSECUTIVE_FAILURES,
        "blocks": blocks,
        "can_log_in": not login_locked
        and not any(b.kind in AccessBlock.LOGIN_KINDS for b in blocks),
        "can_confirm": not blocks,
    }


def login_failure_limit() -> int:
    """Wrong passwords in a row that lock a User ID (django-axes), read at call time."""
    from django.conf import settings

    return settings.AXES_FAILURE_LIMIT


def staff_totp_confirmed(*, user: User) -> bool:
    """True once the staff member has a confirmed TOTP device: the only device that opens the
    admin (``StaffAdminSite.has_permission``)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
