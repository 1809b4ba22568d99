// Draws every [data-vega-spec] element with the vendored vega-embed. Vega's expressions run through its
// CSP-safe interpreter (the dashboard's CSP allows no eval), and charts in an HTMX-swapped answer are drawn too.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("[data-vega-spec]:not([data-rendered])").forEach(function (el) {
      el.setAttribute("data-rendered", "pending");
      var options = { actions: false, renderer: "svg", ast: true, expr: vega.expressionInterpreter };
      vegaEmbed(el, JSON.parse(el.dataset.vegaSpec), options).then(
        function () { el.setAttribute("data-rendered", "true"); },
        function (error) { el.setAttribute("data-rendered", "error"); el.textContent = "chart failed: " + error; }
      );
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
})();
