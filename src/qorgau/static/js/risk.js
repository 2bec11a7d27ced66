// Risk pages: add more control rows to the new-assessment form (no inline scripts: CSP).
(function () {
  "use strict";
  var button = document.getElementById("add-control");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var rows = document.querySelectorAll("#controls .control-row");
    var last = rows[rows.length - 1];
    var copy = last.cloneNode(true);
    copy.querySelectorAll("input[type=text], input:not([type])").forEach(function (i) { i.value = ""; });
    var box = copy.querySelector("input[type=checkbox]");
    box.checked = false;
    box.value = String(rows.length);  // index of the row, so the server pairs it with its control
    last.parentNode.insertBefore(copy, button);
    copy.querySelector("input:not([type=checkbox])").focus();
  });
})();
