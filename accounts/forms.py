import phonenumbers
from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm
from phonenumber_field.formfields import PhoneNumberField

from . import selectors


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

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if selectors.login_blocks(user=user):
            raise forms.ValidationError(
                self.error_messages["access_blocked"], code="access_blocked"
            )


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

    kind = forms.ChoiceField(
        label=_("Why"),
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

    def clean_otp(self, user):
        if user is not None and not selectors.staff_totp_confirmed(user=user):
            return
        super().clean_otp(user)

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
