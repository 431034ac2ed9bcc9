// The resend countdown on "Generate OTP". Works without it: the server refuses an early resend.
(function () {
  "use strict";
  document.querySelectorAll("button[data-resend-in]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-resend-in"), 10) || 0;
    var label = button.getAttribute("data-label");
    var waitLabel = button.getAttribute("data-wait-label");
    var help = document.getElementById("resend-help");
    if (help) { help.hidden = true; }
    function tick() {
      if (left > 0) {
        button.disabled = true;
        button.textContent = waitLabel.replace("%(s)s", String(left));
        left -= 1;
        window.setTimeout(tick, 1000);
      } else {
        button.disabled = false;
        button.textContent = label;
      }
    }
    tick();
  });
  document.querySelectorAll("form").forEach(function (form) {
    // One submission per click: a double click must not post twice.
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
}());
