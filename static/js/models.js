/* The models tab (templates/web/_cell_models.html): the simulated response and the f-I curve, drawn with plotly.
 *
 * [data-model-run] reads its data-run-url (JSON): a GLIF run answers at once; a biophysical run answers
 * {"state": "queued" | "running", "progress": 0..1} while the worker runs it, and the page asks again every
 * second until the result ({"state": "done", "t", "v", "i", "spike_times"}) or an error ({"error"}).
 * [data-model-fi] draws the recorded and model f-I curves from the #model-fi-data JSON block.
 * Works for a full page load and for a tab swapped in by htmx.
 */
(function () {
  "use strict";

  var POLL_MS = 1000;
  var MAX_POLLS = 900; // 15 minutes: longer than the worker's wall-time limit

  var loadPlotly = window.celltypesLoadPlotly; // static/js/plotly_loader.js

  function statusOf(root) {
    var panel = root.closest(".model-run");
    return panel ? panel.querySelector("[data-run-status]") : null;
  }

  function say(root, text, isError) {
    var status = statusOf(root);
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("run-error", !!isError);
    if (isError) status.setAttribute("role", "alert");
  }

  function drawRun(root, Plotly, run) {
    var top = -Infinity;
    run.v.forEach(function (v) {
      if (v !== null && v > top) top = v;
    });
    var spikeY = run.spike_times.map(function () {
      return top + 5;
    });
    var data = [];
    if (run.recorded) {
      data.push({ x: run.recorded.t, y: run.recorded.v, type: "scatter", mode: "lines", name: "recorded", line: { color: "#999", width: 1 }, xaxis: "x", yaxis: "y2" });
    }
    data = data.concat([
      { x: run.t, y: run.v, type: "scatter", mode: "lines", name: "model", line: { color: "#1f5f99", width: 1 }, xaxis: "x", yaxis: "y2" },
      { x: run.spike_times, y: spikeY, type: "scatter", mode: "markers", name: "spikes", marker: { symbol: "line-ns-open", size: 8, color: "#c0392b" }, xaxis: "x", yaxis: "y2" },
      { x: run.t, y: run.i, type: "scatter", mode: "lines", name: "stimulus", line: { color: "#555", width: 1 }, xaxis: "x", yaxis: "y" },
    ]);
    var layout = {
      margin: { l: 60, r: 10, t: 10, b: 45 },
      height: 420,
      showlegend: !!run.recorded,
      legend: { x: 0.01, y: 1, orientation: "h" },
      grid: { rows: 2, columns: 1, roworder: "bottom to top" },
      xaxis: { title: { text: "time (s)" } },
      yaxis: { title: { text: "stimulus (pA)" }, domain: [0, 0.25] },
      yaxis2: { title: { text: run.v_label }, domain: [0.32, 1] },
    };
    Plotly.react(root, data, layout, { responsive: true, displaylogo: false });
    root.dataset.spikeCount = String(run.spike_count);
    if (run.recorded) root.dataset.recordedSpikeCount = String(run.recorded_spike_count);
    root.setAttribute("data-drawn", "");
    var text = "Stimulus: " + run.stimulus + " · " + run.spike_count + " spike" + (run.spike_count === 1 ? "" : "s");
    if (run.wall_seconds !== undefined) text += " · simulated in " + run.wall_seconds + " s on the worker";
    else if (run.on_worker) text += " · simulated on the worker";
    if (run.recorded) text += " · recorded: " + run.recorded_spike_count + " spikes (" + run.recorded_source + ")";
    say(root, text, false);
  }

  // Ask a worker's URL every POLL_MS while it answers {"state": "queued" | "running", "progress"}; resolve with its
  // {"state": "done", ...} answer, or fail with its error (`failed` when it gives none, `late` after MAX_POLLS).
  function pollWorker(url, onProgress, late, failed) {
    function ask(polls) {
      return fetch(url, { headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json();
        })
        .then(function (answer) {
          if (answer.state === "queued" || answer.state === "running") {
            onProgress(answer.progress || 0);
            if (polls >= MAX_POLLS) throw new Error(late);
            return new Promise(function (resolve) {
              setTimeout(resolve, POLL_MS);
            }).then(function () {
              return ask(polls + 1);
            });
          }
          if (answer.state !== "done") throw new Error(answer.error || failed);
          return answer;
        });
    }
    return ask(0);
  }

  function fetchRun(root) {
    return pollWorker(root.dataset.runUrl, function (progress) {
      say(root, "Simulating on the worker… " + Math.round(progress * 100) + " %", false);
      root.dataset.progress = String(progress);
    }, "the run did not finish in time", "the run failed");
  }

  function initRun(root) {
    if (root.dataset.started || root.hasAttribute("data-disabled")) return;
    root.dataset.started = "1";
    say(root, "Simulating…", false);
    Promise.all([loadPlotly(root.dataset.plotlySrc), fetchRun(root)])
      .then(function (both) {
        drawRun(root, both[0], both[1]);
      })
      .catch(function (error) {
        say(root, "The run failed: " + error.message, true);
      });
  }

  function fiStatus(root, text) {
    var panel = root.closest(".model-fi");
    var status = panel ? panel.querySelector("[data-fi-status]") : null;
    if (status) status.textContent = text;
  }

  // A biophysical model's f-I curve comes from the worker: poll its URL (progress) until the curve is cached.
  function fetchFi(root, url) {
    return pollWorker(url, function (progress) {
      fiStatus(root, "Model f-I curve: simulating on the worker… " + Math.round(progress * 100) + " %");
      root.dataset.fiProgress = String(progress);
    }, "not finished in time", "not computed");
  }

  function initFi(root) {
    if (root.dataset.started) return;
    root.dataset.started = "1";
    var block = document.getElementById("model-fi-data");
    if (!block) return;
    var fi = JSON.parse(block.textContent);
    var data = [];
    function curve(points, name, color) {
      data.push({
        x: points.map(function (p) { return p[0]; }),
        y: points.map(function (p) { return p[1]; }),
        type: "scatter", mode: "lines+markers", name: name, line: { color: color },
      });
    }
    if (fi.recorded && fi.recorded.length) curve(fi.recorded, "recorded", "#333");
    if (fi.model && fi.model.length) curve(fi.model, "model", "#1f5f99");
    if (!data.length) {
      root.textContent = "No Long Square sweeps in the sweep table.";
      return;
    }
    var layout = {
      margin: { l: 55, r: 10, t: 10, b: 45 },
      height: 300,
      legend: { x: 0.02, y: 0.98 },
      xaxis: { title: { text: "current (pA)" } },
      yaxis: { title: { text: "firing rate (Hz)" }, rangemode: "tozero" },
    };
    loadPlotly(root.dataset.plotlySrc).then(function (Plotly) {
      Plotly.react(root, data, layout, { responsive: true, displaylogo: false });
      root.setAttribute("data-drawn", "");
      if (!fi.url) return;
      fetchFi(root, fi.url)
        .then(function (model) {
          curve(model.points, "model", "#1f5f99");
          Plotly.react(root, data, layout, { responsive: true, displaylogo: false });
          root.dataset.modelFiPoints = String(model.points.length);
          fiStatus(root, "Model f-I curve: " + model.points.length + " steps of " + model.step_seconds + " s, simulated in " + model.wall_seconds + " s on the worker.");
        })
        .catch(function (error) {
          fiStatus(root, "Model f-I curve: " + error.message);
        });
    });
  }

  // [data-model-ev]: Allen's explained variance ratio computed here, on the worker (the cell's noise repeats).
  function fetchEv(cell) {
    return pollWorker(cell.dataset.evUrl, function (progress) {
      cell.textContent = "computing on the worker… " + Math.round(progress * 100) + " %";
    }, "not finished in time", "not computed");
  }

  function initEv(cell) {
    if (cell.dataset.started) return;
    cell.dataset.started = "1";
    fetchEv(cell)
      .then(function (ev) {
        cell.textContent = ev.ratio.toFixed(3);
        cell.title =
          "model " + ev.model.toFixed(3) + " / repeats " + ev.data.toFixed(3) + " · model " + ev.model_spikes +
          " spikes, recorded " + ev.recorded_spikes.join(", ") + (ev.spikes_detected_here ? " (spikes detected here)" : "");
        cell.dataset.ratio = String(ev.ratio);
      })
      .catch(function (error) {
        cell.textContent = error.message;
        cell.classList.add("muted");
      });
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    root.querySelectorAll("[data-model-ev]").forEach(initEv);
    root.querySelectorAll("[data-model-run]").forEach(initRun);
    root.querySelectorAll("[data-model-fi]").forEach(initFi);
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
})();
