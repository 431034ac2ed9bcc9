from django.urls import path

from . import password_views, profile_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("corporate/login/", views.CorporateLoginView.as_view(), name="corporate-login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout/done/", views.LoggedOutView.as_view(), name="logged-out"),
    path("staff/otp/enrol/", views.StaffTotpEnrolView.as_view(), name="staff-otp-enrol"),
    path("profil/", profile_views.ProfileView.as_view(), name="profile"),
    path("profil/block/", profile_views.SelfBlockView.as_view(), name="self-block"),
    path(
        "profil/mobile-token/hapus/",
        profile_views.MobileDeregisterView.as_view(),
        name="mobile-deregister",
    ),
    path(
        "profil/mobile-token/hapus/otp/",
        profile_views.MobileDeregisterOtpView.as_view(),
        name="mobile-deregister-otp",
    ),
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
    # Forgotten password ("Lupa Password?") and "Ganti Password" (issue 10 items 4 and 6).
    path(
        "lupa-password/",
        password_views.PasswordResetRequestView.as_view(),
        name="password-reset",
    ),
    path(
        "lupa-password/kode/",
        password_views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path(
        "lupa-password/kode/kirim/",
        password_views.PasswordResetOtpView.as_view(),
        name="password-reset-otp",
    ),
    path(
        "lupa-password/baru/",
        password_views.PasswordResetSetView.as_view(),
        name="password-reset-set",
    ),
    path(
        "lupa-password/selesai/",
        password_views.PasswordResetDoneView.as_view(),
        name="password-reset-done",
    ),
    path(
        "profil/password/",
        password_views.PasswordChangeView.as_view(),
        name="password-change",
    ),
    path(
        "profil/password/<int:pk>/confirm/",
        password_views.PasswordChangeConfirmView.as_view(),
        name="password-change-confirm",
    ),
    path(
        "profil/password/<int:pk>/otp/",
        password_views.PasswordChangeOtpView.as_view(),
        name="password-change-otp",
    ),
    path(
        "profil/password/<int:pk>/done/",
        password_views.PasswordChangeDoneView.as_view(),
        name="password-change-done",
    ),
]
