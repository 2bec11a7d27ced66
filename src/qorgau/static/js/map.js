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

  var map = L.map("map", { minZoom: 3, maxZoom: EMBED ? 12 : 18, zoomSnap: 1, worldCopyJump: false });
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
    if (controller) { controller.abort(); }
    controller = new AbortController();
    var signal = controller.signal, names = activeLayers(), base = filterParams();
    Object.keys(groups).forEach(function (n) { if (names.indexOf(n) < 0) { groups[n].clearLayers(); } });
    if (!EMBED) { $("exportlink").href = API + "/export.geojson?" + base.toString(); }
    if (names.indexOf("enterprises") < 0) { $("maptotal").textContent = "—"; }
    names.forEach(function (name) {
      var p = new URLSearchParams(base);
      p.set("bbox", viewport());
      p.set("zoom", String(map.getZoom()));
      var url;
      if (EMBED) { url = API + "/embed/clusters?" + p.toString(); }
      else { p.set("layers", name); url = API + "/clusters?" + p.toString(); }
      fetcher(url, { signal: signal }).then(function (r) {
        if (!r.ok) { throw new Error(r.status); }
        return r.json();
      }).then(function (data) {
        var res = EMBED ? data : data.layers[name];
        draw(name, res);
        if (name === "enterprises") {
          $("maptotal").textContent = res.total.toLocaleString();
          shell.setAttribute("data-total", String(res.total));
        }
      }).catch(function (e) {
        if (e.name !== "AbortError") { $("maptotal").textContent = T.error; }
      });
    });
  }

  function maxBand(row, off) {
    for (var b = 3; b >= 0; b--) { if (row[off + b] > 0) { return b; } }
    return 0;
  }

  function draw(name, res) {
    var g = group(name), cf = res.cluster_fields, pf = res.point_fields;
    g.clearLayers();
    var iCount = cf.indexOf("count"), iLon = cf.indexOf("lon"), iLat = cf.indexOf("lat"),
      iLow = cf.indexOf("low");
    res.clusters.forEach(function (row) {
      var n = row[iCount], size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : 48;
      var band = maxBand(row, iLow);
      var icon = L.divIcon({ className: "cl layer-" + name + " band-" + band,
        html: "<span>" + (n >= 10000 ? Math.round(n / 1000) + "k" : n) + "</span>",
        iconSize: [size, size] });
      var m = L.marker([row[iLat], row[iLon]], { icon: icon, keyboard: true,
        title: n + " " + T.enterprises });
      m.on("click", function () { map.setView([row[iLat], row[iLon]], Math.min(map.getZoom() + 2, map.getMaxZoom())); });
      g.addLayer(m);
    });
    var pLon = pf.indexOf("lon"), pLat = pf.indexOf("lat"), pRisk = pf.indexOf("risk"),
      pId = pf.indexOf("id");
    res.points.forEach(function (row) {
      var m = L.circleMarker([row[pLat], row[pLon]], { radius: name === "enterprises" ? 7 : 10,
        className: "pt layer-" + name + " band-" + row[pRisk], weight: 2,
        fill: name === "enterprises" });
      if (pId >= 0 && !EMBED) {
        m.on("click", function () { openCard(row[pId]); });
      }
      g.addLayer(m);
    });
  }

  map.on("moveend", refresh);
  if (!EMBED) {
    $("mapfilters").addEventListener("change", refresh);
    $("mapfilters").addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
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
        [T.size, reg.size_band], [T.hazardous, reg.hazardous ? T.yes : T.no],
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
  var streams = {};
  function toggleLive(input) {
    var name = input.value;
    if (!input.checked) {
      if (streams[name]) { streams[name].close(); delete streams[name]; }
      group(name).clearLayers();
      return;
    }
    var url = input.getAttribute("data-live-url");
    if (!url) { return; }
    streams[name] = new EventSource(url);
    streams[name].onmessage = function (ev) {
      var a = JSON.parse(ev.data);
      if (a.lon !== undefined && a.lat !== undefined) {
        group(name).addLayer(L.circleMarker([a.lat, a.lon], { radius: 9, className: "pt live" }));
      }
    };
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
      var row = el("div"), sw = el("span", null, "swatch q" + i);
      row.appendChild(sw);
      var hi = i < bins.length ? bins[i] : (nums.length ? nums[nums.length - 1] : 0);
      row.appendChild(document.createTextNode(" " + (i === 0 ? lo : bins[i - 1]) + " – " + hi));
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
