// Starts Swagger UI on the API page from the bundle served by the platform (no CDN).
(function () {
  "use strict";
  window.addEventListener("DOMContentLoaded", function () {
    const root = document.getElementById("swagger-ui");
    window.ui = window.SwaggerUIBundle({
      url: root.dataset.openapi,
      dom_id: "#swagger-ui",
      deepLinking: false,
      presets: [window.SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  });
})();
