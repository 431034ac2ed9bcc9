"""Domain errors of corporate requests: what the company's user or the member of staff reads."""

from django.utils.translation import gettext_lazy as _

from accounts.exceptions import StaffError
from portal.exceptions import CustomerError


class RequestError(CustomerError):
    """A request the rules refuse; ``field`` names the form field it belongs to (None: the
    whole form)."""

    message = _("The request could not be submitted.")
    code = "corporate_request_error"
    field = None


class RequestRefused(RequestError):
    """Several refusals at once, one per field, so the user sees every mismatch together."""

    code = "corporate_request_refused"

    def __init__(self, errors: list[RequestError]):
        self.errors = errors
        super().__init__()

    def __str__(self):
        return " ".join(str(error) for error in self.errors)


class NotCorporate(RequestError):
    message = _("Only users of a corporate customer can submit this request.")
    code = "not_corporate"


class CompanyNameMismatch(RequestError):
    message = _("The company name does not match the bank's records.")
    code = "company_name_mismatch"
    field = "company_name"


class CifMismatch(RequestError):
    message = _("The CIF does not match the bank's records.")
    code = "cif_mismatch"
    field = "cif"


class CorporateIdMismatch(RequestError):
    message = _("The Corporate ID does not match the bank's records.")
    code = "corporate_id_mismatch"
    field = "corporate_id"


class UserIdMismatch(RequestError):
    message = _("The User ID is not the one you logged in with.")
    code = "user_id_mismatch"
    field = "user_id"


class SerialMismatch(RequestError):
    message = _("This serial number is not the hard token registered to you.")
    code = "serial_mismatch"
    field = "token_serial"


class AlreadySms(RequestError):
    message = _("You already confirm with SMS OTP: no token replacement is needed.")
    code = "already_sms"


class ReasonRequired(RequestError):
    message = _("Choose why the token no longer works.")
    code = "reason_required"
    field = "reason"


class NothingChanged(RequestError):
    message = _(
        "The mobile number and the email are the same as the bank's records: type the new "
        "one you want."
    )
    code = "nothing_changed"


class PhoneNotMobile(RequestError):
    message = _("This number cannot receive SMS: type a mobile number.")
    code = "phone_not_mobile"
    field = "phone"


class DocumentRequired(RequestError):
    message = _(
        "Your mobile number or email differs from the bank's records: attach the data-update "
        "form signed by you (PDF, JPG or PNG)."
    )
    code = "document_required"
    field = "document"


class DocumentEmpty(RequestError):
    message = _("The file is empty.")
    code = "document_empty"
    field = "document"


class DocumentTooLarge(RequestError):
    message = _("The file is larger than %(max)s MB.")
    code = "document_too_large"
    field = "document"


class DocumentWrongType(RequestError):
    message = _(
        "The file is not a PDF, JPG or PNG document (its content is checked, not its name)."
    )
    code = "document_wrong_type"
    field = "document"


class OpenRequestExists(RequestError):
    message = _("You already have an open request %(reference)s (%(status)s): see Request status.")
    code = "open_request_exists"

    def __init__(self, *, corporate_request):
        self.corporate_request = corporate_request
        super().__init__(
            reference=corporate_request.reference, status=corporate_request.get_status_display()
        )


class NotCorrectable(RequestError):
    message = _("This request is not waiting for your correction.")
    code = "not_correctable"


class RequestNotInStep(StaffError):
    message = _("This request is not waiting for this step: it was decided or changed meanwhile.")
    code = "request_not_in_step"


class SupervisorMustDiffer(StaffError):
    message = _(
        "You approved this request as the officer: a supervisor other than you must approve it."
    )
    code = "supervisor_must_differ"


class ApprovalRefused(StaffError):
    """The approval could not take effect (a rule of the token or phone refused it); nothing
    changed. ``detail`` says why, for staff."""

    message = _("The approval could not take effect, nothing changed: %(detail)s")
    code = "approval_refused"
