// Every map of the platform draws the offline layers the package carries (district outlines,
// cases, ...) and says where they come from. Where a city names its own street-map tile server
// (TWONETS_MAP_TILES_URL, shown to the pages in <meta name="twonets-map-tiles">), its tiles go
// beneath them. Load after leaflet.js and before the page's own map script.
(function () {
  "use strict";
  if (!window.L) return;
  const tiles = document.querySelector('meta[name="twonets-map-tiles"]');
  const provenance = document.querySelector('meta[name="twonets-map-provenance"]');
  L.Map.addInitHook(function () {
    const credits = [];
    if (provenance) credits.push(provenance.getAttribute("content"));
    if (tiles) {
      L.tileLayer(tiles.getAttribute("content"), { maxZoom: 19 }).addTo(this);
      const attribution = tiles.getAttribute("data-attribution");
      if (attribution) credits.push(attribution);
      this.getContainer().classList.add("with-tiles");
    }
    // Pictures of a place (role="img") stay free of links; every other map credits its sources.
    if (credits.length && this.getContainer().getAttribute("role") !== "img") {
      const control = L.control.attribution({ prefix: false });
      credits.forEach(function (credit) { control.addAttribution(credit); });
      control.addTo(this);
    }
  });
})();
