/* The morphology tab's interactive 3D view (templates/web/_cell_morphology.html).
 *
 * For each [data-morphology-viewer] element: load plotly (once, only when a viewer is on the page) and the
 * figure at data-plot-url together, draw it, and wire the camera buttons: Front (xy), Side (zy) and Top (xz)
 * are orthographic, 3D is perspective. Works for a full page load and for a tab swapped in by htmx.
 * Timings go to the Performance timeline (marks "morphology:start", "morphology:data", "morphology:drawn").
 */
(function () {
  "use strict";

  // The SWC's y runs from the pia down; plotly's turntable turns about its z axis. So the figure is drawn with the
  // SWC's y on plotly's (reversed) z axis and the SWC's z on plotly's y axis: pia up, and dragging turns the cell
  // about the cortical axis. (Swapping two axes and reversing one is a rotation, so nothing is mirrored.)
  // Views, in plotly's axes: [horizontal extent, vertical extent, eye direction, up].
  var VIEWS = {
    front: { h: "x", v: "z", depth: "y", eye: [0, -1, 0], up: [0, 0, 1], projection: "orthographic" }, // SWC xy
    side: { h: "y", v: "z", depth: "x", eye: [1, 0, 0], up: [0, 0, 1], projection: "orthographic" }, // zy, along x
    top: { h: "x", v: "y", depth: "z", eye: [0, -1e-4, 1], up: [0, 0, 1], projection: "orthographic" }, // xz, from pia
    "3d": { h: "x", v: "z", depth: null, eye: [0.55, -0.75, 0.35], up: [0, 0, 1], projection: "perspective" },
  };
  // Plotly's orthographic zoom follows the size of the scene box (scene.aspectratio), not the eye's distance: about
  // 2 box units fill the plot's height. So an orthographic view scales the box to fill ORTHO_FILL of them, and the
  // perspective view keeps the box at its base size (longest side 1) and moves the eye instead.
  var ORTHO_FILL = 1.5;
  var PERSPECTIVE_DISTANCE = 1.9;
  var MIN_SPAN = 1; // µm: a flat reconstruction still gets a box
  var TITLES = { x: "x (µm)", y: "z (µm)", z: "y (µm)" }; // plotly's axes -> the SWC's

  /* The figure as the viewer draws it: axes swapped (see above) and a box in the data's proportions. Returns the
     box's base proportions (longest side 1). */
  function prepare(figure) {
    var lo = [Infinity, Infinity, Infinity];
    var hi = [-Infinity, -Infinity, -Infinity];
    figure.data.forEach(function (trace) {
      var swcY = trace.y;
      trace.y = trace.z;
      trace.z = swcY;
      [trace.x, trace.y, trace.z].forEach(function (values, axis) {
        for (var i = 0; i < values.length; i++) {
          var value = values[i];
          if (value === null) continue;
          if (value < lo[axis]) lo[axis] = value;
          if (value > hi[axis]) hi[axis] = value;
        }
      });
    });
    var spans = lo.map(function (low, axis) {
      return Math.max(hi[axis] - low, MIN_SPAN) || MIN_SPAN;
    });
    var longest = Math.max.apply(null, spans);
    var scene = figure.layout.scene;
    var swcYAxis = scene.yaxis;
    scene.yaxis = Object.assign({}, scene.zaxis, { title: { text: "z (µm)" } });
    scene.zaxis = Object.assign({}, swcYAxis, { title: { text: "y (µm)" }, autorange: "reversed" });
    scene.aspectmode = "manual";
    delete scene.camera;
    return { x: spans[0] / longest, y: spans[1] / longest, z: spans[2] / longest };
  }

  /* The camera and box size of a view, for a plot of width × height pixels. */
  function viewLayout(name, base, width, height) {
    var view = VIEWS[name];
    var onScreen = Math.max(base[view.v], (base[view.h] * height) / Math.max(width, 1), 0.05);
    var ortho = view.projection === "orthographic";
    var scale = ortho ? ORTHO_FILL / onScreen : 1;
    var distance = ortho ? 3 * scale : PERSPECTIVE_DISTANCE * Math.max(onScreen, 0.5);
    var norm = Math.hypot(view.eye[0], view.eye[1], view.eye[2]);
    return {
      camera: {
        eye: { x: (view.eye[0] / norm) * distance, y: (view.eye[1] / norm) * distance, z: (view.eye[2] / norm) * distance },
        up: { x: view.up[0], y: view.up[1], z: view.up[2] },
        center: { x: 0, y: 0, z: 0 },
        projection: { type: view.projection },
      },
      aspectratio: { x: base.x * scale, y: base.y * scale, z: base.z * scale },
      // the axis along the line of sight shows as a pile of ticks in an orthographic view: hide it there; and
      // the titles (which plotly lays over the tick labels of a flat view) are for the perspective view only
      visible: { x: view.depth !== "x", y: view.depth !== "y", z: view.depth !== "z" },
      titles: !ortho,
    };
  }

  /* Switch the view with one Plotly.relayout. (Passing the whole camera object while the projection type changes
     leaves plotly 3.7's scene empty; setting its parts works.) */
  function relayoutTo(Plotly, gd, name, base) {
    var next = viewLayout(name, base, gd.clientWidth, gd.clientHeight);
    return Plotly.relayout(gd, {
      "scene.camera.projection.type": next.camera.projection.type,
      "scene.camera.eye": next.camera.eye,
      "scene.camera.up": next.camera.up,
      "scene.camera.center": next.camera.center,
      "scene.aspectratio": next.aspectratio,
      "scene.xaxis.visible": next.visible.x,
      "scene.yaxis.visible": next.visible.y,
      "scene.zaxis.visible": next.visible.z,
      "scene.xaxis.title.text": next.titles ? TITLES.x : "",
      "scene.yaxis.title.text": next.titles ? TITLES.y : "",
      "scene.zaxis.title.text": next.titles ? TITLES.z : "",
    });
  }

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    scrollZoom: true,
    modeBarButtonsToRemove: ["resetCameraLastSave3d", "hoverClosest3d"],
    toImageButtonOptions: { format: "png", filename: "morphology" },
  };

  // Without a GPU (WebGL rendered in software: SwiftShader, llvmpipe) every frame of a large tree costs the CPU
  // ~5 ms per 1,000 points, so there the lines are drawn with every k-th point to stay under this many points.
  // With a GPU the whole tree is drawn.
  var SOFTWARE_POINT_BUDGET = 16000;


  var loadPlotly = window.celltypesLoadPlotly; // static/js/plotly_loader.js

  function softwareWebgl() {
    try {
      var gl = document.createElement("canvas").getContext("webgl");
      var info = gl && gl.getExtension("WEBGL_debug_renderer_info");
      var renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
      var lose = gl && gl.getExtension("WEBGL_lose_context");
      if (lose) lose.loseContext();
      return /swiftshader|llvmpipe|softpipe|software/i.test(renderer);
    } catch (e) {
      return false;
    }
  }

  /* Keep every k-th point of each polyline (and its ends), so that the lines hold at most `budget` points.
     Returns k (1: nothing dropped). */
  function thinLines(data, budget) {
    var points = 0;
    data.forEach(function (trace) {
      if (trace.mode === "lines") points += trace.x.length;
    });
    var k = Math.ceil(points / budget);
    if (k <= 1) return 1;
    data.forEach(function (trace) {
      if (trace.mode !== "lines") return;
      var x = [], y = [], z = [];
      var n = trace.x.length;
      for (var i = 0; i < n; i++) {
        var end = trace.x[i] === null || i === 0 || i === n - 1 || trace.x[i - 1] === null || trace.x[i + 1] === null;
        if (end || i % k === 0) {
          x.push(trace.x[i]);
          y.push(trace.y[i]);
          z.push(trace.z[i]);
        }
      }
      trace.x = x;
      trace.y = y;
      trace.z = z;
    });
    return k;
  }

  function webglAvailable() {
    try {
      var canvas = document.createElement("canvas");
      return !!(window.WebGLRenderingContext && (canvas.getContext("webgl") || canvas.getContext("experimental-webgl")));
    } catch (e) {
      return false;
    }
  }

  function fetchFigure(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(
        function (body) {
          if (!response.ok) throw new Error(body.error || "the figure could not be loaded (" + response.status + ")");
          return body;
        },
        function () {
          throw new Error("the figure could not be loaded (" + response.status + ")");
        }
      );
    });
  }

  function ordinal(k) {
    return k === 2 ? "second" : k === 3 ? "third" : k + "th";
  }

  function mark(name) {
    if (window.performance && performance.mark) performance.mark(name);
  }

  function setStatus(root, text, isError) {
    var status = root.querySelector("[data-status]");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!isError);
    status.hidden = !text;
  }

  function press(root, view) {
    root.querySelectorAll("[data-view]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.view === view ? "true" : "false");
    });
  }

  // The viewers this page has drawn (or is drawing). A viewer that htmx put back from its history snapshot (back or
  // forward into the tab) carries the attributes and plotly's markup of a drawn view but no live WebGL scene: it is
  // not in this set, so it is drawn again on a fresh plot element.
  var started = typeof WeakSet === "function" ? new WeakSet() : null;

  function init(root) {
    if (started ? started.has(root) : root.dataset.viewerState) return;
    if (started) started.add(root);
    var stale = root.querySelector("[data-plot]");
    if (stale && root.dataset.viewerState) {
      var fresh = document.createElement("div");
      fresh.className = "morph-plot";
      fresh.setAttribute("data-plot", "");
      stale.replaceWith(fresh);
      press(root, "front");
    }
    root.dataset.viewerState = "loading";
    var plot = root.querySelector("[data-plot]");
    if (!window.fetch || !window.Promise || !webglAvailable()) {
      root.dataset.viewerState = "unsupported";
      setStatus(root, "This browser cannot show the 3D view (it needs WebGL); the projections below show the reconstruction.", true);
      return;
    }
    setStatus(root, "Loading the 3D view…");
    plot.classList.add("loading");
    mark("morphology:start");
    var thinned = 1; // see SOFTWARE_POINT_BUDGET
    Promise.all([loadPlotly(root.dataset.plotlySrc), fetchFigure(root.dataset.plotUrl)])
      .then(function (loaded) {
        mark("morphology:data");
        var Plotly = loaded[0];
        var figure = loaded[1];
        var base = prepare(figure);
        thinned = softwareWebgl() ? thinLines(figure.data, SOFTWARE_POINT_BUDGET) : 1;
        root.dataset.thinned = String(thinned);
        var layout = figure.layout;
        var first = viewLayout("front", base, plot.clientWidth, plot.clientHeight);
        layout.scene.camera = first.camera;
        layout.scene.aspectratio = first.aspectratio;
        ["x", "y", "z"].forEach(function (axis) {
          layout.scene[axis + "axis"].visible = first.visible[axis];
          layout.scene[axis + "axis"].title = { text: first.titles ? TITLES[axis] : "" };
          if (base[axis] < 0.3) layout.scene[axis + "axis"].nticks = 4; // a thin side: fewer, legible ticks
        });
        layout.legend = Object.assign({}, layout.legend, {
          bgcolor: "rgba(255,255,255,0.8)",
          bordercolor: "#dde2ea",
          borderwidth: 1,
        });
        layout.paper_bgcolor = "#ffffff";
        // No hover: plotly would pick (render the scene off screen and read it back) on every mouse move, which
        // costs a third of the frame rate while turning a large tree. The legend names every trace.
        layout.scene.hovermode = false;
        return Plotly.newPlot(plot, figure.data, layout, CONFIG).then(function (gd) {
          return { Plotly: Plotly, gd: gd, base: base };
        });
      })
      .then(function (drawn) {
        mark("morphology:drawn");
        if (window.performance && performance.measure) performance.measure("morphology:first-render", "morphology:start", "morphology:drawn");
        plot.classList.remove("loading");
        root.dataset.viewerState = "ready";
        setStatus(
          root,
          thinned > 1
            ? "This browser draws WebGL without a GPU, so the lines are drawn with every " + ordinal(thinned) +
                " point of the reconstruction to keep the view responsive."
            : ""
        );
        var toolbar = root.querySelector("[role=toolbar]");
        if (toolbar) toolbar.hidden = false;
        root.querySelectorAll("[data-view]").forEach(function (button) {
          button.addEventListener("click", function () {
            var view = button.dataset.view;
            press(root, view);
            relayoutTo(drawn.Plotly, drawn.gd, view, drawn.base).catch(function (error) {
              console.error("relayout failed", error);
            });
          });
        });
        drawn.gd.on("plotly_relayouting", function () {
          press(root, null); // the user turned the view by hand
        });
        root.dispatchEvent(new CustomEvent("morphology:drawn", { bubbles: true }));
      })
      .catch(function (error) {
        plot.classList.remove("loading");
        root.dataset.viewerState = "error";
        setStatus(root, "The 3D view could not be drawn: " + error.message, true);
      });
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    if (root.matches && root.matches("[data-morphology-viewer]")) init(root);
    root.querySelectorAll("[data-morphology-viewer]").forEach(init);
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
  document.addEventListener("htmx:historyRestore", function () {
    initAll(document);
  });
  // A tab swapped away takes its plot with it: free the WebGL context (browsers keep only a few alive).
  document.addEventListener("htmx:beforeCleanupElement", function (event) {
    var element = event.detail && event.detail.elt;
    if (window.Plotly && element && element.classList && element.classList.contains("js-plotly-plot")) {
      window.Plotly.purge(element);
    }
  });
})();
