from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorporateConfig(AppConfig):
    """Corporate banking's requests to the bank: the hard-token-to-SMS-OTP replacement and
    the change of a corporate user's phone or email, each with a signed form, processed by
    staff (issue 11). The top of the one-way order: accounts → tokens → payments → corporate."""

    name = "corporate"
    # Not "Corporate requests": the breadcrumb names the app, then its model (the requests).
    verbose_name = _("Corporate services")
