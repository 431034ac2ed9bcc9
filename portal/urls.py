from django.contrib import admin
from django.urls import include, path

from accounts.views import login_address_throttled

from . import views
from .help import help_page

# admin.site is accounts.admin_site.StaffAdminSite (portal.apps.StaffAdminConfig): User ID +
# password + the staff member's own TOTP.

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("dashboard/", views.dashboard, name="dashboard"),
        path("language/", views.language_set, name="language"),
        # Public: reachable before login (the login page links to it) and from every page.
        path("bantuan/", help_page, name="help"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include("accounts.urls")),
    path("", include("payments.urls")),
    path("", include("tokens.urls")),
    path("", include("corporate.urls")),
    # The staff login counts failed logins per network address like the customers' one.
    path("admin/login/", login_address_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
]

# The portal's own error pages (portal/errors.py), in its look, never Django's plain ones.
handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"
