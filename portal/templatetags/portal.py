"""Filters every template has (registered as builtins): money and masked numbers."""

from django import template

from portal import formatting

register = template.Library()
register.filter("rupiah", formatting.rupiah)
register.filter("phone_masked", formatting.phone_masked)
register.filter("account_masked", formatting.account_masked)
