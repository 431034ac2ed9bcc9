// Small enhancements; every page works without them (the server checks everything).
(function () {
  "use strict";

  // The resend countdown on "Generate OTP". The server refuses an early resend anyway.
  document.querySelectorAll("button[data-resend-in]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-resend-in"), 10) || 0;
    var label = button.getAttribute("data-label");
    var waitLabel = button.getAttribute("data-wait-label");
    var help = document.getElementById("resend-help");
    if (help) { help.hidden = true; }
    function tick() {
      if (left > 0) {
        button.disabled = true;
        button.textContent = waitLabel.replace("{s}", String(left));
        left -= 1;
        window.setTimeout(tick, 1000);
      } else {
        button.disabled = false;
        button.textContent = label;
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
