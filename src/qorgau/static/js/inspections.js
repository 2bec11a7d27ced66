// Offline-capable inspection checklist. Answers are kept in localStorage while the inspector
// works; "Finish" moves the inspection into an outbox (also in localStorage) with a UUID made on
// the device, and the outbox is sent whenever the browser is online. The server accepts each
// UUID once, so a submission re-sent after a lost response is stored only once.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  if (!form) { return; }
  var OUTBOX = "qorgau.inspections.outbox";
  var draftKey = "qorgau.inspections.draft." + form.dataset.enterprise + "." +
    (form.dataset.planItem || "") + "." + (form.dataset.followUp || "");
  var state = document.getElementById("netstate");
  var result = document.getElementById("result");

  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) || fallback; } catch (e) { return fallback; }
  }
  function save(key, value) { localStorage.setItem(key, JSON.stringify(value)); }
  function show(msg, bad) {
    state.hidden = false; state.textContent = msg; state.className = bad ? "alert" : "notice";
  }

  var draft = load(draftKey, null) || { started_at: new Date().toISOString(), answers: {}, photos: {} };
  // Restore answers typed before a reload (the page may have been reopened offline from cache).
  Object.keys(draft.answers).forEach(function (code) {
    var a = draft.answers[code];
    var radio = form.querySelector('input[name="r-' + code + '"][value="' + a.result + '"]');
    if (radio) { radio.checked = true; radio.closest("fieldset").classList.toggle("is-violation", a.result === "violation"); }
    if (form.elements["n-" + code]) { form.elements["n-" + code].value = a.note || ""; }
    if (form.elements["d-" + code]) { form.elements["d-" + code].value = a.due_days || 30; }
  });

  function readPhotos(input, code) {
    Array.prototype.slice.call(input.files, 0, 3).forEach(function (file) {
      var reader = new FileReader();
      reader.onload = function () {
        draft.photos[code] = (draft.photos[code] || []).concat([{ name: file.name, data_base64: reader.result }]).slice(-3);
        try { save(draftKey, draft); } catch (e) { show("photo too large for offline storage", true); }
      };
      reader.readAsDataURL(file);
    });
  }

  form.addEventListener("change", function (ev) {
    var t = ev.target, code = (t.name || "").slice(2), kind = (t.name || "").slice(0, 2);
    if (!code) { return; }
    var a = draft.answers[code] || { result: "na", note: "", due_days: 30 };
    if (kind === "r-") { a.result = t.value; t.closest("fieldset").classList.toggle("is-violation", t.value === "violation"); }
    if (kind === "n-") { a.note = t.value; }
    if (kind === "d-") { a.due_days = parseInt(t.value, 10) || 30; }
    if (kind === "p-") { readPhotos(t, code); return; }
    draft.answers[code] = a;
    save(draftKey, draft);
  });

  function send() {
    var box = load(OUTBOX, []);
    if (!box.length) { return; }
    if (!navigator.onLine) { show(form.dataset.msgOffline); return; }
    var item = box[0];
    window.qorgauFetch("/api/v1/inspections/submissions", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(item)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      var rest = load(OUTBOX, []).filter(function (x) { return x.client_uuid !== item.client_uuid; });
      if (res.status === 200 || res.status === 201) {
        save(OUTBOX, rest);
        show(form.dataset.msgSent);
        var a = document.createElement("a");
        a.href = "/inspections/records/" + res.body.id; a.textContent = " → #" + res.body.id;
        state.appendChild(a);
        send();
      } else if (res.status === 422 || res.status === 403 || res.status === 404) {
        // Rejected for good: drop it from the outbox but keep the draft so it can be fixed.
        save(OUTBOX, rest);
        save(draftKey, item._draft || draft);
        show(form.dataset.msgError + " " + (res.body.detail || []).map(function (d) {
          return (d.loc || []).slice(1).join(".") + ": " + d.msg; }).join("; "), true);
      }
    }).catch(function () { show(form.dataset.msgOffline); });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var answers = Object.keys(draft.answers).map(function (code) {
      var a = draft.answers[code];
      return { item_code: code, result: a.result, note: a.note || "", due_days: a.due_days || 30,
               photos: a.result === "violation" ? (draft.photos[code] || []) : [] };
    });
    if (!answers.length) { show(form.dataset.msgError + " —", true); return; }
    var item = {
      client_uuid: uuid(), enterprise_id: parseInt(form.dataset.enterprise, 10),
      started_at: draft.started_at, finished_at: new Date().toISOString(),
      note: form.elements.note.value, answers: answers
    };
    if (form.dataset.planItem) { item.plan_item_id = parseInt(form.dataset.planItem, 10); }
    if (form.dataset.followUp) { item.follow_up_of = parseInt(form.dataset.followUp, 10); }
    save(OUTBOX, load(OUTBOX, []).concat([item]));
    localStorage.removeItem(draftKey);
    show(form.dataset.msgSaved);
    send();
  });

  window.addEventListener("online", send);
  send();
})();
