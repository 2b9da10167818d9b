/* The Dashboard's charts (templates/dashboard/index.html), drawn with the vendored Chart.js
   (cothon/static/cothon/vendor/chartjs/). The figures come from the page's
   <script type="application/json" id="dashboard-data"> (Django's json_script): no inline script,
   as the Content-Security-Policy requires. Each chart has a table of the same figures beside it. */
(function () {
  "use strict";

  var COLOURS = {
    primary: "#2453d6", primarySoft: "rgba(36, 83, 214, .16)", won: "#16794a", lost: "#c42b2b",
    grid: "#e3e7ee", text: "#344054", red: "#c42b2b", yellow: "#d99a00", green: "#16794a", track: "#e3e7ee"
  };
  var STAGE_COLOURS = ["#9db4f0", "#6f91ea", "#4570e0", "#2453d6", "#16794a"];
  var money = new Intl.NumberFormat("en-CA", { style: "currency", currency: "CAD", maximumFractionDigits: 0 });
  var moneyShort = new Intl.NumberFormat("en-CA", { style: "currency", currency: "CAD", notation: "compact", maximumFractionDigits: 1 });

  function integerTicks() {
    // Counts are whole numbers: no 0.5 tick.
    return { precision: 0, color: COLOURS.text };
  }

  var builders = {
    funnel: function (data) {
      // A funnel: each stage a bar centred on the axis, as wide as its count (floating bars from
      // -n/2 to n/2), widest first; the label carries the count and the total value.
      var widest = Math.max.apply(null, data.counts.concat([1]));
      var labels = data.labels.map(function (label, i) {
        return label + " · " + data.counts[i] + " · " + moneyShort.format(data.values[i]);
      });
      return {
        type: "bar",
        data: {
          labels: labels,
          datasets: [{ label: "Opportunities", backgroundColor: STAGE_COLOURS, borderRadius: 3, borderSkipped: false,
                       barPercentage: 1, categoryPercentage: 0.86,
                       data: data.counts.map(function (n) { return [-n / 2, n / 2]; }) }]
        },
        options: {
          indexAxis: "y",
          scales: {
            x: { display: false, min: -widest / 2, max: widest / 2 },
            y: { grid: { display: false }, border: { display: false } }
          },
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (ctx) {
            return data.counts[ctx.dataIndex] + " opportunities · " + money.format(data.values[ctx.dataIndex]);
          } } } }
        }
      };
    },
    compliance: function (data) {
      return {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: "Opportunities", data: data.counts,
          backgroundColor: [COLOURS.red, COLOURS.yellow, "#6f91ea", COLOURS.green] }] },
        options: { plugins: { legend: { display: false } },
                   scales: { y: { beginAtZero: true, ticks: integerTicks() }, x: { title: { display: true, text: "Compliance score" } } } }
      };
    },
    departments: function (data) {
      return {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: "Total value", data: data.values, backgroundColor: COLOURS.primary }] },
        options: {
          indexAxis: "y",
          plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (ctx) { return money.format(ctx.raw); } } } },
          scales: {
            x: { beginAtZero: true, ticks: { callback: function (v) { return moneyShort.format(v); } } },
            // Long names are shortened on the axis (the tooltip and the table have them whole).
            y: { ticks: { callback: function (v) { var name = this.getLabelForValue(v); return name.length > 26 ? name.slice(0, 25) + "…" : name; } } }
          }
        }
      };
    },
    win_rate: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: "Win rate (%)", data: data.rates, type: "line", yAxisID: "rate", borderColor: COLOURS.primary,
              backgroundColor: COLOURS.primary, spanGaps: false, pointRadius: 4, order: 1 },
            { label: "Won", data: data.won, backgroundColor: "rgba(22, 121, 74, .55)", yAxisID: "count", stack: "n", order: 2 },
            { label: "Lost", data: data.lost, backgroundColor: "rgba(196, 43, 43, .45)", yAxisID: "count", stack: "n", order: 2 }
          ]
        },
        options: {
          scales: {
            rate: { position: "left", min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } },
            count: { position: "right", beginAtZero: true, stacked: true, grid: { drawOnChartArea: false }, ticks: integerTicks() },
            x: { stacked: true }
          }
        }
      };
    },
    gauge: function (data) {
      var value = Math.max(0, Math.min(100, data.value));
      return {
        type: "doughnut",
        data: { labels: ["Average", "Rest"], datasets: [{ data: [value, 100 - value],
          backgroundColor: [COLOURS[data.tone] || COLOURS.primary, COLOURS.track], borderWidth: 0 }] },
        options: { rotation: -90, circumference: 180, cutout: "70%", plugins: { legend: { display: false }, tooltip: { enabled: false } } }
      };
    }
  };

  function draw() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof window.Chart === "undefined") {
      return;
    }
    var figures = JSON.parse(source.textContent);
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = COLOURS.text;
    window.Chart.defaults.maintainAspectRatio = false;
    window.Chart.defaults.datasets.bar.maxBarThickness = 48;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var name = canvas.getAttribute("data-chart");
      if (!builders[name] || !figures[name] || window.Chart.getChart(canvas)) {
        return;
      }
      new window.Chart(canvas, builders[name](figures[name]));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
