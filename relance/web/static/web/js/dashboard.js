// The dashboard's charts (Chart.js, vendored). The data comes from json_script blocks; the same
// figures are in the tables next to each chart, so the page reads without this script.
(function () {
  "use strict";
  const lang = document.documentElement.lang || "fr";

  function moneyFormat(currency, digits) {
    const options = { style: "currency", currency: currency || "EUR" };
    if (digits === 0) Object.assign(options, { minimumFractionDigits: 0, maximumFractionDigits: 0 });
    const format = new Intl.NumberFormat(lang, options);
    return (value) => format.format(value);
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.source);
    if (!source || typeof window.Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const money = moneyFormat(data.currency);
    const roundMoney = moneyFormat(data.currency, 0);
    const line = canvas.dataset.chart === "line";
    const box = canvas.closest("[data-chart-box]");
    if (box) box.hidden = false;
    new window.Chart(canvas, {
      type: line ? "line" : "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: data.title,
          data: data.values.map(Number),
          backgroundColor: line ? "rgba(42, 111, 219, 0.15)"
            : ["#1e7b4f", "#f4a261", "#e76f51", "#d1495b", "#b00020", "#6a040f"],
          borderColor: line ? "#2a6fdb" : undefined,
          fill: line,
          tension: 0.25,
        }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => money(item.parsed.y) } },
        },
        scales: { y: { beginAtZero: true, ticks: { callback: (value) => roundMoney(value) } } },
      },
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
