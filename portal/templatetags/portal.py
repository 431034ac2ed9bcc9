"""Filters and tags every template has (registered as builtins): money, masked numbers, the
call-centre number."""

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


@register.simple_tag
def call_centre():
    """The bank's call-centre number (``BANK_CALL_CENTRE``): a tag, so that pages rendered
    without a request or context processors (the 500 page) show it too."""
    from django.conf import settings

    return settings.BANK_CALL_CENTRE


@register.filter
def staff_time(value, zone=True):
    """A time as every staff page shows it: ``"01/12/2026 17:50:31 WIB"`` (Asia/Jakarta,
    ``TIME_ZONE``; seconds, since staff compare it with the audit log). ``""`` for none.
    As ``AuditEvent.__str__`` and the audit event's title write it. ``zone=False`` leaves the
    zone out, for a column whose title names it (the audit tables' "Waktu (WIB)")."""
    from django.utils import timezone

    if not value:
        return ""
    local = timezone.localtime(value)
    shown = f"{local:%d/%m/%Y %H:%M:%S}"
    return f"{shown} {local:%Z}" if zone else shown
