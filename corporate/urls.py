from django.urls import path

from . import views
from .models import CorporateRequest

app_name = "corporate"
# A request is named by its reference (PGJ-000123), the number its user reads everywhere.
urlpatterns = [
    path("corporate/pengajuan/", views.RequestListView.as_view(), name="request-list"),
    path(
        "corporate/pengajuan/baru/token/",
        views.RequestCreateView.as_view(kind=CorporateRequest.Kind.TOKEN_REPLACEMENT),
        name="request-create-token",
    ),
    path(
        "corporate/pengajuan/baru/kontak/",
        views.RequestCreateView.as_view(kind=CorporateRequest.Kind.CONTACT_CHANGE),
        name="request-create-contact",
    ),
    path(
        "corporate/pengajuan/<str:reference>/",
        views.RequestDetailView.as_view(),
        name="request-detail",
    ),
    path(
        "corporate/pengajuan/<str:reference>/perbaiki/",
        views.RequestCorrectView.as_view(),
        name="request-correct",
    ),
]
