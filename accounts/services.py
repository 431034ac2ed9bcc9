"""Writes of the accounts app: sessions, access blocks, unblocking and the audit log."""

import logging
from functools import partial
from importlib import import_module

import phonenumbers
from axes.utils import reset as axes_reset
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from portal.formatting import email_masked, phone_masked

from . import exceptions
from .models import AccessBlock, AuditEvent, ProfileChange, User

logger = logging.getLogger(__name__)

# Staff roles are Django groups (created by migration 0002_staff_roles); the permissions below
# are what the services check, so a role that lacks one cannot act even outside the admin.
ROLE_GROUPS = {
    "agent": "Call centre agent",
    "branch": "Branch officer",
    "supervisor": "Supervisor",
}
# What each role may do (migration 0002_staff_roles holds a frozen copy of this table).
ROLE_PERMISSIONS = {
    "agent": ["view_user", "flag_access", "unblock_access"],
    "branch": ["view_user", "change_phone"],
    "supervisor": [
        "view_user",
        "view_auditevent",
        "flag_access",
        "unblock_access",
        "unblock_lost_phone",
        "change_phone",
    ],
}
CUSTOM_PERMISSIONS = {
    "flag_access": "Can flag a customer's access",
    "unblock_access": "Can unblock after failures (login lockout, wrong OTPs)",
    "unblock_lost_phone": "Can lift a lost-phone, staff or customer's own flag",
}
PERM_FLAG = "accounts.flag_access"
PERM_UNBLOCK = "accounts.unblock_access"
PERM_UNBLOCK_FLAG = "accounts.unblock_lost_phone"
# On the User content type (migration 0004_change_phone_permission): a branch officer or a
# supervisor changes the phone of a customer who no longer has the old one.
USER_PERMISSIONS = {"change_phone": "Can change a customer's mobile phone (customer lost it)"}
PERM_CHANGE_PHONE = "accounts.change_phone"
# Kinds a member of staff may set when flagging a customer.
STAFF_FLAG_KINDS = (AccessBlock.Kind.LOST_PHONE, AccessBlock.Kind.STAFF_FLAG)
# Kinds that only PERM_UNBLOCK_FLAG (a supervisor) may lift: a person decided them, not a
# counter. Login lockouts and OTP failures may be lifted with PERM_UNBLOCK (call-centre agent).
FLAG_KINDS = (AccessBlock.Kind.LOST_PHONE, AccessBlock.Kind.STAFF_FLAG, AccessBlock.Kind.SELF_FLAG)


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


def _staff_may_act_on(*, actor: User, user: User) -> None:
    """Refuse a staff action on the actor's own record or on another member of staff."""
    if actor.pk == user.pk:
        raise exceptions.OwnRecord()
    if user.is_staff:
        raise exceptions.NotACustomer()
    if not (actor.is_active and actor.is_staff):
        raise exceptions.NotPermitted()


def access_block_check(*, actor: User | None, user: User, kind: str, reason: str) -> None:
    """Raise a StaffError unless ``actor`` may set a block of ``kind`` on ``user``.

    ``actor`` None is the system (a counter reaching its limit); a customer may set only
    their own ``self_flag``; staff need ``accounts.flag_access``, a written reason, and may set
    only a lost-phone or staff flag, never on themselves.
    """
    if actor is None:
        return
    if actor.pk == user.pk and kind == AccessBlock.Kind.SELF_FLAG:
        return
    _staff_may_act_on(actor=actor, user=user)
    if kind not in STAFF_FLAG_KINDS or not actor.has_perm(PERM_FLAG):
        raise exceptions.NotPermitted()
    if not reason.strip():
        raise exceptions.ReasonRequired()


def access_unblock_check(*, actor: User | None, user: User, kinds) -> None:
    """Raise a StaffError unless ``actor`` may lift blocks of ``kinds`` (None: the system).

    A call-centre agent (``unblock_access``) lifts what counters caused: login lockout and
    OTP failures. A flag a person set (lost phone, staff, the customer's own) needs
    ``unblock_lost_phone`` too (a supervisor). Nobody lifts a block on their own record.
    """
    if actor is None:
        return
    _staff_may_act_on(actor=actor, user=user)
    if not actor.has_perm(PERM_UNBLOCK):
        raise exceptions.NotPermitted()
    if any(kind in FLAG_KINDS for kind in kinds) and not actor.has_perm(PERM_UNBLOCK_FLAG):
        raise exceptions.FlagNeedsSupervisor()


@transaction.atomic
def access_block(
    *,
    user: User,
    kind: str,
    reason: str,
    actor: User | None = None,
    ip: str | None = None,
) -> AccessBlock:
    """Block a customer's access; a block that stops login also ends every open session now.

    Raises a StaffError when ``actor`` may not set this block (see ``access_block_check``).
    """
    access_block_check(actor=actor, user=user, kind=kind, reason=reason)
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
    ``actor`` None is the system (``manage.py unblock``); a member of staff is checked by
    ``access_unblock_check`` and a refusal (a StaffError) changes nothing.
    """
    if not reason.strip():
        raise exceptions.ReasonRequired()
    now = timezone.now()
    blocks = list(AccessBlock.objects.select_for_update().filter(user=user).active())
    access_unblock_check(actor=actor, user=user, kinds=[b.kind for b in blocks])
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


def otp_check_lock(*, user: User) -> bool:
    """Lock the customer's row for one code check; True while OTP is blocked for them.

    Every check of a code (any channel, any purpose) runs inside one transaction that first
    takes this lock, then checks the code, consumes the challenge or counts the failure, and
    commits: parallel guesses are checked one after another, each sees the failures counted
    before it, and none is compared with a code once the block is set.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("otp_check_lock must run inside the transaction that checks the code")
    locked = User.objects.select_for_update().only("pk", "otp_failure_count").get(pk=user.pk)
    user.otp_failure_count = locked.otp_failure_count
    return locked.otp_failure_count >= settings.OTP_MAX_CONSECUTIVE_FAILURES or (
        AccessBlock.objects.filter(user=user).active().exists()
    )


def otp_failure_record(*, user: User, max_failures: int) -> int:
    """Count one more consecutive OTP failure; at ``max_failures`` block OTP for the user.

    Runs under ``otp_check_lock`` in the transaction that checked the code; that transaction
    commits the count even though the action the code was meant to confirm does not happen
    (the caller never runs the action after a wrong code). Returns the new count.
    """
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


def staff_totp_device_for_enrolment(*, user: User):
    """The staff member's unconfirmed TOTP device to enrol (created on first call).

    Refused (NotPermitted) for a customer; a staff member who already has a confirmed device
    gets None: replacing a device is not self-service.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not (user.is_active and user.is_staff):
        raise exceptions.NotPermitted()
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return None
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=False)
    return device


@transaction.atomic
def staff_totp_enrol_confirm(*, user: User, device_id: int, code: str, ip: str | None):
    """Confirm the staff member's new TOTP device with its first code, and audit it.

    The device row is locked so the first code is used once (django-otp keeps ``last_t``);
    wrong codes are throttled by django-otp. Raises WrongEnrolmentCode.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, pk=device_id, confirmed=False)
        .first()
    )
    if device is None or not user.is_staff or not device.verify_token(code):
        raise exceptions.WrongEnrolmentCode()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_log(
        action=AuditEvent.Action.STAFF_DEVICE_ENROLLED,
        subject=user,
        actor=user,
        ip=ip,
        reason="Staff TOTP authenticator enrolled",
        data={"device": "totp", "device_id": device.pk},
    )
    return device


@transaction.atomic
def roles_sync() -> dict:
    """Make the role groups hold exactly the accounts permissions of ROLE_PERMISSIONS
    (idempotent), leaving other apps' permissions in the groups as they are.

    Migration 0002 does this on ``migrate``; ``staff_create`` repeats it so that a database
    flushed since (``flush``, test databases) still has its roles. Returns role -> Group.
    """
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    block_type = ContentType.objects.get_for_model(AccessBlock)
    for codename, name in CUSTOM_PERMISSIONS.items():
        Permission.objects.get_or_create(
            content_type=block_type, codename=codename, defaults={"name": name}
        )
    user_type = ContentType.objects.get_for_model(User)
    for codename, name in USER_PERMISSIONS.items():
        Permission.objects.get_or_create(
            content_type=user_type, codename=codename, defaults={"name": name}
        )
    for model in (User, AuditEvent):
        Permission.objects.get_or_create(
            content_type=ContentType.objects.get_for_model(model),
            codename=f"view_{model._meta.model_name}",
            defaults={"name": f"Can view {model._meta.verbose_name_raw}"},
        )
    groups = {}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=ROLE_GROUPS[role])
        # Only this app's permissions are ours to set: another app (tokens) grants its own.
        own = Permission.objects.filter(content_type__app_label="accounts")
        group.permissions.remove(*own.exclude(codename__in=codenames))
        group.permissions.add(*own.filter(codename__in=codenames))
        groups[role] = group
    return groups


@transaction.atomic
def staff_create(
    *,
    user_id: str,
    full_name: str,
    password: str,
    role: str,
    totp_key: str | None = None,
):
    """Create a member of staff in the group of ``role`` with a confirmed TOTP device.

    ``totp_key`` (hex) is for the local demo only; otherwise django-otp draws a random seed.
    Returns the user and the device, whose ``config_url`` the caller shows once.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if role not in ROLE_GROUPS:
        raise ValueError(f"role must be one of {', '.join(ROLE_GROUPS)}")
    groups = roles_sync()
    user = User(user_id=user_id, full_name=full_name, is_staff=True)
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.add(groups[role])
    device = TOTPDevice(user=user, name="Authenticator", confirmed=True)
    if totp_key:
        device.key = totp_key
    device.full_clean()
    device.save()
    audit_log(action=AuditEvent.Action.STAFF_CREATED, subject=user, reason=f"role {role}", data={"role": role})
    return user, device


# --- Changes of phone and email (Profil Saya) -----------------------------------------------
# The OTP steps are run by accounts.views (only views may call tokens); these services do the
# accounts writes that the OTPs confirm.

EMAIL_LINK_SALT = "accounts.email-change"
PHONE_CHANGED_TEXT = gettext_noop(
    "Bank Nusantara: the mobile number of your Internet Banking was changed to %(phone)s. "
    "If you did not ask for this, call the bank at once."
)
EMAIL_CHANGED_TEXT = gettext_noop(
    "Bank Nusantara: the email of your Internet Banking was changed to %(email)s. "
    "If you did not ask for this, call the bank at once."
)


def phone_available_check(*, user: User, phone) -> None:
    """Raise unless ``phone`` may become ``user``'s number: not the current one, a mobile
    number (SMS must reach it), and not registered to another user (one phone, one customer:
    OTPs for two customers on one phone is how account takeovers look)."""
    if user.phone and str(user.phone) == str(phone):
        raise exceptions.SamePhone()
    number = phone if isinstance(phone, phonenumbers.PhoneNumber) else phonenumbers.parse(
        str(phone), "ID"
    )
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise exceptions.PhoneNotAvailable()
    if User.objects.filter(phone=str(phone)).exclude(pk=user.pk).exists():
        raise exceptions.PhoneNotAvailable()


def _profile_changes_void(*, user: User) -> None:
    ProfileChange.objects.filter(user=user).open().update(state=ProfileChange.State.VOIDED)


@transaction.atomic
def phone_change_create(*, user: User, new_phone) -> ProfileChange:
    """Start a change of mobile number; the customer's earlier open changes are voided."""
    phone_available_check(user=user, phone=new_phone)
    _profile_changes_void(user=user)
    change = ProfileChange(user=user, kind=ProfileChange.Kind.PHONE, new_phone=new_phone)
    change.full_clean()
    change.save()
    return change


@transaction.atomic
def email_change_create(*, user: User, new_email: str) -> ProfileChange:
    """Start a change of email; the customer's earlier open changes are voided."""
    if user.email and user.email.lower() == new_email.lower():
        raise exceptions.SameEmail()
    _profile_changes_void(user=user)
    change = ProfileChange(user=user, kind=ProfileChange.Kind.EMAIL, new_email=new_email)
    change.full_clean()
    change.save()
    return change


def profile_change_intent(change: ProfileChange) -> dict:
    """The canonical summary an OTP for this change is bound to (dynamic linking)."""
    return {"change": change.pk, "kind": change.kind, "new": str(change.new_value)}


def profile_change_challenge_set(*, change: ProfileChange, current=None, new=None) -> None:
    """Remember the challenge sent for step 1 (``current``) or step 2 (``new``)."""
    fields = {}
    if current is not None:
        fields["current_challenge"] = change.current_challenge = current
    if new is not None:
        fields["new_challenge"] = change.new_challenge = new
    ProfileChange.objects.filter(pk=change.pk).update(**fields)


def profile_change_current_confirm(*, change: ProfileChange) -> ProfileChange:
    """Step 1 done: the OTP on the current factor confirmed the change (run it inside that
    OTP's verification, so both commit or neither). Raises ChangeNotPending."""
    now = timezone.now()
    moved = ProfileChange.objects.filter(
        pk=change.pk, state=ProfileChange.State.AWAITING_CURRENT
    ).update(state=ProfileChange.State.AWAITING_NEW, current_confirmed_at=now)
    if not moved:
        raise exceptions.ChangeNotPending()
    change.state, change.current_confirmed_at = ProfileChange.State.AWAITING_NEW, now
    if change.kind == ProfileChange.Kind.EMAIL:
        email_change_link_schedule(change=change)
    return change


def _change_complete(*, change: ProfileChange) -> User:
    """Move the change to completed (once) and lock the user row; returns the locked user."""
    user = User.objects.select_for_update().get(pk=change.user_id)
    done = ProfileChange.objects.filter(
        pk=change.pk, state=ProfileChange.State.AWAITING_NEW
    ).update(state=ProfileChange.State.COMPLETED, completed_at=timezone.now())
    if not done:
        raise exceptions.ChangeNotPending()
    change.state = ProfileChange.State.COMPLETED
    return user


def _user_field_set(user: User, field: str, value) -> None:
    setattr(user, field, value)
    user.clean_fields(exclude=[f.name for f in User._meta.fields if f.name != field])
    user.save(update_fields=[field])


@transaction.atomic
def phone_change_complete(*, change: ProfileChange, ip: str | None = None) -> str:
    """Step 2 done: the code sent to the new number came back. The number changes, every other
    open change is voided, and it is audited (masked numbers only). Returns the old number
    (E.164), which the caller tells. Raises ChangeNotPending or PhoneNotAvailable."""
    user = _change_complete(change=change)
    old_phone = str(user.phone)
    phone_available_check(user=user, phone=change.new_phone)
    try:
        # A savepoint: a parallel change to the same number that passed the check too is
        # refused by the database (accounts_user_phone_unique), and the caller's transaction
        # stays usable for the refusal.
        with transaction.atomic():
            _user_field_set(user, "phone", change.new_phone)
    except IntegrityError:
        raise exceptions.PhoneNotAvailable() from None
    change.user.phone = user.phone
    _profile_changes_void(user=user)
    audit_log(
        action=AuditEvent.Action.PHONE_CHANGED,
        subject=user,
        actor=user,
        ip=ip,
        reason="Changed by the customer (OTP on the old number, code to the new one)",
        data={"change": change.pk, "old": phone_masked(old_phone), "new": phone_masked(user.phone)},
    )
    return old_phone


@transaction.atomic
def email_change_complete(*, change: ProfileChange, ip: str | None = None) -> str:
    """Step 2 done: the link sent to the new email came back. The email changes, the old
    address is told, every other open change is voided, and it is audited (masked). Returns
    the old email. Raises ChangeNotPending."""
    user = _change_complete(change=change)
    old_email = user.email
    _user_field_set(user, "email", change.new_email)
    change.user.email = user.email
    _profile_changes_void(user=user)
    if old_email:
        email_notice_schedule(
            address=old_email,
            text=EMAIL_CHANGED_TEXT,
            params={"email": email_masked(user.email)},
            language=user.language,
        )
    audit_log(
        action=AuditEvent.Action.EMAIL_CHANGED,
        subject=user,
        actor=user,
        ip=ip,
        reason="Changed by the customer (OTP on the current factor, link to the new email)",
        data={"change": change.pk, "old": email_masked(old_email), "new": email_masked(user.email)},
    )
    return old_email


@transaction.atomic
def phone_change_by_staff(
    *, user: User, new_phone, actor: User, reason: str, ip: str | None = None
) -> str:
    """A member of staff changes a customer's number (the customer lost the old phone).

    Needs ``accounts.change_phone`` and a written reason; never on the actor's own record or
    on staff. Voids the customer's open changes; audited. Returns the old number, which the
    caller tells (with the new one).
    """
    _staff_may_act_on(actor=actor, user=user)
    if not actor.has_perm(PERM_CHANGE_PHONE):
        raise exceptions.NotPermitted()
    if not reason.strip():
        raise exceptions.ReasonRequired()
    user = User.objects.select_for_update().get(pk=user.pk)
    phone_available_check(user=user, phone=new_phone)
    old_phone = str(user.phone) if user.phone else ""
    try:
        # As in phone_change_complete: the database has the last word on a shared number.
        with transaction.atomic():
            _user_field_set(user, "phone", new_phone)
    except IntegrityError:
        raise exceptions.PhoneNotAvailable() from None
    _profile_changes_void(user=user)
    audit_log(
        action=AuditEvent.Action.PHONE_CHANGED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"old": phone_masked(old_phone), "new": phone_masked(user.phone), "by": "staff"},
    )
    return old_phone


def email_change_link_token(*, change: ProfileChange) -> str:
    """A signed, timestamped token naming the change, its user and the new email."""
    return signing.TimestampSigner(salt=EMAIL_LINK_SALT).sign_object(
        {"c": change.pk, "u": change.user_id, "e": change.new_email}
    )


def email_change_for_link(*, user: User, token: str) -> ProfileChange:
    """The open change a verification link names, for this user only and while it is fresh
    (``EMAIL_CHANGE_LINK_MAX_AGE``). Raises LinkInvalid for anything else, without saying
    what."""
    try:
        data = signing.TimestampSigner(salt=EMAIL_LINK_SALT).unsign_object(
            token, max_age=settings.EMAIL_CHANGE_LINK_MAX_AGE
        )
        change = ProfileChange.objects.select_related("user").get(
            pk=data["c"],
            user=user,
            kind=ProfileChange.Kind.EMAIL,
            state=ProfileChange.State.AWAITING_NEW,
        )
    except (signing.BadSignature, ProfileChange.DoesNotExist, KeyError, TypeError):
        raise exceptions.LinkInvalid() from None
    if data.get("u") != user.pk or data.get("e") != change.new_email:
        raise exceptions.LinkInvalid()
    return change


def email_change_link_schedule(*, change: ProfileChange) -> None:
    """Email the verification link to the new address once the transaction commits.

    The Celery message carries only the change's id; the worker signs the link. Raises
    LinkResendTooSoon within ``EMAIL_CHANGE_LINK_RESEND_COOLDOWN`` of the last one.
    """
    now = timezone.now()
    if change.link_sent_at:
        elapsed = int((now - change.link_sent_at).total_seconds())
        wait = settings.EMAIL_CHANGE_LINK_RESEND_COOLDOWN - elapsed
        if wait > 0:
            raise exceptions.LinkResendTooSoon(seconds=wait)
    ProfileChange.objects.filter(pk=change.pk).update(link_sent_at=now)
    change.link_sent_at = now
    transaction.on_commit(partial(_task_schedule, "email_change_link_send", change.pk))


def email_change_link_deliver(*, change_id: int) -> None:
    """Send the verification link to the new email, in the customer's language."""
    from django.core.mail import send_mail
    from django.urls import reverse
    from django.utils.translation import gettext, override

    change = ProfileChange.objects.select_related("user").filter(
        pk=change_id, state=ProfileChange.State.AWAITING_NEW
    ).first()
    if change is None:
        return
    path = reverse("accounts:email-change-verify", kwargs={"token": email_change_link_token(change=change)})
    minutes = settings.EMAIL_CHANGE_LINK_MAX_AGE // 60
    with override(change.user.language):
        subject = gettext("Bank Nusantara: confirm your new email")
        body = gettext(
            "To make this address the email of your Internet Banking, open this link within "
            "%(minutes)s minutes, logged in as yourself, and press the button on the page:\n\n"
            "%(url)s\n\nIf you did not ask for this, ignore this email and call the bank."
        ) % {"minutes": minutes, "url": settings.PORTAL_BASE_URL.rstrip("/") + path}
    send_mail(subject, body, None, [change.new_email])


def email_notice_schedule(*, address: str, text: str, params: dict, language: str) -> None:
    """Email a notice (never a secret) to ``address`` once the transaction commits."""
    transaction.on_commit(
        partial(_task_schedule, "email_notice_send", address, text, params, language)
    )


def email_notice_deliver(*, address: str, text: str, params: dict, language: str) -> None:
    from django.core.mail import send_mail
    from django.utils.translation import gettext, override

    with override(language):
        body = gettext(text) % params
        subject = gettext("Bank Nusantara: security notice")
    send_mail(subject, body, None, [address])


def _task_schedule(name: str, *args) -> None:
    from kombu.exceptions import OperationalError

    from . import tasks

    try:
        getattr(tasks, name).apply_async(args=list(args))
    except OperationalError:
        logger.error("%s not queued: broker unreachable", name)
