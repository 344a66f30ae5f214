// Start Swagger UI on the page's own API document (no inline script: the CSP forbids it).
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    // No deep links: they put a link inside each operation's toggle button (nested
    // interactive controls, which screen readers cannot announce).
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    defaultModelExpandDepth: 2,
    // Show each body as its schema first (the example is one click away).
    defaultModelRendering: "model",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // "Try it out" calls this same origin; never send the key anywhere else.
    validatorUrl: null,
  });

  // Swagger UI leaves the inputs of a parameter row without a name (an enum's select,
  // a value box): name each after its parameter, as a screen reader needs.
  function nameInputs() {
    root.querySelectorAll("tr[data-param-name]").forEach(function (row) {
      var name = row.getAttribute("data-param-name");
      var where = row.getAttribute("data-param-in") || "";
      row.querySelectorAll("select, input, textarea").forEach(function (field) {
        if (!field.hasAttribute("aria-label") && !field.labels.length) {
          field.setAttribute("aria-label", name + (where ? " (" + where + ")" : ""));
        }
      });
    });
  }
  new MutationObserver(nameInputs).observe(root, { childList: true, subtree: true });
})();
