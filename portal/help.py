"""Bantuan: the public help page (before and after login)."""

from django.conf import settings
from django.shortcuts import render


def help_page(request):
    """How OTP works (SMS, hardware token, Mobile Token), its benefits, OTP abroad, a lost
    phone, a new mobile number, FAQs and the fraud warning. Public: a customer who cannot log
    in (lost phone, blocked) needs it most. The numbers come from the settings, so the page
    says what the portal does."""
    context = {
        "lifetime_minutes": max(1, settings.OTP_CODE_LIFETIME // 60),
        "max_attempts": settings.OTP_MAX_ATTEMPTS,
        "max_failures": settings.OTP_MAX_CONSECUTIVE_FAILURES,
        "step_seconds": settings.MOBILE_TOKEN_STEP,
    }
    return render(request, "portal/help.html", context)
