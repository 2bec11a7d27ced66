// Dashboard trend chart: monthly injured and killed, from the indicators API (same filters).
(function () {
  "use strict";
  var el = document.getElementById("trend");
  if (!el || !window.Plotly) { return; }
  window.qorgauFetch(el.getAttribute("data-src")).then(function (r) { return r.json(); })
    .then(function (t) {
      var x = t.rows.map(function (r) { return r.label; });
      var injured = { x: x, y: t.rows.map(function (r) { return r.injured; }), type: "bar",
                      name: el.getAttribute("data-injured"), marker: { color: "#0b5fa5" } };
      var killed = { x: x, y: t.rows.map(function (r) { return r.fatal; }), type: "scatter",
                     mode: "lines+markers", name: el.getAttribute("data-killed"),
                     marker: { color: "#b42318" } };
      window.Plotly.newPlot(el, [injured, killed], {
        margin: { l: 40, r: 10, t: 30, b: 40 }, height: 320, legend: { orientation: "h", x: 0, y: 1.15 },
        xaxis: { type: "category" }
      }, { displayModeBar: false, responsive: true,
           // where geo traces would fetch map outlines (this chart has none; the bundle's other
           // addresses are map tiles and fonts, for map traces only): our own static files
           topojsonURL: "/static/vendor/plotly/" });
    });
})();
