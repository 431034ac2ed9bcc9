// INSTAN (docs/mobile-token-design.md §3.4): on the phone that holds the customer's Mobile
// Token, a confirm page is confirmed with the Unlock Code alone. The page computes the same
// code the token page would show for this transaction (the server's 8 digits, or none) and
// submits it through the ordinary "One Time Password" field, so the server checks it exactly
// as a typed code: bound to the intent, used once, failures counted toward the block.
//
// An ES module loaded by base.html only when the page has a Mobile Token block. The core is
// imported by the URL the server rendered into data-mt-core ({% static %}: the hashed name in
// production), never by a fixed path. The Unlock Code input has no name and sits outside the
// form: it is never posted, and it is cleared before the code is submitted.

const box = document.querySelector("section.otp-box[data-mt-device]");

// data-mt-instant on the block says what was found: "on" (this is the phone) or "off".
async function instantSetUp() {
  if (!box) return;
  box.dataset.mtInstant = (await instantFind()) ? "on" : "off";
}

async function instantFind() {
  if (!window.isSecureContext || !window.crypto?.subtle || !window.indexedDB) {
    return false;
  }
  const coreUrl = new URL(box.dataset.mtCore || "", window.location.href);
  if (coreUrl.origin !== window.location.origin) return false;
  const panel = document.getElementById("mt-instant");
  const unlock = document.getElementById("mt-instant-unlock");
  const go = document.getElementById("mt-instant-go");
  const error = document.getElementById("mt-instant-error");
  const form = box.querySelector("form.otp-confirm");
  const code = form?.querySelector("input[name='code']");
  if (!panel || !unlock || !go || !form || !code) return false;

  const core = await import(coreUrl.href);
  let record;
  try {
    record = await core.recordGet();
  } catch {
    return false; // no IndexedDB here (a private window): the code is typed by hand
  }
  // Only the phone registered now: an old phone's record stays, but its codes are refused.
  if (!record || String(record.device).toLowerCase() !== box.dataset.mtDevice.toLowerCase()) {
    return false;
  }
  panel.hidden = false;
  const digitsMessage = error.dataset.msgDigits;
  // The manual path folds behind its summary, unless a code typed there was just refused.
  const manual = document.getElementById("mt-manual");
  const summary = document.getElementById("mt-manual-summary");
  if (manual && summary) {
    summary.hidden = false;
    if (!document.getElementById("otp-error") && !form.querySelector(".form-errors")) {
      manual.open = false;
    }
  }
  // A code INSTAN sent was refused: the server said so by the INSTAN field (data-refused). The
  // manual field is not the customer's mistake: portal.js's focus and aria-invalid move here.
  if (error.dataset.refused) {
    code.removeAttribute("aria-invalid");
    unlock.focus();
  }

  async function confirmHere() {
    const pin = unlock.value;
    if (!/^[0-9]{6}$/.test(pin)) {
      error.textContent = digitsMessage;
      error.hidden = false;
      unlock.setAttribute("aria-invalid", "true");
      unlock.focus();
      return;
    }
    error.hidden = true;
    unlock.removeAttribute("aria-invalid");
    go.disabled = true;
    try {
      const key = await core.unlockedKey(record.key, record.device, pin);
      unlock.value = "";
      code.value = await core.codeWith(key, core.stepNow(), box.dataset.mtLink || "");
      // Tells the page that comes back with a refusal to say it here, not on the manual field.
      const via = form.querySelector("#mt-via");
      if (via) via.value = "instant";
      form.requestSubmit();
    } catch {
      unlock.value = "";
      go.disabled = false;
    }
  }

  go.addEventListener("click", confirmHere);
  unlock.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      confirmHere();
    }
  });
  return true;
}

instantSetUp();
