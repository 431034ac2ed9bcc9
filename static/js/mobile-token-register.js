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
const HELP = first.getAttribute("aria-describedby") || "";

// Each refusal by the server costs one of the registration's few device secrets, so the codes
// anyone could guess are refused here first (the server's list adds the birth date and the
// phone number, which this page does not know): repeated digits, runs up or down (with wrap),
// xyxyxy, xyzxyz, xxxyyy.
function tooSimple(pin) {
  const d = [...pin].map(Number);
  const steps = d.slice(1).map((x, i) => (x - d[i] + 10) % 10);
  if (steps.every((s) => s === steps[0]) && [0, 1, 9].includes(steps[0])) return true;
  if (pin === pin.slice(0, 2).repeat(3) || pin === pin.slice(0, 3).repeat(2)) return true;
  return pin === pin[0].repeat(3) + pin[3].repeat(3);
}

// A message under the first Unlock Code field, which both fields point to while it shows; an
// optional link (start again, log in again) after it.
function say(message, link) {
  status.replaceChildren();
  if (message) {
    const text = document.createElement("p");
    text.textContent = message;
    status.append(text);
  }
  if (link) {
    const p = document.createElement("p");
    const a = document.createElement("a");
    a.href = link.href;
    a.className = "button secondary";
    a.textContent = link.text;
    p.append(a);
    status.append(p);
  }
  const on = Boolean(message);
  status.hidden = !on;
  for (const field of [first, second]) {
    field.closest(".field").classList.toggle("has-error", on);
    if (on) {
      field.setAttribute("aria-invalid", "true");
      field.setAttribute("aria-describedby", `${field === first ? HELP + " " : ""}mt-register-status`.trim());
    } else {
      field.removeAttribute("aria-invalid");
      if (field === first) field.setAttribute("aria-describedby", HELP);
      else field.removeAttribute("aria-describedby");
    }
  }
}

// The server's refusal: the registration is over (start again), the session has ended (log in
// again), or this Unlock Code (type another).
function refused(data) {
  if (data.login) {
    say(data.error, { href: data.login, text: form.dataset.msgLogin });
    go.hidden = true;
  } else if (data.restart) {
    say(data.error, { href: form.dataset.restartUrl, text: form.dataset.msgRestart });
    go.hidden = true;
  } else {
    say(data.error || form.dataset.msgFailed);
    first.focus();
  }
}

class SessionEnded extends Error {}

function clearCodes() {
  first.value = "";
  second.value = "";
}

async function post(url, body) {
  const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
  // An ended session (idle, or a login elsewhere) is sent to the login page before the view.
  if (response.redirected && new URL(response.url).pathname === form.dataset.loginPath) {
    throw new SessionEnded();
  }
  const type = response.headers.get("Content-Type") || "";
  if (!type.startsWith("application/json")) throw new Error("not json");
  return { status: response.status, data: await response.json() };
}

async function register() {
  const pin = first.value;
  let problem = "";
  if (!DIGITS.test(pin)) problem = form.dataset.msgDigits;
  else if (pin !== second.value) problem = form.dataset.msgDiffer;
  else if (tooSimple(pin)) problem = form.dataset.msgSimple;
  if (problem) {
    say(problem);
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
      clearCodes();
      refused(key.data);
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
      clearCodes();
      refused(done.data);
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
  } catch (error) {
    clearCodes();
    if (error instanceof SessionEnded) {
      refused({ error: form.dataset.msgSession, login: form.dataset.loginUrl });
    } else {
      say(form.dataset.msgFailed);
      first.focus();
    }
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
