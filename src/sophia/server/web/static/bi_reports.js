// Draw each report's Vega-Lite spec (embedded as JSON) with the vendored vega-embed; expressions go through
// vega-interpreter so the page's CSP (script-src 'self', no eval) holds.
(function () {
  "use strict";
  for (const el of document.querySelectorAll("[data-vega-spec]")) {
    const spec = JSON.parse(document.getElementById(el.dataset.vegaSpec).textContent);
    const options = { actions: false, renderer: "svg", ast: true, expr: vega.expressionInterpreter };
    vegaEmbed(el, spec, options).then(
      function () { el.dataset.rendered = "true"; },
      function (error) { el.dataset.rendered = "error"; el.textContent = "The chart could not be drawn: " + error; }
    );
  }
})();
