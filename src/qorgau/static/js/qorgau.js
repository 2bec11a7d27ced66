// qorgau shell behaviour: no inline scripts (the CSP forbids them), so pages hook in here.
(function () {
  "use strict";
  document.querySelectorAll("[data-toggle]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var target = document.getElementById(btn.getAttribute("data-toggle"));
      var open = target.classList.toggle("open");
      btn.setAttribute("aria-expanded", open ? "true" : "false");
    });
  });
  // API calls from our own pages carry the session's CSRF token in a header.
  var meta = document.querySelector('meta[name="csrf-token"]');
  window.qorgauFetch = function (url, options) {
    options = options || {};
    options.headers = options.headers || {};
    if (meta) { options.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
    options.credentials = "same-origin";
    return fetch(url, options);
  };
})();
