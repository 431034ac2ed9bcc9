"""Bantuan: the public help page (before and after login)."""

from django.conf import settings
from django.shortcuts import render


def help_page(request):
    """How OTP works, a lost phone, the fraud warning; the limits as the settings have them."""
    context = {
        "lifetime_minutes": max(1, settings.OTP_CODE_LIFETIME // 60),
        "max_attempts": settings.OTP_MAX_ATTEMPTS,
        "max_failures": settings.OTP_MAX_CONSECUTIVE_FAILURES,
    }
    return render(request, "portal/help.html", context)
