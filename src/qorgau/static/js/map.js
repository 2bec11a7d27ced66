// Digital Map of Enterprises: Leaflet + server-side clusters (no inline JS: the CSP forbids it).
(function () {
  "use strict";
  var shell = document.getElementById("mapshell");
  if (!shell || !window.L) { return; }
  var T = JSON.parse(document.getElementById("map-strings").textContent);
  var EMBED = shell.getAttribute("data-mode") === "embed";
  var API = "/api/v1/map";
  var BANDS = ["low", "medium", "high", "very_high"];
  var PALETTE = ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"];
  var fetcher = window.qorgauFetch || function (u, o) { return fetch(u, o); };
  var $ = function (id) { return document.getElementById(id); };

  // Quarter zoom steps let the country fill a phone's width; the server clusters at the integer
  // zoom below (cells then look a little wider apart, never overlap more).
  var map = L.map("map", { minZoom: 3, maxZoom: EMBED ? 12 : 18, zoomSnap: 0.25, zoomDelta: 1,
    worldCopyJump: false });
  function zoomLevel() { return Math.max(0, Math.floor(map.getZoom() + 1e-6)); }
  // Plain "Leaflet" prefix (Leaflet 1.9 adds a flag icon by default); the data attribution stays.
  map.attributionControl.setPrefix('<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">Leaflet</a>');
  map.attributionControl.addAttribution(shell.getAttribute("data-attribution"));
  var tiles = shell.getAttribute("data-tile-url");
  if (tiles) { L.tileLayer(tiles, { maxZoom: 18 }).addTo(map); }
  map.fitBounds([[40.6, 46.5], [55.4, 87.3]]);
  map.createPane("regions").style.zIndex = 350;

  // --- region boundaries (feature 0 is the country outline: drawn, never clickable) --------
  var regionLayer = null, regionFeatures = {}, choroValues = null;
  fetcher(API + "/regions.geojson").then(function (r) { return r.json(); }).then(function (gj) {
    var outline = L.geoJSON(gj.features[0], { pane: "regions", interactive: false,
      style: { color: "#17212b", weight: 2, fill: false } });
    regionLayer = L.geoJSON({ type: "FeatureCollection", features: gj.features.slice(1) }, {
      pane: "regions", style: regionStyle, onEachFeature: function (f, layer) {
        regionFeatures[f.properties.iso] = layer;
        layer.bindTooltip(f.properties["name_" + document.documentElement.lang] || f.properties.name_en);
        if (!EMBED) { layer.on("click", function () { pickRegion(f.properties.iso, layer); }); }
      } }).addTo(map);
    outline.addTo(map);
    var start = shell.getAttribute("data-region") || onlyRegion();
    if (start && regionFeatures[start]) { map.fitBounds(regionFeatures[start].getBounds()); }
    refresh();
  });

  function onlyRegion() {
    var scope = (shell.getAttribute("data-scope-regions") || "").split(",").filter(Boolean);
    return scope.length === 1 ? scope[0] : "";
  }

  function regionStyle(f) {
    var style = { color: "#4d5b67", weight: 1, fillOpacity: 0.04, fillColor: "#0b6e4f" };
    if (choroValues) {
      var v = choroValues.values[f.properties.iso];
      style.fillOpacity = v === undefined || v === null ? 0.05 : 0.75;
      style.fillColor = v === undefined || v === null ? "#cccccc" : PALETTE[binOf(v)];
    }
    return style;
  }

  function pickRegion(iso, layer) {
    var sel = $("f-region");
    if (choroValues) { return; }
    if (sel && Array.prototype.some.call(sel.options, function (o) { return o.value === iso; })) {
      sel.value = iso;
    }
    map.fitBounds(layer.getBounds());
  }

  // --- filters -----------------------------------------------------------------------------
  function filterParams() {
    var p = new URLSearchParams();
    if (EMBED) {
      if (shell.getAttribute("data-region")) { p.set("region", shell.getAttribute("data-region")); }
      return p;
    }
    ["region", "activity", "size", "risk"].forEach(function (k) {
      var el = $("f-" + k);
      if (el && el.value) { p.set(k, el.value); }
    });
    if ($("f-hazardous").checked) { p.set("hazardous", "true"); }
    var q = $("f-q").value.trim();
    if (q.length >= 2) { p.set("q", q); }
    return p;
  }

  function addPlannedRange(p) {
    ["planned_from", "planned_to"].forEach(function (k) {
      var el = $("f-" + k);
      if (el && el.value) { p.set(k, el.value); }
    });
  }

  function viewport() {
    var b = map.getBounds();
    var clamp = function (v, lo, hi) { return Math.min(hi, Math.max(lo, v)); };
    return [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -85, 85),
            clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -85, 85)]
      .map(function (v) { return v.toFixed(5); }).join(",");
  }

  function activeLayers() {
    if (EMBED) { return ["enterprises"]; }
    return Array.prototype.filter.call(document.querySelectorAll("input[name=layer]"), function (i) {
      return i.checked && !i.disabled && (i.getAttribute("data-kind") === "base" ||
        i.getAttribute("data-kind") === "flag");
    }).map(function (i) { return i.value; });
  }

  // --- clusters ----------------------------------------------------------------------------
  var groups = {}, controller = null;
  function group(name) {
    if (!groups[name]) { groups[name] = L.layerGroup().addTo(map); }
    return groups[name];
  }

  function refresh() {
    if (choroValues) { return; }
    riskLegend();
    if (controller) { controller.abort(); }
    controller = new AbortController();
    var signal = controller.signal, names = activeLayers(), base = filterParams();
    Object.keys(groups).forEach(function (n) {
      if (names.indexOf(n) < 0 && !streams[n]) { groups[n].clearLayers(); }  // live layers stay
    });
    if (!EMBED) { $("exportlink").href = API + "/export.geojson?" + base.toString(); }
    if (names.indexOf("enterprises") < 0) { $("maptotal").textContent = "—"; }
    names.forEach(function (name) {
      var p = new URLSearchParams(base);
      p.set("bbox", viewport());
      p.set("zoom", String(zoomLevel()));
      var url;
      if (name === "planned_inspections") { addPlannedRange(p); }  // only this layer's request
      if (EMBED) { url = API + "/embed/clusters?" + p.toString(); }
      else { p.set("layers", name); url = API + "/clusters?" + p.toString(); }
      fetcher(url, { signal: signal }).then(function (r) {
        if (r.status === 422) {
          return r.json().then(function (b) {
            var loc = (b.detail && b.detail[0] && b.detail[0].loc) || [], e = new Error(T.error);
            e.range = String(loc[loc.length - 1]).indexOf("planned_") === 0;
            throw e;
          });
        }
        if (!r.ok) { throw new Error(T.error); }
        return r.json();
      }).then(function (data) {
        var res = EMBED ? data : data.layers[name];
        if (name === "planned_inspections") { rangeError(false); }
        draw(name, res);
        if (name === "enterprises") {
          $("maptotal").textContent = res.total.toLocaleString();
          shell.setAttribute("data-total", String(res.total));
        }
      }).catch(function (e) {
        if (e.name === "AbortError") { return; }
        if (e.range) { group(name).clearLayers(); rangeError(true); return; }
        $("maptotal").textContent = T.error;
      });
    });
  }

  // A date range the server refuses: say so beside the dates, not in the enterprise count.
  function rangeError(on) {
    var msg = $("planned-error");
    if (!msg) { return; }
    msg.hidden = !on;
    msg.textContent = on ? T.bad_range : "";
    ["f-planned_from", "f-planned_to"].forEach(function (id) {
      if (on) { $(id).setAttribute("aria-invalid", "true"); } else { $(id).removeAttribute("aria-invalid"); }
    });
  }

  function maxBand(row, off) {
    for (var b = 3; b >= 0; b--) { if (row[off + b] > 0) { return b; } }
    return 0;
  }

  // A flag layer's clusters sit where the enterprises' clusters are: draw them as smaller
  // badges pushed to a corner of their own (one corner per switched-on layer), not on top.
  var CORNERS = [[1, -1], [1, 1], [-1, -1], [-1, 1]];
  function badgeOffset(name) {
    var flags = activeLayers().filter(function (n) { return n !== "enterprises"; });
    var c = CORNERS[Math.max(0, flags.indexOf(name)) % CORNERS.length];
    return [c[0] * 18, c[1] * 18];
  }

  function draw(name, res) {
    var g = group(name), cf = res.cluster_fields, pf = res.point_fields;
    g.clearLayers();
    var iCount = cf.indexOf("count"), iLon = cf.indexOf("lon"), iLat = cf.indexOf("lat"),
      iLow = cf.indexOf("low");
    var badge = name !== "enterprises" && !EMBED, off = badge ? badgeOffset(name) : [0, 0];
    res.clusters.forEach(function (row) {
      var n = row[iCount], size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 48;
      if (badge) { size = n < 100 ? 24 : 30; }
      var band = maxBand(row, iLow);
      var icon = L.divIcon({ className: "cl layer-" + name + " band-" + band,
        html: "<span>" + (n >= 10000 ? Math.round(n / 1000) + "k" : n) + "</span>",
        iconSize: [size, size], iconAnchor: [size / 2 - off[0], size / 2 - off[1]] });
      var m = L.marker([row[iLat], row[iLon]], { icon: icon, keyboard: true,
        title: n + " " + T.enterprises, zIndexOffset: badge ? 500 : 0 });
      m.on("click", function () { map.setView([row[iLat], row[iLon]], Math.min(map.getZoom() + 2, map.getMaxZoom())); });
      g.addLayer(m);
    });
    var pLon = pf.indexOf("lon"), pLat = pf.indexOf("lat"), pRisk = pf.indexOf("risk"),
      pId = pf.indexOf("id");
    res.points.forEach(function (row) {
      var m = badge
        ? L.marker([row[pLat], row[pLon]], { zIndexOffset: 500, keyboard: true,
          icon: L.divIcon({ className: "fp layer-" + name, iconSize: [12, 12],
            iconAnchor: [6 - off[0] / 2, 6 - off[1] / 2] }) })
        : L.circleMarker([row[pLat], row[pLon]], { radius: name === "enterprises" ? 7 : 10,
          className: "pt layer-" + name + " band-" + row[pRisk], weight: 2,
          fill: name === "enterprises", fillOpacity: 0.9 });
      if (pId >= 0 && !EMBED) {
        m.on("click", function () { openCard(row[pId]); });
      }
      g.addLayer(m);
    });
  }

  map.on("moveend", refresh);
  if (!EMBED) {
    // Phone: filters and layers sit in a collapsed panel below the map.
    $("paneltoggle").addEventListener("click", function () {
      var open = shell.classList.toggle("panel-open");
      $("paneltoggle").setAttribute("aria-expanded", open ? "true" : "false");
    });
    $("mapfilters").addEventListener("change", refresh);
    $("mapfilters").addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
    ["f-planned_from", "f-planned_to"].forEach(function (id) {
      if ($(id)) { $(id).addEventListener("change", refresh); }
    });
    document.querySelectorAll("input[name=layer]").forEach(function (i) {
      i.addEventListener("change", function () {
        if (i.getAttribute("data-kind") === "live") { toggleLive(i); } else { refresh(); }
      });
    });
  }

  // --- legend ------------------------------------------------------------------------------
  function riskLegend() {
    var el = $("legend");
    el.textContent = "";
    var h = document.createElement("strong");
    h.textContent = T.legend_risk;
    el.appendChild(h);
    BANDS.forEach(function (b, i) {
      var row = document.createElement("div");
      var sw = document.createElement("span");
      sw.className = "swatch band-" + i;
      row.appendChild(sw);
      row.appendChild(document.createTextNode(" " + T[b]));
      el.appendChild(row);
    });
    // one entry per switched-on layer drawn over the enterprises (flag and live layers)
    var shown = EMBED ? [] : Array.prototype.filter.call(
      document.querySelectorAll("input[name=layer]"), function (i) {
        return i.checked && !i.disabled && i.getAttribute("data-kind") !== "base";
      });
    if (!shown.length) { return; }
    var lh = document.createElement("strong");
    lh.className = "legendlayers";
    lh.textContent = T.legend_layers;
    el.appendChild(lh);
    shown.forEach(function (i) {
      var row = document.createElement("div");
      var sw = document.createElement("span");
      sw.className = "swatch square layer-" + i.value;
      row.appendChild(sw);
      row.appendChild(document.createTextNode(" " + (i.getAttribute("data-label") || i.value)));
      el.appendChild(row);
    });
  }
  riskLegend();

  // --- search ------------------------------------------------------------------------------
  if (!EMBED) {
    var timer = null;
    $("f-q").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { search($("f-q").value.trim()); refresh(); }, 300);
    });
  }

  function search(q) {
    var list = $("searchhits");
    list.textContent = "";
    if (q.length < 2) { list.hidden = true; return; }
    fetcher(API + "/search?q=" + encodeURIComponent(q)).then(function (r) { return r.json(); })
      .then(function (hits) {
        list.hidden = false;
        if (!hits.length) { var li = document.createElement("li"); li.textContent = T.nothing; list.appendChild(li); }
        hits.forEach(function (h) {
          var li = document.createElement("li"), b = document.createElement("button");
          b.type = "button";
          b.textContent = h.name + " · " + h.bin;
          b.addEventListener("click", function () {
            map.setView([h.lat, h.lon], 15);
            openCard(h.id);
          });
          li.appendChild(b);
          list.appendChild(li);
        });
      });
  }

  // --- enterprise card ---------------------------------------------------------------------
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }

  function facts(pairs) {
    var dl = el("dl", null, "facts");
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === "") { return; }
      dl.appendChild(el("dt", p[0]));
      dl.appendChild(el("dd", p[1]));
    });
    return dl;
  }

  function openCard(id) {
    var card = $("card"), body = $("cardbody");
    body.textContent = T.loading;
    card.hidden = false;
    fetcher(API + "/enterprises/" + id + "/card").then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (c) {
      body.textContent = "";
      var reg = c.parts.enterprises || {};
      body.appendChild(el("h2", reg.name));
      var risk = c.risk.band ? T[c.risk.band] + " (" + T.score + " " + c.risk.score + ")" : T.no_data;
      body.appendChild(facts([[T.bin, reg.bin], [T.address, reg.address], [T.activity, reg.activity_code],
        [T.size, T["size_" + reg.size_band] || reg.size_band], [T.hazardous, reg.hazardous ? T.yes : T.no],
        [T.headcount, reg.headcount], [T.risk, risk],
        [T.trend, (reg.headcount_trend || []).map(function (t) { return t.year + ": " + t.headcount; }).join(" · ")]]));
      var inj = c.parts.injuries;
      if (inj) {
        body.appendChild(el("h3", T.injuries));
        body.appendChild(facts([[T.accidents_12m, inj.accidents_12m], [T.fatalities_12m, inj.fatalities_12m],
          [T.rate_per_1000, inj.rate_per_1000], [T.sector_rate_per_1000, inj.sector_rate_per_1000]]));
      }
      var ins = c.parts.insurance_gaps;
      if (ins) {
        body.appendChild(el("h3", T.insurance_gaps));
        body.appendChild(facts([[T.insured, ins.insured ? T.yes : T.no], [T.policy_no, ins.policy_no],
          [T.valid_to, ins.valid_to], [T.open_gaps, (ins.open_gaps || []).join(", ") || "—"]]));
      }
      var cc = c.parts.concealment;
      if (cc) {
        body.appendChild(el("h3", T.concealment));
        body.appendChild(facts([[T.open_cases, cc.open_cases], [T.confirmed_cases, cc.confirmed_cases],
          [T.max_probability, cc.open_cases ? Math.round(100 * cc.max_probability) + " %" : "—"],
          [T.case_kinds, (cc.kinds || []).map(function (k) { return T["kind_" + k] || k; }).join(", ")]]));
      }
      var ov = c.parts.open_violations;
      if (ov) {
        body.appendChild(el("h3", T.open_violations));
        body.appendChild(facts([[T.open_violations_n, ov.open_violations]]));
      }
      var pl = c.parts.planned_inspections;
      if (pl) {
        body.appendChild(el("h3", T.planned_inspections));
        if (!pl.planned.length) { body.appendChild(el("p", T.planned_none, "muted")); }
        pl.planned.forEach(function (p) {
          body.appendChild(facts([[T["authority_" + p.authority] || p.authority, p.period],
            [T.plan_rank, p.rank]]));
        });
      }
      var rk = c.parts.high_risk;
      if (rk) {
        body.appendChild(el("h3", T.high_risk));
        body.appendChild(facts([[T.level, rk.level ? T[rk.level] || rk.level : T.no_data]]));
      }
      if (c.unavailable.length) {
        body.appendChild(el("p", T.unavailable + ": " + c.unavailable.join(", "), "muted"));
      }
      var links = el("ul", null, "cardlinks");
      Object.keys(c.links).forEach(function (k) {
        var a = el("a", (T[k] || k) + " — " + T.open_full);
        a.href = c.links[k];
        var li = el("li");
        li.appendChild(a);
        links.appendChild(li);
      });
      body.appendChild(links);
    }).catch(function () { body.textContent = T.error; });
  }
  if (!EMBED) {
    $("cardclose").addEventListener("click", function () { $("card").hidden = true; });
  }

  // --- live layers (SSE from the owning domain) --------------------------------------------
  // The alarms stream sends named events ("alarm", "lifesafety", "withdrawal") whose JSON has
  // alarm_id, site_id, to (new state), kind, priority, life_safety, message — no coordinates.
  // The current open alarms come first from /api/v1/map/points/<layer> (with positions); site
  // positions for events about sites not drawn yet come from /api/v1/map/sites?ids=.
  var streams = {}, sitePos = {}, liveMarkers = {};
  function liveMarker(name, a) {
    var g = group(name), key = name + ":" + a.alarm_id, old = liveMarkers[key];
    if (old) { g.removeLayer(old); delete liveMarkers[key]; }
    if (a.state === "normal") { return; }  // resolved: the alarm leaves the map
    var pos = sitePos[a.site_id];
    if (!pos) { return; }
    var cls = "pt live" + (a.state === "acknowledged" ? " acked" : "") + (a.life_safety ? " lifesafety" : "");
    var m = L.circleMarker([pos[1], pos[0]], { radius: a.life_safety ? 11 : 9, className: cls, weight: 2,
      fillOpacity: 0.9 });
    m.bindTooltip((a.message || a.kind) + " · " + (T["state_" + a.state] || a.state));
    if (a.enterprise_id) { m.on("click", function () { openCard(a.enterprise_id); }); }
    liveMarkers[key] = m;
    g.addLayer(m);
  }

  function loadLivePoints(name) {
    return fetcher(API + "/points/" + encodeURIComponent(name)).then(function (r) {
      if (!r.ok) { throw new Error(r.status); }
      return r.json();
    }).then(function (rows) {
      rows.forEach(function (a) { sitePos[a.site_id] = [a.lon, a.lat]; liveMarker(name, a); });
    });
  }

  function onLiveEvent(name, ev) {
    var e;
    try { e = JSON.parse(ev.data); } catch (err) { return; }
    if (e.alarm_id === undefined) { return; }
    var a = { alarm_id: e.alarm_id, site_id: e.site_id, state: e.to, kind: e.kind,
      life_safety: e.life_safety, message: e.message, enterprise_id: e.enterprise_id };
    if (sitePos[a.site_id] || a.state === "normal") { liveMarker(name, a); return; }
    fetcher(API + "/sites?ids=" + encodeURIComponent(a.site_id)).then(function (r) { return r.json(); })
      .then(function (pos) {
        if (pos[a.site_id]) { sitePos[a.site_id] = pos[a.site_id]; liveMarker(name, a); }
      }).catch(function () {});
  }

  function toggleLive(input) {
    var name = input.value;
    if (!input.checked) {
      if (streams[name]) { streams[name].close(); delete streams[name]; }
      group(name).clearLayers();
      Object.keys(liveMarkers).forEach(function (k) { if (k.indexOf(name + ":") === 0) { delete liveMarkers[k]; } });
      return;
    }
    var url = input.getAttribute("data-live-url");
    loadLivePoints(name).catch(function () { $("maptotal").textContent = T.error; }).then(function () {
      if (!url || !input.checked || streams[name]) { return; }
      var es = new EventSource(url);
      ["alarm", "lifesafety", "message"].forEach(function (type) {
        es.addEventListener(type, function (ev) { onLiveEvent(name, ev); });
      });
      es.addEventListener("withdrawal", function () { loadLivePoints(name); });
      streams[name] = es;
    });
  }

  // --- choropleth --------------------------------------------------------------------------
  var bins = [];
  function binOf(v) {
    for (var i = 0; i < bins.length; i++) { if (v <= bins[i]) { return i; } }
    return PALETTE.length - 1;
  }

  var metric = $("metric");
  if (metric) {
    metric.addEventListener("change", function () {
      if (!metric.value) {
        choroValues = null;
        $("choro-table").hidden = true;
        regionLayer.setStyle(regionStyle);
        riskLegend();
        refresh();
        return;
      }
      fetcher(API + "/choropleth?metric=" + encodeURIComponent(metric.value))
        .then(function (r) { return r.json(); }).then(showChoropleth);
    });
  }

  function showChoropleth(data) {
    Object.keys(groups).forEach(function (n) { groups[n].clearLayers(); });
    var values = {}, nums = [];
    data.rows.forEach(function (r) { values[r.region] = r.value; if (r.value !== null) { nums.push(r.value); } });
    nums.sort(function (a, b) { return a - b; });
    bins = [0.2, 0.4, 0.6, 0.8].map(function (q) { return nums.length ? nums[Math.floor(q * (nums.length - 1))] : 0; });
    choroValues = { values: values };
    regionLayer.setStyle(regionStyle);
    var lg = $("legend");
    lg.textContent = "";
    lg.appendChild(el("strong", data.label + (data.unit ? " (" + data.unit + ")" : "")));
    var lo = nums.length ? nums[0] : 0;
    PALETTE.forEach(function (_, i) {
      if (!nums.length) { return; }  // no region has a value: nothing to explain
      var from = i === 0 ? lo : bins[i - 1];
      var hi = i < bins.length ? bins[i] : nums[nums.length - 1];
      // binOf puts a value in the first class it fits, so a class [x, x] after another one
      // ending at x never gets a region (few regions or ties): leave it out of the legend
      if (i > 0 && from === hi) { return; }
      var row = el("div"), sw = el("span", null, "swatch q" + i);
      row.appendChild(sw);
      row.appendChild(document.createTextNode(" " + (from === hi ? from : from + " – " + hi)));
      lg.appendChild(row);
    });
    if (!data.available) { lg.appendChild(el("p", data.note, "muted")); }
    $("choro-caption").textContent = data.label;
    var tbody = $("choro-rows");
    tbody.textContent = "";
    data.rows.forEach(function (r) {
      var tr = el("tr");
      [r.name, r.value === null ? "—" : r.value, r.numerator, r.denominator].forEach(function (v) { tr.appendChild(el("td", v)); });
      tbody.appendChild(tr);
    });
    $("choro-table").hidden = false;
  }
})();
