// Administration › System: small uPlot charts of the last 24 hours (data from json_script).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("ops-series");
    if (!source || typeof uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll(".ops-chart").forEach(function (el) {
      var name = el.dataset.series;
      var width = Math.max(el.clientWidth, 280);
      new uPlot({
        width: width,
        height: 160,
        legend: { show: false },
        scales: { y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1)]; } } },
        series: [{}, { stroke: "#2563eb", fill: "rgba(37,99,235,0.12)", width: 2, spanGaps: true }],
        axes: [{ size: 30 }, { size: 40 }],
      }, [data.time, data[name]], el);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
