/* The search page's parallel-coordinates view (templates/web/search.html, view=parcoords).
 *
 * Fetches data-url (celltypes.web.views.search.cell_parcoords: the chosen axes and, for the cells under the facets
 * and the text, one column per axis) and draws a plotly parcoords. The URL's ranges are the axes' brushes;
 * brushing an axis sets the same range filter as the histograms (range=<key>:<low>:<high>), pushed into history so
 * back/forward restore it. A cell missing a value on a shown axis cannot be drawn as a line: the status says how
 * many are drawn.
 */
(function () {
  "use strict";

  var ACCENT = "#1f77b4";
  var BRUSH_DELAY = 350; // ms after the last brush change before the search is fetched again

  var loadPlotly = window.celltypesLoadPlotly; // static/js/plotly_loader.js

  function fetchJson(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    });
  }

  /* The current search with the given ranges ({key: [low, high] or null}), page reset, other parameters kept. */
  function searchWithRanges(ranges, digits) {
    var params = new URLSearchParams(window.location.search);
    var query = new URLSearchParams();
    var done = {};
    function word(key) {
      var range = ranges[key];
      if (!range) return key;
      return key + ":" + range[0].toFixed(digits[key]) + ":" + range[1].toFixed(digits[key]);
    }
    params.forEach(function (value, name) {
      if (name === "page") return;
      var key = value.split(":")[0];
      if (name === "range" && key in ranges) {
        query.append("range", word(key));
        done[key] = true;
        return;
      }
      query.append(name, value);
    });
    Object.keys(ranges).forEach(function (key) {
      if (!done[key] && ranges[key]) query.append("range", word(key));
    });
    return window.location.pathname + "?" + query.toString();
  }

  function extent(constraint) {
    if (!constraint || !constraint.length) return null;
    if (typeof constraint[0] === "number") return [Math.min(constraint[0], constraint[1]), Math.max(constraint[0], constraint[1])];
    var low = Infinity;
    var high = -Infinity;
    constraint.forEach(function (pair) {
      low = Math.min(low, pair[0], pair[1]);
      high = Math.max(high, pair[0], pair[1]);
    });
    return [low, high];
  }

  function draw(element, Plotly, data) {
    var status = element.parentNode.querySelector("[data-parcoords-status]");
    var axes = data.axes;
    var columns = data.columns;
    var ids = columns.specimen_id;
    if (!axes.length) {
      status.textContent = "Choose at least one axis.";
      return;
    }
    // Only cells with a value on every shown axis can be drawn as a line.
    var keep = [];
    for (var i = 0; i < ids.length; i++) {
      var complete = axes.every(function (axis) {
        return columns[axis.key][i] !== null;
      });
      if (complete) keep.push(i);
    }
    var digits = {};
    var dimensions = axes.map(function (axis) {
      digits[axis.key] = axis.digits;
      var values = keep.map(function (i) {
        return columns[axis.key][i];
      });
      var dimension = { label: axis.unit ? axis.label + " (" + axis.unit + ")" : axis.label, values: values };
      if (axis.low !== null || axis.high !== null) {
        var lo = Math.min.apply(null, values);
        var hi = Math.max.apply(null, values);
        dimension.constraintrange = [axis.low !== null ? axis.low : lo, axis.high !== null ? axis.high : hi];
      }
      return dimension;
    });
    status.textContent = keep.length + " of " + ids.length + " cells have a value on every axis shown" +
      (keep.length < ids.length ? " (the others cannot be drawn as lines)." : ".");
    var layout = {
      height: 470,
      margin: { l: 70, r: 70, t: 100, b: 24 },
      font: { size: 11 },
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    var trace = { type: "parcoords", line: { color: ACCENT }, dimensions: dimensions, labelangle: -30 };
    element.dataset.cells = String(keep.length);
    return Plotly.newPlot(element, [trace], layout, { displayModeBar: false, responsive: true }).then(function (gd) {
      var timer = null;
      gd.on("plotly_restyle", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () {
          var ranges = {};
          var changed = false;
          gd.data[0].dimensions.forEach(function (dimension, index) {
            var axis = axes[index];
            var range = extent(dimension.constraintrange);
            var before = axis.low !== null || axis.high !== null;
            if (range || before) {
              ranges[axis.key] = range;
              var same = range && before && range[0].toFixed(axis.digits) === (axis.low === null ? "" : axis.low.toFixed(axis.digits)) &&
                range[1].toFixed(axis.digits) === (axis.high === null ? "" : axis.high.toFixed(axis.digits));
              if (!same) changed = true;
            }
          });
          if (!changed) return;
          var url = searchWithRanges(ranges, digits);
          window.htmx.ajax("get", url, { target: "#search-body", swap: "outerHTML", push: url });
        }, BRUSH_DELAY);
      });
      element.dataset.drawn = "true";
      element.dispatchEvent(new CustomEvent("parcoords:drawn", { bubbles: true }));
    });
  }

  function init(element) {
    if (element.dataset.drawing) return;
    element.dataset.drawing = "true";
    var status = element.parentNode.querySelector("[data-parcoords-status]");
    status.textContent = "Loading…";
    Promise.all([loadPlotly(element.dataset.plotlySrc), fetchJson(element.dataset.url)])
      .then(function (loaded) {
        return draw(element, loaded[0], loaded[1]);
      })
      .catch(function (error) {
        status.textContent = "The parallel-coordinates view could not be drawn: " + error.message;
      });
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    root.querySelectorAll("[data-parcoords]").forEach(init);
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
  // Back/forward: the restored snapshot holds dead plot markup; draw it again.
  document.addEventListener("htmx:historyRestore", function () {
    document.querySelectorAll("[data-parcoords]").forEach(function (element) {
      element.removeAttribute("data-drawing");
      element.removeAttribute("data-drawn");
      element.innerHTML = "";
      init(element);
    });
  });
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var element = event.detail && event.detail.elt;
    if (window.Plotly && element && element.hasAttribute && element.hasAttribute("data-parcoords")) {
      window.Plotly.purge(element);
    }
  });
})();
