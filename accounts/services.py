"""Writes of the accounts app: sessions, access blocks, unblocking and the audit log."""

import hashlib
import logging
import math
from contextvars import ContextVar, Token
from functools import partial
from importlib import import_module

import phonenumbers
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import logout
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop

from portal.formatting import email_masked, phone_masked

from . import exceptions, selectors
from .models import AccessBlock, AuditEvent, Company, ContactChangeRequest, ProfileChange, User

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
    "agent": ["view_user", "view_company", "flag_access", "unblock_access"],
    "branch": ["view_user", "view_company", "change_phone", "change_email"],
    "supervisor": [
        "view_user",
        "view_company",
        "view_auditevent",
        "flag_access",
        "unblock_access",
        "unblock_lost_phone",
        "change_phone",
        "change_email",
        "approve_contact_change",
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
# On the User content type (migrations 0004_change_phone_permission and
# 0010_contact_change_request): a branch officer or a supervisor asks to change the phone or
# email of a customer (who lost the old phone, say); a supervisor who did not ask approves it.
USER_PERMISSIONS = {
    "change_phone": "Can ask to change a customer's mobile phone (customer lost it)",
    "change_email": "Can ask to change a customer's email",
    "approve_contact_change": "Can approve or reject a staff change of a customer's phone or email",
}
PERM_CHANGE_PHONE = "accounts.change_phone"
PERM_CHANGE_EMAIL = "accounts.change_email"
PERM_APPROVE_CHANGE = "accounts.approve_contact_change"
# Kinds a member of staff may set when flagging a customer.
STAFF_FLAG_KINDS = (AccessBlock.Kind.LOST_PHONE, AccessBlock.Kind.STAFF_FLAG)
# Kinds that only PERM_UNBLOCK_FLAG (a supervisor) may lift: a person decided them, not a
# counter. Login lockouts and OTP failures may be lifted with PERM_UNBLOCK (call-centre agent).
FLAG_KINDS = (AccessBlock.Kind.LOST_PHONE, AccessBlock.Kind.STAFF_FLAG, AccessBlock.Kind.SELF_FLAG)


# The client of the request being served: (IP address, User-Agent), set for the length of
# each request by ``portal.middleware.AuditClientMiddleware`` (``audit_client_bind``). The
# audit log reads it, so an event written deep in a service (OTP issued or failed, a transfer
# made) records where the request came from without every service taking the request's
# address and browser as arguments. Outside a request (Celery, management commands) it is
# empty and so are the columns.
_audit_client: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "audit_client", default=(None, None)
)
AUDIT_USER_AGENT_MAX = 300


def audit_client_bind(*, ip: str | None, user_agent: str | None) -> Token:
    """Name the client of the current request for the audit log; returns the token that
    ``audit_client_unbind`` takes at the end of the request. The User-Agent is cut to the
    column's 300 characters (a client chooses its length)."""
    return _audit_client.set((ip, (user_agent or "")[:AUDIT_USER_AGENT_MAX] or None))


def audit_client_unbind(token: Token) -> None:
    _audit_client.reset(token)


def audit_log(
    *,
    action: str,
    subject: User | None = None,
    actor: User | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    reason: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit log. ``data`` must never hold a secret.

    ``ip`` and ``user_agent`` default to the client of the request being served
    (``audit_client_bind``); an ``ip`` given explicitly wins.
    """
    client_ip, client_agent = _audit_client.get()
    return AuditEvent.objects.create(
        action=action,
        subject=subject,
        actor=actor,
        ip_address=ip or client_ip,
        user_agent=(user_agent or "")[:AUDIT_USER_AGENT_MAX] or client_agent,
        reason=reason,
        data=data or {},
    )


def session_start(*, user: User, session_key: str, ip: str | None, language: str) -> None:
    """Make ``session_key`` the user's only session (a new login ends the old one) and audit it.

    The language the customer logged in with becomes the language of their SMS.
    """
    User.objects.filter(pk=user.pk).update(session_key=session_key, language=language)
    user.session_key, user.language = session_key, language
    # The old session is not deleted here: SessionSecurityMiddleware ends it on its next
    # request (it no longer matches User.session_key) and tells that browser why.
    data = {"company": user.company.corporate_id} if user.company_id else {}
    audit_log(action=AuditEvent.Action.LOGIN, subject=user, actor=user, ip=ip, data=data)


def user_language_set(*, user: User, language: str) -> None:
    """The language of the customer's pages becomes the language of their SMS."""
    if language in dict(settings.LANGUAGES):
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def session_rebind(*, user: User, old_key: str | None, session_key: str) -> bool:
    """Follow a cycled session key (after OTP verification) so the session stays the only one:
    a compare-and-set from ``old_key``. False when the user row no longer names ``old_key``
    (a logout, a new login elsewhere or a staff action ended it meanwhile): that end wins, the
    caller ends this session too and the new key is never the user's."""
    if not old_key:
        return False
    rows = User.objects.filter(pk=user.pk, session_key=old_key).update(session_key=session_key)
    if rows:
        user.session_key = session_key
    return bool(rows)


# How long a logout that comes with the key a confirmation just cycled away still ends the
# user's session (the key's row is gone; the note says whose it was).
SESSION_CYCLED_NOTE_TTL = 300


def _session_cycled_note_key(session_key: str) -> str:
    return "session-cycled:" + hashlib.sha256(session_key.encode()).hexdigest()


def session_cycle_note(*, user: User, old_key: str | None) -> None:
    """Before a confirmation cycles ``old_key`` away: note whose it was, so that a logout still
    carrying it (another tab, sent at the same moment) ends the session that follows it
    (``session_end_cycled``). Best effort: the cache being down only reopens that window."""
    if not old_key:
        return
    try:
        cache.set(_session_cycled_note_key(old_key), user.pk, SESSION_CYCLED_NOTE_TTL)
    except Exception:  # noqa: BLE001 - a cache outage must not fail a confirmation
        logger.warning("session cycle note not stored (cache unavailable)")


def session_key_cycle(request, *, user: User, cycle=None) -> bool:
    """Give the logged-in session a new key (after an OTP, a new password, a staff device)
    while it stays the user's only one: note the old key (a logout still carrying it ends the
    session, ``session_end_cycled``), cycle it (``cycle``, by default ``cycle_key``), and
    follow it by compare-and-set (``session_rebind``). False when the session ended meanwhile
    (a logout in another tab, a login elsewhere): it is then ended here too, never revived
    under the new key."""
    old_key = request.session.session_key
    session_cycle_note(user=user, old_key=old_key)
    (cycle or request.session.cycle_key)()
    if session_rebind(user=user, old_key=old_key, session_key=request.session.session_key):
        return True
    logout(request)
    return False


def session_end_cycled(*, session_key: str, ip: str | None) -> bool:
    """A logout whose session key was cycled away by a confirmation in flight: end the user's
    session all the same (whatever key it has now). True when there was such a user."""
    try:
        pk = cache.get(_session_cycled_note_key(session_key))
    except Exception:  # noqa: BLE001 - as above
        return False
    user = User.objects.filter(pk=pk).first() if pk else None
    if user is None:
        return False
    session_end(user=user, ip=ip)
    return True


def session_end(*, user: User, ip: str | None) -> None:
    """Forget the user's session on logout. Unconditional on purpose: a confirmation in flight
    may have cycled the key the logging-out request came with, and the logout must still win
    (``session_rebind`` compares and fails)."""
    User.objects.filter(pk=user.pk).update(session_key="")
    audit_log(action=AuditEvent.Action.LOGOUT, subject=user, actor=user, ip=ip)


def login_failed_record(*, user_id: str, ip: str | None, locked: bool = False) -> None:
    """Audit a failed or locked-out login, never the password. The typed User ID is kept only
    when it names a user; otherwise its keyed hash (``login_user_id_key``): what is typed into
    that field may be a password."""
    subject, stored = login_user_id_resolve(user_id)
    audit_log(
        action=AuditEvent.Action.LOGIN_LOCKED if locked else AuditEvent.Action.LOGIN_FAILED,
        subject=subject,
        ip=ip,
        data={"user_id": subject.user_id if subject else stored},
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


def customer_view_record(*, customer: User, actor: User, ip: str | None) -> None:
    """Audit a member of staff opening a customer's page: who looked at whom, when, from
    where (refused unless the actor is active staff and the record a customer's)."""
    _staff_may_act_on(actor=actor, user=customer)
    audit_log(action=AuditEvent.Action.CUSTOMER_VIEWED, subject=customer, actor=actor, ip=ip)


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
    return otp_lock(user=user) >= settings.OTP_MAX_CONSECUTIVE_FAILURES or (
        AccessBlock.objects.filter(user=user).active().exists()
    )


def otp_lock(*, user: User) -> int:
    """Take ``otp_check_lock``'s lock alone and return the customer's consecutive OTP failures;
    the caller reads the blocks itself, after the lock (issuing a code reads them together
    with its other state in one query)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("otp_check_lock must run inside the transaction that checks the code")
    locked = User.objects.select_for_update().only("pk", "otp_failure_count").get(pk=user.pk)
    user.otp_failure_count = locked.otp_failure_count
    return locked.otp_failure_count


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


@transaction.atomic
def staff_totp_device_for_enrolment(
    *, user: User, device_id: int | None = None, start: bool = True
):
    """The unconfirmed TOTP device the staff member enrols now, or None once one is confirmed.

    ``device_id`` names the device this enrolment started (the caller keeps it in the
    session); without it, or if it is gone, a new enrolment starts: a new device with a fresh
    key, and every older unconfirmed device (and its key, which someone may have seen) is
    deleted. The throttle of the deleted devices carries over, so starting again does not
    clear wrong codes. With ``start`` False (a first code is being posted) nothing new starts:
    None when the device named is gone. Refused (NotPermitted) for a customer; replacing a
    confirmed device is not self-service.
    """
    from django.db.models import Max
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not (user.is_active and user.is_staff):
        raise exceptions.NotPermitted()
    # One enrolment start at a time per staff member: two tabs cannot both keep a device.
    User.objects.select_for_update().only("pk").get(pk=user.pk)
    if selectors.staff_totp_confirmed(user=user):
        return None
    unconfirmed = TOTPDevice.objects.filter(user=user, confirmed=False)
    if device_id is not None:
        device = unconfirmed.filter(pk=device_id).first()
        if device is not None:
            return device
    if not start:
        return None
    throttle = unconfirmed.aggregate(
        count=Max("throttling_failure_count"), at=Max("throttling_failure_timestamp")
    )
    unconfirmed.delete()
    device = TOTPDevice(
        user=user,
        name="Authenticator",
        confirmed=False,
        throttling_failure_count=throttle["count"] or 0,
        throttling_failure_timestamp=throttle["at"],
    )
    device.full_clean()
    device.save()
    return device


def staff_totp_enrol_confirm(*, user: User, device_id: int, code: str, ip: str | None):
    """Confirm the staff member's new TOTP device with its first code, and audit it.

    The device row is locked so the first code is used once (django-otp keeps ``last_t``).
    A wrong code counts toward the device's throttle (django-otp's ``ThrottlingMixin``, the
    same back-off as a wrong code at the admin login), and that count is committed: the
    transaction ends before the refusal is raised. Raises WrongEnrolmentCode or
    EnrolmentThrottled.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    refused = None
    # durable: an outer transaction would roll the failure count back with the request.
    with transaction.atomic(durable=True):
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, pk=device_id, confirmed=False)
            .first()
        )
        if device is None or not (user.is_active and user.is_staff):
            raise exceptions.WrongEnrolmentCode()
        allowed, throttle = device.verify_is_allowed()
        if not device.verify_token(code):  # counts a failure unless throttled already
            if allowed:
                refused = exceptions.WrongEnrolmentCode()
            else:
                wait = (throttle.get("locked_until") or timezone.now()) - timezone.now()
                refused = exceptions.EnrolmentThrottled(seconds=max(1, int(wait.total_seconds()) + 1))
        else:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            audit_log(
                action=AuditEvent.Action.STAFF_DEVICE_ENROLLED,
                subject=user,
                actor=user,
                ip=ip,
                reason=gettext_noop("Staff TOTP authenticator enrolled"),
                data={"device": "totp", "device_id": device.pk},
            )
    if refused is not None:
        raise refused
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
    for model in (User, AuditEvent, Company):
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


def phone_new_check(*, user: User, phone) -> None:
    """Raise unless ``phone`` could be ``user``'s new number as far as it tells by itself: not
    the current one (SamePhone), and a mobile number that SMS reach (PhoneNotAvailable). Says
    nothing about other customers' numbers."""
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


def phone_available_check(*, user: User, phone) -> None:
    """Raise unless ``phone`` may become ``user``'s number: ``phone_new_check``, and not
    registered to another user (one phone, one customer: OTPs for two customers on one phone
    is how account takeovers look)."""
    phone_new_check(user=user, phone=phone)
    if User.objects.filter(phone=str(phone)).exclude(pk=user.pk).exists():
        raise exceptions.PhoneNotAvailable()


def _profile_changes_void(*, user: User, staff_kind: str | None = None) -> None:
    """Void the customer's open changes, and staff requests of ``staff_kind`` still waiting
    for approval (they were asked for the value now replaced)."""
    ProfileChange.objects.filter(user=user).open().update(state=ProfileChange.State.VOIDED)
    if staff_kind is not None:
        ContactChangeRequest.objects.filter(user=user, kind=staff_kind).pending().update(
            state=ContactChangeRequest.State.VOIDED
        )


CORPORATE_SELF_CHANGE_REFUSED = gettext_lazy(
    "A corporate user changes the mobile number or email through a signed request to the "
    "bank: My Profile, then Request a change of phone/email."
)


def corporate_self_change_refuse(*, user: User) -> None:
    """Refuse the retail self-service change of phone or email (OTP only) to a corporate user:
    the company's users change them through a signed request that staff approve
    (``corporate.services``)."""
    if user.company_id is not None:
        raise exceptions.ProfileChangeError(CORPORATE_SELF_CHANGE_REFUSED)


@transaction.atomic
def phone_change_create(*, user: User, new_phone) -> ProfileChange:
    """Start a change of mobile number; the customer's earlier open changes are voided.

    Whether another customer holds the number is not checked here, before any code: that
    would tell anyone logged in which numbers are customers'. It is checked when the change
    completes (``phone_number_set``), after both codes. Refused (PhoneChangeLimitReached) once
    the customer had ``PHONE_CHANGE_REFUSALS_PER_DAY`` numbers refused today (WIB).
    """
    corporate_self_change_refuse(user=user)
    phone_new_check(user=user, phone=new_phone)
    if phone_change_refusals_today(user=user) >= settings.PHONE_CHANGE_REFUSALS_PER_DAY:
        raise exceptions.PhoneChangeLimitReached()
    _profile_changes_void(user=user)
    change = ProfileChange(user=user, kind=ProfileChange.Kind.PHONE, new_phone=new_phone)
    change.full_clean()
    change.save()
    return change


@transaction.atomic
def email_change_create(*, user: User, new_email: str) -> ProfileChange:
    """Start a change of email; the customer's earlier open changes are voided."""
    corporate_self_change_refuse(user=user)
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
    """Remember the challenge sent for step 1 (``current``) or step 2 (``new``): by its id
    only, an opaque reference that the views resolve through ``tokens``."""
    fields = {}
    if current is not None:
        fields["current_challenge_ref"] = change.current_challenge_ref = current.pk
    if new is not None:
        fields["new_challenge_ref"] = change.new_challenge_ref = new.pk
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
def phone_number_set(
    *, user: User, new_phone, actor: User, reason: str, ip: str | None = None, data=None
) -> str:
    """Write a customer's new mobile number: the lower-level writer of
    ``tokens.services.phone_number_change``, which every change of a number goes through (it
    also voids the codes still on their way to the old number and tells the customer).

    Under the lock of the user's row: one number, one customer (the check, then the database
    constraint); every open change of the customer is voided; audited with masked numbers.
    Returns the old number (E.164, "" if none). Raises PhoneNotAvailable or SamePhone.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    old_phone = str(user.phone) if user.phone else ""
    phone_available_check(user=user, phone=new_phone)
    try:
        # A savepoint: a parallel change to the same number that passed the check too is
        # refused by the database (accounts_user_phone_unique), and the caller's transaction
        # stays usable for the refusal.
        with transaction.atomic():
            _user_field_set(user, "phone", new_phone)
    except IntegrityError:
        raise exceptions.PhoneNotAvailable() from None
    _profile_changes_void(user=user, staff_kind=ContactChangeRequest.Kind.PHONE)
    audit_log(
        action=AuditEvent.Action.PHONE_CHANGED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={**(data or {}), "old": phone_masked(old_phone), "new": phone_masked(user.phone)},
    )
    return old_phone


def phone_change_refusals_today(*, user: User) -> int:
    """Changes of number refused to the customer since midnight WIB (the number could not be
    used)."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return ProfileChange.objects.filter(
        user=user, state=ProfileChange.State.REFUSED, refused_at__gte=midnight
    ).count()


@transaction.atomic
def phone_change_refuse(*, change: ProfileChange, ip: str | None = None) -> None:
    """The new number of a change could not be used (``PhoneNotAvailable`` when it was to
    complete, after both codes): the change ends as refused, counted toward the customer's
    daily limit, and audited with the number masked. Run after the failed completion rolled
    back, so that the count commits."""
    now = timezone.now()
    refused = ProfileChange.objects.filter(
        pk=change.pk, state=ProfileChange.State.AWAITING_NEW
    ).update(state=ProfileChange.State.REFUSED, refused_at=now)
    if not refused:
        return
    change.state, change.refused_at = ProfileChange.State.REFUSED, now
    audit_log(
        action=AuditEvent.Action.PHONE_CHANGE_REFUSED,
        subject=change.user,
        actor=change.user,
        ip=ip,
        reason=gettext_noop(
            "The new number cannot be used (it is registered to someone, or not a mobile)"
        ),
        data={
            "change": change.pk,
            "new": phone_masked(change.new_phone),
            "today": phone_change_refusals_today(user=change.user),
        },
    )


def phone_change_complete(*, change: ProfileChange) -> User:
    """Step 2 of the customer's change of number: the code sent to the new number came back.
    Completes the change (once; ChangeNotPending otherwise) under the lock of the user's row;
    the caller, ``tokens.services.phone_number_change``, writes the number in the same
    transaction."""
    return _change_complete(change=change)


@transaction.atomic
def email_address_set(
    *, user: User, new_email: str, actor: User, reason: str, ip: str | None = None, data=None
) -> str:
    """Write a customer's new email (the customer's own change, or a staff change a supervisor
    approved): under the lock of the user's row, every open change voided, the old address
    told, audited with masked addresses. Returns the old email. Raises SameEmail."""
    user = User.objects.select_for_update().get(pk=user.pk)
    old_email = user.email
    if old_email and old_email.lower() == new_email.lower():
        raise exceptions.SameEmail()
    _user_field_set(user, "email", new_email)
    _profile_changes_void(user=user, staff_kind=ContactChangeRequest.Kind.EMAIL)
    if old_email:
        email_notice_schedule(
            address=old_email,
            text=EMAIL_CHANGED_TEXT,
            params={"email": email_masked(user.email)},
            language=user.language,
            user=user,
        )
    audit_log(
        action=AuditEvent.Action.EMAIL_CHANGED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={**(data or {}), "old": email_masked(old_email), "new": email_masked(user.email)},
    )
    return old_email


@transaction.atomic
def email_change_complete(*, change: ProfileChange, ip: str | None = None) -> str:
    """Step 2 done: the link sent to the new email came back. The email changes
    (``email_address_set``: the old address told, open changes voided, audited). Returns the
    old email. Raises ChangeNotPending."""
    user = _change_complete(change=change)
    old_email = email_address_set(
        user=user,
        new_email=change.new_email,
        actor=user,
        reason=gettext_noop(
            "Changed by the customer (OTP on the current factor, link to the new email)"
        ),
        ip=ip,
        data={"change": change.pk},
    )
    change.user.email = change.new_email
    return old_email


@transaction.atomic
def contact_change_request(
    *, user: User, kind: str, new_value, actor: User, reason: str, ip: str | None = None
) -> ContactChangeRequest:
    """A member of staff asks to change a customer's mobile phone or email (the customer lost
    the old phone, say). Nothing changes until a supervisor who is someone else approves it
    (``tokens.services.contact_change_approve``).

    Needs ``accounts.change_phone`` or ``accounts.change_email`` and a written reason; never on
    the actor's own record or on staff. A request of the same kind still waiting is replaced.
    Audited with the new value masked. Raises a StaffError, or SameEmail.
    """
    _staff_may_act_on(actor=actor, user=user)
    permission = {
        ContactChangeRequest.Kind.PHONE: PERM_CHANGE_PHONE,
        ContactChangeRequest.Kind.EMAIL: PERM_CHANGE_EMAIL,
    }.get(kind)
    if permission is None or not actor.has_perm(permission):
        raise exceptions.NotPermitted()
    if not reason.strip():
        raise exceptions.ReasonRequired()
    user = User.objects.select_for_update().get(pk=user.pk)
    change_request = ContactChangeRequest(
        user=user, kind=kind, reason=reason.strip(), requested_by=actor
    )
    if kind == ContactChangeRequest.Kind.PHONE:
        try:
            phone_available_check(user=user, phone=new_value)
        except exceptions.PhoneNotAvailable:
            # Staff may know why (they can search the number): unlike a customer's change.
            raise exceptions.PhoneInUse() from None
        change_request.new_phone, masked = new_value, phone_masked(new_value)
    else:
        if user.email and user.email.lower() == str(new_value).lower():
            raise exceptions.SameEmail()
        change_request.new_email, masked = new_value, email_masked(new_value)
    ContactChangeRequest.objects.filter(user=user, kind=kind).pending().update(
        state=ContactChangeRequest.State.VOIDED
    )
    change_request.full_clean()
    change_request.save()
    audit_log(
        action=AuditEvent.Action.CONTACT_CHANGE_REQUESTED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=change_request.reason,
        data={"request": change_request.pk, "kind": kind, "new": masked},
    )
    return change_request


def contact_change_decide_check(*, change_request: ContactChangeRequest, approver: User) -> None:
    """Raise a StaffError unless ``approver`` may decide this request: a supervisor
    (``accounts.approve_contact_change``) who is not the one who asked (four eyes), never on
    their own record or on staff."""
    _staff_may_act_on(actor=approver, user=change_request.user)
    if not approver.has_perm(PERM_APPROVE_CHANGE):
        raise exceptions.NotPermitted()
    if approver.pk == change_request.requested_by_id:
        raise exceptions.SecondPersonRequired()


def _contact_change_decide(
    *, change_request: ContactChangeRequest, approver: User, state: str, note: str, ip
) -> ContactChangeRequest:
    # The customer's row first, as every change of a phone or email locks it: one order.
    User.objects.select_for_update().only("pk").get(pk=change_request.user_id)
    locked = (
        ContactChangeRequest.objects.select_for_update()
        .select_related("user", "requested_by")
        .get(pk=change_request.pk)
    )
    contact_change_decide_check(change_request=locked, approver=approver)
    if locked.state != ContactChangeRequest.State.PENDING:
        raise exceptions.RequestNotPending()
    locked.state, locked.decided_by = state, approver
    locked.decided_at, locked.decision_note = timezone.now(), note.strip()
    locked.save(update_fields=["state", "decided_by", "decided_at", "decision_note"])
    audit_log(
        action=AuditEvent.Action.CONTACT_CHANGE_APPROVED
        if state == ContactChangeRequest.State.APPROVED
        else AuditEvent.Action.CONTACT_CHANGE_REJECTED,
        subject=locked.user,
        actor=approver,
        ip=ip,
        reason=locked.decision_note,
        data={
            "request": locked.pk,
            "kind": locked.kind,
            "requested_by": locked.requested_by.user_id,
        },
    )
    change_request.state = locked.state
    return locked


@transaction.atomic
def contact_change_reject(
    *, change_request: ContactChangeRequest, approver: User, note: str, ip: str | None = None
) -> ContactChangeRequest:
    """A supervisor who did not ask rejects a staff change, with a written reason; nothing
    changes for the customer. Audited. Raises a StaffError."""
    if not note.strip():
        raise exceptions.ReasonRequired()
    return _contact_change_decide(
        change_request=change_request,
        approver=approver,
        state=ContactChangeRequest.State.REJECTED,
        note=note,
        ip=ip,
    )


@transaction.atomic
def contact_change_approval_record(
    *, change_request: ContactChangeRequest, approver: User, note: str = "", ip: str | None = None
) -> ContactChangeRequest:
    """Mark a staff change approved by a supervisor who did not ask (four eyes), audited.
    Called by ``tokens.services.contact_change_approve``, which makes the change in the same
    transaction; alone it changes nothing for the customer. Raises a StaffError."""
    return _contact_change_decide(
        change_request=change_request,
        approver=approver,
        state=ContactChangeRequest.State.APPROVED,
        note=note,
        ip=ip,
    )


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


def email_notice_schedule(
    *, address: str, text: str, params: dict, language: str, user: User | None = None
):
    """Email a notice (never a secret) to ``address``: an outbox row written and audited as
    queued in the caller's transaction, its id handed to Celery once that commits.

    ``text`` is an untranslated message (``gettext_noop``) and ``params`` its non-secret
    values, rendered in ``language`` when sent. ``user`` is whom the notice is about (the
    audit's subject; not guessed from the address, which another customer may share). What
    becomes of the email is audited when it is known (``email_notice_deliver``). Returns the
    row.
    """
    from .models import EmailMessage

    message = EmailMessage(
        user=user, to=address, notice={"text": text, "params": params}, language=language
    )
    message.full_clean()
    message.save()
    audit_log(
        action=AuditEvent.Action.NOTICE_EMAIL_QUEUED,
        subject=user,
        data={"email_message": message.pk, "to": email_masked(address), "text": text},
    )
    transaction.on_commit(partial(_email_notice_enqueue, message.pk))
    return message


def _email_notice_enqueue(message_id: int) -> None:
    if not _task_schedule("email_notice_send", message_id):
        email_notice_give_up(message_id=message_id, error="queue")


def email_notice_deliver(*, message_id: int):
    """Send the outbox row ``message_id`` at most once, whatever retries or redeliveries
    happen: claimed (pending → sending) by one conditional UPDATE before SMTP is called, so a
    second worker or a redelivered task finds it claimed and sends nothing.

    Sent: marked and audited. Refused for good by the server (5xx) or an error that is not
    SMTP trouble: failed and audited. Other SMTP or network trouble puts it back to pending
    and re-raises for the task to retry (``email_notice_give_up`` ends it). Returns the row,
    or None when it was not this call's to send.
    """
    import smtplib

    from django.core.mail import send_mail
    from django.utils.translation import gettext, override

    from .models import EmailMessage

    claimed = EmailMessage.objects.filter(
        pk=message_id, state=EmailMessage.State.PENDING
    ).update(state=EmailMessage.State.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now())
    if not claimed:
        return None
    message = EmailMessage.objects.get(pk=message_id)
    with override(message.language):
        body = gettext(message.notice.get("text", "")) % message.notice.get("params", {})
        subject = gettext("Bank Nusantara: security notice")
    try:
        send_mail(subject, body, None, [message.to])
    except (OSError, smtplib.SMTPException) as exc:
        error = _smtp_error(exc)
        if _smtp_permanent(exc):
            _email_message_end(message, EmailMessage.State.FAILED, error=error)
            return message
        _email_message_mark(message, EmailMessage.State.PENDING, error=error)
        raise
    except Exception as exc:
        # Not SMTP trouble (a bug, a bad backend setting): retrying would not help. Recorded
        # and raised, so it is logged; the audit does not wait for an answer that never comes.
        _email_message_end(message, EmailMessage.State.FAILED, error=type(exc).__name__)
        raise
    _email_message_end(message, EmailMessage.State.SENT, error="")
    return message


def _task_schedule(name: str, *args) -> bool:
    """Queue the task ``name`` of accounts.tasks; False (and logged) if the broker cannot be
    reached or does not answer."""
    from kombu.exceptions import OperationalError

    from . import tasks

    try:
        getattr(tasks, name).apply_async(args=list(args))
    except OperationalError:
        logger.error("%s not queued: broker unreachable", name)
        return False
    return True


# --- Failed logins: what is stored of the typed User ID -------------------------------------

LOGIN_USER_ID_SALT = "accounts.services.login_user_id_key"


def login_user_id_key(typed: str) -> str:
    """A keyed hash (HMAC-SHA256, dedicated salt) of a typed User ID that names no user: the
    same typing (any case, spaces around) gives the same key, so attempts stay linked and
    unknown User IDs lock like known ones, but the text itself, perhaps a password typed into
    the wrong field, is stored nowhere. ``#`` never starts a real User ID."""
    from django.utils.crypto import salted_hmac

    normalised = (typed or "").strip().lower()
    return "#" + salted_hmac(LOGIN_USER_ID_SALT, normalised, algorithm="sha256").hexdigest()[:32]


def login_user_id_resolve(typed: str) -> tuple[User | None, str]:
    """The user a typed User ID names (case and spaces around do not matter) and what may be
    stored of it: the User ID in lower case when it names a user, else its keyed hash, or ""
    when nothing was typed."""
    normalised = (typed or "").strip()
    if not normalised:
        return None, ""
    user = User.objects.filter(user_id__iexact=normalised).first()
    return user, user.user_id.lower() if user else login_user_id_key(normalised)


def login_throttle_username(request, credentials: dict) -> str:
    """django-axes' ``AXES_USERNAME_CALLABLE``: the User ID login throttling counts and
    stores (``AccessAttempt.username``), as ``login_user_id_resolve`` gives it. Remembered
    on the request, since axes asks several times per attempt."""
    typed = (credentials or {}).get(settings.AXES_USERNAME_FORM_FIELD) or ""
    memo = request.__dict__.setdefault("_login_throttle_usernames", {}) if request else {}
    if typed not in memo:
        memo[typed] = login_user_id_resolve(typed)[1]
    return memo[typed]


# --- Failed logins per network address (password spraying) ----------------------------------


def login_address_key(ip: str | None) -> str:
    """The network address failed logins are counted for: an IPv4 address, or the /64 of an
    IPv6 address (one subscriber line gets a whole /64 and may use any address in it)."""
    import ipaddress

    if not ip:
        return ""
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(getattr(address, "ipv4_mapped", None) or address)


@transaction.atomic
def login_address_attempt_begin(*, ip: str | None) -> int:
    """Count a login attempt from ``ip`` before its password is compared; 0 lets it go on,
    anything else is the number of seconds the address stays locked.

    Beside the lock per User ID (django-axes), this stops password spraying: more than
    ``LOGIN_ADDRESS_FAILURE_LIMIT`` failed logins from one address within
    ``LOGIN_ADDRESS_WINDOW`` lock that address for ``LOGIN_ADDRESS_COOLOFF`` (audited once,
    when the lock starts). The attempt counts as a failure from now on, under the address's
    row lock, so parallel attempts in any web process cannot compare more passwords than the
    limit; ``login_address_attempt_end`` gives it back when it logs in. A refused attempt
    compares nothing and counts toward no User ID's lock.
    """
    from datetime import timedelta

    from .models import LoginAddressThrottle

    key = login_address_key(ip)
    if not key:
        return 0
    now = timezone.now()
    throttle, _ = LoginAddressThrottle.objects.select_for_update().get_or_create(
        address=key, defaults={"window_started_at": now}
    )
    # The clock once the row is ours: a lock another process set while this one waited for the
    # row started after the first reading, and the wait must never read longer than the cool-off
    # ("16 minutes" for a 15-minute lock, seen across two gunicorn processes).
    now = timezone.now()
    if throttle.locked_until and throttle.locked_until > now:
        wait = math.ceil((throttle.locked_until - now).total_seconds())
        return max(1, min(wait, settings.LOGIN_ADDRESS_COOLOFF))
    window_start = now - timedelta(seconds=settings.LOGIN_ADDRESS_WINDOW)
    if throttle.locked_until or throttle.window_started_at <= window_start:
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
    if throttle.failures >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        cooloff = settings.LOGIN_ADDRESS_COOLOFF
        throttle.locked_until = now + timedelta(seconds=cooloff)
        throttle.save()
        audit_log(
            action=AuditEvent.Action.LOGIN_ADDRESS_LOCKED,
            ip=ip,
            reason=f"{throttle.failures} failed logins from one network address",
            data={"address": key, "failures": throttle.failures, "cooloff_seconds": cooloff},
        )
        return cooloff
    throttle.failures += 1
    throttle.save()
    return 0


def login_address_attempt_end(*, ip: str | None, succeeded: bool) -> None:
    """The attempt counted by ``login_address_attempt_begin`` logged in: give its count back
    (a success never clears the failures of others from the same address)."""
    from .models import LoginAddressThrottle

    key = login_address_key(ip)
    if succeeded and key:
        LoginAddressThrottle.objects.filter(address=key, failures__gt=0).update(
            failures=F("failures") - 1
        )


# --- The e-mail outbox: what became of each notice -------------------------------------------


def _smtp_error(exc: BaseException) -> str:
    """What is stored of an SMTP error: its kind and code, never the server's text (which may
    repeat the address)."""
    import smtplib

    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        code = max(c for c, _ in exc.recipients.values())
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__


def _smtp_permanent(exc: BaseException) -> bool:
    """A 5xx answer will not change within the hour: no retry. 4xx (greylisting, a full
    mailbox, a busy server) and network trouble may."""
    import smtplib

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(c >= 500 for c, _ in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _email_message_mark(message, state: str, *, error: str) -> None:
    message.state, message.error = state, error[:200]
    message.save(update_fields=["state", "error", "updated_at"])


def _email_message_end(message, state: str, *, error: str) -> None:
    """Record how it ended and audit it (sent, or failed with the error)."""
    from .models import EmailMessage

    _email_message_mark(message, state, error=error)
    audit_log(
        action=AuditEvent.Action.NOTICE_EMAIL_SENT
        if state == EmailMessage.State.SENT
        else AuditEvent.Action.NOTICE_EMAIL_FAILED,
        subject=message.user,
        data={
            "email_message": message.pk,
            "to": email_masked(message.to),
            "attempts": message.attempts,
            **({"error": error} if error else {}),
        },
    )


def email_notice_give_up(*, message_id: int, error: str) -> None:
    """No more tries (retries used up, or the broker unreachable): a pending row ends failed,
    audited once."""
    from .models import EmailMessage

    message = EmailMessage.objects.filter(pk=message_id).first()
    ended = EmailMessage.objects.filter(pk=message_id, state=EmailMessage.State.PENDING).update(
        state=EmailMessage.State.SENDING
    )
    if message is not None and ended:
        _email_message_end(message, EmailMessage.State.FAILED, error=error or message.error)


def email_retry_delay(*, retries: int) -> float:
    """Exponential backoff with jitter: EMAIL_SEND_RETRY_BASE × 2^retries, at most
    EMAIL_SEND_RETRY_MAX_DELAY, drawn between half of that and all of it."""
    import secrets

    ceiling = min(
        settings.EMAIL_SEND_RETRY_BASE * (2**retries), settings.EMAIL_SEND_RETRY_MAX_DELAY
    )
    return max(1.0, secrets.SystemRandom().uniform(ceiling / 2, ceiling))


# --- Passwords: "Lupa Password?" and "Ganti Password" ---------------------------------------
# The OTP steps are run by accounts.password_views (only views call tokens); these services do
# the accounts writes the OTPs confirm. No password is ever stored or logged in plain form: a
# pending change keeps only the new password's hash.

PASSWORD_RESET_TEXT = gettext_noop(
    "Bank Nusantara: the password of your Internet Banking was reset (forgotten password) "
    "and every session was ended. If you did not do this, call the bank at once."
)
PASSWORD_CHANGED_TEXT = gettext_noop(
    "Bank Nusantara: the password of your Internet Banking was changed and your other "
    "sessions were ended. If you did not do this, call the bank at once."
)
PASSWORD_RESET_BANK_TEXT = gettext_noop(
    "Bank Nusantara: a new password was asked, but your online access is blocked. Call "
    "%(call_centre)s. Not you? Call the bank at once."
)


def password_reset_window_start():
    from datetime import timedelta

    return timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_WINDOW)


def _password_reset_wait(tries) -> int:
    """Minutes until the oldest try in the window leaves it."""
    from datetime import timedelta

    oldest = tries.order_by("created_at").values_list("created_at", flat=True).first()
    if oldest is None:
        return 1
    left = oldest + timedelta(seconds=settings.PASSWORD_RESET_WINDOW) - timezone.now()
    return max(1, math.ceil(left.total_seconds() / 60))


def _password_reset_count_lock(*, user_key: str, address: str, subject: User | None) -> None:
    """Serialise the tries of one User ID and of one address until the transaction ends, so
    that parallel tries are counted one after another and none passes a limit. PostgreSQL:
    transaction-level advisory locks on both keys, always the User ID's first (no cycle).
    Elsewhere (SQLite, one writer at a time anyway): the customer's row when the User ID
    names one."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key in (f"password_reset:user:{user_key}", f"password_reset:address:{address}"):
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
    elif subject is not None:
        User.objects.select_for_update().only("pk").get(pk=subject.pk)


@transaction.atomic
def password_reset_request(
    *, user_id: str, birth_date, account_number: str, ip: str | None, account_held
):
    """One try at "Lupa Password?": User ID, birth date and account number; returns the
    ``PasswordReset`` written for it, whatever the answer.

    Counted per typed User ID (``PASSWORD_RESET_USER_LIMIT``) and per network address
    (``PASSWORD_RESET_ADDRESS_LIMIT``) within ``PASSWORD_RESET_WINDOW``, matching or not; a try
    over either limit raises PasswordResetThrottled and is not recorded. Tries are counted
    under a lock per User ID and per address (``_password_reset_count_lock``), so parallel
    requests cannot pass a limit. ``account_held(user=, number=)`` says whether the account
    number is the customer's: the view hands in payments' answer, so accounts imports nothing
    of payments.

    All three must match an active customer, else the reset has no user and its code step can
    only fail (the pages never say which). A matching customer with an active AccessBlock or
    no mobile number gets no code (state ``sent_to_bank``): the view tells the customer, on
    the customer's own channels, to call the bank, while the page goes on as for data that do
    not match, so a stranger never learns that they did. Audited without the birth date or
    the account number.
    """
    from .models import PasswordReset

    subject, user_key = login_user_id_resolve(user_id)
    user_key = user_key or login_user_id_key("")
    address = login_address_key(ip)
    _password_reset_count_lock(user_key=user_key, address=address, subject=subject)
    counted = PasswordReset.objects.filter(created_at__gt=password_reset_window_start()).exclude(
        state=PasswordReset.State.THROTTLED
    )
    by_user = counted.filter(user_key=user_key)
    by_address = counted.filter(address=address) if address else counted.none()
    for tries, limit in (
        (by_user, settings.PASSWORD_RESET_USER_LIMIT),
        (by_address, settings.PASSWORD_RESET_ADDRESS_LIMIT),
    ):
        if tries.count() >= limit:
            raise exceptions.PasswordResetThrottled(minutes=_password_reset_wait(tries))
    # Every part is compared, whatever an earlier one gave.
    birth_matches = subject is not None and subject.birth_date == birth_date
    account_matches = bool(account_held(user=subject, number=account_number))
    matched = bool(
        subject is not None
        and subject.is_active
        and not subject.is_staff
        and birth_matches
        and account_matches
    )
    now = timezone.now()
    reset = PasswordReset(user_key=user_key, address=address, created_at=now)
    if matched:
        reset.user = subject
        if selectors.otp_blocked(user=subject) or not subject.phone:
            reset.state = PasswordReset.State.SENT_TO_BANK
    # Every reset, sent a code or not, starts the same resend cooldown (the pages match).
    reset.code_sent_at = now
    reset.full_clean()
    reset.save(force_insert=True)
    audit_log(
        action=AuditEvent.Action.PASSWORD_RESET_ASKED,
        subject=subject,
        ip=ip,
        data={
            "reset": str(reset.pk),
            "user_id": subject.user_id if subject else user_key,
            "matched": matched,
            "outcome": reset.state,
        },
    )
    return reset


def password_reset_get(*, reset_id):
    """The reset the session names, or None (a missing or malformed id)."""
    from django.core.exceptions import ValidationError

    from .models import PasswordReset

    if not reset_id:
        return None
    try:
        return PasswordReset.objects.select_related("user").filter(pk=reset_id).first()
    except ValidationError:
        return None


def password_reset_intent(reset) -> dict:
    """The canonical summary the reset's OTP is bound to."""
    return {"password_reset": str(reset.pk)}


def password_reset_challenge_set(*, reset, challenge) -> None:
    """Remember the challenge of the reset's code, by its id only."""
    from .models import PasswordReset

    # The resend cooldown runs from the challenge's own time, so it never ends before the OTP
    # core's does.
    PasswordReset.objects.filter(pk=reset.pk).update(
        challenge_ref=challenge.pk, code_sent_at=challenge.created_at
    )
    reset.challenge_ref, reset.code_sent_at = challenge.pk, challenge.created_at


def password_reset_resend(*, reset) -> None:
    """ "Generate OTP" again on the code step: refused within ``OTP_RESEND_COOLDOWN`` of the
    last code (PasswordCodeResendTooSoon), the same for a reset whose data matched and one
    whose data did not; the caller then sends a real code only for a reset with a user.
    Raises PasswordResetNotPending once the reset is past the code step."""
    from .models import PasswordReset

    if reset.state not in PasswordReset.CODE_STEP_STATES:
        raise exceptions.PasswordResetNotPending()
    now = timezone.now()
    if reset.code_sent_at:
        wait = settings.OTP_RESEND_COOLDOWN - (now - reset.code_sent_at).total_seconds()
        if wait > 0:
            raise exceptions.PasswordCodeResendTooSoon(seconds=int(wait) + 1)
    PasswordReset.objects.filter(pk=reset.pk).update(code_sent_at=now, attempts=0)
    reset.code_sent_at, reset.attempts = now, 0


def password_reset_code_refuse(*, reset) -> tuple[str, int]:
    """A code typed for a reset that cannot be verified (its data did not match, or no code
    could be sent): answered like a real code would be, counted on the reset only (never
    toward any customer's block). Returns the OTP core's refusal to show, as (reason,
    tries left): "blocked", "expired", "voided" or "wrong_code"."""
    from datetime import timedelta

    from .models import PasswordReset

    max_attempts = settings.OTP_MAX_ATTEMPTS
    row = PasswordReset.objects.select_for_update().get(pk=reset.pk)
    if row.failures >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
        return "blocked", 0
    sent_at = row.code_sent_at or row.created_at
    if sent_at + timedelta(seconds=settings.OTP_CODE_LIFETIME) <= timezone.now():
        return "expired", 0
    if row.attempts >= max_attempts:
        return "voided", 0
    row.attempts += 1
    row.failures += 1
    row.save(update_fields=["attempts", "failures"])
    reset.attempts, reset.failures = row.attempts, row.failures
    if row.failures >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
        return "blocked", 0
    if row.attempts >= max_attempts:
        return "voided", 0
    return "wrong_code", max_attempts - row.attempts


def password_reset_failure_record(*, reset) -> bool:
    """Count a refused code of a real reset on the reset itself (never toward the customer's
    OTP block: see ``challenge_verify(counts_toward_block=False)``). Run in the code check's
    transaction. Returns True when the reset has reached ``OTP_MAX_CONSECUTIVE_FAILURES`` and
    is dead, as one whose data did not match is after as many."""
    from .models import PasswordReset

    row = PasswordReset.objects.select_for_update().get(pk=reset.pk)
    row.failures += 1
    row.save(update_fields=["failures"])
    reset.failures = row.failures
    return row.failures >= settings.OTP_MAX_CONSECUTIVE_FAILURES


def password_reset_code_sendable(reset) -> bool:
    """Whether "Generate OTP" on ``reset`` sends a real code: the data matched, the customer
    may reset online, and the reset has failures left."""
    from .models import PasswordReset

    return (
        reset.user_id is not None
        and reset.state == PasswordReset.State.ASKED
        and reset.failures < settings.OTP_MAX_CONSECUTIVE_FAILURES
    )


def password_reset_code_checkable(reset) -> bool:
    """Whether a code typed for ``reset`` is compared with a real one: the data matched, a code
    was sent, and the reset has failures left. Any other is answered by
    ``password_reset_code_refuse``, in the same words."""

    return password_reset_code_sendable(reset) and reset.challenge_ref is not None


def password_reset_verify(*, reset):
    """The reset's SMS OTP was right: it may set a new password, once, within
    ``PASSWORD_RESET_LIFETIME``. Run inside the OTP's verification (both commit or neither).
    Raises PasswordResetNotPending."""
    from .models import PasswordReset

    now = timezone.now()
    moved = PasswordReset.objects.filter(
        pk=reset.pk, state=PasswordReset.State.ASKED, user__isnull=False
    ).update(state=PasswordReset.State.VERIFIED, verified_at=now)
    if not moved:
        raise exceptions.PasswordResetNotPending()
    reset.state, reset.verified_at = PasswordReset.State.VERIFIED, now
    return reset


def password_reset_for_new_password(*, reset):
    """Raise PasswordResetNotPending unless ``reset`` verified its code and is still within
    ``PASSWORD_RESET_LIFETIME`` of that."""
    from datetime import timedelta

    from .models import PasswordReset

    if (
        reset is None
        or reset.state != PasswordReset.State.VERIFIED
        or reset.verified_at is None
        or reset.verified_at + timedelta(seconds=settings.PASSWORD_RESET_LIFETIME)
        <= timezone.now()
    ):
        raise exceptions.PasswordResetNotPending()
    return reset


def _sessions_end(user: User) -> None:
    """End every session of the user: the one the user row names is deleted after commit, and
    any other ends on its next request (SessionSecurityMiddleware: it is not the user's)."""
    old_key = user.session_key
    User.objects.filter(pk=user.pk).update(session_key="")
    user.session_key = ""
    if old_key:
        transaction.on_commit(lambda: _session_store_delete(old_key))


@transaction.atomic
def password_reset_complete(*, reset, password: str, ip: str | None = None) -> User:
    """Set the new password of a verified reset, once and within ``PASSWORD_RESET_LIFETIME``:
    the reset is completed by one conditional UPDATE under the customer's row lock; every
    session of the customer ends; the login lock after wrong passwords (django-axes) is
    lifted, since the customer has just proved who they are more strongly than a password
    does; audited. The caller tells the customer (SMS and email) in the same transaction.
    ``password`` was validated by the form (AUTH_PASSWORD_VALIDATORS). Raises
    PasswordResetNotPending."""
    from datetime import timedelta

    from .models import PasswordReset

    password_reset_for_new_password(reset=reset)
    user = User.objects.select_for_update().get(pk=reset.user_id)
    now = timezone.now()
    done = PasswordReset.objects.filter(
        pk=reset.pk,
        state=PasswordReset.State.VERIFIED,
        verified_at__gt=now - timedelta(seconds=settings.PASSWORD_RESET_LIFETIME),
    ).update(state=PasswordReset.State.COMPLETED, completed_at=now)
    if not done:
        raise exceptions.PasswordResetNotPending()
    reset.state, reset.completed_at = PasswordReset.State.COMPLETED, now
    user.set_password(password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    _sessions_end(user)
    axes_reset(username=user.user_id.lower())
    audit_log(
        action=AuditEvent.Action.PASSWORD_RESET,
        subject=user,
        actor=user,
        ip=ip,
        reason=gettext_noop(
            "Forgotten password: User ID, birth date, account number and an SMS OTP"
        ),
        data={"reset": str(reset.pk)},
    )
    return user


@transaction.atomic
def password_change_create(*, user: User, password_hash: str):
    """Start "Ganti Password": the new password's hash (never the password) waits for the
    OTP; the customer's earlier open changes are voided."""
    from .models import PasswordChange

    PasswordChange.objects.filter(user=user, state=PasswordChange.State.AWAITING_OTP).update(
        state=PasswordChange.State.VOIDED, password_hash=""
    )
    change = PasswordChange(user=user, password_hash=password_hash)
    change.full_clean()
    change.save()
    return change


def password_change_intent(change) -> dict:
    """The canonical summary the change's OTP is bound to."""
    return {"password_change": change.pk}


def password_change_challenge_set(*, change, challenge) -> None:
    from .models import PasswordChange

    PasswordChange.objects.filter(pk=change.pk).update(challenge_ref=challenge.pk)
    change.challenge_ref = challenge.pk


def password_change_complete(*, change, user: User, ip: str | None = None) -> User:
    """The OTP confirmed the change: the stored hash becomes the password (once; the hash is
    then blanked), ``must_change_password`` is cleared, audited. Run inside the OTP's
    verification. The caller keeps the current session (cycled, rebound) and tells the
    customer; every other session ends, since it is no longer the user's and its password
    hash no longer matches. Raises PasswordChangeNotPending."""
    from .models import PasswordChange

    locked = User.objects.select_for_update().get(pk=change.user_id)
    row = PasswordChange.objects.filter(
        pk=change.pk, user=locked, state=PasswordChange.State.AWAITING_OTP
    ).first()
    if row is None or not row.password_hash:
        raise exceptions.PasswordChangeNotPending()
    PasswordChange.objects.filter(pk=row.pk).update(
        state=PasswordChange.State.COMPLETED, completed_at=timezone.now(), password_hash=""
    )
    change.state = PasswordChange.State.COMPLETED
    user.password = locked.password = row.password_hash
    user.must_change_password = locked.must_change_password = False
    locked.save(update_fields=["password", "must_change_password"])
    audit_log(
        action=AuditEvent.Action.PASSWORD_CHANGED,
        subject=locked,
        actor=locked,
        ip=ip,
        reason=gettext_noop("Changed by the customer (current password and an OTP)"),
        data={"change": row.pk},
    )
    return user


def password_current_wrong_record(*, user: User, ip: str | None) -> None:
    """Audit a wrong current password on "Ganti Password" (django-axes counts it toward the
    same lock as a wrong password at login)."""
    audit_log(
        action=AuditEvent.Action.LOGIN_FAILED,
        subject=user,
        actor=user,
        ip=ip,
        data={"user_id": user.user_id.lower(), "where": "password_change"},
    )


# --- Passwords the bank sets: staff reset, the first password of a new account ---------------

PASSWORD_SET_BY_STAFF_TEXT = gettext_noop(
    "Bank Nusantara: the bank reset the password of your Internet Banking and ended every "
    'session. Set a new password with "Lupa Password?" on the login page. If you did not ask '
    "the bank for this, call the bank at once."
)


@transaction.atomic
def password_staff_reset(*, user: User, actor: User, reason: str, ip: str | None = None) -> User:
    """The staff action "Reset kata sandi" on the customer's page, after staff checked who is
    on the line (call centre) or at the counter.

    Staff never see, choose or send a password: no secret is shown to staff or put on the task
    queue. The customer's password becomes unusable (the old one no longer logs in), the
    customer must set a new one (``must_change_password``; "Lupa Password?" on the login page,
    which proves who they are with their data and an SMS OTP to the registered phone and
    clears the flag), and every session ends. Nothing else is lifted: an access block or a
    login lock stays as it is (the unblock is its own action).

    Allowed to active staff with ``accounts.unblock_access`` (call-centre agent, supervisor),
    with a written reason, never on their own record or another member of staff; a refusal (a
    StaffError) changes nothing. Audited (``PASSWORD_SET_BY_STAFF``, the reason, no secret).
    The caller tells the customer (``PASSWORD_SET_BY_STAFF_TEXT``, SMS and email) in the same
    transaction.
    """
    _staff_may_act_on(actor=actor, user=user)
    if not actor.has_perm(PERM_UNBLOCK):
        raise exceptions.NotPermitted()
    if not reason.strip():
        raise exceptions.ReasonRequired()
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.set_unusable_password()
    locked.must_change_password = True
    locked.save(update_fields=["password", "must_change_password"])
    user.password, user.must_change_password = locked.password, True
    _sessions_end(locked)
    user.session_key = ""
    audit_log(
        action=AuditEvent.Action.PASSWORD_SET_BY_STAFF,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"kind": "staff_reset"},
    )
    return user


@transaction.atomic
def customer_initial_password_set(*, user: User, password: str) -> User:
    """The first password of an account the bank opened: the one printed in the customer's
    PIN mailer. It is a password the bank chose, so the customer must set a new one at first
    login (``must_change_password``; ``PasswordChangeRequiredMiddleware`` keeps them on
    "Ganti Password" until then). Audited without the password."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_staff:
        raise exceptions.NotACustomer()
    locked.set_password(password)
    locked.must_change_password = True
    locked.save(update_fields=["password", "must_change_password"])
    user.password, user.must_change_password = locked.password, True
    audit_log(
        action=AuditEvent.Action.PASSWORD_SET_BY_STAFF,
        subject=user,
        reason=gettext_noop("First password of an account the bank opened (PIN mailer)"),
        data={"kind": "initial"},
    )
    return user
