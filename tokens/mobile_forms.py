"""The one form of Mobile Token registration that carries data: the key the phone derived.

The Unlock Code itself never reaches a form: its inputs have no ``name`` and the page's script
sends only ``K_u`` (base64url), from which the server cannot recover it.
"""

import base64
import binascii
import re

from django import forms
from django.utils.translation import gettext_lazy as _

KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)


class MobileRegisterFinishForm(forms.Form):
    unlock_key = forms.CharField(max_length=43, min_length=43, strip=False)
    label = forms.CharField(max_length=64, required=False, strip=True)

    error_messages = {"bad_key": _("The phone sent an unreadable key. Please try again.")}

    def clean_unlock_key(self):
        value = self.cleaned_data["unlock_key"]
        if not KEY_RE.fullmatch(value):
            raise forms.ValidationError(self.error_messages["bad_key"], code="bad_key")
        try:
            key = base64.urlsafe_b64decode(value + "=")
        except (binascii.Error, ValueError):
            raise forms.ValidationError(self.error_messages["bad_key"], code="bad_key") from None
        # One spelling per key: trailing bits that decoding would drop are refused.
        if len(key) != 32 or base64.urlsafe_b64encode(key).rstrip(b"=").decode() != value:
            raise forms.ValidationError(self.error_messages["bad_key"], code="bad_key")
        return key

    def clean_label(self):
        # A name for the phone on Profil Saya and in the notice: printable, one line.
        return " ".join(self.cleaned_data["label"].split())[:64]
