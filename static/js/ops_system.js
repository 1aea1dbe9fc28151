// Administration › System: small uPlot charts of the last 24 hours (data from json_script).
(function () {
  "use strict";
  function draw() {
    var source = document.getElementById("ops-series");
    if (!source || typeof uPlot === "undefined") return;
    var data = JSON.parse(source.textContent);
    /* the axes in the page's language and the reader's time zone (uPlot's own are English
       and the browser's zone) */
    var lang = document.documentElement.lang || "en";
    var place = document.getElementById("ops-series-locale");
    var zone = place && place.dataset.timeZone;
    var clock = { hour: "2-digit", minute: "2-digit" };
    if (zone) clock.timeZone = zone;
    var hours;
    try { hours = new Intl.DateTimeFormat(lang, clock); } catch (error) {
      delete clock.timeZone;
      hours = new Intl.DateTimeFormat(lang, clock);
    }
    var numbers = new Intl.NumberFormat(lang);
    function timeTicks(u, ticks) {
      var labels = ticks.map(function (t) { return hours.format(new Date(t * 1000)); });
      u.root.parentNode.dataset.ticks = labels.join("|");  // what the axis shows (canvas)
      return labels;
    }
    function numberTicks(u, ticks) {
      return ticks.map(function (n) { return numbers.format(n); });
    }
    document.querySelectorAll(".ops-chart").forEach(function (el) {
      var name = el.dataset.series;
      var width = Math.max(el.clientWidth, 280);
      new uPlot({
        width: width,
        height: 160,
        legend: { show: false },
        scales: { y: { range: function (u, min, max) { return [0, Math.max(max || 0, 1)]; } } },
        series: [{}, { stroke: "#2563eb", fill: "rgba(37,99,235,0.12)", width: 2, spanGaps: true }],
        axes: [{ size: 30, values: timeTicks }, { size: 40, values: numberTicks }],
      }, [data.time, data[name]], el);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
