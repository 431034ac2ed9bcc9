// Small enhancements; every page works without them (the server checks everything).
(function () {
  "use strict";

  // The wait before "Generate OTP" may send another code: the page says it in the server's
  // seconds and renders the button disabled; this only counts down and enables the button at
  // 0. The server refuses an early press anyway.
  document.querySelectorAll("[data-resend-in]").forEach(function (wait) {
    var left = parseInt(wait.getAttribute("data-resend-in"), 10) || 0;
    var text = wait.querySelector(".resend-wait-text");
    var button = wait.closest("form").querySelector("button[type=submit]");
    var started = Date.now();
    var total = left;
    function label(n, unit) {
      return wait.getAttribute("data-" + unit + (n === 1 ? "-one" : "-other")).replace("{n}", String(n));
    }
    function tick() {
      // From the clock, not from counting ticks: a tab in the background ticks late.
      left = Math.max(0, total - Math.floor((Date.now() - started) / 1000));
      if (left > 0) {
        text.textContent = left < 120 ? label(left, "seconds") : label(Math.ceil(left / 60), "minutes");
        window.setTimeout(tick, 1000 - ((Date.now() - started) % 1000));
      } else {
        text.textContent = wait.getAttribute("data-ready");
        button.disabled = false;
        button.removeAttribute("aria-describedby");
      }
    }
    tick();
  });

  // A field's error message is read out with the field.
  document.querySelectorAll(".field .field-error[id]").forEach(function (error) {
    var input = error.parentNode.querySelector("input, select, textarea");
    if (!input) { return; }
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (ids.indexOf(error.id) === -1) {
      ids.unshift(error.id);
      input.setAttribute("aria-describedby", ids.join(" "));
    }
  });

  // After a refused submission, put the cursor where the customer has to act. A refused
  // one-time password is cleared: it is spent, and typing over it invites a mix of digits.
  var invalid = document.querySelector("main [aria-invalid=true]");
  var formError = document.querySelector("main .form-errors");
  var codeSent = document.querySelector(".otp-status:not(.otp-status-failed)");
  var codeInput = document.querySelector("main .otp-input");
  if (invalid) {
    if (invalid.classList.contains("otp-input")) { invalid.value = ""; }
    invalid.focus();
  } else if (codeSent && codeInput && !codeInput.value) {
    // A code is on its way: the next thing to do is to type it.
    codeInput.focus();
  } else if (formError) {
    var form = formError.closest("form");
    var password = form && form.querySelector("input[type=password]");
    if (password && !password.value) { password.focus(); }
  }

  // The transfer form: "Other account number" only matters with "Another account number".
  var destination = document.querySelector("select[name=destination]");
  var otherNumber = document.querySelector("input[name=destination_number]");
  var otherField = otherNumber && otherNumber.closest(".field");
  if (destination && otherField) {
    var toggle = function () {
      otherField.hidden = destination.value !== "other" && !otherField.classList.contains("has-error");
    };
    destination.addEventListener("change", toggle);
    toggle();
  }

  // One submission per click: a double click must not post twice.
  document.querySelectorAll("form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
}());
