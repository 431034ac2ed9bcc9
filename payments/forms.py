import re
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from portal.formatting import rupiah
from portal.forms import DayField

from .models import Payee, Transfer
from .selectors import customer_accounts

OTHER = "other"


# Thousands grouped with dots: "1.500", "1.500.000" (never "0.001" or "15.00.000").
GROUPED = r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+"


class RupiahField(forms.DecimalField):
    """An amount in rupiah as people type it: ``1500000``, ``1.500.000``, ``Rp 1.500.000,50``."""

    # Django's own min/max messages would show bare numbers ("greater than or equal to 1").
    default_error_messages = {
        "invalid": _("Enter an amount in rupiah, e.g. 1.500.000."),
        "min_value": _("The amount must be at least Rp 1."),
        "max_digits": _("The amount is too large."),
        "max_whole_digits": _("The amount is too large."),
        "max_decimal_places": _("An amount has at most two digits after the comma."),
    }

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


class AccountChoiceField(forms.ChoiceField):
    """One of the accounts given (read once by the form): the select shows them and a choice
    cleans to that account, with no query of its own (``ModelChoiceField`` reads its queryset
    again to render the options and once more to clean the choice)."""

    default_error_messages = {
        # ModelChoiceField's words: the value typed is not repeated on the page.
        "invalid_choice": forms.ModelChoiceField.default_error_messages["invalid_choice"],
    }

    def __init__(self, *, label_from_instance=str, **kwargs):
        super().__init__(**kwargs)
        self.label_from_instance = label_from_instance
        self._accounts = {}

    @property
    def accounts(self):
        return list(self._accounts.values())

    @accounts.setter
    def accounts(self, accounts):
        self._accounts = {str(a.pk): a for a in accounts}
        self.choices = [(key, self.label_from_instance(a)) for key, a in self._accounts.items()]

    def to_python(self, value):
        return "" if value in self.empty_values else str(value)

    def validate(self, value):
        forms.Field.validate(self, value)
        if value and value not in self._accounts:
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")

    def clean(self, value):
        value = super().clean(value)
        return self._accounts.get(value)


class TransferForm(forms.Form):
    """Where from, where to and how much. The destination is one of the customer's own
    accounts, a saved payee, or any other account number of the bank."""

    error_messages = {
        "destination_required": _("Choose a destination or type an account number."),
    }

    source = AccountChoiceField(
        label=_("From account"),
        # Each source with its balance, so the customer sees which one can pay.
        label_from_instance=lambda a: (
            f"{a.number} ({a.get_product_display()}) · {rupiah(a.balance)}"
        ),
    )
    destination = forms.ChoiceField(
        label=_("Destination account"),
        error_messages={"required": _("Choose a destination account.")},
    )
    destination_number = AccountNumberField(label=_("Other account number"), required=False)
    amount = RupiahField(label=_("Amount (Rp)"))
    description = forms.CharField(label=_("Description"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # A corporate user's are the company's. Read once: the choices and the check.
        accounts = list(customer_accounts(user=user))
        payees = list(
            Payee.objects.filter(owner=user, status=Payee.Status.ACTIVE).select_related("account")
        )
        self.fields["source"].accounts = accounts
        # The destination starts empty: starting on the first own account (the same as the
        # source) only led to "must be different" after pressing Continue.
        # Own accounts are a destination only when there are two or more (a single one can
        # only be the source), and an empty group of payees is not offered.
        groups = [
            (
                _("Company accounts") if user.company_id else _("My accounts"),
                [(a.number, f"{a.number} ({a.get_product_display()})") for a in accounts]
                if len(accounts) > 1
                else [],
            ),
            (
                _("Saved payees"),
                [(p.account.number, f"{p.nickname} – {p.account.number}") for p in payees],
            ),
        ]
        self.fields["destination"].choices = [
            ("", _("— choose —")),
            *[(label, options) for label, options in groups if options],
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


class PayeeRenameForm(forms.Form):
    """Only the nickname: a payee's account never changes (another account is a new payee)."""

    nickname = forms.CharField(
        label=_("Nickname"),
        max_length=40,
        help_text=_(
            "Only the nickname can be changed. To pay another account, add it as a new payee."
        ),
    )


class StatementRangeForm(forms.Form):
    """The period of a statement (Mutasi Rekening): whole days in Asia/Jakarta, at most
    ``STATEMENT_MAX_RANGE_DAYS`` of them, none before ``STATEMENT_HISTORY_DAYS`` ago and none
    after today. Left empty, the period is the last ``STATEMENT_MAX_RANGE_DAYS`` days."""

    error_messages = {
        "reversed": _("The start date is after the end date."),
        "too_long": _(
            "A statement shows at most %(days)s days at a time; choose a shorter period."
        ),
        "too_old": _("Statements go back %(days)s days: choose a start date from %(earliest)s on."),
        "future": _("The period cannot end after today (%(today)s)."),
    }

    start = DayField(label=_("From date"), required=False)
    end = DayField(label=_("To date"), required=False)

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or timezone.localdate()

    @property
    def max_days(self) -> int:
        return settings.STATEMENT_MAX_RANGE_DAYS

    @property
    def earliest(self) -> date:
        return self.today - timedelta(days=settings.STATEMENT_HISTORY_DAYS)

    def default_range(self) -> tuple[date, date]:
        return self.today - timedelta(days=self.max_days - 1), self.today

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        start, end = cleaned.get("start"), cleaned.get("end")
        # The dates typed are checked against the limits before any arithmetic on them: a
        # day near year 1 or 9999 must be refused, not overflow (a 500).
        typed = [day for day in (start, end) if day is not None]
        if any(day > self.today for day in typed):
            raise forms.ValidationError(
                self.error_messages["future"],
                code="future",
                params={"today": f"{self.today:%d/%m/%Y}"},
            )
        if any(day < self.earliest for day in typed):
            raise forms.ValidationError(
                self.error_messages["too_old"],
                code="too_old",
                params={
                    "days": settings.STATEMENT_HISTORY_DAYS,
                    "earliest": f"{self.earliest:%d/%m/%Y}",
                },
            )
        if end is None:
            end = (
                self.today
                if start is None
                else min(start + timedelta(days=self.max_days - 1), self.today)
            )
        if start is None:
            start = max(end - timedelta(days=self.max_days - 1), self.earliest)
        # Days filled in from a typed one stay within [earliest, today] by construction.
        if start > end:
            raise forms.ValidationError(self.error_messages["reversed"], code="reversed")
        if (end - start).days + 1 > self.max_days:
            raise forms.ValidationError(
                self.error_messages["too_long"], code="too_long", params={"days": self.max_days}
            )
        cleaned["start"], cleaned["end"] = start, end
        return cleaned


class CorporatePaymentFilterForm(forms.Form):
    """ "Daftar Pembayaran" filters: status, a period of days (DD/MM/YYYY, WIB), the maker.
    Every field may be left empty (then it does not filter)."""

    error_messages = {
        "reversed": _("The start date is after the end date."),
        "out_of_range": _("Choose dates between %(earliest)s and %(today)s."),
    }
    # Nothing was paid through the portal before this day; a bound keeps date arithmetic on
    # typed years (0001, 9999) from overflowing.
    EARLIEST = date(2000, 1, 1)

    status = forms.ChoiceField(label=_("Status"), required=False)
    start = DayField(label=_("From date"), required=False)
    end = DayField(label=_("To date"), required=False)
    maker = forms.ModelChoiceField(label=_("Maker"), queryset=User.objects.none(), required=False)

    def __init__(self, *args, company_id, **kwargs):
        super().__init__(*args, **kwargs)
        shown = [status for status in Transfer.Status if status != Transfer.Status.DRAFT]
        self.fields["status"].choices = [("", _("All"))] + [(s.value, s.label) for s in shown]
        self.fields["maker"].queryset = User.objects.filter(company_id=company_id).order_by(
            "full_name"
        )
        self.fields["maker"].empty_label = _("All")
        self.fields["maker"].label_from_instance = lambda user: user.full_name

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        today = timezone.localdate()
        if any(day < self.EARLIEST or day > today for day in (start, end) if day):
            raise forms.ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={"earliest": f"{self.EARLIEST:%d/%m/%Y}", "today": f"{today:%d/%m/%Y}"},
            )
        if start and end and start > end:
            raise forms.ValidationError(self.error_messages["reversed"], code="reversed")
        return cleaned


class CorporatePaymentRejectForm(forms.Form):
    """ "Tolak": the approver says why; the maker reads it on the payment."""

    reason = forms.CharField(
        label=_("Reason for rejection"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write why you reject this payment.")},
    )
