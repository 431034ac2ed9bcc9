"""Reads of the OTP core used by pages."""

import math
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.utils import timezone

from portal.formatting import phone_masked

from .exceptions import NoUsableToken
from .models import Challenge, HardwareToken, MobileDevice, SmsMessage


def confirmation_channel(*, user) -> str:
    """How the customer confirms now: their active hardware token, their registered Mobile
    Token, or SMS.

    A token user whose token cannot be used (lost, damaged, battery dead) confirms nothing
    until staff switch SMS on for them: ``NoUsableToken``. So does a Mobile Token user with no
    active device (de-registration moves the method back, so only inconsistent data gets here).
    """
    if user.confirmation_method == user.ConfirmationMethod.HARDWARE_TOKEN:
        if HardwareToken.objects.usable().filter(user=user).exists():
            return Challenge.Channel.HARDWARE_TOKEN
        raise NoUsableToken()
    if user.confirmation_method == user.ConfirmationMethod.MOBILE_TOKEN:
        if MobileDevice.objects.filter(user=user, revoked_at__isnull=True).exists():
            return Challenge.Channel.MOBILE_TOKEN
        raise NoUsableToken()
    return Challenge.Channel.SMS


@dataclass(frozen=True)
class OtpState:
    """What the confirmation page tells the customer about their latest code."""

    challenge: Challenge | None
    phone: str
    channel: str  # Challenge.Channel, or "" when the customer has no usable way to confirm
    sms_status: str  # "", or one of SmsMessage.Status
    expires_in: int
    # Whole seconds until "Generate OTP" may send another code (the resend cooldown, also after
    # a code voided by wrong tries, or an SMS limit): the page counts down from it.
    resend_in: int

    @property
    def sms_failed(self):
        return self.sms_status in SmsMessage.FAILED_STATES

    @property
    def resend_minutes(self) -> int:
        """The wait in whole minutes, rounded up (shown so from two minutes on)."""
        return math.ceil(self.resend_in / 60)

    sms_delayed: bool = False
    # OTP is blocked for the customer: the page says so and why, and offers no form.
    blocked: bool = False
    blocked_message: str = ""


def otp_state(*, user, challenge: Challenge | None, to=None) -> OtpState:
    """``to``: a number being verified (``challenge_issue(to=...)``): its code goes by SMS,
    whatever the customer's confirmation method."""
    phone = to or user.phone
    block_kinds = list(user.access_blocks.active().values_list("kind", flat=True))
    if block_kinds:
        return OtpState(
            challenge=None,
            phone=phone_masked(phone),
            channel="",
            sms_status="",
            expires_in=0,
            resend_in=0,
            blocked=True,
            blocked_message=_blocked_message(block_kinds),
        )
    try:
        channel = Challenge.Channel.SMS if to else confirmation_channel(user=user)
    except NoUsableToken:
        channel = ""
    if channel != Challenge.Channel.SMS:
        return OtpState(
            challenge=None,
            phone=phone_masked(phone),
            channel=channel,
            sms_status="",
            expires_in=0,
            resend_in=0,
        )
    if challenge is not None and challenge.channel != channel:
        # A code of another channel (a token try before the switch to SMS OTP): no SMS was
        # sent for it, so it is neither "the code sent" nor a reason to wait.
        challenge = None
    now = timezone.now()
    sms = None
    if challenge is not None:
        sms = (
            SmsMessage.objects.filter(challenge=challenge)
            .only("status", "attempts", "created_at")
            .first()
        )
    resend_in, _rule = sms_resend_wait(
        user=user,
        phone=phone,
        last=challenge,
        last_failed=sms is not None and sms.has_failed,
        now=now,
    )
    pending = challenge is not None and challenge.status == Challenge.Status.PENDING
    expires_in = max(0, int((challenge.expires_at - now).total_seconds())) if pending else 0
    if not expires_in:
        # No code to type (none yet, expired, voided after wrong tries, used): only the wait.
        return OtpState(
            challenge=None,
            phone=phone_masked(phone),
            channel=channel,
            sms_status="",
            expires_in=0,
            resend_in=resend_in,
        )
    return OtpState(
        challenge=challenge,
        phone=phone_masked(phone),
        channel=channel,
        sms_status=sms.status if sms else "",
        expires_in=expires_in,
        resend_in=resend_in,
        sms_delayed=sms is not None and _delayed(sms, now),
    )


def _blocked_message(kinds) -> str:
    """Why the customer cannot confirm, with the call-centre number: a flag that stops login
    says which (lost phone, the bank's, their own), wrong codes say OTP is blocked."""
    from accounts.exceptions import access_blocked_error
    from accounts.models import AccessBlock

    from .exceptions import OtpBlocked

    if any(kind in AccessBlock.LOGIN_KINDS for kind in kinds):
        return str(access_blocked_error(kinds))
    return str(OtpBlocked())


def sms_resend_wait(
    *, user, phone, last: Challenge | None, last_failed: bool, now
) -> tuple[int, str]:
    """Whole seconds (rounded up) until one more code may be sent to ``phone`` for an intent
    whose latest challenge is ``last``, and the rule that holds it back: ``"cooldown"``
    (``OTP_RESEND_COOLDOWN`` since ``last`` was issued, whatever became of it, unless its SMS
    failed), ``"limit"`` (``OTP_SMS_USER_LIMIT`` / ``OTP_SMS_PHONE_LIMIT`` within their
    windows; codes only, never notices nor codes that were never queued) or ``""`` (0: it may
    be sent now).

    The one reckoning of these rules: ``challenge_issue`` refuses by the same figures
    (``tokens.limits`` for the limits), under the customer's lock, and the confirmation page
    counts down from it, so the button the page enables is one the server accepts.
    """
    from .limits import sms_limit_wait

    waits = [(0.0, "")]
    if last is not None and not last_failed:
        elapsed = (now - last.created_at).total_seconds()
        waits.append((settings.OTP_RESEND_COOLDOWN - elapsed, "cooldown"))
    waits.append((sms_limit_wait(user=user, phone=phone, now=now), "limit"))
    wait, rule = max(waits, key=lambda pair: pair[0])
    seconds = math.ceil(wait)
    return (seconds, rule) if seconds > 0 else (0, "")


_INTENT_ISSUE_STATE_SQL = """
SELECT
  EXISTS(SELECT 1 FROM accounts_accessblock b WHERE b.user_id = %s AND b.lifted_at IS NULL),
  (SELECT c.created_at FROM tokens_challenge c
    WHERE c.user_id = %s AND c.purpose = %s AND c.intent_digest = %s
    ORDER BY c.created_at DESC LIMIT 1),
  (SELECT m.status FROM tokens_challenge c JOIN tokens_smsmessage m ON m.challenge_id = c.id
    WHERE c.user_id = %s AND c.purpose = %s AND c.intent_digest = %s
    ORDER BY c.created_at DESC LIMIT 1),
  EXISTS(SELECT 1 FROM tokens_challenge c
    WHERE c.user_id = %s AND c.purpose = %s AND c.intent_digest = %s AND c.status = %s)
"""


@dataclass(frozen=True)
class IntentIssueState:
    """What issuing a code for an intent must know, read in one query under the lock."""

    blocked: bool  # an active AccessBlock
    last_created_at: object  # datetime of the intent's newest challenge, or None
    last_failed: bool  # its SMS failed (no cooldown after a failed SMS)
    pending: bool  # the intent has pending challenges (to be voided by the new one)


def intent_issue_state(*, user, purpose: str, digest: str) -> IntentIssueState:
    """The customer's block and the intent's latest challenge, in one query: read after the
    customer's row lock is taken (a fresh statement sees what the previous holder committed).

    Plain SQL (scalar subqueries, valid on PostgreSQL and SQLite): it runs on every "Generate
    OTP", and building the same statement with the ORM cost more CPU than the rest of the
    issue path."""
    from django.db import connection
    from django.utils.dateparse import parse_datetime

    key = [user.pk, purpose, digest]
    with connection.cursor() as cursor:
        cursor.execute(_INTENT_ISSUE_STATE_SQL, [user.pk, *key, *key, *key, Challenge.Status.PENDING])
        blocked, last_created_at, last_sms_status, pending = cursor.fetchone()
    if isinstance(last_created_at, str):  # SQLite
        last_created_at = parse_datetime(last_created_at)
    if last_created_at is not None and timezone.is_naive(last_created_at):
        last_created_at = timezone.make_aware(last_created_at, UTC)
    return IntentIssueState(
        blocked=bool(blocked),
        last_created_at=last_created_at,
        last_failed=last_sms_status in SmsMessage.FAILED_STATES,
        pending=bool(pending),
    )


def _delayed(sms: SmsMessage, now) -> bool:
    """Honest about an SMS that may not arrive soon: its fate is unknown, it is being retried
    after provider errors, or it has waited longer than a customer would."""
    if sms.status == SmsMessage.Status.UNKNOWN:
        return True
    if sms.status not in (SmsMessage.Status.PENDING, SmsMessage.Status.SENDING):
        return False
    tried_before = sms.attempts > (0 if sms.status == SmsMessage.Status.PENDING else 1)
    waited = (now - sms.created_at).total_seconds() > settings.SMS_DELAYED_AFTER
    return tried_before or waited


def challenge_for(*, user, challenge_id) -> Challenge | None:
    """The user's challenge with this id (an opaque reference another app kept), or None."""
    if challenge_id is None:
        return None
    return Challenge.objects.filter(user=user, pk=challenge_id).first()


# --- Mobile Token (issue 12) ----------------------------------------------------------------


def mobile_device_for(*, user):
    """The user's active ``MobileDevice``, or None."""
    return MobileDevice.objects.filter(user=user, revoked_at__isnull=True).first()


def mobile_confirm_context(*, user, purpose: str, summary: dict | None) -> dict | None:
    """For a Mobile Token user's confirm page and INSTAN: ``{"device": public_id (str),
    "link": "12345678" or ""}``; None for anyone else.

    The link is what the server will check the code over (``mobile.link_for``): a money
    purpose needs its ``summary`` (from the stored intent)."""
    from .mobile import link_for

    # ``confirmation_channel`` is the Mobile Token exactly when the method is and this device
    # exists: one read of the device, not a second one to ask the same.
    if user.confirmation_method != user.ConfirmationMethod.MOBILE_TOKEN:
        return None
    device = mobile_device_for(user=user)
    if device is None:
        return None
    return {"device": str(device.public_id), "link": link_for(purpose=purpose, summary=summary)}


def mobile_factor_channel(*, user) -> str:
    """The factor that confirms registering or de-registering a Mobile Token: the hardware
    token when the customer confirms with a usable one, else SMS to their phone (with
    ``challenge_issue(..., to=user.phone)`` and ``by_sms=True``). Never the Mobile Token
    itself: a lost or stolen phone must not approve its own replacement or keep itself."""
    try:
        channel = confirmation_channel(user=user)
    except NoUsableToken:
        channel = ""
    if channel == Challenge.Channel.HARDWARE_TOKEN:
        return Challenge.Channel.HARDWARE_TOKEN
    return Challenge.Channel.SMS
