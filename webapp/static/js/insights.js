// The insight dashboard's charts (pages/insights/dashboard.html): each <canvas data-chart="..."> carries
// its data as JSON (type, labels, datasets, percent); the table beside it holds the same figures.
// Chart.js is vendored at static/vendor/chart.umd.min.js; no inline script under the page's CSP.
(function () {
  "use strict";
  function draw() {
    if (typeof window.Chart === "undefined") return;
    var locale = document.documentElement.lang || "en";
    var percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
    var number = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var format = spec.percent ? percent.format : number.format;
      new window.Chart(canvas, {
        type: spec.type,
        data: { labels: spec.labels, datasets: spec.datasets },
        options: {
          locale: locale,
          animation: false,
          maintainAspectRatio: false,
          scales: { y: { beginAtZero: true, ticks: { callback: function (value) { return format(value); } } } },
          plugins: { tooltip: { callbacks: { label: function (item) { return item.dataset.label + ": " + format(item.parsed.y); } } } }
        }
      });
      canvas.setAttribute("data-drawn", "true");
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
