"""Shared pieces of the hostile-input tests: who asks (anonymous, a retail customer, a corporate
user, a member of staff holding every role), the real objects each URL parameter names, the walk
of the URLconf, and the hypothesis strategies for hostile text."""

import re
from decimal import Decimal
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlsplit

from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from hypothesis import strategies as st

from accounts import services as account_services
from accounts.models import Company, User, corporate_user_id
from accounts.services import ROLE_GROUPS
from corporate import services as corporate_services
from corporate.models import CorporateRequest
from payments import services as payment_services
from payments.models import BankAccount
from tests.factories import PASSWORD, BankAccountFactory, UserFactory
from tests.tokens.conftest import staff_make, token_make

# --- the URLconf ---------------------------------------------------------------------------


def walk(patterns=None, namespace=""):
    """Every (name, parameter names, route) of the URLconf, through includes."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            for name, params, route in walk(entry.url_patterns, inner):
                yield name, params, str(entry.pattern) + route
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield name, list(entry.pattern.regex.groupindex), str(entry.pattern)


def url_names() -> list[str]:
    return sorted({name for name, _params, _route in walk() if name})


# --- the people and their objects ----------------------------------------------------------

RETAIL_SOURCE, RETAIL_OTHER, SITI_ACCOUNT, CORPORATE_ACCOUNT = (
    "1001000011", "1001000029", "1002000017", "2001000018",
)


class Clients(dict):
    """Each actor's client, logged in through the real login page the first time it is used."""

    def __init__(self, **makers):
        super().__init__()
        self.makers = makers

    def __missing__(self, actor):
        self[actor] = self.makers[actor]()
        return self[actor]


class World:
    """Every actor logged in through the real pages, and one real object for each kind of URL
    parameter (a pending transfer, a payee, profile changes, a corporate payment and request,
    a hardware token, a Mobile Token, ...)."""

    def __init__(self):
        self.customer = UserFactory(
            user_id="budi", full_name="Budi Santoso", phone="+6281234565678"
        )
        BankAccountFactory(owner=self.customer, number=RETAIL_SOURCE, balance="15000000.00")
        BankAccountFactory(
            owner=self.customer, number=RETAIL_OTHER, balance="50000000.00", product="current"
        )
        self.siti = UserFactory(user_id="siti", full_name="Siti Rahayu", phone="+6281398761234")
        BankAccountFactory(owner=self.siti, number=SITI_ACCOUNT, balance="7500000.00")
        source = BankAccount.objects.get(number=RETAIL_SOURCE)
        siti_account = BankAccount.objects.get(number=SITI_ACCOUNT)
        self.transfer = payment_services.transfer_create(
            user=self.customer, source=source, destination=siti_account,
            amount=Decimal("150000"), description="uji",
        )
        self.payee = payment_services.payee_create(
            user=self.customer, account=siti_account, nickname="Siti"
        )
        self.phone_change = account_services.phone_change_create(
            user=self.customer, new_phone="+6281311112222"
        )
        self.email_change = account_services.email_change_create(
            user=self.customer, new_email="baru@example.com"
        )
        self.password_change = account_services.password_change_create(
            user=self.customer, password_hash="x"
        )
        # A hardware token assigned to the customer (Aktivasi Token) and one in stock.
        token_make("FT10000001", state="assigned", user=self.customer)
        token_make("FT10000002", state="in_stock")

        self.company = Company.objects.create(
            name="PT Maju Bersama", cif="C000123", corporate_id="MAJUBERSAMA",
            requires_approval=True,
        )
        self.andi = UserFactory(
            user_id=corporate_user_id(corporate_id="MAJUBERSAMA", user_id="andi"),
            full_name="Andi Wijaya", company=self.company, phone="+6281277001122",
            email="andi@majubersama.co.id",
        )
        BankAccountFactory(
            owner=self.andi, company=self.company, number=CORPORATE_ACCOUNT,
            balance="250000000.00",
        )
        token_make("CT10000001", state="active", user=self.andi)
        User.objects.filter(pk=self.andi.pk).update(confirmation_method="hardware_token")
        self.andi.refresh_from_db()
        self.payment = payment_services.transfer_create(
            user=self.andi, source=BankAccount.objects.get(number=CORPORATE_ACCOUNT),
            destination=siti_account, amount=Decimal("12500000"), description="Invoice 17",
        )
        records = corporate_services.records_of(self.andi)
        records["phone"] = str(records["phone"])
        self.corporate_request = corporate_services.request_submit(
            user=self.andi, kind=CorporateRequest.Kind.TOKEN_REPLACEMENT,
            data={**records, "reason": "battery_dead"},
        )

        # One member of staff holding every role, so every admin action form is reachable.
        self.staff, self.staff_device = staff_make("staf-semua", "supervisor")
        corporate_services.corporate_roles_grant()
        self.staff.groups.add(*Group.objects.filter(name__in=ROLE_GROUPS.values()))
        # What the staff's own action pages act on: a contact change another officer asked
        # for (approve/reject), and a registered Mobile Token (de-register).
        officer, _device = staff_make("staf-cabang", "branch")
        account_services.contact_change_request(
            user=self.siti, kind="phone", new_value="+6281399990000", actor=officer,
            reason="ponsel hilang",
        )
        from tests.tokens.test_mobile_confirm_page import mobile_device_make

        mobile_device_make(self.siti)

        self.clients = Clients(
            anonymous=lambda: Client(raise_request_exception=False),
            customer=lambda: self._login("/login/", {"username": "budi"}),
            corporate=lambda: self._login(
                "/corporate/login/", {"corporate_id": "MAJUBERSAMA", "username": "andi"}
            ),
            staff=self._staff_login,
        )

    @staticmethod
    def _login(url, data):
        client = Client(raise_request_exception=False)
        response = client.post(url, {**data, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()[:2000]
        return client

    def _staff_login(self):
        from tests.accounts.test_admin import totp_now

        client = Client(raise_request_exception=False)
        response = client.post(
            "/admin/login/?next=/admin/",
            {"username": self.staff.user_id, "password": PASSWORD,
             "otp_token": totp_now(self.staff_device)},
        )
        assert response.status_code == 302, response.content.decode()[:2000]
        return client

    # The value of each URL parameter, for the actor that owns it.
    def kwargs(self, name: str, params: list[str]) -> dict:
        values = {}
        for param in params:
            if param == "reference" and name.startswith("payments:payment-"):
                values[param] = self.payment.reference
            elif param == "reference" and name.startswith("payments:transfer-"):
                values[param] = self.transfer.reference
            elif param == "reference" and name.startswith("corporate:"):
                values[param] = self.corporate_request.reference
            elif param == "pk" and name.startswith("payments:payee-"):
                values[param] = self.payee.pk
            elif param == "pk" and name.startswith("accounts:phone-change"):
                values[param] = self.phone_change.pk
            elif param == "pk" and name.startswith("accounts:email-change"):
                values[param] = self.email_change.pk
            elif param == "pk" and name.startswith("accounts:password-change"):
                values[param] = self.password_change.pk
            elif param == "token":
                values[param] = account_services.email_change_link_token(change=self.email_change)
            elif param == "number":
                values[param] = RETAIL_SOURCE
            elif param == "app_label":
                values[param] = "accounts"
            elif param == "object_id":
                values[param] = self.admin_object_pk(name)
            elif param == "content_type_id":
                values[param] = ContentType.objects.get_for_model(User).pk
            elif param == "url":
                values[param] = "no-such-page/"
            else:
                raise AssertionError(f"teach tests/security/hostile.py to fill {param!r} of {name!r}")
        return values

    def admin_object_pk(self, name: str) -> str:
        for model in admin.site._registry:
            prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
            if name.startswith(prefix):
                if model is User:
                    return str(self.customer.pk if "company" not in name else self.andi.pk)
                first = model._default_manager.order_by("pk").first()
                return str(first.pk) if first else "1"
        return str(self.customer.pk)

    def prepare(self, name: str, client) -> None:
        """Bring the state ``name`` is about to where its form shows (a step of a flow that
        earlier steps open). Runs inside the savepoint of that URL's fuzzing."""
        from tests.conftest import outbox_code

        if name.startswith("accounts:password-reset-"):
            response = client.post(
                "/lupa-password/",
                {"user_id": "budi", "birth_date": "17/08/1988", "account_number": RETAIL_SOURCE},
            )
            assert response.status_code == 302, response.status_code
            if name in ("accounts:password-reset-set", "accounts:password-reset-done"):
                with TestCase.captureOnCommitCallbacks(execute=True):  # the SMS is sent
                    client.post("/lupa-password/kode/kirim/")
                response = client.post("/lupa-password/kode/", {"code": outbox_code()})
                assert response["Location"] == "/lupa-password/baru/", response.status_code
        elif name.startswith("accounts:phone-change-"):
            # The World's email change replaced its phone change: a customer has one open.
            self.phone_change = account_services.phone_change_create(
                user=self.customer, new_phone="+6281311114444"
            )
        elif name.startswith("accounts:mobile-deregister"):
            from tests.tokens.test_mobile_confirm_page import mobile_device_make

            mobile_device_make(self.customer)

    def url(self, name: str, params: list[str]) -> str:
        return reverse(name, kwargs=self.kwargs(name, params))


# --- the pages' own forms ------------------------------------------------------------------


class FormFields(HTMLParser):
    """The fields of the page's forms: name -> (input type, the page's value or first choice),
    split by the form's method. Links with a query string on the same path add GET names."""

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.post: dict[str, tuple[str, str]] = {}
        self.get: dict[str, tuple[str, str]] = {}
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            action = urlsplit(attrs.get("action") or self.path).path
            method = (attrs.get("method") or "get").lower()
            # Only forms that send to this page: the others are their own URLs in the table.
            self._form = None if action != self.path else (self.post if method == "post" else self.get)
        elif tag == "a" and attrs.get("href"):
            parts = urlsplit(attrs["href"])
            if parts.query and parts.path in ("", self.path):
                for key, value in parse_qsl(parts.query, keep_blank_values=True):
                    self.get.setdefault(key, ("text", value))
        elif self._form is None or "name" not in attrs:
            return
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                self._form.setdefault(attrs["name"], (kind, ""))
                return
            self._form[attrs["name"]] = (kind, attrs.get("value") or "")
        elif tag == "textarea":
            self._form[attrs["name"]] = ("textarea", "")
        elif tag == "select":
            self._select = attrs["name"]
            self._form.setdefault(self._select, ("select", ""))
        elif tag == "option" and self._select:
            kind, value = self._form[self._select]
            if not value and attrs.get("value"):
                self._form[self._select] = (kind, attrs["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def page_fields(response, path):
    parser = FormFields(path)
    if "html" in response.get("Content-Type", ""):
        parser.feed(response.content.decode(errors="replace"))
    parser.post.pop("csrfmiddlewaretoken", None)
    return parser.post, parser.get


# --- hostile values --------------------------------------------------------------------------

# Digits of other scripts: Arabic-Indic, Extended Arabic-Indic (Persian), Devanagari, Bengali,
# Thai, fullwidth, mathematical bold, and superscripts.
FOREIGN_DIGITS = {
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
    "thai": "๐๑๒๓๔๕๖๗๘๙",
    "fullwidth": "０１２３４５６７８９",
    "math-bold": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
    "superscript": "⁰¹²³⁴⁵⁶⁷⁸⁹",
}


def in_script(code: str, script: str) -> str:
    return "".join(FOREIGN_DIGITS[script][int(d)] for d in code)


SPECIALS = [
    "", " ", "\x00", "a\x00b", "12\x0034", "\u202eRTL\u202c", "\u200f\u0627\u0644\u0628\u0646\u0643",
    "\u200b", "\ufeff", "x" * 5000, "9" * 40, "-1", "0", "-0", "1e309", "NaN", "inf", "0x10",
    "99999999999999999999", "2147483648", "9223372036854775808", "31/02/2024", "00/00/0000",
    "29/02/1900", "01/01/0001", "31/12/9999", "1/1/1", "2024-02-30", "../../etc/passwd",
    "%00", "%", "<script>alert(1)</script>", "' OR '1'='1", "{{ 7*7 }}", "${7*7}", "\r\n",
    "😀", "\U0010ffff", "\ufffd", "+62", "+6281234565678", "budi", "1.500.000,50", "1,5",
    "Rp 1.500.000", "١٢٣٤٥٦", "１２３４５６", "१२३४५६", "𝟏𝟐𝟑𝟒𝟓𝟔", "¹²³⁴⁵⁶", "Ⅻ", "½",
    "123 456", "12-34-56", "FT10000001", "ft 1000 0001", "PGJ-000001", "TRF-0", "true", "on",
]

# Any text a browser can send (UTF-8 cannot carry surrogates), NUL and control characters too.
any_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
foreign_numbers = st.sampled_from(list(FOREIGN_DIGITS.values())).flatmap(
    lambda digits: st.text(alphabet=digits, min_size=1, max_size=12)
)
hostile_text = st.one_of(
    st.sampled_from(SPECIALS),
    any_text,
    foreign_numbers,
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="0123456789/-.: ", max_size=14),
)
# A field posted once, not at all, or several times (a list: ?a=1&a=2).
hostile_value = st.one_of(
    hostile_text, hostile_text, hostile_text, st.lists(hostile_text, min_size=2, max_size=3)
)
# A URL path segment: the same, quoted the way a browser sends it.
hostile_segment = st.one_of(
    st.sampled_from(["0", "-1", "9" * 30, "2147483648", "١٢", "%00", "..", "x" * 300]),
    hostile_text.filter(bool).map(lambda s: quote(s, safe="")),
)
file_names = st.one_of(
    st.sampled_from(["formulir.pdf", "a.jpg", "x.png", ".pdf", "..%2F..%2Fetc%2Fpasswd",
                     "a" * 300 + ".pdf", "nama.pdf.exe", "\u202efdp.exe"]),
    st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=60),
).filter(
    # What Django's test client can put in a multipart body (a browser sends the same names
    # with quotes escaped and the path cut off).
    lambda s: '"' not in s and "\\" not in s and "/" not in s and s not in ("", ".", "..")
)


def cookies_of(client) -> str:
    return client.cookies.output(header="", sep=";")


def cookies_restore(client, saved: str):
    client.cookies = SimpleCookie(saved)


def path_with(url: str, old, new: str) -> str:
    """``url`` with the path segment ``old`` replaced by ``new``."""
    return re.sub(rf"/{re.escape(str(old))}(?=[/.])", "/" + new, url, count=1)
