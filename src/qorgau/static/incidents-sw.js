// Service worker for the anonymous hazard form: keeps the page usable offline.
// Reports made offline are queued in IndexedDB by /static/js/incidents.js and sent when online.
var CACHE = "qorgau-hazard-v1";
var SHELL = ["/hazard", "/hazard/status", "/static/css/qorgau.css", "/static/css/incidents.css",
             "/static/js/qorgau.js", "/static/js/incidents.js", "/static/img/qorgau.svg"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(SHELL); }));
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }));
  self.clients.claim();
});

self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== location.origin || url.pathname.indexOf("/api/") === 0) { return; }
  // Network first (fresh language and status), cache as the offline fallback.
  event.respondWith(fetch(req).then(function (res) {
    if (res.ok && SHELL.indexOf(url.pathname) >= 0) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { c.put(url.pathname, copy); });
    }
    return res;
  }).catch(function () {
    return caches.match(url.pathname).then(function (hit) { return hit || Response.error(); });
  }));
});
