from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self):
        from . import checks  # noqa: F401 (registers the retention checks)


class StaffAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` whose ``admin.site`` is the staff site (User ID + password + the
    staff member's own TOTP): Django's way to replace the default site (INSTALLED_APPS names
    this instead of ``django.contrib.admin``)."""

    # Not the app config of ``portal`` itself: Django picks the default one of this module.
    default = False
    default_site = "accounts.admin_site.StaffAdminSite"
