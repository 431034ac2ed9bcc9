"""What staff see of a customer's money, on the customer page of the accounts admin.

Registered from here because payments depends on accounts, never the other way: the page of
``accounts.admin.CustomerAdmin`` shows the customer's bank accounts and recent transfers, and
its search finds a customer by account number, without accounts importing payments.
"""

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.admin import CompanyAdmin, CompanyPartInline, CustomerAdmin, CustomerPagePart
from portal.formatting import rupiah
from portal.templatetags.portal import staff_time

from . import services
from .models import BankAccount, Transfer

RECENT = 10


def customer_by_account_number(term: str) -> Q | None:
    """Customers who own the account numbered ``term`` (10 digits; spaces and dashes allowed)."""
    digits = term.replace(" ", "").replace("-", "")
    if digits.isascii() and digits.isdigit() and len(digits) == 10:
        return Q(pk__in=BankAccount.objects.filter(number=digits).values("owner_id"))
    return None


def customer_money(request, customer) -> dict:
    services.transfers_expire(user=customer)  # staff read what the customer would read
    return {
        "accounts": BankAccount.objects.filter(owner=customer),
        "transfers": Transfer.objects.started()
        .filter(initiated_by=customer)
        .select_related("source", "destination")[:RECENT],
    }


CustomerAdmin.lookups.append(customer_by_account_number)
CustomerAdmin.page_parts.append(
    CustomerPagePart(template="admin/payments/customer_money.html", context=customer_money)
)


class CompanyAccountInline(CompanyPartInline):
    """A company's bank accounts on its admin page."""

    model = BankAccount
    fields = ["number", "product", "balance_display", "opened_display"]
    readonly_fields = fields
    verbose_name = _("bank account")
    verbose_name_plural = _("bank accounts")

    @admin.display(description=_("balance"))
    def balance_display(self, account):
        return rupiah(account.balance)

    @admin.display(description=_("opened"))
    def opened_display(self, account):
        return staff_time(account.opened_at)


CompanyAdmin.inlines = [*CompanyAdmin.inlines, CompanyAccountInline]
