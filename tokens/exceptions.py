"""Domain errors of the OTP core. Each carries a message fit to show the customer."""

from django.utils.translation import gettext_lazy as _

from accounts.exceptions import CallCentreMixin
from portal.exceptions import CustomerError


class OtpError(CustomerError):
    message = _("The code could not be checked. Please try again.")
    code = "otp_error"


class OtpBlocked(CallCentreMixin, OtpError):
    message = _(
        "Confirmation with a one-time password is blocked for your User ID. "
        "Call Bank Nusantara at %(call_centre)s to have it unblocked."
    )
    code = "otp_blocked"


class NoPhone(OtpError):
    message = _("No mobile number is registered for you. Please visit a branch.")
    code = "no_phone"


class NoChallenge(OtpError):
    message = _("Press “Generate OTP” first to receive a code.")
    code = "no_challenge"


class WrongCode(OtpError):
    message = _("The code is wrong. %(remaining)s tries left for this code.")
    code = "wrong_code"


class TokenWrongCode(WrongCode):
    # A token shows a new code at every press: no "tries left for this code", no "Generate OTP".
    message = _("The code is wrong. Press the button on your token and type the new code it shows.")


class ChallengeVoided(OtpError):
    message = _(
        "Too many wrong codes: this code no longer works. Press “Generate OTP” for a new one."
    )
    code = "challenge_voided"


class ChallengeExpired(OtpError):
    message = _("The code has expired. Press “Generate OTP” for a new one.")
    code = "challenge_expired"


class ChallengeUsed(OtpError):
    message = _("This code has already been used.")
    code = "challenge_used"


class IntentMismatch(OtpError):
    message = _("This code was issued for another transaction and cannot confirm this one.")
    code = "intent_mismatch"


class ResendTooSoon(OtpError):
    message = _("A code was just sent. You can ask for a new one in %(seconds)s seconds.")
    code = "resend_too_soon"


class SmsLimitReached(OtpError):
    # ``wait``: portal.formatting.duration_lazy of the seconds until one more may be sent.
    message = _("Too many codes were requested. You can ask for a new one in %(wait)s.")
    code = "sms_limit"


class SmsNotSentNow(OtpError):
    """No code was sent and none counted: the queue (broker) or the limits' store (Redis)
    did not answer. The customer may try again in a moment."""

    message = _("The OTP code cannot be sent right now. Please try again in a few moments.")
    code = "sms_not_sent_now"


class SmsNotQueued(SmsNotSentNow):
    code = "sms_not_queued"


class SmsLimitsUnavailable(SmsNotSentNow):
    code = "sms_limits_unavailable"


class NoUsableToken(OtpError):
    message = _(
        "Your token cannot be used to confirm transactions. Please call the bank or visit a branch."
    )
    code = "no_usable_token"


class TokenMakesTheCode(OtpError):
    message = _("Use the code shown by your token: no SMS is sent to token users.")
    code = "token_makes_the_code"


class ActivationFailed(OtpError):
    message = _(
        "The token could not be activated: check your birth date, the serial number on the "
        "back of the token and the code it shows, then try again."
    )
    code = "activation_failed"


class TokenCodeReused(OtpError):
    message = _(
        "This code from your token was already used. Press the button on your token for a new "
        "code. If you did not use it, call the bank."
    )
    code = "token_code_reused"


class TokenActionRefused(Exception):
    """A staff action on a token that is not allowed; the message is for staff (English)."""

    code = "token_action_refused"


class TokenAlreadyHeld(TokenActionRefused):
    """A second token for a customer who holds one, without saying it replaces the old one."""

    code = "token_already_held"


# --- Mobile Token (issue 12) ----------------------------------------------------------------


class MobileWrongCode(WrongCode):
    # The phone cannot tell a wrong Unlock Code: its codes are simply refused here.
    message = _(
        "The code is wrong. Check the 8 digits and your Unlock Code, then type the new code "
        "your Mobile Token shows."
    )


class MobileCodeReused(OtpError):
    message = _(
        "This Mobile Token code was already used. Wait for the next code (at most 30 seconds). "
        "If you did not use it, call the bank."
    )
    code = "mobile_code_reused"


class RegistrationExpired(OtpError):
    message = _("This Mobile Token registration has expired. Please start again.")
    code = "mobile_registration_expired"


class UnlockCodeTooSimple(OtpError):
    message = _(
        "Choose an Unlock Code that is hard to guess: not your birth date, not repeated or "
        "consecutive digits."
    )
    code = "unlock_code_too_simple"


class NoMobileDevice(OtpError):
    message = _("No Mobile Token is registered for you.")
    code = "no_mobile_device"


class MobileTokenRetailOnly(OtpError):
    # Corporate users confirm with hardware tokens (and the SMS fallback a company asks for);
    # staff with their own authenticator. The Mobile Token is a retail customer's.
    message = _("The Mobile Token is for personal (retail) customers only.")
    code = "mobile_token_retail_only"


class MobileMakesTheCode(TokenMakesTheCode):
    message = _("Use the code shown by your Mobile Token: no SMS is sent to Mobile Token users.")
