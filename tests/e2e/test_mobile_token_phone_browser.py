"""The Mobile Token on a phone (docs/mobile-token-design.md §1.2, §3.2, §3.3), in headless
Chromium at 390×844 with ``is_mobile``: the WebCrypto core gives the design's test vectors,
and a customer registers through the pages, goes offline, and the token still opens and makes
the codes the server computes. Screenshots in var/screenshots/ (mobile-token-*)."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import needs_chromium
from tests.e2e.conftest import PHONE, _errors_collect, outbox_code_read, shoot

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
PHONE_CONTEXT = {
    "viewport": PHONE,
    "is_mobile": True,
    "has_touch": True,
    "locale": "id-ID",
    "user_agent": ANDROID,
}
PIN = "482915"
SEED = bytes(range(32))
DEVICE = "00112233-4455-6677-8899-aabbccddeeff"
T = 56666666
# docs/mobile-token-design.md §1.2 (the same numbers as tests/tokens/test_mobile_scheme.py).
VECTORS = {
    "482915": {
        "ku": "d705502a3323a506cdd6dada33f5c057332bb21dd7c8c2816ae7e95a8f2be265",
        "mode1": "767426",
        "link": "767251",
        "next": "766909",
        "other": "858714",
    },
    "482916": {
        "ku": "5e42eece424438bcecba34b7a8b2673554edf77263f35edd36c4f62a5c8a3d18",
        "mode1": "711228",
        "link": "447977",
        "next": "858652",
        "other": "787870",
    },
}

VECTORS_JS = """async ([seed, device, t]) => {
  const core = await import("/static/js/mobile-token-core.js");
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const out = {};
  for (const pin of ["482915", "482916"]) {
    const seedKey = await core.seedImport(new Uint8Array(seed));
    const ku = hex(await core.unlockKeyBytes(seedKey, device, pin));
    const key = await core.unlockedKey(seedKey, device, pin);
    out[pin] = {
      ku,
      mode1: await core.codeWith(key, t, ""),
      link: await core.codeWith(key, t, "12345678"),
      next: await core.codeWith(key, t + 1, "12345678"),
      other: await core.codeWith(key, t, "12345679"),
      seedExtractable: seedKey.extractable,
      keyExtractable: key.extractable,
      keyAlgorithm: key.algorithm.name,
    };
  }
  const raw = new Uint8Array(seed);
  await core.seedImport(raw);
  out.zeroed = raw.every((b) => b === 0);
  out.b64 = core.b64urlEncode(core.b64urlDecode("AP_-_w"));
  out.step = core.stepNow() === Math.floor(Date.now() / 30000);
  const left = core.secondsLeft();
  out.left = left >= 1 && left <= 30;
  return out;
}"""


def test_webcrypto_core_gives_the_designs_vectors(new_page, live_server):
    page = new_page(**PHONE_CONTEXT)
    page.goto(f"{live_server.url}/mobile-token/")
    expect(page.locator("#mt-none")).to_be_visible()
    result = page.evaluate(VECTORS_JS, [list(SEED), DEVICE, T])
    for pin, expected in VECTORS.items():
        got = result[pin]
        assert {k: got[k] for k in expected} == expected, pin
        assert got["seedExtractable"] is False and got["keyExtractable"] is False
        assert got["keyAlgorithm"] == "HMAC"
    assert result["zeroed"] is True
    assert result["b64"] == "AP_-_w"
    assert result["step"] and result["left"]
    # The same values from the server's Python (the contract of tokens/mobile.py).
    from uuid import UUID

    from tokens import mobile

    key = mobile.unlock_key(SEED, UUID(DEVICE), "482915")
    assert key.hex() == VECTORS["482915"]["ku"]
    assert mobile.code_for(key, T, "12345678") == result["482915"]["link"]


def test_unregistered_phone_offers_registration_in_indonesian(new_page, live_server):
    page = new_page(**PHONE_CONTEXT)
    page.goto(f"{live_server.url}/mobile-token/")
    expect(page.locator("#mt-none")).to_contain_text("Belum terdaftar di ponsel ini")
    link = page.locator("#mt-none a")
    expect(link).to_have_attribute("href", "/mobile-token/daftar/")
    expect(page.locator("#mt-clock")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")


RECORD_PUT_JS = """async ([seed, device]) => {
  const core = await import("/static/js/mobile-token-core.js");
  const key = await core.seedImport(new Uint8Array(seed));
  await core.recordPut({v: 1, device, key, registered: new Date().toISOString(), label: "Uji"});
}"""


def test_the_unlocked_key_is_forgotten_after_the_idle_time(new_page, live_server, settings):
    """The design's seed put in the phone's IndexedDB directly: the app reads it back after a
    reload, makes the code of K_u for now, and forgets it after MOBILE_TOKEN_UNLOCK_IDLE."""
    from uuid import UUID

    from tokens import mobile

    settings.MOBILE_TOKEN_UNLOCK_IDLE = 2
    page = new_page(**PHONE_CONTEXT)
    page.goto(f"{live_server.url}/mobile-token/")
    expect(page.locator("#mt-none")).to_be_visible()
    shoot(page, "mobile-token-none", phone=True)
    page.evaluate(RECORD_PUT_JS, [list(SEED), DEVICE])
    page.reload()
    expect(page.locator("#mt-menu")).to_be_visible()
    expect(page.locator("#mt-device-label")).to_have_text("Uji")
    page.locator("#mt-mode-otp").click()
    code = _code_make(page, "482915")
    key = mobile.unlock_key(SEED, UUID(DEVICE), "482915")
    t = mobile.step(time.time())
    assert code in {mobile.code_for(key, t + d, "") for d in (-1, 0, 1)}
    expect(page.locator("#mt-menu")).to_be_visible(timeout=5_000)
    expect(page.locator("#mt-code")).to_have_text("")
    expect(page.locator("#mt-code-step")).to_be_hidden()


def _server_codes(user, link: str) -> set[str]:
    """The codes the server accepts now for ``user``'s active device (window ±1 step)."""
    from tokens import hardware, mobile
    from tokens.models import MobileDevice

    device = MobileDevice.objects.get(user=user, revoked_at__isnull=True)
    key = hardware.seed_unseal(device.sealed_key)
    t = mobile.step(time.time())
    return {mobile.code_for(key, t + d, link) for d in (-1, 0, 1)}


def _code_make(phone, pin):
    phone.locator("#mt-unlock").fill(pin)
    phone.locator("#mt-unlock-go").click()
    expect(phone.locator("#mt-code")).to_have_text(re.compile(r"^\d{6}$"))
    expect(phone.locator("#mt-unlock")).to_have_value("")
    return phone.locator("#mt-code").inner_text()


def test_register_on_the_phone_then_codes_offline_match_the_server(
    browser, new_page, live_server, celery_worker, settings
):
    from tests.factories import UserFactory

    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    user = UserFactory(user_id="dewi", full_name="Dewi Lestari", phone="+6281255501234")

    # The phone's context collects its own console errors: the refused Unlock Code below is a
    # 400 answer, which Chromium logs as "Failed to load resource"; that one and the test's own
    # offline fetch are the only ones allowed.
    context = browser.new_context(**PHONE_CONTEXT)
    context.set_default_timeout(10_000)
    errors = []
    context.on("page", lambda p: _errors_collect(p, errors))
    phone = context.new_page()
    try:
        _register_and_use_offline(phone, new_page, base, user)
    finally:
        context.close()
    assert errors == [
        f"{base}/mobile-token/daftar/unlock-code/: Failed to load resource: the server "
        "responded with a status of 400 (Bad Request)",
        # The test's own fetch of a page the worker does not keep, to prove the phone offline.
        f"{base}/mobile-token/: Failed to load resource: net::ERR_INTERNET_DISCONNECTED",
    ], errors


def _register_and_use_offline(phone, new_page, base, user):
    from accounts.models import User
    from tests.factories import PASSWORD

    # Not logged in: the normal login, then back to the registration.
    phone.goto(f"{base}/mobile-token/daftar/")
    expect(phone).to_have_url(re.compile(r"/login/\?next=/mobile-token/daftar/$"))
    phone.locator("#id_username").fill(user.user_id)
    phone.locator("#id_password").fill(PASSWORD)
    phone.locator("main form button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/mobile-token/daftar/$"))
    shoot(phone, "mobile-token-register", phone=True)
    phone.get_by_role("button", name="Generate OTP").click()
    expect(phone.locator(".otp-status")).to_contain_text("+62 812-****-1234")
    sms = new_page()
    code = outbox_code_read(sms, f"{base}/dev/sms/")
    phone.bring_to_front()
    phone.locator("#id_code").fill(code)
    phone.locator("main form.otp-confirm button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/mobile-token/daftar/unlock-code/$"))
    expect(phone.locator("#mt-register-form")).to_be_visible()
    expect(phone.locator("#mt-label")).to_have_value("Chrome di Android")

    # Guessable Unlock Codes anyone could try (repeated, runs up and down) are refused by the
    # page before it asks the server: no device secret (one of 5) is spent on them.
    from tokens.models import MobileRegistration

    for trivial in ("000000", "123456", "654321", "901234"):
        phone.locator("#mt-unlock-1").fill(trivial)
        phone.locator("#mt-unlock-2").fill(trivial)
        phone.locator("#mt-register-go").click()
        expect(phone.locator("#mt-register-status")).to_contain_text("mudah ditebak")
        expect(phone.locator("#mt-unlock-1")).to_have_value("")
        expect(phone.locator("#mt-unlock-1")).to_be_focused()
    assert MobileRegistration.objects.get(user=user, completed_at__isnull=True).seeds_issued == 0
    # The message sits under the first field, which points to it and is marked invalid.
    first = phone.locator("#mt-unlock-1")
    expect(first).to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#mt-unlock-2")).to_have_attribute("aria-invalid", "true")
    expect(first).to_have_attribute("aria-describedby", re.compile(r"\bmt-register-status\b"))
    expect(phone.locator("#mt-unlock-1 ~ #mt-register-status")).to_be_visible()
    # One the page cannot know (the phone number's last 6 digits): the server refuses it.
    phone.locator("#mt-unlock-1").fill("501234")
    phone.locator("#mt-unlock-2").fill("501234")
    phone.locator("#mt-register-go").click()
    expect(phone.locator("#mt-register-status")).to_contain_text("tanggal lahir")
    expect(phone.locator("#mt-register-status a")).to_have_count(0)
    expect(phone.locator("#mt-unlock-1")).to_have_value("")
    expect(phone.locator("#mt-unlock-1")).to_be_focused()
    assert MobileRegistration.objects.get(user=user, completed_at__isnull=True).seeds_issued == 1
    # Typed differently twice: the page says so before asking the server.
    phone.locator("#mt-unlock-1").fill(PIN)
    phone.locator("#mt-unlock-2").fill("482951")
    phone.locator("#mt-register-go").click()
    expect(phone.locator("#mt-register-status")).to_contain_text("tidak sama")
    shoot(phone, "mobile-token-unlock", phone=True)
    phone.locator("#mt-unlock-1").fill(PIN)
    phone.locator("#mt-unlock-2").fill(PIN)
    phone.locator("#mt-register-go").click()
    expect(phone).to_have_url(re.compile(r"/mobile-token/$"))  # ?registered=1, shown once
    expect(phone.locator("#mt-registered")).to_be_visible()
    expect(phone.locator("#mt-registered")).to_contain_text("Tambahkan ke Layar utama")
    expect(phone.locator("#mt-device-label")).to_have_text("Chrome di Android")
    user.refresh_from_db()
    assert user.confirmation_method == User.ConfirmationMethod.MOBILE_TOKEN
    assert phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    shoot(phone, "mobile-token-app", phone=True)

    # Offline: the page, its scripts and the key still work.
    phone.context.set_offline(True)
    phone.reload()
    expect(phone.locator("#mt-menu")).to_be_visible()
    expect(phone.locator("#mt-registered")).to_be_hidden()
    assert phone.evaluate("fetch('/dev/sms/').then(() => 'online', () => 'offline')") == "offline"

    phone.locator("#mt-mode-otp").click()
    expect(phone.locator("#mt-unlock")).to_be_focused()
    assert phone.locator("#mt-unlock").get_attribute("name") is None
    code = _code_make(phone, PIN)
    assert code in _server_codes(user, "")
    expect(phone.locator("#mt-countdown")).to_have_text(re.compile(r"^([1-9]|[12]\d|30)$"))
    shoot(phone, "mobile-token-code", phone=True)
    phone.locator("#mt-done").click()
    expect(phone.locator("#mt-menu")).to_be_visible()
    expect(phone.locator("#mt-code")).to_have_text("")
    expect(phone.locator("#mt-code-for")).to_be_hidden()  # mode 1: no account to repeat

    # Mode 2 ("Transaksi"; APPLI 2 in the bank's terms): the 8 digits of the destination are signed.
    phone.locator("#mt-mode-sign").click()
    phone.locator("#mt-link").fill("1234")
    phone.locator("#mt-link-next").click()
    expect(phone.locator("#mt-link-error")).to_be_visible()
    phone.locator("#mt-link").fill("12345678")
    phone.locator("#mt-link-next").click()
    expect(phone.locator("#mt-signing")).to_contain_text("1234 5678")
    shoot(phone, "mobile-token-signing", phone=True)
    signed = _code_make(phone, PIN)
    # The code screen repeats the account the code is for.
    expect(phone.locator("#mt-code-for")).to_have_text("Untuk rekening berakhiran 1234 5678")
    shoot(phone, "mobile-token-signed-code", phone=True)
    assert signed in _server_codes(user, "12345678")
    assert signed not in _server_codes(user, "12345679")

    # Hiding the page forgets the unlocked key.
    phone.evaluate(
        """() => {
          Object.defineProperty(document, "hidden", {value: true, configurable: true});
          document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    expect(phone.locator("#mt-menu")).to_be_visible()
    expect(phone.locator("#mt-code")).to_have_text("")

    # A wrong Unlock Code makes a code too (the phone cannot tell); the server's differ.
    phone.locator("#mt-mode-otp").click()
    wrong = _code_make(phone, "482916")
    assert wrong not in _server_codes(user, "")

    # A new tab in the offline browser opens the token as well.
    other = phone.context.new_page()
    other.goto(f"{base}/mobile-token/")
    expect(other.locator("#mt-menu")).to_be_visible()


def _unlock_page_reach(phone, new_page, base, user, skip=()):
    """Log in on the phone, confirm the registration's SMS code: the Unlock Code page."""
    from tests.e2e.conftest import login
    from tests.factories import PASSWORD

    login(phone, base, user.user_id, PASSWORD)
    phone.goto(f"{base}/mobile-token/daftar/")
    phone.get_by_role("button", name="Generate OTP").click()
    expect(phone.locator(".otp-status")).to_be_visible()
    code = outbox_code_read(new_page(), f"{base}/dev/sms/", skip=skip)
    phone.bring_to_front()
    phone.locator("#id_code").fill(code)
    phone.locator("main form.otp-confirm button[type=submit]").click()
    expect(phone).to_have_url(re.compile(r"/mobile-token/daftar/unlock-code/$"))
    return code


def test_an_ended_session_or_registration_offers_login_or_a_new_start(
    browser, new_page, live_server, celery_worker, settings
):
    """Item 1 of the polish: the page no longer says "Periksa koneksi Anda" when the session
    ended (the fetch was redirected to the login page), nor leaves the customer to try again
    when the registration is over: a real link to log in again, or to start anew."""
    from accounts.models import User
    from tests.factories import UserFactory
    from tokens.models import MobileRegistration

    settings.SMS_OUTBOX_PAGE = True
    base = live_server.url
    user = UserFactory(user_id="sari", full_name="Sari Wulandari", phone="+6281255507777")
    context = browser.new_context(**PHONE_CONTEXT)
    context.set_default_timeout(10_000)
    errors = []
    context.on("page", lambda p: _errors_collect(p, errors))
    phone = context.new_page()
    try:
        first_code = _unlock_page_reach(phone, new_page, base, user)
        # A login elsewhere ends this session: the middleware answers the fetch with the
        # reason and a login link (JSON).
        User.objects.filter(pk=user.pk).update(session_key="elsewhere")
        phone.locator("#mt-unlock-1").fill(PIN)
        phone.locator("#mt-unlock-2").fill(PIN)
        phone.locator("#mt-register-go").click()
        status = phone.locator("#mt-register-status")
        expect(status).to_contain_text(
            "Sesi Anda berakhir karena User ID Anda digunakan untuk login di tempat lain."
        )
        expect(status).not_to_contain_text("koneksi")
        link = status.get_by_role("link", name="Login kembali")
        expect(link).to_have_attribute("href", "/login/?next=%2Fmobile-token%2Fdaftar%2F")
        expect(phone.locator("#mt-register-go")).to_be_hidden()
        shoot(phone, "mobile-token-unlock-session-ended", phone=True)

        # Logged in again; the registration then expires before the phone asks for its key.
        _unlock_page_reach(phone, new_page, base, user, skip=(first_code,))
        MobileRegistration.objects.filter(user=user, completed_at__isnull=True).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        phone.locator("#mt-unlock-1").fill(PIN)
        phone.locator("#mt-unlock-2").fill(PIN)
        phone.locator("#mt-register-go").click()
        expect(status).to_contain_text("kedaluwarsa")
        expect(phone.locator("#mt-unlock-1")).to_have_attribute("aria-invalid", "true")
        shoot(phone, "mobile-token-unlock-restart", phone=True)
        status.get_by_role("link", name="Mulai lagi").click()
        expect(phone).to_have_url(re.compile(r"/mobile-token/daftar/$"))
        expect(phone.get_by_role("button", name="Generate OTP")).to_be_visible()
    finally:
        context.close()
    # Only the two refused key requests (the session ended, then the registration was over)
    # are logged by Chromium.
    refused = f"{base}/mobile-token/daftar/unlock-code/: Failed to load resource: the server "
    assert errors == [
        refused + "responded with a status of 403 (Forbidden)",
        refused + "responded with a status of 400 (Bad Request)",
    ], errors
