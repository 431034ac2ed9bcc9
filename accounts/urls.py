from django.urls import path

from . import profile_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("staff/otp/enrol/", views.StaffTotpEnrolView.as_view(), name="staff-otp-enrol"),
    path("profil/", profile_views.ProfileView.as_view(), name="profile"),
    path("profil/block/", profile_views.SelfBlockView.as_view(), name="self-block"),
    path("profil/phone/", profile_views.PhoneChangeCreateView.as_view(), name="phone-change"),
    path(
        "profil/phone/<int:pk>/confirm/",
        profile_views.PhoneChangeConfirmView.as_view(),
        name="phone-change-confirm",
    ),
    path(
        "profil/phone/<int:pk>/otp/",
        profile_views.PhoneChangeOtpView.as_view(),
        name="phone-change-otp",
    ),
    path(
        "profil/phone/<int:pk>/verify/",
        profile_views.PhoneChangeVerifyView.as_view(),
        name="phone-change-verify",
    ),
    path(
        "profil/phone/<int:pk>/verify/otp/",
        profile_views.PhoneChangeVerifyOtpView.as_view(),
        name="phone-change-verify-otp",
    ),
    path(
        "profil/phone/<int:pk>/done/",
        profile_views.PhoneChangeDoneView.as_view(),
        name="phone-change-done",
    ),
    path("profil/email/", profile_views.EmailChangeCreateView.as_view(), name="email-change"),
    path(
        "profil/email/<int:pk>/confirm/",
        profile_views.EmailChangeConfirmView.as_view(),
        name="email-change-confirm",
    ),
    path(
        "profil/email/<int:pk>/otp/",
        profile_views.EmailChangeOtpView.as_view(),
        name="email-change-otp",
    ),
    path(
        "profil/email/<int:pk>/sent/",
        profile_views.EmailChangeSentView.as_view(),
        name="email-change-sent",
    ),
    path(
        "profil/email/verify/<str:token>/",
        profile_views.EmailChangeVerifyView.as_view(),
        name="email-change-verify",
    ),
    path(
        "profil/email/<int:pk>/done/",
        profile_views.EmailChangeDoneView.as_view(),
        name="email-change-done",
    ),
]
