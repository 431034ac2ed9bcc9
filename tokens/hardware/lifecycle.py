"""The life of a hardware token: the staff roles and their audited actions (assign; lost,
damaged, battery dead, revoked; resynchronise; SMS fallback), serial numbers as people write
them, and the customer's activation (Profil Saya → Aktivasi Token).

Each staff action is one service that checks the permission again (the admin is not the only
check) and audits with the member of staff's reason and IP.
"""

import re
import unicodedata
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import services as account_services
from accounts.models import AuditEvent, User

from .. import exceptions
from ..models import HardwareToken, HardwareTokenDevice
from .oath import token_code_verify, token_resync

PERM_IMPORT = "tokens.import_tokens"
PERM_ASSIGN = "tokens.assign_token"
PERM_STATE = "tokens.change_token_state"
PERM_RESYNC = "tokens.resync_token"
PERM_SMS_FALLBACK = "tokens.switch_sms_fallback"
# What each staff role may do with tokens (migrations tokens 0006_token_roles and
# 0013_mobile_token_roles hold frozen copies). A branch officer runs the stock; only a
# supervisor may move a customer down to SMS; the call centre de-registers a lost phone's
# Mobile Token.
TOKEN_ROLE_PERMISSIONS = {
    "Branch officer": [
        "view_hardwaretoken",
        "import_tokens",
        "assign_token",
        "change_token_state",
        "resync_token",
    ],
    "Supervisor": [
        "view_hardwaretoken",
        "import_tokens",
        "assign_token",
        "change_token_state",
        "resync_token",
        "switch_sms_fallback",
        "view_mobiledevice",
        "deregister_mobile_device",
    ],
    "Call centre agent": ["view_mobiledevice", "deregister_mobile_device"],
}


# --- Life of a token (staff and customer) -------------------------------------------------


def token_roles_grant() -> None:
    """Give the staff roles their token permissions (idempotent; adds, never removes).

    Migration 0006 does this on ``migrate``; call it again after
    ``accounts.services.roles_sync``, which sets each group to its accounts permissions only.
    """
    from django.contrib.auth.models import Group, Permission

    for group_name, codenames in TOKEN_ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="tokens", codename__in=codenames)
        )


def _staff_check(*, actor: User, permission: str) -> None:
    if actor is None or not (actor.is_active and actor.is_staff and actor.has_perm(permission)):
        raise exceptions.TokenActionRefused(
            gettext("You do not have the permission for this action on tokens.")
        )


def serial_normalise(serial: str | None) -> str:
    """The serial as stored, however it is written: as printed on the back of the token or in
    a vendor file (dashes, spaces), typed on a phone (full-width characters, a no-break space,
    an en dash) or in lower case.

    The one function for every serial that comes in: PSKC import, activation, the admin's
    search and ``manage.py token_code``; migration tokens 0010 holds a frozen copy.
    """
    text = unicodedata.normalize("NFKC", serial or "")
    return "".join(c for c in text if not (c.isspace() or unicodedata.category(c) == "Pd")).upper()


def serial_typable(serial: str) -> bool:
    """True if a customer can type this stored serial at activation: 4 to 32 ASCII letters
    and digits (the activation form's rule, and the serial column's length)."""
    return re.fullmatch(r"[0-9A-Z]{4,32}", serial, flags=re.ASCII) is not None


# What staff may say happened to the token a customer holds when a new one replaces it.
REPLACE_STATES = (
    HardwareToken.State.LOST,
    HardwareToken.State.DAMAGED,
    HardwareToken.State.BATTERY_DEAD,
)
HELD_STATES = (HardwareToken.State.ASSIGNED, HardwareToken.State.ACTIVE)
TOKEN_REPLACED_TEXT = gettext_noop(
    "Bank Nusantara: your token %(old)s was replaced by token %(serial)s and no longer works. "
    "Activate the new token in Profil Saya. Not you? Call the bank."
)


def token_assign(
    *,
    token: HardwareToken,
    user: User,
    actor: User,
    reason: str,
    ip: str | None,
    replace: str | None = None,
) -> HardwareToken:
    """Hand a token from stock to a customer (branch officer); only ``in_stock → assigned``.

    A customer holds one token at a time. One who already holds a token (assigned or active)
    gets another only as a replacement: ``replace`` says what happened to the old one (lost,
    damaged, battery dead, ``REPLACE_STATES``), which is retired at once with that state
    (audited as ``token_replaced``), and the customer is told by SMS and email. Without
    ``replace`` it raises ``TokenAlreadyHeld`` and nothing changes.

    The customer's row is locked first (as every code check and activation does), so two
    assignments to one customer in parallel run one after the other and the second sees the
    token the first gave.
    """
    from ..services import notice_send

    _staff_check(actor=actor, permission=PERM_ASSIGN)
    if user.is_staff or not user.is_active:
        raise exceptions.TokenActionRefused(
            gettext("A token can be assigned to an active customer only.")
        )
    if replace is not None and replace not in REPLACE_STATES:
        raise exceptions.TokenActionRefused(
            gettext("Say whether the old token was lost, damaged or its battery is dead.")
        )
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        held = list(
            HardwareToken.objects.select_for_update()
            .filter(user=user, state__in=HELD_STATES)
            .exclude(pk=token.pk)
            .order_by("pk")
        )
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        if locked.state != HardwareToken.State.IN_STOCK:
            raise exceptions.TokenActionRefused(
                gettext("Token %(serial)s is %(state)s, not in stock.")
                % {"serial": locked.serial, "state": locked.get_state_display()}
            )
        if held and replace is None:
            raise exceptions.TokenAlreadyHeld(
                gettext(
                    "%(user_id)s already holds token %(serials)s. To give a new one, choose "
                    "“replace” and say what happened to the old token."
                )
                % {"user_id": user.user_id, "serials": ", ".join(t.serial for t in held)}
            )
        now = timezone.now()
        for old in held:
            previous = old.state
            old.state = replace
            old.save(update_fields=["state"])
            HardwareTokenDevice.objects.filter(token=old).update(confirmed=False)
            account_services.audit_log(
                action=AuditEvent.Action.TOKEN_REPLACED,
                subject=user,
                actor=actor,
                ip=ip,
                reason=reason,
                data={"serial": old.serial, "from": previous, "to": replace, "new": locked.serial},
            )
        locked.state, locked.user, locked.assigned_at = HardwareToken.State.ASSIGNED, user, now
        locked.save(update_fields=["state", "user", "assigned_at"])
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_ASSIGNED,
            subject=user,
            actor=actor,
            ip=ip,
            reason=reason,
            data={"serial": locked.serial}
            | ({"replaced": [t.serial for t in held]} if held else {}),
        )
        for old in held:
            notice_send(
                user=user,
                text=TOKEN_REPLACED_TEXT,
                params={"old": old.serial, "serial": locked.serial},
            )
    return locked


STATE_CHANGE_OWN_SERVICE = (HardwareToken.State.ASSIGNED, HardwareToken.State.ACTIVE)


def token_state_change(
    *, token: HardwareToken, state: str, actor: User, reason: str, ip: str | None
) -> HardwareToken:
    """Move a token on as ``HardwareToken.TRANSITIONS`` allows (lost, damaged, …), at once.

    Confirmation checks the token's state on every code, so a token that is no longer active
    confirms nothing from this commit on, in every session. The holder keeps the hardware-token
    method (and so sees "token cannot be used") until staff switch SMS on for them.
    """
    _staff_check(actor=actor, permission=PERM_STATE)
    with transaction.atomic():
        locked = HardwareToken.objects.select_for_update().get(pk=token.pk)
        # Assigning and activating have their own services (and checks).
        if state in STATE_CHANGE_OWN_SERVICE or not locked.may_become(state):
            raise exceptions.TokenActionRefused(
                gettext("Token %(serial)s cannot go from %(from)s to %(to)s.")
                % {
                    "serial": locked.serial,
                    "from": locked.get_state_display(),
                    "to": HardwareToken.State(state).label,
                }
            )
        previous, holder = locked.state, locked.user
        locked.state = state
        fields = ["state"]
        if state == HardwareToken.State.IN_STOCK:
            locked.user, locked.assigned_at = None, None
            fields += ["user", "assigned_at"]
        locked.save(update_fields=fields)
        HardwareTokenDevice.objects.filter(token=locked).update(confirmed=False)
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_STATE_CHANGED,
            subject=holder,
            actor=actor,
            ip=ip,
            reason=reason,
            data={"serial": locked.serial, "from": previous, "to": state},
        )
    return locked


def token_resync_staff(
    *, token: HardwareToken, first: str, second: str, actor: User, reason: str, ip: str | None
) -> bool:
    """Staff resynchronise a token from two consecutive codes; audited either way."""
    _staff_check(actor=actor, permission=PERM_RESYNC)
    done = token_resync(token=token, first=first, second=second)
    account_services.audit_log(
        action=AuditEvent.Action.TOKEN_RESYNCED,
        subject=token.user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"serial": token.serial, "resynchronised": done},
    )
    return done


def sms_fallback_switch(*, user: User, actor: User, reason: str, ip: str | None) -> None:
    """Let a token holder confirm with SMS OTP again (token lost or broken), and tell them.

    Activating a new token ends the fallback (``token_activate``).
    """
    from ..services import notice_send

    _staff_check(actor=actor, permission=PERM_SMS_FALLBACK)
    with transaction.atomic():
        sms_fallback_set(user=user, actor=actor, reason=reason, ip=ip)
        notice_send(
            user=user,
            text=gettext_noop(
                "Bank Nusantara: from now on your transactions are confirmed with an OTP by "
                "SMS instead of your token. Not you? Call the bank."
            ),
            params={},
        )


def sms_fallback_set(*, user: User, actor: User, reason: str, ip: str | None) -> str:
    """The core of ``sms_fallback_switch``: under the lock of the user's row the method becomes
    SMS OTP, audited. Checks no permission and tells nobody: the caller does both (the staff
    action above, or the approval of a corporate token-replacement request, whose notice says
    more). Returns the method before. Raises TokenActionRefused."""
    if user.is_staff:
        raise exceptions.TokenActionRefused(gettext("Staff members have no SMS fallback."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if not locked.phone:
            raise exceptions.TokenActionRefused(
                gettext("The customer has no registered mobile number.")
            )
        if locked.confirmation_method == User.ConfirmationMethod.SMS:
            raise exceptions.TokenActionRefused(
                gettext("The customer already confirms with SMS OTP.")
            )
        previous = locked.confirmation_method
        confirmation_method_set(
            user=locked, method=User.ConfirmationMethod.SMS, actor=actor, ip=ip, reason=reason
        )
        user.confirmation_method = locked.confirmation_method
    return previous


def confirmation_method_set(*, user: User, method: str, actor, ip, reason: str = "") -> None:
    """The user's confirmation method, audited as every change of it is (the caller holds the
    user's row lock; nothing happens when it is already ``method``). One place for the staff
    SMS fallback, a token's activation and the Mobile Token (``tokens.mobile``)."""
    previous = user.confirmation_method
    if previous == method:
        return
    User.objects.filter(pk=user.pk).update(confirmation_method=method)
    user.confirmation_method = method
    account_services.audit_log(
        action=AuditEvent.Action.CONFIRMATION_METHOD_CHANGED,
        subject=user,
        actor=actor,
        ip=ip,
        reason=reason,
        data={"from": previous, "to": method},
    )


TOKEN_ACTIVATED_TEXT = gettext_noop(
    "Bank Nusantara: your token %(serial)s was activated and now confirms your "
    "transactions. Not you? Call the bank."
)
TOKEN_FALLBACK_ENDED_TEXT = gettext_noop(
    "Bank Nusantara: your new token %(serial)s was activated and now confirms your "
    "transactions; codes by SMS are no longer used. Not you? Call the bank."
)


class _ActivationRejected(Exception):
    pass


def token_activate(
    *, user: User, birth_date: date, serial: str, code: str, ip: str | None
) -> HardwareToken:
    """Activate the token the branch assigned to ``user`` (Profil Saya → Aktivasi Token).

    Birth date, serial and a code from the token must all fit a token assigned to this
    customer; any mismatch raises the one ``ActivationFailed`` (never which part, never whether
    the serial exists), counts toward the OTP block (``OtpBlocked`` when it is reached) and is
    audited. On success the token becomes the customer's way to confirm (ending any SMS
    fallback), any other active token of theirs is revoked, and they are told by SMS and email.
    """
    # One durable transaction under the user's lock, like every code check: the block is read
    # and a wrong try counted there, so parallel tries cannot outrun the block.
    with transaction.atomic(durable=True):
        if account_services.otp_check_lock(user=user):
            raise exceptions.OtpBlocked()
        try:
            with transaction.atomic():
                return _token_activate(
                    user=user, birth_date=birth_date, serial=serial, code=code, ip=ip
                )
        except _ActivationRejected:
            count = account_services.otp_failure_record(
                user=user, max_failures=settings.OTP_MAX_CONSECUTIVE_FAILURES
            )
            account_services.audit_log(
                action=AuditEvent.Action.OTP_FAILED,
                subject=user,
                actor=user,
                ip=ip,
                data={"reason": "activation", "consecutive": count},
            )
    if count >= settings.OTP_MAX_CONSECUTIVE_FAILURES:
        raise exceptions.OtpBlocked()
    raise exceptions.ActivationFailed()


def _token_activate(*, user: User, birth_date: date, serial: str, code: str, ip) -> HardwareToken:
    """The activation itself, once the user's lock is held; ``_ActivationRejected`` on any
    mismatch."""
    from ..services import notice_send

    token = (
        HardwareToken.objects.select_for_update()
        .filter(serial=serial_normalise(serial), user=user)
        .first()
    )
    if (
        token is None
        or token.state != HardwareToken.State.ASSIGNED
        or user.birth_date is None
        or birth_date != user.birth_date
        or not token_code_verify(
            token=token, code=code, accept_states=(HardwareToken.State.ASSIGNED,)
        )
    ):
        raise _ActivationRejected
    now = timezone.now()
    replaced = list(
        HardwareToken.objects.select_for_update()
        .filter(user=user, state=HardwareToken.State.ACTIVE)
        .exclude(pk=token.pk)
    )
    for old in replaced:
        old.state = HardwareToken.State.REVOKED
        old.save(update_fields=["state"])
        HardwareTokenDevice.objects.filter(token=old).update(confirmed=False)
        account_services.audit_log(
            action=AuditEvent.Action.TOKEN_STATE_CHANGED,
            subject=user,
            actor=user,
            ip=ip,
            reason=gettext_noop("replaced by a newly activated token"),
            data={"serial": old.serial, "from": "active", "to": "revoked"},
        )
    token.state, token.activated_at = HardwareToken.State.ACTIVE, now
    token.save(update_fields=["state", "activated_at"])
    HardwareTokenDevice.objects.create(
        user=user, token=token, name=f"Token {token.serial}", confirmed=True
    )
    previous = user.confirmation_method
    # An SMS fallback ends: the customer held a token before this one and confirmed with SMS
    # OTP meanwhile (staff switched it on, or a corporate replacement request was approved).
    fallback_ended = (
        previous == User.ConfirmationMethod.SMS
        and HardwareToken.objects.filter(user=user).exclude(pk=token.pk).exists()
    )
    confirmation_method_set(
        user=user,
        method=User.ConfirmationMethod.HARDWARE_TOKEN,
        actor=user,
        ip=ip,
        reason=gettext_noop("token activated"),
    )
    account_services.otp_failure_reset(user=user)
    account_services.audit_log(
        action=AuditEvent.Action.TOKEN_ACTIVATED,
        subject=user,
        actor=user,
        ip=ip,
        data={"serial": token.serial, "replaced": [t.serial for t in replaced]},
    )
    if fallback_ended:
        account_services.audit_log(
            action=AuditEvent.Action.SMS_FALLBACK_ENDED,
            subject=user,
            actor=user,
            ip=ip,
            reason=gettext_noop("token activated"),
            data={"serial": token.serial},
        )
    # One notice either way: it says that SMS OTP ended when it did.
    notice_send(
        user=user,
        text=TOKEN_FALLBACK_ENDED_TEXT if fallback_ended else TOKEN_ACTIVATED_TEXT,
        params={"serial": token.serial},
    )
    return token
