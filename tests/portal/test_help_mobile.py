"""Bantuan with the Mobile Token (issue 12 item 8) and the login page's links to it.

The help page is public, Indonesian by default and English on request, and has the sections a
customer knows from the bank's page (seed 000): how OTP works (SMS, hardware token, Mobile
Token), its benefits, OTP abroad, a lost phone, a new mobile number, FAQs and the fraud
warning of seed 001, in that order, with a table of contents whose anchors all lead somewhere.
Numbers on it (the call centre, the block after wrong codes) come from the settings.
"""

import re
from html.parser import HTMLParser

import pytest
from django.urls import NoReverseMatch, reverse

pytestmark = pytest.mark.django_db

SECTIONS_ID = [
    "Di halaman ini",
    "Cara kerja One Time Password (OTP)",
    "Keuntungan OTP dan Mobile Token",
    "Cara registrasi Mobile Token",
    "OTP di luar negeri",
    "Bila ponsel Anda hilang atau dicuri",
    "Memperbarui nomor ponsel Anda",
    "Pertanyaan yang sering diajukan (FAQ)",
    "Waspada penipuan",
]
SECTIONS_EN = [
    "On this page",
    "How the one-time password (OTP) works",
    "Benefits of the OTP and the Mobile Token",
    "Registering the Mobile Token",
    "OTP abroad",
    "When your phone is lost or stolen",
    "Updating your mobile number",
    "Frequently asked questions",
    "Beware of fraud",
]


class _Outline(HTMLParser):
    """Headings (level, text, id), the ids on the page and the table of contents' links."""

    def __init__(self):
        super().__init__()
        self.headings, self.ids, self.toc = [], set(), []
        self._heading = None
        self._in_toc = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "nav" and "help-toc" in (attrs.get("class") or ""):
            self._in_toc = True
        if self._in_toc and tag == "a":
            self.toc.append(attrs.get("href"))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), "", attrs.get("id")]

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_toc = False
        if self._heading and tag == f"h{self._heading[0]}":
            self.headings.append((self._heading[0], " ".join(self._heading[1].split()),
                                  self._heading[2]))
            self._heading = None

    def handle_data(self, data):
        if self._heading:
            self._heading[1] += data


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def main_of(html: str) -> str:
    return html[html.index('<article class="help-page">'):html.index("</article>")]


def h2s(html: str) -> list[str]:
    return [text for level, text, _ in outline(main_of(html)).headings if level == 2]


def test_help_is_public_indonesian_with_the_sections_in_order(client, settings):
    settings.BANK_CALL_CENTRE = "1500 999"
    settings.OTP_MAX_CONSECUTIVE_FAILURES = 4
    response = client.get("/bantuan/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="id"' in html
    assert h2s(html) == SECTIONS_ID
    page = main_of(html)
    # How OTP works, with the three ways.
    for heading in ("SMS OTP", "Token OTP", "Mobile Token", "Aturan untuk setiap kode"):
        assert f">{heading}</h3>" in page
    assert "tanpa SMS dan tanpa jaringan" in page and "setiap 30 detik" in page
    assert "8 digit rekening tujuan" in page  # APPLI 2
    assert "cukup ketik Unlock Code di halaman konfirmasi" in page  # INSTAN
    # Benefits (Aman, Instan, Mudah), registration steps.
    for word in ("Aman", "Instan", "Mudah"):
        assert f"<strong>{word}</strong>" in page
    assert "tekan “Daftar Mobile Token”" in page and "bukan tanggal lahir Anda" in page
    register = page[page.index('id="help-register"'):page.index('id="help-abroad"')]
    assert f'href="{reverse("tokens:mobile-register")}">Daftar Mobile Token</a>' in register
    # Abroad: Mobile Token offline, SMS with roaming, carry the token.
    assert "tanpa jaringan atau koneksi internet, di mana saja di dunia" in page
    assert "aktifkan roaming internasional" in page and "bawalah token Anda" in page
    # A lost phone: call the call centre (the setting), staff de-register, Profil Saya.
    lost = page[page.index('id="help-lost"'):page.index('id="help-phone"')]
    assert "1500 999" in lost and "membatalkan registrasinya" in lost
    assert "Profil Saya" in lost and "membatalkan registrasi Mobile Token" in lost
    # A new mobile number as this portal does it.
    phone = page[page.index('id="help-phone"'):page.index('id="help-faq"')]
    assert "“Ubah nomor ponsel”" in phone and "Profil Saya" in phone and "cabang" in phone
    # FAQs.
    faq = page[page.index('id="help-faq"'):page.index('id="help-fraud"')]
    assert [text for level, text, _ in outline(faq).headings if level == 3] == [
        "Saya mendaftarkan Mobile Token di ponsel baru. Bagaimana dengan ponsel lama?",
        "Saya lupa Unlock Code.",
        "Saya salah mengetik Unlock Code.",
        "Kode Mobile Token saya ditolak.",
        "Saya menghapus data browser.",
    ]
    assert "Setelah 4 kali kode salah berturut-turut" in faq and "1500 999" in faq
    assert "atur tanggal dan waktu ke otomatis" in faq
    assert "akan menghapus Mobile Token dari ponsel" in faq
    # The fraud warning of seed 001: never an OTP, PIN or Unlock Code.
    fraud = page[page.index('id="help-fraud"'):]
    assert "Bank Nusantara tidak pernah meminta kode OTP, PIN atau kata sandi Anda" in fraud
    assert "Bank juga tidak pernah meminta Unlock Code Mobile Token Anda" in fraud
    # Another bank's name is nowhere.
    assert "citi" not in html.lower()


def test_headings_never_skip_a_level_and_every_toc_link_leads_to_its_section(client):
    html = client.get("/bantuan/").content.decode()
    parsed = outline(main_of(html))
    levels = [level for level, _, _ in parsed.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    sections = [anchor for level, _, anchor in parsed.headings if level == 2][1:]
    assert parsed.toc == [f"#{anchor}" for anchor in sections]
    assert all(anchor in parsed.ids for anchor in sections)


def test_help_in_english_by_the_language_switch_not_by_the_browser(client):
    # The bank's language is Indonesian whatever the browser asks; English is the switch.
    html = client.get("/bantuan/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="id"' in html and h2s(html) == SECTIONS_ID
    page = client.get("/bantuan/").content.decode()
    assert 'name="language" value="en"' in page
    response = client.post("/language/", {"language": "en", "next": "/bantuan/"})
    assert response.status_code == 302 and response["Location"] == "/bantuan/"
    html = client.get("/bantuan/").content.decode()
    assert '<html lang="en"' in html
    assert h2s(html) == SECTIONS_EN
    assert "makes codes without a network or internet connection" in html
    assert "turn on international roaming" in html and "take it with you" in html
    assert "Nor does the bank ever ask for your Mobile Token Unlock Code" in html
    assert "I forgot my Unlock Code." in html and "Check the clock of your phone" in html
    client.post("/language/", {"language": "id", "next": "/bantuan/"})
    assert h2s(client.get("/bantuan/").content.decode()) == SECTIONS_ID


def test_help_has_no_inline_script_or_style(client):
    html = client.get("/bantuan/").content.decode()
    assert " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_help_after_login_offers_the_way_back_to_the_accounts(customer_client):
    html = customer_client.get("/bantuan/").content.decode()
    assert h2s(html) == SECTIONS_ID and "Kembali ke rekening saya" in html


def mobile_register_url() -> str:
    try:
        return reverse("tokens:mobile-register")
    except NoReverseMatch:  # helper B's page; the login test below says so if it is missing
        return ""


def test_the_login_page_links_mobile_token_registration_and_help(client, settings):
    settings.BANK_CALL_CENTRE = "1500 999"
    html = client.get("/login/").content.decode()
    links = html[html.index('<p class="login-links">'):]
    links = links[: links.index("</p>")]
    assert '<a class="help-link" href="/bantuan/">Bantuan</a>' in links
    register = mobile_register_url()
    assert register, "tokens:mobile-register is not in the URL configuration yet"
    assert f'<a class="mobile-register-link" href="{register}">Daftar Mobile Token</a>' in links
    # What the login page had stays: the fraud warning, the call centre, Lupa Password.
    assert "Waspada penipuan" in html
    assert "Bank Nusantara tidak pernah meminta kode OTP, PIN atau kata sandi Anda" in html
    assert "1500 999" in html
    assert f'href="{reverse("accounts:password-reset")}">Lupa Password?</a>' in html
    client.post("/language/", {"language": "en", "next": "/login/"})
    english = client.get("/login/").content.decode()
    assert ">Register Mobile Token</a>" in english and ">Help</a>" in english
