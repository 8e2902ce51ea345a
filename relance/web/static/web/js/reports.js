// The reports page's share chart (Chart.js, vendored): for each scenario step and channel, the share of
// invoices paid within 7 and 14 days of the reminder. Data from a json_script block (no inline script);
// the same figures are in the table below it. The aged balance chart is drawn by dashboard.js.
(function () {
  "use strict";
  const lang = document.documentElement.lang || "fr";
  const percent = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 0 });
  const colours = ["#2a6fdb", "#1e7b4f"];

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.source);
    if (!source || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const box = canvas.closest("[data-chart-box]");
    if (box) box.hidden = false;
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map((s, i) => ({
          label: s.label,
          data: s.values.map((v) => (v === null ? null : Number(v))),
          backgroundColor: colours[i % colours.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${percent.format(item.parsed.y)}` } } },
        scales: { y: { beginAtZero: true, max: 1, ticks: { callback: (value) => percent.format(value) } } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("canvas[data-share-chart]").forEach(draw);
  });
})();
