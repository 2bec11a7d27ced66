// Exchange monitor: replay a dead letter through the API (CSRF header via qorgauFetch).
(function () {
  "use strict";
  document.querySelectorAll("button.replay").forEach(function (btn) {
    btn.addEventListener("click", function () {
      btn.disabled = true;
      window.qorgauFetch("/api/v1/deliveries/replay", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ delivery_ids: [Number(btn.getAttribute("data-delivery"))] })
      }).then(function (resp) {
        btn.textContent = resp.ok ? "✓" : "✗";
      });
    });
  });
})();
