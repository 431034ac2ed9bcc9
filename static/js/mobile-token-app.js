// The token on the phone (docs/mobile-token-design.md §3.3). Works offline: the page and its
// files come from the service worker, the key from IndexedDB, the time from the phone's clock.
// The phone never checks the Unlock Code (it cannot: a wrong one gives another key and so a
// code the server refuses); the unlocked key is kept for MOBILE_TOKEN_UNLOCK_IDLE seconds at
// most, or until the page is hidden, and then forgotten.
import { codeWith, recordGet, secondsLeft, stepNow, unlockedKey } from "./mobile-token-core.js";

const main = document.getElementById("mt-main");
const $ = (id) => document.getElementById(id);
const SCREENS = ["mt-none", "mt-menu", "mt-link-step", "mt-unlock-step", "mt-code-step"];
const IDLE_MS = Number(main.dataset.unlockIdle || 120) * 1000;

let record = null;
let link = ""; // "" (mode 1) or 8 digits (mode 2)
let key = null; // the unlocked HMAC key, only while a code is shown
let forgetAt = 0;

function show(id, focusId) {
  for (const screen of SCREENS) $(screen).hidden = screen !== id;
  const target = focusId ? $(focusId) : $(id).querySelector("h1");
  if (target) {
    if (!focusId) target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

function forget() {
  key = null;
  forgetAt = 0;
  $("mt-unlock").value = "";
  $("mt-code").textContent = "";
}

function menu() {
  forget();
  link = "";
  $("mt-link").value = "";
  show("mt-menu");
}

function grouped(digits) {
  return `${digits.slice(0, 4)} ${digits.slice(4)}`;
}

function clockShow() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  $("mt-clock").textContent = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
  $("mt-clock").dateTime = now.toISOString();
}

async function codeShow() {
  if (!key) return;
  const code = await codeWith(key, stepNow(), link);
  if (!key) return; // forgotten meanwhile
  // Written only when it changes: aria-live then reads each new code once.
  if ($("mt-code").textContent !== code) $("mt-code").textContent = code;
  $("mt-countdown").textContent = String(secondsLeft());
}

function tick() {
  clockShow();
  if (key) {
    if (Date.now() >= forgetAt) {
      menu();
    } else {
      codeShow();
    }
  }
}

function onlineShow() {
  $("mt-none-online").hidden = !navigator.onLine;
  $("mt-none-offline").hidden = navigator.onLine;
}

async function start() {
  clockShow();
  setInterval(tick, 1000);
  const params = new URLSearchParams(window.location.search);
  if (params.get("registered") === "1") {
    $("mt-registered").hidden = false;
    // Once: a reload or a later visit shows the token only.
    window.history.replaceState(null, "", main.dataset.scope);
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(main.dataset.swUrl, { scope: main.dataset.scope }).catch(() => {
      // Without it the token works while online; nothing to tell the customer.
    });
  }
  if (!window.isSecureContext || !window.crypto || !crypto.subtle || !window.indexedDB) {
    $("mt-unsupported").hidden = false;
    return;
  }
  try {
    record = await recordGet();
  } catch {
    record = null;
  }
  if (!record) {
    onlineShow();
    window.addEventListener("online", onlineShow);
    window.addEventListener("offline", onlineShow);
    show("mt-none");
    return;
  }
  if (record.label) {
    $("mt-device-label").textContent = record.label;
    $("mt-device-line").hidden = false;
  }
  $("mt-menu").hidden = false;
}

function unlockAsk(withLink) {
  link = withLink;
  const title = $("mt-unlock-title");
  title.textContent = link ? title.dataset.sign : title.dataset.otp;
  $("mt-signing").hidden = !link;
  $("mt-signing-digits").textContent = link ? grouped(link) : "";
  // The code screen repeats which account it signs for.
  $("mt-code-for").hidden = !link;
  $("mt-code-digits").textContent = link ? grouped(link) : "";
  $("mt-unlock-error").hidden = true;
  show("mt-unlock-step", "mt-unlock");
}

$("mt-mode-otp").addEventListener("click", () => unlockAsk(""));
$("mt-mode-sign").addEventListener("click", () => {
  $("mt-link-error").hidden = true;
  show("mt-link-step", "mt-link");
});

$("mt-link-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const digits = $("mt-link").value.replace(/[\s-]/g, "");
  if (!/^[0-9]{8}$/.test(digits)) {
    $("mt-link-error").hidden = false;
    $("mt-link").focus();
    return;
  }
  unlockAsk(digits);
});

$("mt-unlock-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const pin = $("mt-unlock").value;
  $("mt-unlock").value = "";
  if (!/^[0-9]{6}$/.test(pin)) {
    $("mt-unlock-error").hidden = false;
    $("mt-unlock").focus();
    return;
  }
  $("mt-unlock-error").hidden = true;
  try {
    key = await unlockedKey(record.key, record.device, pin);
  } catch {
    $("mt-unsupported").hidden = false;
    return;
  }
  forgetAt = Date.now() + IDLE_MS;
  await codeShow();
  show("mt-code-step");
});

for (const back of document.querySelectorAll(".mt-back")) back.addEventListener("click", menu);
$("mt-done").addEventListener("click", menu);

document.addEventListener("visibilitychange", () => {
  if (document.hidden && key) menu();
});
window.addEventListener("pagehide", forget);

start();
