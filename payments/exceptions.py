"""Domain errors of payments, each with a message fit to show the customer."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from portal.exceptions import CustomerError
from portal.formatting import rupiah


class PaymentError(CustomerError):
    """The parameters named in ``money_params`` are amounts: given as numbers, they are shown
    as the bank writes money, ``Rp 500.000.000``, never ``500000000``."""

    message = _("The transaction could not be made.")
    code = "payment_error"
    money_params = frozenset({"amount", "limit", "used", "left"})

    def __str__(self):
        params = {
            name: rupiah(value)
            if name in self.money_params and isinstance(value, (Decimal, int))
            else value
            for name, value in self.params.items()
        }
        return str(self.message) % params if params else str(self.message)


class TransferRefused(PaymentError):
    """A refusal that ends a pending transfer when it comes at confirmation: it is marked
    failed with the error's ``code`` as the reason (``Transfer.FAILURE_REASONS``)."""


class InsufficientFunds(TransferRefused):
    message = _("The balance of the source account is not enough for this transfer.")
    code = "insufficient_funds"


class AccountNotFound(PaymentError):
    message = _("No account with this number exists at the bank.")
    code = "account_not_found"


class CorporatePaymentOnly(PaymentError):
    """A payment from a company's account goes through the corporate flow (maker/approver,
    the company's limits); the retail confirmation never moves it."""

    message = _("This is a corporate payment: confirm it from the payment list.")
    code = "corporate_payment_only"


class MakerCannotApprove(PaymentError):
    message = _("You made this payment: another user of your company must approve it.")
    code = "maker_cannot_approve"


class SameAccount(PaymentError):
    message = _("The destination must differ from the source account.")
    code = "same_account"


class NotPending(PaymentError):
    message = _("This transaction is no longer waiting for confirmation.")
    code = "not_pending"


class PayeeExists(PaymentError):
    message = _("This account is already one of your payees.")
    code = "payee_exists"


class CurrencyMismatch(TransferRefused):
    message = _("Transfers between different currencies are not supported.")
    code = "currency_mismatch"


class CurrencyNotSupported(TransferRefused):
    message = _(
        "Internet Banking transfers are in Rupiah only. For other currencies please visit a branch."
    )
    code = "currency_not_supported"


class LookupLimitReached(PaymentError):
    message = _(
        "You have reached today's limit of new destination accounts. Use a saved payee or one "
        "of your own accounts, or try again tomorrow."
    )
    code = "lookup_limit"


class TransferLimitExceeded(TransferRefused):
    message = _("The amount is above the limit of %(limit)s per transfer.")
    code = "transfer_limit"


class DailyLimitExceeded(TransferRefused):
    message = _(
        "The amount is above your daily transfer limit of %(limit)s: you have transferred "
        "%(used)s today, so at most %(left)s more can go until midnight (WIB)."
    )
    code = "daily_limit"


class TransferExpired(NotPending):
    message = _(
        "The transfer of %(amount)s expired before it was confirmed. No money was moved; "
        "please start a new transfer."
    )
    code = "transfer_expired"


class TransferCancelled(NotPending):
    message = _("The transfer of %(amount)s was cancelled. No money was moved.")
    code = "transfer_cancelled"


class CompanyDailyLimitExceeded(TransferRefused):
    message = _(
        "The amount is above your company's daily payment limit of %(limit)s: the company has "
        "paid %(used)s today, so at most %(left)s more can go until midnight (WIB)."
    )
    code = "company_daily_limit"


class PaymentRejected(NotPending):
    message = _("The payment of %(amount)s was rejected. No money was moved.")
    code = "payment_rejected"
