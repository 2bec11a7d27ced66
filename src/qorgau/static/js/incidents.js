// Incidents pages: add victim rows; the anonymous hazard form with an offline queue.
(function () {
  "use strict";

  var add = document.getElementById("add-victim");
  if (add) {
    add.addEventListener("click", function () {
      var first = document.querySelector("#victims .victim");
      var copy = first.cloneNode(true);
      copy.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      document.getElementById("victims").appendChild(copy);
    });
  }

  var form = document.getElementById("hazard-form");
  if (!form) { return; }

  // --- a tiny IndexedDB queue (photos are Blobs, which localStorage cannot hold) ---
  var DB = "qorgau-hazards", STORE = "queue";
  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE, { autoIncrement: true }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function tx(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode);
        var out = fn(t.objectStore(STORE));
        t.oncomplete = function () { resolve(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { reject(t.error); };
      });
    });
  }
  function enqueue(entry) { return tx("readwrite", function (s) { return s.add(entry); }); }
  function all() {
    return open().then(function (db) {
      return new Promise(function (resolve) {
        var items = [], req = db.transaction(STORE).objectStore(STORE).openCursor();
        req.onsuccess = function () {
          var c = req.result;
          if (c) { items.push({ key: c.key, value: c.value }); c.continue(); } else { resolve(items); }
        };
      });
    });
  }
  function remove(key) { return tx("readwrite", function (s) { return s.delete(key); }); }

  function toEntry(fd) {
    var photo = fd.get("photo");
    return {
      bin: fd.get("bin"), kind: fd.get("kind"), description: fd.get("description"),
      location: fd.get("location") || "",
      photo: photo && photo.size ? photo : null, photoName: photo && photo.size ? photo.name : null
    };
  }
  function toFormData(e) {
    var fd = new FormData();
    fd.append("bin", e.bin); fd.append("kind", e.kind);
    fd.append("description", e.description); fd.append("location", e.location);
    if (e.photo) { fd.append("photo", e.photo, e.photoName || "photo.jpg"); }
    return fd;
  }
  function send(entry) {
    return fetch("/api/v1/hazards/upload", { method: "POST", body: toFormData(entry), credentials: "omit" });
  }
  function showCode(code) {
    document.getElementById("hazard-code").textContent = code;
    document.getElementById("hazard-status-link").href = "/hazard/status?code=" + encodeURIComponent(code);
    document.getElementById("hazard-result").hidden = false;
    form.hidden = true;
  }
  function flush() {
    if (!navigator.onLine || !window.indexedDB) { return; }
    all().then(function (items) {
      items.forEach(function (item) {
        send(item.value).then(function (r) {
          if (r.ok) { return r.json().then(function (b) { remove(item.key); showCode(b.code); }); }
          if (r.status >= 400 && r.status < 500 && r.status !== 429) { remove(item.key); }
        }).catch(function () { /* still offline: keep it */ });
      });
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var entry = toEntry(new FormData(form));
    var queue = function () {
      return enqueue(entry).then(function () {
        document.getElementById("hazard-queued").hidden = false; form.hidden = true;
      });
    };
    if (!navigator.onLine) { queue(); return; }
    send(entry).then(function (r) {
      return r.json().then(function (body) {
        if (r.ok) { showCode(body.code); return; }
        var msg = (body.detail || []).map(function (d) { return d.msg; }).join("; ");
        var p = document.createElement("p"); p.className = "alert"; p.setAttribute("role", "alert");
        p.textContent = msg || ("HTTP " + r.status);
        form.parentNode.insertBefore(p, form);
      });
    }).catch(queue);
  });

  window.addEventListener("online", flush);
  flush();
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/incidents-sw.js", { scope: "/hazard" }).catch(function () {});
  }
})();
