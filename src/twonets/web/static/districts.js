// District map: boundaries from the platform's own API, no tile server (works offline).
(function () {
  const el = document.getElementById("map");
  if (!el || !window.L) return;
  const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
  fetch("/api/v1/districts.geojson")
    .then((r) => r.json())
    .then((fc) => {
      const max = Math.max(...fc.features.map((f) => f.properties.population_2020));
      const layer = L.geoJSON(fc, {
        style: (f) => ({
          color: "#1e4d6b",
          weight: 1,
          fillColor: "#2a7ab0",
          fillOpacity: 0.15 + 0.6 * (f.properties.population_2020 / max),
        }),
        onEachFeature: (f, l) =>
          l.bindTooltip(`${f.properties.name} ${f.properties.name_en}<br>${f.properties.population_2020.toLocaleString()} residents`),
      }).addTo(map);
      map.fitBounds(layer.getBounds());
      el.dataset.loaded = String(fc.features.length);
    });
})();
