from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

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
