import re

import phonenumbers
from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy
from django_otp.admin import OTPAdminAuthenticationForm
from phonenumber_field.formfields import PhoneNumberField

from portal.formatting import duration
from portal.forms import BirthDateField

from . import selectors
from .exceptions import access_blocked_error
from .models import corporate_user_id


class LoginForm(AuthenticationForm):
    """User ID + password. Errors never say whether a User ID exists."""

    error_messages = {
        "invalid_login": _("The User ID or password is wrong."),
        "inactive": _("The User ID or password is wrong."),
        "access_blocked": _(
            "Online access for this User ID is blocked. Please call the bank to unblock it."
        ),
    }

    username = forms.CharField(
        label=_("User ID"),
        max_length=30,
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "username", "autocapitalize": "none"}
        ),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    # Whose page this is: a company's users log in on the corporate page only, everyone else
    # on the retail page.
    corporate = False

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if (user.company_id is not None) != self.corporate:
            # The same words as a wrong password, so a page tells nothing about the User IDs
            # of the other.
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        blocks = selectors.login_blocks(user=user)
        if blocks:
            # The password was right: the customer may be told why and whom to call.
            error = access_blocked_error([block.kind for block in blocks])
            raise forms.ValidationError(str(error), code="access_blocked")


class CorporateLoginForm(LoginForm):
    """Corporate ID + User ID + password. The user is looked up as the stored
    ``"<CORPORATE ID>:<User ID>"`` (``accounts.models.Company``), so django-axes locks that
    user as on the retail page; errors never say whether the Corporate ID or the User ID
    exists, and a retail user cannot log in here."""

    error_messages = {
        **LoginForm.error_messages,
        "invalid_login": _("The Corporate ID, User ID or password is wrong."),
        "inactive": _("The Corporate ID, User ID or password is wrong."),
    }

    corporate_id = forms.CharField(
        label=_("Corporate ID"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "organization",
                "autocapitalize": "characters",
            }
        ),
    )
    field_order = ["corporate_id", "username", "password"]
    corporate = True

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs.pop("autofocus", None)

    def clean(self):
        corporate_id = (self.cleaned_data.get("corporate_id") or "").strip()
        typed = (self.cleaned_data.get("username") or "").strip()
        if corporate_id and typed:
            if ":" in corporate_id + typed:
                raise self.get_invalid_login_error()
            self.cleaned_data["username"] = corporate_user_id(
                corporate_id=corporate_id, user_id=typed
            )
        return super().clean()


class StaffReasonMixin:
    """A written reason (audited) for a staff action; whitespace alone is not a reason."""

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(self.error_messages["reason_required"], code="required")
        return reason


class AccessFlagForm(StaffReasonMixin, forms.Form):
    """Flag a customer's online access (call-centre case: a lost or stolen phone)."""

    error_messages = {"reason_required": _("Write why the access is flagged.")}

    # Labelled apart from the reason below: two fields both called "Alasan" confused staff.
    kind = forms.ChoiceField(
        label=_("Kind of flag"),
        choices=[
            ("lost_phone", _("Lost or stolen phone")),
            ("staff_flag", _("Other: flagged by staff")),
        ],
        widget=forms.RadioSelect,
        initial="lost_phone",
    )
    reason = forms.CharField(
        label=_("Reason (audited)"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class AccessUnblockForm(StaffReasonMixin, forms.Form):
    """Lift every block on a customer after an identity check."""

    error_messages = {"reason_required": _("Write why the access is given back.")}

    reason = forms.CharField(
        label=_("Reason (audited), e.g. how the identity was checked"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StaffPasswordResetForm(StaffReasonMixin, forms.Form):
    """Reset a customer's password: staff see, choose and send none; the customer sets a new
    one with "Lupa Password?" (``accounts.services.password_staff_reset``)."""

    error_messages = {"reason_required": _("Write why the password is reset.")}

    reason = forms.CharField(
        label=_("Reason (audited), e.g. how the identity was checked"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class StaffTotpEnrolForm(forms.Form):
    """The first code of a new authenticator app, which confirms the device."""

    error_messages = {"invalid": _("Enter the 6 digits your authenticator app shows.")}

    code = forms.CharField(
        label=_("Code from the app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self):
        code = self.cleaned_data["code"]
        # ASCII digits only: int() would also take "١٢٣٤٥٦".
        if not (code.isascii() and code.isdigit()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return code


class StaffAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """The admin login: User ID + password + a code of the staff member's own TOTP device.

    Staff have one TOTP device, so it is chosen for them when the form does not name one
    (django-otp would otherwise ask for a device first). Only a confirmed device of this user
    is ever used. A member of staff who has no confirmed device yet passes with the password
    alone: the staff site (``StaffAdminSite.login``) then sends them to enrol one, and no
    admin page opens before it is confirmed.
    """

    error_messages = {
        **OTPAdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "The User ID or password is wrong, or this is not a staff account. Both are "
            "case-sensitive."
        ),
    }
    # django-otp's own messages ("Please enter your OTP token.") have no Indonesian catalogue
    # and speak of devices staff never chose: the staff login says it in the bank's words.
    otp_error_messages = {
        **OTPAdminAuthenticationForm.otp_error_messages,
        "token_required": _("Enter the 6-digit code your authenticator app shows."),
        "invalid_token": _(
            "The code from your authenticator app is wrong or was already used. Wait for the "
            "next code and try again."
        ),
        # With the exact wait (``_verify_token``), as the customers' pages say it.
        "n_failed_attempts": ngettext_lazy(
            "Codes are not checked after %(failure_count)d wrong code. Try again in %(wait)s.",
            "Codes are not checked after %(failure_count)d wrong codes. Try again in %(wait)s.",
            "failure_count",
        ),
        "verification_not_allowed": _("Codes are not checked for a moment. Try again shortly."),
        "device_required": _("Enter the 6-digit code your authenticator app shows."),
    }

    def clean_otp(self, user):
        if user is not None and not selectors.staff_totp_confirmed(user=user):
            return
        super().clean_otp(user)

    def _verify_token(self, user, token, device=None):
        # django-otp compares ``int(token)``, and Python's int() reads "٧٥٢٧٢٥" (Arabic-Indic),
        # "७५२७२५" or "７５２７２５" as 752725: only ASCII digits are a code here.
        if token and not re.fullmatch(r"[0-9]{6,8}", token.strip(), flags=re.ASCII):
            raise forms.ValidationError(
                self.otp_error_messages["invalid_token"], code="invalid_token"
            )
        # django-otp's throttle message has no wait in it: say how long (rounded up), from the
        # device's own ``locked_until``. Nothing else changes: django-otp still refuses.
        if device is not None:
            allowed, extra = device.verify_is_allowed()
            if not allowed and extra.get("locked_until"):
                left = (extra["locked_until"] - timezone.now()).total_seconds()
                raise forms.ValidationError(
                    self.otp_error_messages["n_failed_attempts"]
                    % {"failure_count": extra.get("failure_count", 0), "wait": duration(left)},
                    code="n_failed_attempts",
                )
        return super()._verify_token(user, token, device)

    def _chosen_device(self, user):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = super()._chosen_device(user)
        if device is None:
            device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
        return device


class PhoneChangeForm(forms.Form):
    """The new mobile number (Indonesian numbers may be typed as 0812…)."""

    error_messages = {"not_mobile": _("Enter a mobile number that can receive SMS.")}

    new_phone = PhoneNumberField(
        label=_("New mobile number"),
        region="ID",
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}
        ),
        help_text=_("For example 0812 3456 7890 or +62 812 3456 7890."),
    )

    def clean_new_phone(self):
        number = self.cleaned_data["new_phone"]
        if phonenumbers.number_type(number) not in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ):
            raise forms.ValidationError(self.error_messages["not_mobile"], code="not_mobile")
        return number


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=_("New email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class StaffPhoneChangeForm(StaffReasonMixin, PhoneChangeForm):
    """A member of staff changes a customer's number after checking the customer's identity."""

    error_messages = {
        **PhoneChangeForm.error_messages,
        "reason_required": _("Write why the number is changed and how the identity was checked."),
    }

    reason = forms.CharField(
        label=_("Reason (audited), e.g. how the identity was checked"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_phone"].widget.attrs.pop("autofocus", None)


class StaffEmailChangeForm(StaffReasonMixin, forms.Form):
    """A member of staff asks to change a customer's email (a supervisor approves it)."""

    error_messages = {
        "reason_required": _("Write why the email is changed and how the identity was checked."),
    }

    new_email = forms.EmailField(label=_("New email"), max_length=254)
    reason = forms.CharField(
        label=_("Reason (audited), e.g. how the identity was checked"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ContactChangeDecisionForm(forms.Form):
    """A supervisor's note on approving (optional) or rejecting (required) a staff change."""

    note = forms.CharField(
        label=_("Note (audited)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


# --- Passwords: "Lupa Password?" and "Ganti Password" ---------------------------------------


class PasswordResetRequestForm(forms.Form):
    """User ID, birth date (DD/MM/YYYY) and an account number: only their shape is checked
    here; whether they fit a customer is the service's question, never answered on the page."""

    error_messages = {
        "invalid_account": _("Enter the 10 digits of one of your account numbers."),
    }

    user_id = forms.CharField(
        label=_("User ID"),
        max_length=30,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}
        ),
    )
    birth_date = BirthDateField()
    account_number = forms.CharField(
        label=_("Account number"),
        max_length=20,
        help_text=_("Any of your accounts at Bank Nusantara, 10 digits."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_account_number(self):
        import re

        value = re.sub(r"[\s.-]", "", self.cleaned_data["account_number"])
        if not re.fullmatch(r"[0-9]{10}", value, flags=re.ASCII):
            raise forms.ValidationError(
                self.error_messages["invalid_account"], code="invalid_account"
            )
        return value


class PasswordNewForm(SetPasswordForm):
    """The new password twice, checked by AUTH_PASSWORD_VALIDATORS against this customer."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].widget.attrs.pop("autofocus", None)
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("Confirm new password")
        # Plain words, not Django's HTML list: shown in the form's help paragraph.
        self.fields["new_password1"].help_text = _(
            "At least 8 characters, not a common password, and not like your User ID or name."
        )
        self.fields["new_password2"].help_text = _("The same password again.")


class PasswordChangeStartForm(PasswordNewForm):
    """ "Ganti Password": the current password, then the new one twice.

    The current password is checked through ``authenticate``, so a wrong one counts toward
    the same lock as a wrong password at login (django-axes, per User ID).
    """

    error_messages = {
        **SetPasswordForm.error_messages,
        "password_incorrect": _("Your current password is wrong."),
        "same_password": _("The new password must differ from the current one."),
    }

    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["old_password", "new_password1", "new_password2"]

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        from django.contrib.auth import authenticate

        old = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.user_id, password=old)
        if checked is None or checked.pk != self.user.pk:
            self.wrong_current_password = True
            raise forms.ValidationError(
                self.error_messages["password_incorrect"], code="password_incorrect"
            )
        return old

    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("new_password2")
        if new and cleaned.get("old_password") and new == cleaned["old_password"]:
            self.add_error(
                "new_password2",
                forms.ValidationError(self.error_messages["same_password"], code="same_password"),
            )
        return cleaned
