// The search page's small behaviours (the page works without them).
(function () {
  document.documentElement.classList.add("js");

  // Keep the search box in step with the URL when the browser goes back or forward: htmx restores the page from
  // its history snapshot, which holds the input's original value attribute, not the text the URL describes.
  function syncSearchBox() {
    var box = document.getElementById("q");
    if (!box) return;
    var wanted = new URLSearchParams(window.location.search).get("q") || "";
    if (box.value !== wanted) box.value = wanted;
  }
  document.addEventListener("htmx:historyRestore", syncSearchBox);
  window.addEventListener("popstate", function () { window.setTimeout(syncSearchBox, 0); });
  window.addEventListener("pageshow", syncSearchBox);

  // Narrow screens: the filters sit in a drawer the "Filters" button opens; it stays open while the results
  // under it are swapped, so several values can be picked in a row.
  var filtersOpen = false;
  function showDrawer() {
    var body = document.getElementById("search-body");
    var toggle = body && body.querySelector("[data-filters-toggle]");
    if (!toggle) return;
    body.classList.toggle("filters-open", filtersOpen);
    toggle.setAttribute("aria-expanded", filtersOpen ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest("[data-filters-toggle]");
    if (!toggle) return;
    filtersOpen = !filtersOpen;
    showDrawer();
    // What was drawn while hidden (the histograms) can now take its width.
    if (filtersOpen) document.dispatchEvent(new CustomEvent("search:filters-shown"));
  });
  document.addEventListener("htmx:afterSwap", showDrawer);
  document.addEventListener("htmx:afterSettle", showDrawer);
  document.addEventListener("htmx:historyRestore", showDrawer);
})();
