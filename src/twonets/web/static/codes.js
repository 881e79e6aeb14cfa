// Counts down to a code's expiry; htmx swaps in the next code before then.
(function () {
  function tick() {
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.expires) - Date.now()) / 1000);
      var out = el.querySelector(".countdown");
      if (!out) return;
      // The words come from the page, in its language: data-left holds "{s}" for the seconds.
      if (left > 0) {
        out.textContent = (el.dataset.left || "{s} s").replace("{s}", left);
        out.classList.remove("expired");
      } else {
        out.textContent = el.dataset.renewing || "…";
        out.classList.add("expired");
      }
    });
  }
  // On a phone the scenarios scroll sideways: bring the one shown into sight.
  document.querySelectorAll("nav.scenarios ul").forEach(function (list) {
    var current = list.querySelector("[aria-current='page']");
    if (current) list.scrollLeft = current.parentElement.offsetLeft - list.offsetLeft;
  });
  setInterval(tick, 1000);
  document.addEventListener("htmx:afterSwap", tick);
  tick();
})();
