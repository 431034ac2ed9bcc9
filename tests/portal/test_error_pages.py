"""The portal's own error pages with DEBUG off (issue 10 item 7): 400, 403, a failed CSRF
check, 404 and 500 in the portal's look, Indonesian first, with the call-centre number and a
way back; never Django's plain or technical page.

This module is also the URLconf of its tests (``ROOT_URLCONF``): the portal's URLs, a few views
that fail on purpose, and the portal's handlers."""

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.template import loader
from django.test import Client
from django.urls import path
from django.utils import translation

from portal.urls import urlpatterns as portal_urlpatterns
from tests.factories import PASSWORD


def _raise_bad_request(request):
    raise SuspiciousOperation("a test")


def _raise_permission_denied(request):
    raise PermissionDenied


def _raise_error(request):
    raise RuntimeError("a bug, for the test")


urlpatterns = [
    path("test-errors/400/", _raise_bad_request),
    path("test-errors/403/", _raise_permission_denied),
    path("test-errors/500/", _raise_error),
    *portal_urlpatterns,
]
handler400 = "portal.errors.bad_request"
handler403 = "portal.errors.permission_denied"
handler404 = "portal.errors.page_not_found"
handler500 = "portal.errors.server_error"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def errors_urlconf(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    settings.BANK_CALL_CENTRE = "1500 246"


def portal_page(page: str):
    """The portal's layout, the way back and the call-centre number; nothing of Django's."""
    assert '<header class="site-header">' in page
    assert 'href="/static/css/portal.css"' in page
    assert 'href="/"' in page  # back to the home page
    assert "1500 246" in page
    assert 'href="/bantuan/"' in page
    for django_text in ("Traceback", "Request Method", "Server Error (500)", "<h1>Not Found</h1>",
                        "Bad Request (400)", "403 Forbidden", "CSRF verification failed"):
        assert django_text not in page


@pytest.mark.parametrize(
    ("url", "status", "title"),
    [
        ("/test-errors/400/", 400, "Permintaan tidak dapat dibaca"),
        ("/test-errors/403/", 403, "Anda tidak dapat membuka halaman ini"),
        ("/tidak-ada-halaman-ini/", 404, "Halaman tidak ditemukan"),
    ],
)
def test_error_pages_in_the_portal_look_indonesian_first(client, url, status, title):
    response = client.get(url)
    assert response.status_code == status
    page = response.content.decode()
    assert '<html lang="id">' in page
    assert f"<h1>{title}</h1>" in page
    assert "Butuh bantuan? Hubungi Bank Nusantara di" in page
    portal_page(page)


def test_error_pages_in_english_when_chosen(client):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/tidak-ada-halaman-ini/").content.decode()
    assert '<html lang="en">' in page and "<h1>Page not found</h1>" in page
    portal_page(page)


def test_a_logged_in_customer_keeps_the_menu_on_a_404(client, customer):
    assert client.post("/login/", {"username": "budi", "password": PASSWORD}).status_code == 302
    page = client.get("/transfers/TIDAKADA/").content.decode()
    assert "Halaman tidak ditemukan" in page
    assert 'class="wrap main-nav"' in page and "Keluar" in page
    portal_page(page)


def test_a_request_for_an_unknown_host_gets_the_400_page(client):
    response = client.get("/login/", HTTP_HOST="bank-palsu.example")
    assert response.status_code == 400
    portal_page(response.content.decode())


def test_a_server_error_gets_the_500_page(client):
    client.raise_request_exception = False
    response = client.get("/test-errors/500/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Terjadi kesalahan di sistem kami</h1>" in page
    assert "periksa riwayat transaksi Anda sebelum mencoba lagi" in page
    portal_page(page)
    # No form on it: it is rendered without a request, so it could carry no CSRF token.
    assert "<form" not in page


def test_the_500_template_renders_without_any_context():
    """As Django's own ``server_error`` would: no request, no context processors."""
    with translation.override("id"):
        page = loader.get_template("500.html").render()
    assert "Terjadi kesalahan di sistem kami" in page and "1500 246" in page
    assert 'href="/"' in page and "<form" not in page


def test_a_failed_csrf_check_says_the_page_expired_and_offers_to_reload_it(customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")  # the CSRF cookie; the form's token is then left out
    response = client.post(
        "/login/", {"username": "budi", "password": PASSWORD},
        HTTP_REFERER="http://testserver/login/?next=/transfers/new/",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "<h1>Halaman kedaluwarsa, muat ulang</h1>" in page
    assert 'href="http://testserver/login/?next=/transfers/new/"' in page
    assert "Muat ulang halaman" in page
    portal_page(page)
    # Nothing happened: no login.
    assert "_auth_user_id" not in client.session


def test_the_reload_link_never_leads_to_another_site(customer):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    response = client.post(
        "/login/", {"username": "budi", "password": PASSWORD},
        HTTP_REFERER="https://bank-palsu.example/login/",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "bank-palsu.example" not in page
    assert 'class="button primary" href="/login/"' in page
