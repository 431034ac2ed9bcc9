import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import BankAccount, Payee

OTHER = "other"


# Thousands grouped with dots: "1.500", "1.500.000" (never "0.001" or "15.00.000").
GROUPED = r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+"


class RupiahField(forms.DecimalField):
    """An amount in rupiah as people type it: ``1500000``, ``1.500.000``, ``Rp 1.500.000,50``."""

    default_error_messages = {"invalid": _("Enter an amount in rupiah, e.g. 1.500.000.")}

    def __init__(self, **kwargs):
        super().__init__(max_digits=15, decimal_places=2, min_value=Decimal("1"), **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = re.sub(r"\s|^Rp\.?", "", str(value).strip(), flags=re.IGNORECASE)
        if not re.fullmatch(r"[0-9.,]+", text, flags=re.ASCII):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        # Indonesian notation: dots only ever group thousands, a comma starts the cents. Dots
        # that are not thousands groups ("1.50", "1.5,00", "0.001") are a typo, not an amount:
        # "1.500" is fifteen hundred, so "1.50" cannot quietly be one and a half.
        whole, _, cents = text.partition(",")
        if not re.fullmatch(rf"[0-9]+|{GROUPED}", whole) or not re.fullmatch("[0-9]*", cents):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(f"{whole.replace('.', '')}.{cents}")


class AccountNumberField(forms.CharField):
    default_error_messages = {"invalid": _("An account number has 10 digits.")}

    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value:  # spaces and dashes alone ("-") are not an empty answer but a wrong one
            value = re.sub(r"[\s-]", "", value)
            if not re.fullmatch(r"[0-9]{10}", value, flags=re.ASCII):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class TransferForm(forms.Form):
    """Where from, where to and how much. The destination is one of the customer's own
    accounts, a saved payee, or any other account number of the bank."""

    error_messages = {
        "destination_required": _("Choose a destination or type an account number."),
    }

    source = forms.ModelChoiceField(
        label=_("From account"), queryset=BankAccount.objects.none(), empty_label=None
    )
    destination = forms.ChoiceField(label=_("To"))
    destination_number = AccountNumberField(label=_("Other account number"), required=False)
    amount = RupiahField(label=_("Amount (Rp)"))
    description = forms.CharField(label=_("Description"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = list(BankAccount.objects.filter(owner=user))
        payees = list(
            Payee.objects.filter(owner=user, status=Payee.Status.ACTIVE).select_related("account")
        )
        self.fields["source"].queryset = BankAccount.objects.filter(owner=user)
        self.fields["source"].label_from_instance = lambda a: (
            f"{a.number} ({a.get_product_display()})"
        )
        self.fields["destination"].choices = [
            (
                _("My accounts"),
                [(a.number, f"{a.number} ({a.get_product_display()})") for a in accounts],
            ),
            (
                _("Saved payees"),
                [(p.account.number, f"{p.nickname} – {p.account.number}") for p in payees],
            ),
            (OTHER, _("Other account number")),
        ]
        self.fields["amount"].widget.attrs.update({"inputmode": "decimal", "autocomplete": "off"})
        self.fields["amount"].widget.input_type = "text"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("destination") == OTHER:
            if not cleaned.get("destination_number"):
                self.add_error(
                    "destination_number",
                    forms.ValidationError(
                        self.error_messages["destination_required"], code="destination_required"
                    ),
                )
            else:
                cleaned["destination_account_number"] = cleaned["destination_number"]
        elif cleaned.get("destination"):
            cleaned["destination_account_number"] = cleaned["destination"]
        return cleaned


class PayeeForm(forms.Form):
    account_number = AccountNumberField(label=_("Account number"))
    nickname = forms.CharField(label=_("Nickname"), max_length=40)
