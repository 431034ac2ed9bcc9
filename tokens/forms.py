import re

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import BirthDateField

from . import hardware


class OtpForm(forms.Form):
    """The "One Time Password" field: 6 (or 8) ASCII digits, spaces and dashes tolerated."""

    error_messages = {
        "invalid_code": _("Enter the 6 digits of the one-time password."),
    }

    code = forms.CharField(
        label="One Time Password",
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 \\-]*",
                "class": "otp-input",
                "aria-describedby": "otp-help otp-warning",
            }
        ),
    )

    def __init__(self, *args, code_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser allows "123 456" or "12-34-56"; the server allows more, then checks.
        self.fields["code"].widget.attrs["maxlength"] = "11"
        # False when the session's earlier OTP covers the action (a per_session purpose).
        self.fields["code"].required = code_required

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not code and not self.fields["code"].required:
            return None
        # 6 digits (SMS, most tokens); some vendors' tokens show 8.
        if not re.fullmatch(r"[0-9]{6}|[0-9]{8}", code, flags=re.ASCII):
            raise forms.ValidationError(self.error_messages["invalid_code"], code="invalid_code")
        return code


class TokenActivationForm(OtpForm):
    """"Aktivasi Token": birth date (DD/MM/YYYY), the serial on the back of the token, a code.

    Only the shape of each field is checked here; whether they fit a token is the service's
    question, answered with one generic error.
    """

    error_messages = {
        **OtpForm.error_messages,
        "invalid_serial": _("Enter the serial number printed on the back of your token."),
    }

    birth_date = BirthDateField()
    serial = forms.CharField(
        label=_("Token serial number"),
        max_length=40,
        help_text=_("Printed on the back of your token."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    field_order = ["birth_date", "serial", "code"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        code.label = "OTP"
        code.help_text = _("The 6 digits your token shows after you press its button.")
        code.widget.attrs["aria-describedby"] = "id_code_helptext"

    def full_clean(self):
        super().full_clean()
        # Screen readers read a field's error with the field, not only its help.
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-describedby"] = (
                    f"id_{name}_helptext id_{name}_error"
                )

    def clean_serial(self):
        serial = hardware.serial_normalise(self.cleaned_data["serial"])
        if not hardware.serial_typable(serial):
            raise forms.ValidationError(self.error_messages["invalid_serial"], code="invalid_serial")
        return serial


# --- Staff (admin) forms: English, like the rest of the staff pages' form fields ----------


class StaffReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit log."),
    )


class TokenImportForm(StaffReasonForm):
    file = forms.FileField(label=_("PSKC file"), help_text=_("RFC 6030 XML from the vendor."))
    password = forms.CharField(
        label=_("Password"), required=False, max_length=200,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Only for a password-encrypted file (PBKDF2)."),
    )
    psk = forms.CharField(
        label=_("Pre-shared key (hex)"), required=False, max_length=128,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Only for a file encrypted with a pre-shared key."),
    )
    field_order = ["file", "password", "psk", "reason"]

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(
                _("The file is larger than %(size)s kB.") % {"size": self.max_bytes // 1024},
                code="too_large",
            )
        return upload

    def clean_psk(self):
        psk = re.sub(r"\s", "", self.cleaned_data["psk"])
        if psk and not re.fullmatch(r"(?:[0-9a-fA-F]{2}){16,32}", psk, flags=re.ASCII):
            raise forms.ValidationError(
                _("The pre-shared key must be 32 to 64 hexadecimal digits."), code="invalid_psk"
            )
        return psk

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("psk"):
            raise forms.ValidationError(
                _("Give either a password or a pre-shared key, not both."), code="both_keys"
            )
        return data


class TokenAssignForm(StaffReasonForm):
    user_id = forms.CharField(label=_("Customer's User ID"), max_length=30)
    # A customer holds one token: a second one only replaces the first, which is retired with
    # what happened to it (tokens.hardware.token_assign enforces it).
    replace = forms.ChoiceField(
        label=_("Token the customer holds now"),
        required=False,
        initial="",
        widget=forms.RadioSelect,
        choices=[
            ("", _("None: this is the customer's first token")),
            ("lost", _("Replace it: the old token was lost")),
            ("damaged", _("Replace it: the old token is damaged")),
            ("battery_dead", _("Replace it: the old token's battery is dead")),
        ],
    )
    field_order = ["user_id", "replace", "reason"]


class TokenStateForm(StaffReasonForm):
    state = forms.ChoiceField(label=_("New state"), widget=forms.RadioSelect)
    field_order = ["state", "reason"]

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = choices


class TokenResyncForm(StaffReasonForm):
    first = forms.RegexField(
        label=_("First code"), regex=r"\A(?:[0-9]{6}|[0-9]{8})\Z", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    second = forms.RegexField(
        label=_("Next code"), regex=r"\A(?:[0-9]{6}|[0-9]{8})\Z", max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    field_order = ["first", "second", "reason"]
