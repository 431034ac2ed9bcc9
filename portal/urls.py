from django.contrib import admin
from django.urls import include, path

from accounts.views import login_address_throttled

from . import views

# admin.site is accounts.admin_site.StaffAdminSite (portal.apps.StaffAdminConfig): User ID +
# password + the staff member's own TOTP.

portal_patterns = (
    [
        path("", views.home, name="home"),
        path("dashboard/", views.dashboard, name="dashboard"),
        path("language/", views.language_set, name="language"),
    ],
    "portal",
)

urlpatterns = [
    path("", include(portal_patterns)),
    path("", include("accounts.urls")),
    path("", include("payments.urls")),
    path("", include("tokens.urls")),
    # The staff login counts failed logins per network address like the customers' one.
    path("admin/login/", login_address_throttled(admin.site.login)),
    path("admin/", admin.site.urls),
]
