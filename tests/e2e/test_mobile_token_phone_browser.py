"""The Mobile Token on a phone (docs/mobile-token-design.md §1.2, §3.2, §3.3), in headless
Chromium at 390×844 with ``is_mobile``: the WebCrypto core gives the design's test vectors,
and a customer registers through the pages, goes offline, and the token still opens and makes
the codes the server computes. Screenshots in var/screenshots/ (mobile-token-*)."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import needs_chromium
from tests.e2e.conftest import PHONE

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]

PHONE_CONTEXT = {"viewport": PHONE, "is_mobile": True, "has_touch": True, "locale": "id-ID"}
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
