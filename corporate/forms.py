"""The bank's form for corporate requests ("Penggantian Hard Token ke SMS OTP") and the staff's
message. Fields and their shape only: every rule is checked in ``corporate.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField

from portal.exceptions import CustomerError

from . import exceptions, services
from .models import CorporateRequest


class CorporateRequestForm(forms.Form):
    """What the user types (prefilled from the bank's records); ``kind`` decides whether the
    token's serial and the reason are asked."""

    company_name = forms.CharField(label=_("Company name"), max_length=150)
    cif = forms.CharField(label=_("CIF"), max_length=20)
    corporate_id = forms.CharField(label=_("Corporate ID"), max_length=20)
    user_id = forms.CharField(label=_("User ID"), max_length=30)
    token_serial = forms.CharField(label=_("Hard token serial"), max_length=40)
    # The bank's form says "Ponsel Terdaftar": that is also where a new number is typed.
    phone = PhoneNumberField(
        region="ID",
        label=_("Registered mobile phone"),
        help_text=_(
            "The number registered at the bank. If it changed, type the new number and attach "
            "the data-update form."
        ),
    )
    email = forms.EmailField(
        label=_("Registered email"),
        max_length=254,
        help_text=_(
            "The email registered at the bank. If it changed, type the new email and attach "
            "the data-update form."
        ),
    )
    # Not required here: the service refuses a missing reason together with every other
    # refusal (a missing signed form too), so the user sees them all in one round.
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=CorporateRequest.Reason.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    document = forms.FileField(
        label=_("Data-update form (signed)"),
        required=False,
        help_text=_(
            "Needed when the mobile number or email differs from the bank's records: PDF, JPG "
            "or PNG, at most %(max)s MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
        # Django refuses an empty file before clean_document: with the service's words.
        error_messages={"empty": exceptions.DocumentEmpty.message},
    )

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind != CorporateRequest.Kind.TOKEN_REPLACEMENT:
            del self.fields["token_serial"], self.fields["reason"]
            self.fields["phone"].label = _("Mobile phone")
            self.fields["email"].label = _("Email")
        self.fields["document"].help_text = self.fields["document"].help_text % {
            "max": services.document_max_mb()
        }
        for name in ("company_name", "cif", "corporate_id", "user_id"):
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self.fields["email"].widget.attrs["autocomplete"] = "email"
        self.fields["phone"].widget.attrs.update(autocomplete="tel", inputmode="tel")

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document:
            try:
                services.document_check(document)
            except CustomerError as error:
                raise forms.ValidationError(str(error), code=error.code) from None
        return document

    def errors_add(self, error: CustomerError) -> None:
        """Put a refusal of the service on the fields it names."""
        for one in getattr(error, "errors", [error]):
            field = one.field if one.field in self.fields else None
            self.add_error(field, forms.ValidationError(str(one), code=one.code))


class StaffMessageForm(forms.Form):
    message = forms.CharField(
        label=_("Message to the user"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Required to ask for a correction or to reject; the user reads it."),
    )
