// The requests staff pages: a form sent by htmx whose answer is a refusal (422, 403, 409)
// brings back the page with the reason in words; swap it in like a success, so that the
// reason shows beside the form instead of nothing happening.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    const source = event.detail.requestConfig && event.detail.requestConfig.elt;
    const status = event.detail.xhr.status;
    if (source && source.closest("[data-requests-desk]") && status >= 400 && status < 500) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
