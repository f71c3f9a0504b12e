/* Loads static/js/plotly.min.js once per page, on first need: window.celltypesLoadPlotly(src) -> Promise<Plotly>.
 * Shared by the page scripts (morphology, ephys, models, search ranges and parallel coordinates), so several plots on
 * one page wait on the same script instead of each adding its own. */
(function () {
  "use strict";
  var loading = null;

  window.celltypesLoadPlotly = function (src) {
    if (window.Plotly) return Promise.resolve(window.Plotly);
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.async = true;
        script.onload = function () {
          window.Plotly ? resolve(window.Plotly) : reject(new Error("plotly did not load"));
        };
        script.onerror = function () {
          loading = null;
          reject(new Error("could not load " + src));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  };
})();
