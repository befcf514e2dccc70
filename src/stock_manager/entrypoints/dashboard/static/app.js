// stockbot dashboard: equity charts (uPlot) from the JSON endpoints. No inline scripts (the page's CSP forbids them).
(function () {
  "use strict";

  function drawChart(el) {
    if (el.dataset.drawn === "1" || typeof uPlot === "undefined") return;
    el.dataset.drawn = "1";
    fetch(el.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (!data.dates.length) { el.textContent = "No settled session yet."; return; }
        var xs = data.dates.map(function (d) { return Date.parse(d + "T06:30:00Z") / 1000; });
        var equity = data.equity_krw.map(Number);
        var series = [{}, { label: "equity KRW", stroke: "#1d5fd1", width: 2,
                            value: function (u, v) { return v == null ? "-" : Math.round(v).toLocaleString(); } }];
        var columns = [xs, equity];
        var axes = [{}, { size: 70, values: function (u, vals) { return vals.map(function (v) { return Math.round(v / 1000).toLocaleString() + "k"; }); } }];
        var scales = { x: { time: true } };
        if (el.dataset.drawdown === "1") {
          columns.push(data.drawdown_pct.map(function (v) { return -Number(v); }));
          series.push({ label: "drawdown %", stroke: "#c62828", scale: "pct", width: 1, fill: "rgba(198,40,40,0.08)",
                        value: function (u, v) { return v == null ? "-" : v.toFixed(2) + "%"; } });
          axes.push({ scale: "pct", side: 1, size: 50, grid: { show: false },
                      values: function (u, vals) { return vals.map(function (v) { return v.toFixed(1) + "%"; }); } });
          scales.pct = { auto: true };
        }
        var width = Math.max(240, el.clientWidth || 300);
        var plot = new uPlot({ width: width, height: Number(el.dataset.height || 220), series: series, axes: axes,
                               scales: scales, legend: { live: true } }, columns, el);
        window.addEventListener("resize", function () { plot.setSize({ width: Math.max(240, el.clientWidth), height: plot.height }); });
      })
      .catch(function () { el.textContent = "The chart could not be loaded."; });
  }

  function drawAll(root) { (root || document).querySelectorAll(".equity-chart[data-src]").forEach(drawChart); }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
  // The venue selector applies on choice (its Show button does the same without scripts).
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "venue-select") e.target.form.submit();
  });
})();
