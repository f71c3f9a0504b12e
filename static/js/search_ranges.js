/* The search page's numeric range filters (templates/web/search.html, section.ranges).
 *
 * Each [data-histogram] element gets a plotly bar chart of its counts (bins over the feature's extent in the whole
 * table, data-min..data-max). Dragging across it picks a range: the search is fetched again with
 * range=<key>:<low>:<high> in the URL (pushed into history, so back/forward restore it); a double click clears the
 * range. The bounds form beside it does the same without JavaScript. Plotly loads only when a histogram is shown.
 */
(function () {
  "use strict";

  var ACCENT = "#1f77b4";
  var OUTSIDE = "#c5ccd6";

  var loadPlotly = window.celltypesLoadPlotly; // static/js/plotly_loader.js

  function number(text) {
    if (text === undefined || text === null || text === "") return null;
    var value = parseFloat(text);
    return isFinite(value) ? value : null;
  }

  /* The current search with the range of `key` set to [low, high] (null: open), page reset. */
  function searchWithRange(key, low, high, digits) {
    var params = new URLSearchParams(window.location.search);
    var word = key;
    if (low !== null || high !== null) {
      word = key + ":" + (low === null ? "" : low.toFixed(digits)) + ":" + (high === null ? "" : high.toFixed(digits));
    }
    var entries = [];
    var placed = false;
    params.forEach(function (value, name) {
      if (name === "page") return;
      if (name === "range" && value.split(":")[0] === key) {
        if (!placed) entries.push(["range", word]);
        placed = true;
        return;
      }
      entries.push([name, value]);
    });
    if (!placed) entries.push(["range", word]);
    var query = new URLSearchParams();
    entries.forEach(function (entry) {
      query.append(entry[0], entry[1]);
    });
    return window.location.pathname + "?" + query.toString();
  }

  function go(url) {
    if (window.htmx) {
      window.htmx.ajax("get", url, { target: "#search-body", swap: "outerHTML", push: url });
    } else {
      window.location.assign(url);
    }
  }

  function draw(element, Plotly) {
    var min = number(element.dataset.min);
    var max = number(element.dataset.max);
    var counts = (element.dataset.counts || "").split(",").map(Number);
    if (min === null || max === null || !counts.length) return;
    var digits = parseInt(element.dataset.digits || "2", 10);
    var low = number(element.dataset.low);
    var high = number(element.dataset.high);
    var width = (max - min || 1) / counts.length;
    var centres = counts.map(function (_, i) {
      return min + width * (i + 0.5);
    });
    var colours = centres.map(function (centre) {
      var inside = (low === null || centre + width / 2 > low) && (high === null || centre - width / 2 < high);
      return inside ? ACCENT : OUTSIDE;
    });
    var shapes = [];
    if (low !== null || high !== null) {
      shapes.push({
        type: "rect", xref: "x", yref: "paper", y0: 0, y1: 1,
        x0: low === null ? min : low, x1: high === null ? max : high,
        fillcolor: "rgba(31,119,180,0.08)", line: { color: ACCENT, width: 1 },
      });
    }
    var pad = width / 2;
    var layout = {
      width: element.clientWidth,
      height: 96,
      margin: { l: 4, r: 4, t: 4, b: 22 },
      bargap: 0.05,
      dragmode: "select",
      selectdirection: "h",
      xaxis: { range: [min - pad, max + pad], fixedrange: true, tickfont: { size: 10 }, nticks: 5 },
      yaxis: { visible: false, fixedrange: true },
      shapes: shapes,
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
    };
    var trace = {
      type: "bar", x: centres, y: counts, width: width, marker: { color: colours },
      hovertemplate: "%{y} cells<extra></extra>",
    };
    Plotly.newPlot(element, [trace], layout, { displayModeBar: false }).then(function (gd) {
      gd.on("plotly_selected", function (event) {
        if (!event || !event.range || !event.range.x) return;
        var x = event.range.x;
        var factor = Math.pow(10, digits);
        var from = Math.max(Math.floor(Math.min(x[0], x[1]) * factor) / factor, min);
        var to = Math.min(Math.ceil(Math.max(x[0], x[1]) * factor) / factor, max);
        go(searchWithRange(element.dataset.key, from, to, digits));
      });
      gd.on("plotly_deselect", function () {
        if (low !== null || high !== null) go(searchWithRange(element.dataset.key, null, null, digits));
      });
    });
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    // Visible ones only: a histogram in the closed filter drawer has no width yet and is drawn when shown.
    var histograms = Array.prototype.filter.call(root.querySelectorAll("[data-histogram]:not([data-drawn])"), function (element) {
      return element.clientWidth > 0;
    });
    if (!histograms.length) return;
    histograms.forEach(function (element) {
      element.dataset.drawn = "true";
    });
    var section = document.querySelector("[data-plotly-src]");
    loadPlotly(section.dataset.plotlySrc).then(
      function (Plotly) {
        histograms.forEach(function (element) {
          draw(element, Plotly);
        });
      },
      function () {
        /* The bounds forms still work. */
      }
    );
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      initAll(document);
    });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (event) {
    initAll(event.detail && event.detail.elt);
  });
  // The drawer opened, or a swap settled with the drawer open: draw what could not be drawn while hidden.
  ["search:filters-shown", "htmx:afterSettle"].forEach(function (name) {
    document.addEventListener(name, function () {
      initAll(document);
    });
  });
  // Back/forward: htmx restores a snapshot whose plots are dead markup; draw them again.
  document.addEventListener("htmx:historyRestore", function () {
    document.querySelectorAll("[data-histogram][data-drawn]").forEach(function (element) {
      element.removeAttribute("data-drawn");
      element.innerHTML = "";
    });
    initAll(document);
  });
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var element = event.detail && event.detail.elt;
    if (window.Plotly && element && element.hasAttribute && element.hasAttribute("data-histogram")) {
      window.Plotly.purge(element);
    }
  });
})();
