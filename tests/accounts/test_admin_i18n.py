"""Every staff page speaks Indonesian, with English one click away (issue 10 item 10).

Each role (call-centre agent, branch officer, supervisor) walks every admin page it may open:
the index, each changelist, each change page and each page of our own, with a customer who has
blocks, tokens, SMS, transfers, a pending change and audit events. The visible text is checked
for English words; the audit log and the staff's results are checked as sentences.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import services
from accounts.admin import audit_details, audit_reason_display
from accounts.models import AuditEvent, ContactChangeRequest
from tests.factories import PASSWORD
from tests.tokens.conftest import staff_client_make, staff_make, token_make
from tokens import hardware
from tokens.models import HardwareToken, SmsMessage

pytestmark = pytest.mark.django_db
PSKC_DIR = Path(__file__).resolve().parents[1] / "data" / "pskc"

# Words that are English and never Indonesian (product names such as "Mobile Token", "OTP",
# "SMS", "User ID", "CIF" are the bank's own and are allowed).
ENGLISH = {
    "the", "and", "of", "is", "are", "was", "were", "has", "have", "not", "with", "for", "from",
    "this", "that", "these", "your", "you", "please", "select", "search", "filter", "add",
    "change", "delete", "history", "view", "save", "home", "customer", "customers", "reason",
    "details", "access", "open", "flagged", "phone", "mobile", "find", "import", "assign",
    "state", "serial", "holder", "digits", "step", "batch", "imported", "assigned", "activated",
    "lost", "damaged", "battery", "revoked", "stock", "action", "actor", "subject", "created",
    "at", "by", "yes", "no", "none", "all", "any", "out", "user", "agent",
    "address", "event", "events", "recent", "devices", "device", "sent", "delivered",
    "failed", "pending", "approve", "reject", "cancel", "back", "new", "value", "kind", "what",
    "who", "when", "where", "why", "lifted", "blocked", "locked", "issued",
    "verified", "account", "accounts", "balance", "amount", "date",
    "time", "today", "past", "days", "month", "year", "show", "counts", "tokens", "administration",
    "staff", "site", "name", "full", "wrong", "consecutive", "request", "lifted", "given",
}
ALLOWED = {
    "Filter", "(user agent)", "Mobile Token", "User ID", "Bank Nusantara", "PSKC", "RFC",
    "English", "TOTP", "HOTP",
}


class _Text(HTMLParser):
    """The text a person reads: text nodes outside script and style, plus titles, labels,
    placeholders and button values."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1
        attrs = dict(attrs)
        for name in ("title", "aria-label", "placeholder"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "pre"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def english_in(html: str, *, data=()) -> list[str]:
    """The pieces of visible text that hold an English word (``data``: values the test put
    into the database, such as a customer's name or a staff member's free-text reason)."""
    found = []
    for part in visible_text(html):
        text = part
        for allowed in (*ALLOWED, *data):
            text = text.replace(allowed, " ")
        # The language switch names the other language in that language.
        if text.strip() == "Bahasa Indonesia":
            continue
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
        if words & ENGLISH:
            found.append(part)
    return found


@pytest.fixture
def world(customer, other_customer):
    """A customer with something on every part of their page, and staff who acted on it."""
    agent, _ = staff_make("agen01", "agent")
    branch, _ = staff_make("cabang01", "branch")
    boss, _ = staff_make("kepala01", "supervisor")
    services.access_block(user=customer, kind="lost_phone", reason="ponsel dicuri", actor=agent)
    services.access_block(user=customer, kind="otp_failures", reason="5 consecutive wrong OTPs")
    services.access_block(
        user=other_customer, kind="otp_failures", reason="5 consecutive wrong OTPs"
    )
    services.access_unblock(user=other_customer, reason="identitas dicek", actor=agent)
    token = token_make("FT10000001", state="active", user=customer)
    token_make("FT10000002")
    hardware.token_assign(
        token=token_make("FT10000003"), user=other_customer, actor=branch, reason="cabang",
        ip="10.0.0.2",
    )
    hardware.token_state_change(token=token, state="damaged", actor=branch, reason="rusak", ip=None)
    SmsMessage.objects.create(user=customer, to=customer.phone, notice={"text": "x", "params": {}})
    services.contact_change_request(
        user=customer, kind="phone", new_value="+6281311112222", actor=branch, reason="ganti SIM"
    )
    services.login_failed_record(user_id="budi", ip="10.0.0.3")
    return {"customer": customer, "other": other_customer}


DATA = ("Budi Santoso", "Siti Rahayu", "ponsel dicuri", "identitas dicek", "cabang", "rusak",
        "ganti SIM", "budi", "siti", "example.co.id", "FT10000001", "FT10000002", "FT10000003")


def admin_urls(world) -> list[str]:
    customer = world["customer"]
    change = ContactChangeRequest.objects.get()
    token = HardwareToken.objects.get(serial="FT10000001")
    stock = HardwareToken.objects.get(serial="FT10000002")
    held = HardwareToken.objects.get(serial="FT10000003")
    event = AuditEvent.objects.filter(action=AuditEvent.Action.ACCESS_UNBLOCKED).get()
    return [
        reverse("admin:index"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_changelist") + "?q=budi",
        reverse("admin:accounts_user_change", args=[customer.pk]),
        reverse("admin:accounts_user_flag", args=[customer.pk]),
        reverse("admin:accounts_user_unblock", args=[customer.pk]),
        reverse("admin:accounts_user_phone", args=[customer.pk]),
        reverse("admin:accounts_user_email", args=[customer.pk]),
        reverse("admin:accounts_auditevent_changelist"),
        reverse("admin:accounts_auditevent_change", args=[event.pk]),
        reverse("admin:accounts_contactchangerequest_changelist"),
        reverse("admin:accounts_contactchangerequest_change", args=[change.pk]),
        reverse("admin:tokens_hardwaretoken_changelist"),
        reverse("admin:tokens_hardwaretoken_change", args=[token.pk]),
        reverse("admin:tokens_hardwaretoken_import"),
        reverse("admin:tokens_hardwaretoken_assign", args=[stock.pk]),
        reverse("admin:tokens_hardwaretoken_state", args=[stock.pk]),
        reverse("admin:tokens_hardwaretoken_resync", args=[token.pk]),
        reverse("admin:tokens_hardwaretoken_sms_fallback", args=[held.pk]),
        reverse("admin:accounts_user_history", args=[customer.pk]),
        reverse("admin:password_change"),
    ]


@pytest.mark.parametrize("role", ["agent", "branch", "supervisor"])
def test_every_staff_page_a_role_opens_is_indonesian(world, role):
    client, _ = staff_client_make(role, f"staf-{role}")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)  # the default: Indonesian
    opened, english = 0, {}
    for url in admin_urls(world):
        response = client.get(url)
        if response.status_code == 403:
            continue
        assert response.status_code == 200, (url, response.status_code)
        html = response.content.decode()
        assert '<html lang="id"' in html, url
        found = english_in(html, data=DATA)
        if found:
            english[url] = found
        opened += 1
    assert english == {}
    assert opened >= 6, opened  # an agent opens the fewest


def test_english_is_one_click_away(world):
    client, _ = staff_client_make("supervisor", "staf-sup")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    url = reverse("admin:accounts_user_change", args=[world["customer"].pk])
    page = client.get(url).content.decode()
    assert 'name="language" value="en"' in page and "Cari nasabah" in page
    response = client.post("/language/", {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert '<html lang="en"' in page and "Find a customer" in page
    assert 'name="language" value="id"' in page


def test_unblock_result_is_a_sentence_not_a_list(world):
    client, _ = staff_client_make("supervisor", "staf-sup")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    customer = world["customer"]
    response = client.post(
        reverse("admin:accounts_user_unblock", args=[customer.pk]),
        {"reason": "KTP dicek di cabang"},
        follow=True,
    )
    html = response.content.decode()
    assert "Akses budi dibuka kembali." in html
    assert "Blokir karena ponsel hilang dicabut." in html
    assert "Blokir karena terlalu banyak OTP salah dicabut." in html
    assert "lifted" not in html and "[" not in "".join(visible_text(html))
    event = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_UNBLOCKED, subject=customer)
    event.data = {"lifted": ["lost_phone"]}  # one kind, to read the sentence exactly
    with translation.override("id"):
        assert audit_details(event) == [("Yang dicabut", "Blokir karena ponsel hilang dicabut.")]
    with translation.override("en"):
        assert audit_details(event) == [("Lifted", "The block for a lost phone was lifted.")]


def test_system_reasons_and_codes_read_as_sentences(world):
    block = AuditEvent.objects.get(action=AuditEvent.Action.ACCESS_BLOCKED, subject=world["other"])
    staff = AuditEvent.objects.get(action=AuditEvent.Action.STAFF_CREATED, reason="role agent")
    state = AuditEvent.objects.get(action=AuditEvent.Action.TOKEN_STATE_CHANGED)
    with translation.override("id"):
        assert audit_reason_display(block.reason) == "5 OTP salah berturut-turut"
        assert audit_reason_display(staff.reason) == "peran Agen call centre"
        assert audit_reason_display("ditulis petugas") == "ditulis petugas"
        assert dict(audit_details(state)) == {
            "Dari": "Aktif", "Ke": "Rusak", "Nomor seri": "FT10000001"
        }


def test_staff_login_errors_are_indonesian(world):
    user, device = staff_make("staf-login", "agent")
    client = Client()
    answers = {
        "no_code": {"username": "staf-login", "password": PASSWORD, "otp_token": ""},
        "wrong_code": {"username": "staf-login", "password": PASSWORD, "otp_token": "000000"},
        "wrong_password": {"username": "staf-login", "password": "salah", "otp_token": "000000"},
    }
    pages = {
        name: client.post("/admin/login/", data).content.decode() for name, data in answers.items()
    }
    assert "Masukkan 6 digit kode yang ditampilkan aplikasi autentikator Anda." in pages["no_code"]
    assert "salah atau sudah pernah dipakai" in pages["wrong_code"]
    assert "User ID atau password salah" in pages["wrong_password"]
    for html in pages.values():
        assert "OTP token" not in html and "Please" not in html
        assert english_in(html, data=DATA) == []


def test_pskc_problem_in_the_admin_says_the_key_could_not_be_decrypted(world):
    client, _ = staff_client_make("branch", "staf-cabang")
    client.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    with open(PSKC_DIR / "rfc6030-figure4.pskcxml", "rb") as source:
        response = client.post(
            reverse("admin:tokens_hardwaretoken_import"),
            {"file": source, "psk": "12345678901234567890123456789012", "reason": "kiriman"},
        )
    html = response.content.decode()
    problems = re.search(r'<ul class="import-problems">(.*?)</ul>', html, re.S).group(1)
    assert "token 987654321: kunci rahasia-nya tidak dapat didekripsi dengan kunci pra-bagi " \
        "(pre-shared key) yang diberikan" in problems, problems
    assert "--psk" not in html and "--password" not in html
    assert english_in(html, data=(*DATA, "MasterKeyLabel", "rfc6030-figure4.pskcxml")) == []


def test_the_enrolment_page_and_a_wrong_first_code_are_indonesian(db):
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    newcomer = UserFactory(user_id="stafbaru", is_staff=True, phone="")
    newcomer.groups.add(Group.objects.get(name="Call centre agent"))
    client = Client()
    response = client.post("/admin/login/", {"username": "stafbaru", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"].endswith("/staff/otp/enrol/")
    page = client.get("/staff/otp/enrol/").content.decode()
    assert '<html lang="id"' in page
    assert english_in(page, data=("stafbaru", "Bank Nusantara")) == []
    wrong = client.post("/staff/otp/enrol/", {"code": "000000"}).content.decode()
    assert english_in(wrong, data=("stafbaru",)) == []
