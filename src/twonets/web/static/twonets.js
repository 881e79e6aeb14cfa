// Behaviour every page shares, bound by data attributes (the pages carry no inline script):
//   <select data-autosubmit>       submits its form when the choice changes;
//   <button data-copy="ELEMENT_ID"> copies that element's value or text, then says so;
//   <form data-confirm="QUESTION">  asks before it is sent;
//   a box that scrolls (.table-scroll, .overflow-auto, .ops-list-panel) takes the keyboard's
//   focus while its content overflows, so it can be scrolled without a mouse.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-confirm")) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) return;
    const text = "value" in source ? source.value : source.textContent;
    navigator.clipboard.writeText(text || "").then(function () {
      button.textContent = button.getAttribute("data-copied") || "Copied";
    });
  });
  const SCROLLERS = ".table-scroll, .overflow-auto, .ops-list-panel";
  function focusableWhileScrolling() {
    document.querySelectorAll(SCROLLERS).forEach(function (box) {
      const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      if (scrolls) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  focusableWhileScrolling();
  window.addEventListener("resize", focusableWhileScrolling);
  document.addEventListener("htmx:afterSettle", focusableWhileScrolling);
})();
