// Registration step 2 (docs/mobile-token-design.md §3.2): the Unlock Code is typed twice and
// never sent. The server gives a device secret S (kunci/); the phone keeps S as a
// non-extractable key, derives K_u from S and the Unlock Code, and sends only K_u (selesai/).
// Only when the server accepts K_u is S stored in IndexedDB, so a refused Unlock Code leaves
// nothing behind; the next try asks for a new S.
import { b64urlDecode, b64urlEncode, recordPut, seedImport, unlockKeyBytes } from "./mobile-token-core.js";

const form = document.getElementById("mt-register-form");
const first = document.getElementById("mt-unlock-1");
const second = document.getElementById("mt-unlock-2");
const status = document.getElementById("mt-register-status");
const go = document.getElementById("mt-register-go");
const DIGITS = /^[0-9]{6}$/;

function say(message) {
  status.textContent = message;
  status.hidden = !message;
}

function clearCodes() {
  first.value = "";
  second.value = "";
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
  const type = response.headers.get("Content-Type") || "";
  if (!type.startsWith("application/json")) throw new Error("not json");
  return { status: response.status, data: await response.json() };
}

async function register() {
  const pin = first.value;
  if (!DIGITS.test(pin)) {
    say(form.dataset.msgDigits);
    first.focus();
    return;
  }
  if (pin !== second.value) {
    say(form.dataset.msgDiffer);
    clearCodes();
    first.focus();
    return;
  }
  go.disabled = true;
  say("");
  go.setAttribute("aria-busy", "true");
  try {
    const key = await post(form.dataset.keyUrl, new FormData(form));
    if (key.status !== 200) {
      say(key.data.error || form.dataset.msgFailed);
      clearCodes();
      return;
    }
    const device = key.data.device;
    const seedKey = await seedImport(b64urlDecode(key.data.seed));
    const ku = await unlockKeyBytes(seedKey, device, pin);
    const body = new FormData(form);
    body.set("unlock_key", b64urlEncode(ku));
    ku.fill(0);
    const done = await post(form.dataset.finishUrl, body);
    if (done.status !== 200 || !done.data.ok) {
      say(done.data.error || form.dataset.msgFailed);
      clearCodes();
      first.focus();
      return;
    }
    clearCodes();
    await recordPut({
      v: 1,
      device,
      key: seedKey,
      registered: new Date().toISOString(),
      label: body.get("label") || "",
    });
    if (navigator.storage && navigator.storage.persist) {
      try {
        await navigator.storage.persist();
      } catch {
        // Not granted: the key stays until the site's data is cleared.
      }
    }
    window.location.assign(done.data.next);
  } catch {
    say(form.dataset.msgFailed);
    clearCodes();
  } finally {
    go.disabled = false;
    go.removeAttribute("aria-busy");
  }
}

if (form) {
  if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) {
    form.hidden = false;
    say(form.dataset.msgUnsupported);
    go.disabled = true;
  } else {
    form.hidden = false;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      // portal.js disables a form's buttons after any submit (one post per click); this form
      // posts by script and guards itself (the button is disabled while a post runs), and a
      // refused Unlock Code must leave the button usable.
      event.stopImmediatePropagation();
      if (!go.disabled) register();
    });
  }
}
