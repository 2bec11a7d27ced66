// Alarm console: live feed over SSE, a WebAudio beep for life-safety alarms (no audio file),
// and a re-fetch of the alarm lists / withdrawal panel on every event.
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) { return; }
  var site = root.getAttribute("data-site");
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

  function refresh() {
    // Coalesce bursts of events into one fetch.
    if (pending) { return; }
    pending = setTimeout(function () {
      pending = null;
      window.qorgauFetch("/alarms/sites/" + site + "/live").then(function (r) {
        return r.ok ? r.text() : null;
      }).then(function (html) { if (html !== null) { live.innerHTML = html; } });
    }, 150);
  }

  function show(data, lifeSafety) {
    if (data.to !== "unacknowledged") { return; }
    announce(data, lifeSafety);
  }

  function announce(data, lifeSafety) {
    banner.textContent = (lifeSafety ? "⚠ " : "") + data.kind + ": " + data.message;
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

  var es = new EventSource("/api/v1/alarms/stream?site_id=" + encodeURIComponent(site));
  es.onopen = function () { state.textContent = state.getAttribute("data-live") || "● live"; };
  es.onerror = function () { state.textContent = "○ …"; };
  es.addEventListener("lifesafety", function (e) { show(JSON.parse(e.data), true); refresh(); });
  es.addEventListener("alarm", function (e) { show(JSON.parse(e.data), false); refresh(); });
  es.addEventListener("danger", function (e) { danger(JSON.parse(e.data)); refresh(); });
  es.addEventListener("withdrawal", function () { refresh(); });
  // Without events too: a worker or sentinel that went silent sends none.
  setInterval(refresh, 15000);
})();
