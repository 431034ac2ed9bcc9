"""Writes of the accounts app: sessions, access blocks, unblocking and the audit log."""

from importlib import import_module

from axes.utils import reset as axes_reset
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import AccessBlock, AuditEvent, User


def audit_log(
    *,
    action: str,
    subject: User | None = None,
    actor: User | None = None,
    ip: str | None = None,
    reason: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit log. ``data`` must never hold a secret."""
    return AuditEvent.objects.create(
        action=action, subject=subject, actor=actor, ip_address=ip, reason=reason, data=data or {}
    )


def login_username_normalise(request, credentials: dict) -> str:
    """The User ID that login throttling counts: case and surrounding spaces do not matter."""
    return (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD, "").strip().lower()


def session_start(*, user: User, session_key: str, ip: str | None, language: str) -> None:
    """Make ``session_key`` the user's only session (a new login ends the old one) and audit it.

    The language the customer logged in with becomes the language of their SMS.
    """
    User.objects.filter(pk=user.pk).update(session_key=session_key, language=language)
    user.session_key, user.language = session_key, language
    # The old session is not deleted here: SessionSecurityMiddleware ends it on its next
    # request (it no longer matches User.session_key) and tells that browser why.
    audit_log(action=AuditEvent.Action.LOGIN, subject=user, actor=user, ip=ip)


def user_language_set(*, user: User, language: str) -> None:
    """The language of the customer's pages becomes the language of their SMS."""
    if language in dict(settings.LANGUAGES):
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def session_rebind(*, user: User, session_key: str) -> None:
    """Follow a cycled session key (after OTP verification) so the session stays the only one."""
    User.objects.filter(pk=user.pk).update(session_key=session_key)
    user.session_key = session_key


def session_end(*, user: User, ip: str | None) -> None:
    """Forget the user's session on logout."""
    User.objects.filter(pk=user.pk).update(session_key="")
    audit_log(action=AuditEvent.Action.LOGOUT, subject=user, actor=user, ip=ip)


def login_failed_record(*, user_id: str, ip: str | None, locked: bool = False) -> None:
    """Audit a failed or locked-out login; the typed User ID is kept, never the password."""
    subject = User.objects.filter(user_id__iexact=user_id.strip()).first() if user_id else None
    audit_log(
        action=AuditEvent.Action.LOGIN_LOCKED if locked else AuditEvent.Action.LOGIN_FAILED,
        subject=subject,
        ip=ip,
        data={"user_id": user_id.strip()[:30]},
    )


def _session_store_delete(session_key: str) -> None:
    engine = import_module(settings.SESSION_ENGINE)
    engine.SessionStore(session_key=session_key).delete()


@transaction.atomic
def access_block(
    *,
    user: User,
    kind: str,
    reason: str,
    actor: User | None = None,
    ip: str | None = None,
) -> AccessBlock:
    """Block a customer's access; a block that stops login also ends every open session now."""
    block = AccessBlock.objects.filter(user=user, kind=kind).active().first()
    if block is None:
        block = AccessBlock(user=user, kind=kind, reason=reason, created_by=actor)
        block.full_clean()
        block.save()
    if kind in AccessBlock.LOGIN_KINDS and user.session_key:
        old_key = user.session_key
        User.objects.filter(pk=user.pk).update(session_key="")
        user.session_key = ""
        transaction.on_commit(lambda: _session_store_delete(old_key))
    audit_log(
        action=AuditEvent.Action.ACCESS_BLOCKED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"kind": kind},
    )
    return block


@transaction.atomic
def access_unblock(
    *, user: User, reason: str, actor: User | None = None, ip: str | None = None
) -> list[str]:
    """Lift every block on the customer and clear every counter behind them.

    Clears the login lockout (django-axes attempts) and the consecutive OTP failure count, and
    lifts each active AccessBlock, all with the written ``reason``. Returns the kinds lifted.
    """
    if not reason.strip():
        raise ValueError("An unblock needs a written reason")
    now = timezone.now()
    blocks = list(AccessBlock.objects.select_for_update().filter(user=user).active())
    AccessBlock.objects.filter(pk__in=[b.pk for b in blocks]).update(
        lifted_at=now, lifted_by=actor, lift_reason=reason
    )
    login_attempts = axes_reset(username=user.user_id.lower())
    User.objects.filter(pk=user.pk).update(otp_failure_count=0)
    user.otp_failure_count = 0
    lifted = [b.kind for b in blocks] + (["login_lockout"] if login_attempts else [])
    audit_log(
        action=AuditEvent.Action.ACCESS_UNBLOCKED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"lifted": lifted},
    )
    return lifted


def otp_failure_record(*, user: User, max_failures: int) -> int:
    """Count one more consecutive OTP failure; at ``max_failures`` block OTP for the user.

    Callers must not run it inside a transaction they may roll back: a wrong code counts even
    though the action it was meant to confirm does not happen. Returns the new count.
    """
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(otp_failure_count=F("otp_failure_count") + 1)
        count = User.objects.values_list("otp_failure_count", flat=True).get(pk=user.pk)
        user.otp_failure_count = count
        if count >= max_failures:
            access_block(
                user=user,
                kind=AccessBlock.Kind.OTP_FAILURES,
                reason=f"{count} consecutive wrong OTPs",
            )
    return count


def otp_failure_reset(*, user: User) -> None:
    """A correct OTP ends a run of failures."""
    if user.otp_failure_count:
        User.objects.filter(pk=user.pk).update(otp_failure_count=0)
        user.otp_failure_count = 0
