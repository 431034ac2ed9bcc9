from django.urls import path

from . import corporate_views, statement_views, views

app_name = "payments"
urlpatterns = [
    path("transfers/", views.TransferListView.as_view(), name="transfer-list"),
    path("transfers/new/", views.TransferCreateView.as_view(), name="transfer-create"),
    path("transfers/<slug:reference>/", views.TransferDetailView.as_view(), name="transfer-detail"),
    path(
        "transfers/<slug:reference>/confirm/",
        views.TransferConfirmView.as_view(),
        name="transfer-confirm",
    ),
    path("transfers/<slug:reference>/otp/", views.TransferOtpView.as_view(), name="transfer-otp"),
    path(
        "transfers/<slug:reference>/cancel/",
        views.TransferCancelView.as_view(),
        name="transfer-cancel",
    ),
    # Corporate payments (payments/corporate_views.py)
    path("payments/", corporate_views.PaymentListView.as_view(), name="payment-list"),
    path("payments/new/", corporate_views.PaymentCreateView.as_view(), name="payment-create"),
    path(
        "payments/<slug:reference>/",
        corporate_views.PaymentDetailView.as_view(),
        name="payment-detail",
    ),
    path(
        "payments/<slug:reference>/confirm/",
        corporate_views.PaymentConfirmView.as_view(),
        name="payment-confirm",
    ),
    path(
        "payments/<slug:reference>/otp/",
        corporate_views.PaymentOtpView.as_view(),
        name="payment-otp",
    ),
    path(
        "payments/<slug:reference>/cancel/",
        corporate_views.PaymentCancelView.as_view(),
        name="payment-cancel",
    ),
    path(
        "payments/<slug:reference>/reject/",
        corporate_views.PaymentRejectView.as_view(),
        name="payment-reject",
    ),
    path("payees/", views.PayeeListView.as_view(), name="payee-list"),
    path("payees/new/", views.PayeeCreateView.as_view(), name="payee-create"),
    path("payees/<int:pk>/confirm/", views.PayeeConfirmView.as_view(), name="payee-confirm"),
    path("payees/<int:pk>/otp/", views.PayeeOtpView.as_view(), name="payee-otp"),
    path("payees/<int:pk>/edit/", views.PayeeRenameView.as_view(), name="payee-rename"),
    path("payees/<int:pk>/delete/", views.PayeeDeleteView.as_view(), name="payee-delete"),
    # Mutasi Rekening (payments/statement_views.py)
    path("mutasi/", statement_views.StatementIndexView.as_view(), name="statement-index"),
    path(
        "accounts/<slug:number>/mutasi/",
        statement_views.StatementView.as_view(),
        name="statement",
    ),
    path(
        "accounts/<slug:number>/mutasi.csv",
        statement_views.StatementCsvView.as_view(),
        name="statement-csv",
    ),
    path(
        "accounts/<slug:number>/mutasi.pdf",
        statement_views.StatementPdfView.as_view(),
        name="statement-pdf",
    ),
]
