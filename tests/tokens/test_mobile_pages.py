"""The Mobile Token's public pages (docs/mobile-token-design.md §3.1, §3.3): the token page is
the same for everyone and kept offline by the service worker, so it carries no user data, no
CSRF token and no inline script, and it touches no session; sw.js and the manifest."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from PIL import Image

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

APP = "/mobile-token/"
SW = "/mobile-token/sw.js"
MANIFEST = "/mobile-token/manifest.webmanifest"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_token_page_has_no_inline_script_no_csrf_and_links_manifest_and_its_files(client):
    response = client.get(APP)
    assert response.status_code == 200
    html = response.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the page loads its module"
    assert all(' src="' in tag for tag in scripts), scripts
    assert all('type="module"' in tag for tag in scripts), scripts
    bodies = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert len(bodies) == len(scripts) and not any(b.strip() for b in bodies), bodies
    assert not re.search(r"\son[a-z]+=", html), "no inline event handler"
    assert " style=" not in html
    assert "csrfmiddlewaretoken" not in html
    assert f'<link rel="manifest" href="{MANIFEST}">' in html
    assert static("img/favicon.svg") in html
    # Every screen the scripts and the other helpers rely on is there, in Indonesian.
    for dom_id in (
        "mt-none",
        "mt-mode-otp",
        "mt-mode-sign",
        "mt-link",
        "mt-link-next",
        "mt-signing",
        "mt-unlock",
        "mt-unlock-go",
        "mt-code",
        "mt-countdown",
        "mt-clock",
    ):
        assert f'id="{dom_id}"' in html, dom_id
    assert 'lang="id"' in html
    assert "Belum terdaftar di ponsel ini" in html
    # The Unlock Code input has no name: even a broken script cannot post it.
    unlock = re.search(r'<input[^>]*id="mt-unlock"[^>]*>', html).group(0)
    assert " name=" not in unlock


def test_token_page_shows_no_user_data_and_leaves_the_session_alone(client, customer, settings):
    response = client.post("/login/", {"username": customer.user_id, "password": PASSWORD})
    assert response.status_code == 302
    session_key = client.session.session_key
    before = dict(client.session.items())
    response = client.get(APP)
    assert response.status_code == 200
    html = response.content.decode()
    for private in ("Budi", "budi", "1001000011", "5678", customer.email or "@"):
        assert private not in html, private
    assert not response.cookies, response.cookies
    assert "Cookie" not in response.get("Vary", "")
    # The session was neither saved nor cycled: its idle clock is the portal pages' business.
    assert client.session.session_key == session_key
    assert dict(client.session.items()) == before


def test_anonymous_token_page_sets_no_cookie_and_does_not_vary_on_it(client):
    response = client.get(APP)
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_service_worker_is_javascript_with_its_cache_and_every_shell_url_answers(client):
    response = client.get(SW)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    assert not response.cookies
    js = response.content.decode()
    cache = re.search(r"const CACHE = (\"[^\"]+\");", js).group(1)
    assert re.fullmatch(r'"mt-[0-9a-f]{16}"', cache)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", js).group(1))
    assert APP in shell and MANIFEST in shell
    for name in (
        "js/mobile-token-core.js",
        "js/mobile-token-app.js",
        "css/mobile-token.css",
        "img/mobile-token-192.png",
        "img/mobile-token-512.png",
        "img/favicon.svg",
    ):
        assert static(name) in shell, name
    for url in shell:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert _body(answer), url
    # Everything the token page loads is in SHELL, or it would fail offline.
    html = client.get(APP).content.decode()
    loaded = set(re.findall(r'(?:src|href)="(/[^"]*)"', html)) - {"/mobile-token/daftar/"}
    assert loaded <= set(shell), loaded - set(shell)


def test_cache_name_follows_the_static_urls(client, settings):
    first = re.search(r"const CACHE = \"([^\"]+)\";", client.get(SW).content.decode()).group(1)
    settings.STATIC_URL = "/static-v2/"
    second = re.search(r"const CACHE = \"([^\"]+)\";", client.get(SW).content.decode()).group(1)
    assert first != second


def test_manifest_fields(client):
    response = client.get(MANIFEST)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    data = json.loads(response.content)
    assert data["start_url"] == APP and data["scope"] == APP
    assert data["display"] == "standalone"
    assert data["name"] and data["short_name"] == "Mobile Token"
    sizes = {icon["sizes"]: icon for icon in data["icons"]}
    assert set(sizes) == {"192x192", "512x512"}
    for icon in sizes.values():
        assert icon["type"] == "image/png"
        assert client.get(icon["src"]).status_code == 200

    for size in (192, 512):
        with Image.open(finders.find(f"img/mobile-token-{size}.png")) as image:
            assert image.size == (size, size)


def test_registration_needs_login(client):
    for url in (
        "/mobile-token/daftar/",
        "/mobile-token/daftar/unlock-code/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_token_page_wording_for_customers(client):
    """The token's codes never log in (login is User ID and password), "APPLI 2" is the
    bank's jargon, and after registering the customer learns how to put the token on the
    home screen."""
    page = client.get(APP).content.decode()
    assert "APPLI" not in page
    assert "untuk login" not in page and "Untuk login Anda tetap cukup memakai" in page
    assert "Transaksi" in page and "Kode untuk transfer: ketik 8 digit rekening tujuan" in page
    assert "Untuk menambah penerima" in page
    assert "menu ⋮ → “Tambahkan ke Layar utama”" in page
    assert "Bagikan → “Tambahkan ke Layar Utama”" in page
    # The code screen repeats the account (filled by the script).
    assert 'id="mt-code-for"' in page and "Untuk rekening berakhiran" in page


def test_registration_step_one_asks_to_prove_it_is_you(customer_client):
    page = customer_client.get("/mobile-token/daftar/").content.decode()
    assert "buktikan bahwa ini memang Anda dengan OTP" in page
    assert "pastikan bahwa ini Anda" not in page


def test_bantuan_says_call_center_one_way(client):
    page = client.get("/bantuan/").content.decode()
    assert page.count("Call Center") >= 3
    assert not re.search(r"call cent(re|er)", page)  # no lower-case or British spelling
