// Alarm console: live feed over SSE, a WebAudio beep for life-safety alarms (no audio file),
// and a re-fetch of the sensor tiles / alarm lists / withdrawal panel on every event and
// every 5 s.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) { return; }
  var site = root.getAttribute("data-site");
  // the refreshed parts and the stream's alarm texts in the language the page was opened in
  // (a "?lang=" link, a shared screen), not the account's: they had come in that instead
  var lang = "lang=" + encodeURIComponent(document.documentElement.lang || "ru");
  // kind labels in the page's language: a danger signal comes as fields, not as a text
  var kinds = JSON.parse(root.getAttribute("data-kinds") || "{}");
  var state = document.getElementById("livestate");
  var banner = document.getElementById("banner");
  var live = document.getElementById("live");
  var soundBtn = document.getElementById("sound");
  var audio = null;
  var pending = null;

  soundBtn.addEventListener("click", function () {
    // Browsers allow audio only after a user gesture: this button is that gesture.
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    audio.resume();
    soundBtn.textContent = "🔔";
    beep(1);
  });

  function beep(times) {
    if (!audio) { return; }
    for (var i = 0; i < times; i++) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = i % 2 ? 660 : 880;
      gain.gain.value = 0.15;
      osc.connect(gain); gain.connect(audio.destination);
      var t = audio.currentTime + i * 0.35;
      osc.start(t); osc.stop(t + 0.25);
    }
  }

  function typing() {
    // a form being filled in (a shelve reason) is not wiped by a refresh
    var el = document.activeElement;
    return el && live.contains(el) && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }

  function refresh() {
    // Coalesce bursts of events into one fetch.
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      if (typing()) { refresh(); return; }
      window.qorgauFetch("/alarms/sites/" + site + "/live?" + lang).then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (html === null || typing()) { return; }
        var done = document.getElementById("withdrawals-done");
        var opened = done && done.open;
        // an alarm's "more actions" an operator opened stays open across the refresh
        var more = Array.prototype.map.call(
          live.querySelectorAll("details.more-actions[open]"), function (d) { return d.id; });
        live.innerHTML = html;
        more.forEach(function (id) {
          var d = document.getElementById(id);
          if (d) { d.open = true; }
        });
        done = document.getElementById("withdrawals-done");
        if (done && opened) { done.open = true; }
      });
    }, 150);
  }

  // the count still inside, at once; the fragment (people, completion) follows
  function withdrawal(data) {
    var box = live.querySelector('[data-withdrawal="' + Number(data.id) + '"]');
    var n = box && box.querySelector("h2 .inside");
    if (n) { n.textContent = String(data.inside); }
    var total = box && box.querySelector("h2 .total");
    if (total && data.total !== undefined) { total.textContent = String(data.total); }
  }

  function show(data, lifeSafety) {
    if (data.to !== "unacknowledged") { return; }
    announce(data, lifeSafety);
  }

  function announce(data, lifeSafety) {
    // an alarm's text in this console's language (the stream's `text`), else the kind's
    // label with the signal's own symbols ("CH4-1 (L1): CH4 1.8 ≥ 1.5")
    var text = data.text || (data.kind + " · " + (kinds[data.kind] || data.kind) + ": " +
      data.message);
    banner.textContent = (lifeSafety ? "⚠ " : "") + text;
    banner.classList.remove("hidden");
    banner.classList.toggle("ls", !!lifeSafety);
    beep(lifeSafety ? 6 : 1);
  }

  // a danger signal comes ahead of its alarm record (which replaces it in the banner); the
  // worker and a sentinel process may both send one for the same reading
  var lastDanger = "";
  function danger(data) {
    var key = data.device + "|" + data.kind + "|" + data.t;
    if (key === lastDanger) { return; }
    lastDanger = key;
    announce(data, true);
  }

  var es = new EventSource("/api/v1/alarms/stream?site_id=" + encodeURIComponent(site) +
    "&" + lang);
  es.onopen = function () { state.textContent = state.getAttribute("data-live") || "● live"; };
  es.onerror = function () { state.textContent = "○ …"; };
  es.addEventListener("lifesafety", function (e) { show(JSON.parse(e.data), true); refresh(); });
  es.addEventListener("alarm", function (e) { show(JSON.parse(e.data), false); refresh(); });
  es.addEventListener("danger", function (e) { danger(JSON.parse(e.data)); refresh(); });
  es.addEventListener("withdrawal", function (e) { withdrawal(JSON.parse(e.data)); refresh(); });
  // Without events too: sensor values and trends (written every few seconds, no event of
  // their own), and a worker or sentinel that went silent sends none.
  setInterval(refresh, 5000);
})();
