import re

from django import forms
from django.utils.translation import gettext_lazy as _


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The browser allows "123 456" or "12-34-56"; the server allows more, then checks.
        self.fields["code"].widget.attrs["maxlength"] = "11"

    def clean_code(self):
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        # 6 digits (SMS, most tokens); some vendors' tokens show 8.
        if not re.fullmatch(r"[0-9]{6}|[0-9]{8}", code, flags=re.ASCII):
            raise forms.ValidationError(self.error_messages["invalid_code"], code="invalid_code")
        return code
