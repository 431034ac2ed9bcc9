"""Filters every template has (registered as builtins): money and masked numbers."""

from django import template

from portal import formatting

register = template.Library()
register.filter("rupiah", formatting.rupiah)
register.filter("phone_masked", formatting.phone_masked)
register.filter("account_masked", formatting.account_masked)


@register.filter
def recipient_name(name):
    """An account holder's name as a confirmation page shows it to someone else: partly masked
    when the bank prefers (``RECIPIENT_NAME_MASKED``, read at render time)."""
    from django.conf import settings

    return formatting.name_masked(name) if settings.RECIPIENT_NAME_MASKED else name
