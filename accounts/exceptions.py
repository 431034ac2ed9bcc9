"""Domain errors of the accounts app: refusals of staff actions on access blocks, and what a
blocked customer is told."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from portal.exceptions import CustomerError


class CallCentreMixin:
    """A message that gives the bank's call-centre number (``%(call_centre)s``, the setting
    ``BANK_CALL_CENTRE`` read when the message is shown)."""

    def __str__(self):
        return str(self.message) % {"call_centre": settings.BANK_CALL_CENTRE, **self.params}


class AccessBlocked(CallCentreMixin, CustomerError):
    """Why a customer who gave the right password cannot go on: one subclass per kind of
    ``AccessBlock`` (``access_blocked_error`` picks it)."""

    message = _(
        "Online access for your User ID is blocked. Call Bank Nusantara at %(call_centre)s "
        "to have it opened again."
    )
    code = "access_blocked"


class LostPhoneBlocked(AccessBlocked):
    message = _(
        "Your online access is blocked because your phone was reported lost or stolen. To open "
        "it again, call Bank Nusantara at %(call_centre)s or visit a branch with your ID card."
    )


class StaffFlagBlocked(AccessBlocked):
    message = _(
        "The bank has blocked your online access to protect your accounts. Call Bank Nusantara "
        "at %(call_centre)s to learn why and to have it opened again."
    )


class SelfFlagBlocked(AccessBlocked):
    message = _(
        "You blocked your online access yourself. To open it again, call Bank Nusantara at "
        "%(call_centre)s or visit a branch with your ID card."
    )


class LoginLocked(AccessBlocked):
    """A User ID locked after wrong passwords. Said alike for every User ID typed, known or
    not (unknown ones lock too), so it tells nobody whether a User ID exists."""

    message = _(
        "This User ID is locked after %(count)s wrong passwords in a row. Call Bank Nusantara "
        "at %(call_centre)s to have it unlocked."
    )
    code = "login_locked"


class LoginLockedForAWhile(LoginLocked):
    """The same, when the bank lets a lock end by itself (``AXES_COOLOFF_TIME``)."""

    message = _(
        "This User ID is locked after %(count)s wrong passwords in a row. Try again in "
        "%(wait)s, or call Bank Nusantara at %(call_centre)s."
    )


ACCESS_BLOCKED_ERRORS = {
    "lost_phone": LostPhoneBlocked,
    "staff_flag": StaffFlagBlocked,
    "self_flag": SelfFlagBlocked,
}


def access_blocked_error(kinds) -> AccessBlocked:
    """The message for the customer's active blocks that stop login (kinds of
    ``AccessBlock``): a lost phone first, then the bank's flag, then the customer's own."""
    for kind, error in ACCESS_BLOCKED_ERRORS.items():
        if kind in kinds:
            return error()
    return AccessBlocked()


class StaffError(CustomerError):
    """A staff action the rules refuse; the message is shown to the member of staff."""

    message = _("This action is not allowed.")
    code = "staff_error"


class NotPermitted(StaffError):
    message = _("Your role does not allow this action.")
    code = "not_permitted"


class FlagNeedsSupervisor(NotPermitted):
    message = _("This customer has a lost-phone, staff or own flag; only a supervisor can lift it.")
    code = "flag_needs_supervisor"


class OwnRecord(StaffError):
    message = _("Staff cannot block, unblock or change their own record.")
    code = "own_record"


class ReasonRequired(StaffError, ValueError):
    message = _("Write the reason for this action.")
    code = "reason_required"


class NotACustomer(StaffError):
    message = _("Access blocks apply to customers only.")
    code = "not_a_customer"


class SecondPersonRequired(NotPermitted):
    message = _("You asked for this change yourself: a supervisor other than you must decide it.")
    code = "second_person_required"


class RequestNotPending(StaffError):
    message = _("This change was already decided or replaced by a later one.")
    code = "request_not_pending"


class PhoneInUse(StaffError):
    message = _("This number is registered to another user or cannot receive SMS.")
    code = "phone_in_use"


class WrongEnrolmentCode(StaffError):
    message = _("The code is wrong or was already used. Enter the code your app shows now.")
    code = "wrong_enrolment_code"


class EnrolmentThrottled(WrongEnrolmentCode):
    message = _("Too many wrong codes. Wait %(seconds)s seconds, then enter the code your app shows.")
    code = "enrolment_throttled"


class ProfileChangeError(CustomerError):
    """A change of phone or email the rules refuse; the message is shown to the customer."""

    message = _("The change could not be made.")
    code = "profile_change_error"


class SamePhone(ProfileChangeError):
    message = _("This is already your registered mobile number.")
    code = "same_phone"


class PhoneNotAvailable(ProfileChangeError):
    # Says neither that nor whose: the number may belong to another customer.
    message = _("This number cannot be used. Please visit a branch.")
    code = "phone_not_available"


class PhoneChangeLimitReached(ProfileChangeError):
    message = _(
        "Your mobile number cannot be changed online any more today. Please visit a branch."
    )
    code = "phone_change_limit"


class SameEmail(ProfileChangeError):
    message = _("This is already your registered email.")
    code = "same_email"


class ChangeNotPending(ProfileChangeError):
    message = _("This change is no longer waiting for confirmation. Please start again.")
    code = "change_not_pending"


class LinkInvalid(ProfileChangeError):
    message = _(
        "This verification link is not valid, has expired or was already used. "
        "Please start the change again."
    )
    code = "link_invalid"


class LinkResendTooSoon(ProfileChangeError):
    message = _("A link was just sent. You can ask for a new one in %(seconds)s seconds.")
    code = "link_resend_too_soon"


class PasswordError(CustomerError):
    """A forgotten-password or password-change step the rules refuse (shown to the customer)."""

    message = _("The password could not be changed.")
    code = "password_error"


class PasswordResetThrottled(PasswordError):
    message = _("Too many tries to reset a password. Try again in %(minutes)s minutes.")
    code = "password_reset_throttled"


class PasswordResetNotPending(PasswordError):
    message = _(
        "This password reset has expired or was already used. Please start again from "
        "“Forgot password?”."
    )
    code = "password_reset_not_pending"


class PasswordCodeResendTooSoon(PasswordError):
    # The same words as the OTP core's ResendTooSoon: whether the data matched or not, the
    # customer reads the same sentence.
    message = _("A code was just sent. You can ask for a new one in %(seconds)s seconds.")
    code = "resend_too_soon"


class PasswordChangeNotPending(PasswordError):
    message = _("This password change is no longer waiting for confirmation. Please start again.")
    code = "password_change_not_pending"
