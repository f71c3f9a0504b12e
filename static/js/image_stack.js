/* The morphology tab's viewer of Allen's image stack (templates/web/_allen_images.html).
 *
 * For each [data-image-stack] section: read the planes from its application/json block, show the toolbar, and step
 * through the planes (Previous/Next buttons, arrow keys on the frame) and zoom (each step doubles the size and asks
 * Allen's image service for one halving less of downsampling, so the pixels stay sharp). Works for a full page
 * load and for a tab swapped in by htmx. Without this script the first plane shows and "Every plane" lists all.
 * An image of Allen's that cannot be shown (not held, and the upstream could not give it) gets a note saying so
 * in place of a broken picture; the note goes when the image loads.
 */
(function () {
  "use strict";

  function init(section) {
    if (section.dataset.stackReady) return;
    var data = section.querySelector('script[type="application/json"]');
    var image = section.querySelector("[data-stack-image]");
    if (!data || !image) return;
    var stack = JSON.parse(data.textContent);
    if (!stack.planes || !stack.planes.length) return;
    section.dataset.stackReady = "1";
    var toolbar = section.querySelector("[data-stack-toolbar]");
    var frame = section.querySelector("[data-stack-frame]");
    var position = section.querySelector("[data-stack-position]");
    var zoomLevel = section.querySelector("[data-stack-zoom-level]");
    var sectionNumber = section.querySelector("[data-stack-section]");
    var imageId = section.querySelector("[data-stack-id]");
    var link = section.querySelector("[data-stack-link]");
    var previous = section.querySelector('[data-stack-step="-1"]');
    var next = section.querySelector('[data-stack-step="1"]');
    var zoomOut = section.querySelector('[data-stack-zoom="-1"]');
    var zoomIn = section.querySelector('[data-stack-zoom="1"]');
    var index = 0;
    var zoom = 0; // index into stack.zooms

    function show() {
      var plane = stack.planes[index];
      var factor = stack.zooms[zoom];
      var downsample = Math.max(0, plane.downsample - Math.round(Math.log2(factor)));
      image.src = plane.url + "?downsample=" + downsample;
      if (plane.width && plane.height) {
        image.width = plane.width * factor;
        image.height = plane.height * factor;
      }
      image.alt = stack.label + ": section " + plane.section_number;
      position.textContent = "plane " + (index + 1) + " of " + stack.planes.length;
      zoomLevel.textContent = factor + "×";
      sectionNumber.textContent = plane.section_number;
      imageId.textContent = plane.id;
      link.href = plane.url;
      section.dataset.shownPlane = String(index + 1);
      section.dataset.shownZoom = String(factor);
      previous.disabled = index === 0;
      next.disabled = index === stack.planes.length - 1;
      zoomOut.disabled = zoom === 0;
      zoomIn.disabled = zoom === stack.zooms.length - 1;
    }

    function step(by) {
      var to = Math.min(stack.planes.length - 1, Math.max(0, index + by));
      if (to !== index) {
        index = to;
        show();
      }
    }

    function zoomBy(by) {
      var to = Math.min(stack.zooms.length - 1, Math.max(0, zoom + by));
      if (to !== zoom) {
        zoom = to;
        show();
      }
    }

    previous.addEventListener("click", function () { step(-1); });
    next.addEventListener("click", function () { step(1); });
    zoomOut.addEventListener("click", function () { zoomBy(-1); });
    zoomIn.addEventListener("click", function () { zoomBy(1); });
    frame.addEventListener("keydown", function (event) {
      var moves = { ArrowLeft: -1, ArrowUp: -1, ArrowRight: 1, ArrowDown: 1 };
      if (moves[event.key]) {
        event.preventDefault();
        step(moves[event.key]);
      } else if (event.key === "+" || event.key === "=") {
        zoomBy(1);
      } else if (event.key === "-") {
        zoomBy(-1);
      }
    });
    toolbar.hidden = false;
    show();
  }

  var UNAVAILABLE =
    "This copy cannot show this image of Allen's: it does not hold it and could not fetch it from its upstream " +
    "(the image's link says why).";

  function watch(img) {
    if (img.dataset.watched) return;
    img.dataset.watched = "1";
    var holder = img.closest("figure, [data-image-stack]");
    function note(show) {
      var existing = holder.querySelector("[data-image-unavailable]");
      if (show && !existing) {
        var p = document.createElement("p");
        p.className = "notice";
        p.setAttribute("data-image-unavailable", "");
        p.setAttribute("role", "status");
        p.textContent = UNAVAILABLE;
        img.insertAdjacentElement("afterend", p);
      } else if (!show && existing) {
        existing.remove();
      }
      holder.dataset.imageState = show ? "unavailable" : "shown";
    }
    img.addEventListener("error", function () { note(true); });
    img.addEventListener("load", function () { note(false); });
    if (img.complete && img.getAttribute("src")) note(img.naturalWidth === 0);
  }

  function initAll(scope) {
    var root = scope && scope.querySelectorAll ? scope : document;
    if (root.matches && root.matches("[data-image-stack]")) init(root);
    root.querySelectorAll("[data-image-stack]").forEach(init);
    root.querySelectorAll("[data-allen-image]").forEach(watch);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  } else {
    initAll(document);
  }
  document.addEventListener("htmx:load", function (event) { initAll(event.detail && event.detail.elt); });
  document.addEventListener("htmx:historyRestore", function () { initAll(document); });
})();
