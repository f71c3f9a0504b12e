// Keep the search box in step with the URL when the browser goes back or forward: htmx restores the page from
// its history snapshot, which holds the input's original value attribute, not the text the URL describes.
(function () {
  function syncSearchBox() {
    var box = document.getElementById("q");
    if (!box) return;
    var wanted = new URLSearchParams(window.location.search).get("q") || "";
    if (box.value !== wanted) box.value = wanted;
  }
  document.addEventListener("htmx:historyRestore", syncSearchBox);
  window.addEventListener("popstate", function () { window.setTimeout(syncSearchBox, 0); });
  window.addEventListener("pageshow", syncSearchBox);
})();
