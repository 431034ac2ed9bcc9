"""Reads of the OTP core used by pages."""

import math
from dataclasses import dataclass
from datetime import timedelta

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
    windows; codes only, never notices) or ``""`` (0: it may be sent now).

    The one reckoning of these rules: ``challenge_issue`` refuses by it, under the customer's
    lock, and the confirmation page counts down from it, so the button the page enables is
    one the server accepts.
    """
    waits = [(0.0, "")]
    if last is not None and not last_failed:
        elapsed = (now - last.created_at).total_seconds()
        waits.append((settings.OTP_RESEND_COOLDOWN - elapsed, "cooldown"))
    # Only codes count: the bank's notices (password changed, payee added) were not asked for,
    # and counting them left a customer without a code for an hour after a password reset.
    codes = SmsMessage.objects.filter(challenge__isnull=False)
    for messages, limit, window in (
        (
            codes.filter(user=user),
            settings.OTP_SMS_USER_LIMIT,
            settings.OTP_SMS_USER_WINDOW,
        ),
        (
            codes.filter(to=phone),
            settings.OTP_SMS_PHONE_LIMIT,
            settings.OTP_SMS_PHONE_WINDOW,
        ),
    ):
        waits.append((_window_wait(messages, limit=limit, window=window, now=now), "limit"))
    wait, rule = max(waits, key=lambda pair: pair[0])
    seconds = math.ceil(wait)
    return (seconds, rule) if seconds > 0 else (0, "")


def _window_wait(messages, *, limit: int, window: int, now) -> float:
    """Seconds until fewer than ``limit`` of ``messages`` were sent within the last ``window``
    seconds: when the ``limit``-th newest leaves the window."""
    if limit <= 0:
        return float(window)
    recent = list(
        messages.filter(created_at__gt=now - timedelta(seconds=window))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0.0
    return (recent[-1] + timedelta(seconds=window) - now).total_seconds()


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
