"""Domain errors of the accounts app: refusals of staff actions on access blocks."""

from django.utils.translation import gettext_lazy as _

from portal.exceptions import CustomerError


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


class WrongEnrolmentCode(StaffError):
    message = _("The code is wrong or was already used. Enter the code your app shows now.")
    code = "wrong_enrolment_code"
