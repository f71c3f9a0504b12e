/* The electrophysiology tab's sweep browser (templates/web/_cell_ephys.html).
 *
 * For each [data-sweep-browser]: the config (json_script #ephys-config) names the trace URL and the held sweeps
 * by group. A sweep box draws its sweep (shift-click adds it to the plot; "Overlay all" draws every held sweep
 * of a group, coloured by amplitude): response above, stimulus below, one shared time axis, zoomable. The server
 * downsamples; a zoom asks it again for that window, at full resolution when the window is short. Detected
 * spikes are marked (threshold, peak, fast trough) and listed; a long sweep is drawn first and its spikes follow
 * (config.analysis_url) when the server has found them. The chosen sweeps and the zoom window live in
 * the URL (?sweeps=39,40&start=1.0&end=1.2), pushed on each choice, so a link shows the same view and
 * back/forward work. The f-I and V-I curves are drawn from the config (Allen's sweep table).
 */
(function () {
  "use strict";


  var loadPlotly = window.celltypesLoadPlotly; // static/js/plotly_loader.js

  var MARKERS = [
    { key: "threshold", t: "threshold_t", v: "threshold_v", symbol: "circle-open", color: "#2a9d8f", name: "threshold" },
    { key: "peak", t: "peak_t", v: "peak_v", symbol: "triangle-down", color: "#d62828", name: "peak" },
    { key: "trough", t: "fast_trough_t", v: "fast_trough_v", symbol: "triangle-up", color: "#6a4c93", name: "fast trough" },
  ];

  function urlState(held) {
    var params = new URLSearchParams(window.location.search);
    var sweeps = (params.get("sweeps") || "")
      .split(",")
      .map(function (s) { return parseInt(s, 10); })
      .filter(function (n) { return held.indexOf(n) >= 0; });
    var start = parseFloat(params.get("start"));
    var end = parseFloat(params.get("end"));
    var zoomed = isFinite(start) && isFinite(end) && start < end;
    return { sweeps: sweeps, start: zoomed ? start : null, end: zoomed ? end : null };
  }

  function pushState(state) {
    var params = new URLSearchParams(window.location.search);
    params.set("sweeps", state.sweeps.join(","));
    if (state.start !== null) {
      params.set("start", state.start.toFixed(6));
      params.set("end", state.end.toFixed(6));
    } else {
      params.delete("start");
      params.delete("end");
    }
    var url = window.location.pathname + "?" + params.toString();
    if (url !== window.location.pathname + window.location.search) {
      window.history.pushState({ ephys: true }, "", url);
    }
  }

  /* Viridis-like colour for an amplitude between lo and hi. */
  function colourOf(value, lo, hi) {
    var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    var x = hi > lo ? (value - lo) / (hi - lo) : 0;
    var at = Math.min(stops.length - 1.001, Math.max(0, x * (stops.length - 1)));
    var i = Math.floor(at);
    var f = at - i;
    var c = stops[i].map(function (a, k) { return Math.round(a + f * (stops[i + 1][k] - a)); });
    return "rgb(" + c.join(",") + ")";
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "—";
    var text = Number(value).toPrecision(digits || 4);
    if (text.indexOf("e") >= 0) return text;
    return text.indexOf(".") >= 0 ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }

  var initialised = new WeakSet(); // not a data- attribute: htmx's history snapshot would carry it

  function init(root) {
    if (initialised.has(root)) return;
    initialised.add(root);
    var configElement = root.querySelector("#ephys-config");
    if (!configElement) return;
    var config = JSON.parse(configElement.textContent);
    var held = [];
    Object.keys(config.groups).forEach(function (g) { held = held.concat(config.groups[g]); });
    drawCurves(root, config);
    var plot = root.querySelector("[data-plot]");
    if (!plot || !held.length) return;
    var status = root.querySelector("[data-trace-status]");
    var spikeBox = root.querySelector("[data-spikes]");
    var spikeTable = root.querySelector("[data-spike-table]");
    var pulseBox = root.querySelector("[data-test-pulse]");
    var boxes = root.querySelectorAll(".sweep-box[data-sweep]");
    var state = null;
    var request = 0;
    var ignoreRelayout = false;

    function traceUrl(n, s) {
      var url = config.trace_url.replace("{n}", String(n));
      return s.start !== null ? url + "?start=" + s.start.toFixed(6) + "&end=" + s.end.toFixed(6) : url;
    }

    function show(s) {
      state = s;
      if (!state.sweeps.length && config.default_sweep !== null) state.sweeps = [config.default_sweep];
      boxes.forEach(function (box) {
        box.setAttribute("aria-pressed", state.sweeps.indexOf(parseInt(box.dataset.sweep, 10)) >= 0 ? "true" : "false");
      });
      var mine = ++request;
      root.dataset.state = "loading";
      status.textContent = "Loading sweep " + state.sweeps.join(", ") + "…";
      Promise.all([loadPlotly(root.dataset.plotlySrc)].concat(state.sweeps.map(function (n) {
        return fetch(traceUrl(n, state), { headers: { Accept: "application/json" } }).then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) throw new Error(body.detail || "sweep " + n + " could not be loaded");
            return body;
          });
        });
      }))).then(function (results) {
        if (mine !== request) return;
        var sweeps = results.slice(1);
        draw(results[0], sweeps);
        followAnalysis(results[0], sweeps, mine);
      }).catch(function (error) {
        if (mine !== request) return;
        root.dataset.state = "error";
        status.textContent = String(error.message || error);
      });
    }

    /* A long sweep comes first without its spikes ("analysis": "to follow"): ask for them, then draw again. */
    function followAnalysis(Plotly, sweeps, mine) {
      var pending = sweeps.filter(function (s) { return s.analysis === "to follow"; });
      root.dataset.analysis = pending.length ? "pending" : "done";
      if (!pending.length) return;
      Promise.all(pending.map(function (s) {
        var url = config.analysis_url.replace("{n}", String(s.sweep_number));
        return fetch(url, { headers: { Accept: "application/json" } }).then(function (r) {
          return r.json().then(function (body) {
            if (!r.ok) throw new Error(body.detail || "the spikes of sweep " + s.sweep_number + " could not be found");
            s.spikes = body.spikes;
            s.spike_columns = body.spike_columns;
            s.sweep_features = body.sweep_features;
            s.analysis = "included";
          });
        });
      })).then(function () {
        if (mine !== request) return;
        return draw(Plotly, sweeps).then(function () { root.dataset.analysis = "done"; });
      }).catch(function (error) {
        if (mine !== request) return;
        root.dataset.analysis = "error";
        status.textContent = String(error.message || error);
      });
    }

    function draw(Plotly, sweeps) {
      var first = sweeps[0];
      var amplitudes = sweeps.map(function (s) { return s.stimulus_amplitude || 0; });
      var lo = Math.min.apply(null, amplitudes);
      var hi = Math.max.apply(null, amplitudes);
      var data = [];
      sweeps.forEach(function (s) {
        var colour = sweeps.length > 1 ? colourOf(s.stimulus_amplitude || 0, lo, hi) : "#1d3557";
        var label = "sweep " + s.sweep_number + (s.stimulus_amplitude !== null ? " (" + fmt(s.stimulus_amplitude, 3) + " " + s.stimulus_unit + ")" : "");
        data.push({ type: "scatter", mode: "lines", x: s.t, y: s.response, name: label, line: { color: colour, width: 1 }, xaxis: "x", yaxis: "y", legendgroup: label });
        data.push({ type: "scatter", mode: "lines", x: s.t, y: s.stimulus, name: label, showlegend: false, line: { color: colour, width: 1 }, xaxis: "x", yaxis: "y2", legendgroup: label });
        (s.spikes || []).length && MARKERS.forEach(function (m) {
          data.push({
            type: "scatter", mode: "markers", name: m.name + (sweeps.length > 1 ? " · " + s.sweep_number : ""),
            x: s.spikes.map(function (p) { return p[m.t]; }), y: s.spikes.map(function (p) { return p[m.v]; }),
            marker: { symbol: m.symbol, color: m.color, size: 7 }, xaxis: "x", yaxis: "y", showlegend: s === first,
            legendgroup: m.key,
          });
        });
      });
      var layout = {
        margin: { l: 60, r: 10, t: 10, b: 40 },
        height: 460,
        showlegend: true,
        legend: { orientation: "h", y: -0.15 },
        xaxis: { title: { text: "time (s after the sweep's start)" }, anchor: "y2" },
        yaxis: { domain: [0.32, 1], title: { text: "response (" + first.response_unit + ")" } },
        yaxis2: { domain: [0, 0.26], title: { text: "stimulus (" + first.stimulus_unit + ")" } },
        uirevision: "sweeps-" + state.sweeps.join(","),
      };
      if (state.start !== null) layout.xaxis.range = [state.start, state.end];
      else layout.xaxis.autorange = true;
      ignoreRelayout = true;
      spikeRows(first);
      testPulse(first);
      return Plotly.react(plot, data, layout, { responsive: true, displaylogo: false }).then(function () {
        ignoreRelayout = false;
        if (!plot.dataset.wired) {
          plot.dataset.wired = "1";
          plot.on("plotly_relayout", onRelayout);
        }
        var shown = sweeps.reduce(function (a, s) { return a + s.t.length; }, 0);
        var total = sweeps.reduce(function (a, s) { return a + s.samples; }, 0);
        status.textContent = shown.toLocaleString("en") + " points drawn of " + total.toLocaleString("en") + " samples in view " +
          (sweeps.every(function (s) { return s.full_resolution; }) ? "(full resolution)" : "(downsampled on the server; zoom in for every sample)") +
          ". " + first.provenance +
          (sweeps.some(function (s) { return s.analysis === "to follow"; }) ? " Finding the spikes…" : "");
        root.dataset.state = "drawn";
        root.dataset.points = String(shown);
        root.dataset.fullResolution = sweeps.every(function (s) { return s.full_resolution; }) ? "1" : "0";
      });
    }

    function spikeRows(s) {
      if (!s.spikes || !s.spikes.length) {
        spikeBox.hidden = true;
        return;
      }
      spikeBox.hidden = false;
      var head = "<thead><tr><th scope=\"col\">#</th>" + s.spike_columns.map(function (c) {
        return "<th scope=\"col\" class=\"numeric\">" + c.label + (c.unit ? " <small>(" + c.unit + ")</small>" : "") + "</th>";
      }).join("") + "</tr></thead>";
      var body = s.spikes.map(function (p, k) {
        return "<tr><td>" + (k + 1) + "</td>" + s.spike_columns.map(function (c) {
          return "<td class=\"numeric\">" + fmt(p[c.name], c.name.slice(-2) === "_t" ? 6 : 4) + "</td>";
        }).join("") + "</tr>";
      }).join("");
      spikeTable.innerHTML = head + "<tbody>" + body + "</tbody>";
      spikeBox.querySelector("h4 small").textContent = "(sweep " + s.sweep_number + ": " + s.spikes.length + ", computed here from the held samples)";
    }

    function testPulse(s) {
      var p = s.test_pulse;
      if (!p) {
        pulseBox.hidden = true;
        return;
      }
      pulseBox.hidden = false;
      var rows = [
        ["Test pulse", fmt(p.amplitude, 3) + " mV, " + fmt(p.start, 4) + "–" + fmt(p.end, 4) + " s"],
        ["Baseline / steady / peak current", fmt(p.baseline_current) + " / " + fmt(p.steady_current) + " / " + fmt(p.peak_current) + " pA"],
        ["Steady-state resistance (seal cell-attached, input whole-cell)", p.steady_resolved ? fmt(p.steady_resistance) + " MΩ" : "not resolved: the steady current moves less than twice the baseline noise (" + fmt(p.baseline_noise, 2) + " pA), a seal of many GΩ"],
        ["Peak resistance (access, whole-cell)", fmt(p.peak_resistance) + " MΩ"],
      ];
      pulseBox.innerHTML = rows.map(function (r) { return "<div><dt>" + r[0] + "</dt><dd>" + r[1] + "</dd></div>"; }).join("");
    }

    function onRelayout(event) {
      if (ignoreRelayout) return;
      var next = { sweeps: state.sweeps.slice(), start: null, end: null };
      if (event["xaxis.range[0]"] !== undefined) {
        next.start = Number(event["xaxis.range[0]"]);
        next.end = Number(event["xaxis.range[1]"]);
      } else if (event["xaxis.range"]) {
        next.start = Number(event["xaxis.range"][0]);
        next.end = Number(event["xaxis.range"][1]);
      } else if (!event["xaxis.autorange"]) {
        return; // a y-only zoom: the x window is unchanged
      }
      pushState(next);
      show(next);
    }

    boxes.forEach(function (box) {
      box.addEventListener("click", function (event) {
        var n = parseInt(box.dataset.sweep, 10);
        var sweeps = [n];
        if (event.shiftKey || event.ctrlKey || event.metaKey) {
          sweeps = state.sweeps.indexOf(n) >= 0 ? state.sweeps.filter(function (m) { return m !== n; }) : state.sweeps.concat([n]);
          if (!sweeps.length) sweeps = [n];
        }
        var next = { sweeps: sweeps, start: state.start, end: state.end };
        pushState(next);
        show(next);
      });
    });
    root.querySelectorAll("[data-overlay]").forEach(function (button) {
      button.addEventListener("click", function () {
        var next = { sweeps: config.groups[button.dataset.overlay].slice(), start: state.start, end: state.end };
        pushState(next);
        show(next);
      });
    });
    window.addEventListener("popstate", function () {
      if (document.body.contains(root)) show(urlState(held));
    });
    show(urlState(held));
  }

  function drawCurves(root, config) {
    var section = document.querySelector("[data-ephys-curves]");
    if (!section || !config.fi.length) return;
    loadPlotly(root.dataset.plotlySrc).then(function (Plotly) {
      var common = { margin: { l: 55, r: 10, t: 30, b: 45 }, height: 280, showlegend: false };
      var fi = section.querySelector("[data-fi-plot]");
      Plotly.newPlot(fi, [{
        type: "scatter", mode: "markers", x: config.fi.map(function (p) { return p[0]; }),
        y: config.fi.map(function (p) { return p[1]; }), text: config.fi.map(function (p) { return "sweep " + p[2]; }),
        line: { color: "#1d3557" },
      }], Object.assign({}, common, {
        title: { text: "f-I", font: { size: 13 } }, xaxis: { title: { text: "stimulus (pA)" } },
        yaxis: { title: { text: "firing rate (spikes/s)" } },
      }), { displaylogo: false, responsive: true });
      var vi = section.querySelector("[data-vi-plot]");
      if (config.vi.length) {
        Plotly.newPlot(vi, [{
          type: "scatter", mode: "markers", x: config.vi.map(function (p) { return p[0]; }),
          y: config.vi.map(function (p) { return p[1]; }), text: config.vi.map(function (p) { return "sweep " + p[2]; }),
          line: { color: "#e76f51" },
        }], Object.assign({}, common, {
          title: { text: "V-I (sweeps without spikes)", font: { size: 13 } }, xaxis: { title: { text: "stimulus (pA)" } },
          yaxis: { title: { text: "peak deflection (mV)" } },
        }), { displaylogo: false, responsive: true });
      }
      section.dataset.state = "drawn";
    });
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    if (root.matches && root.matches("[data-sweep-browser]")) init(root);
    root.querySelectorAll("[data-sweep-browser]").forEach(init);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (event) {
    initAll(event.detail && event.detail.elt);
  });
  // htmx keeps a copy of the page for its history: keep the plots out of it (a restored page draws them anew).
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("[data-sweep-browser] .js-plotly-plot, [data-ephys-curves] .js-plotly-plot").forEach(function (gd) {
      if (window.Plotly) window.Plotly.purge(gd);
      gd.replaceChildren();
    });
    document.querySelectorAll("[data-sweep-browser], [data-ephys-curves]").forEach(function (root) {
      delete root.dataset.state;
    });
  });
  document.addEventListener("htmx:historyRestore", function () {
    initAll(document);
  });
})();
