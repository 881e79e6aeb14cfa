// The health planner's maps: no tile server (works offline), outlines from the platform's API.
(function () {
  if (!window.L) return;
  const data = (id) => JSON.parse(document.getElementById(id)?.textContent || "{}");
  // The page's words for the tooltips, each with %(name)s slots (see planner.html).
  const words = data("health-words");
  const say = (key, values = {}) =>
    (words[key] || key).replace(/%\((\w+)\)s/g, (_, name) => String(values[name] ?? ""));
  const num = (x) => Math.round(x).toLocaleString();

  // Emergency centres: province outlines, candidate cities, chosen centres and who goes where.
  const centresEl = document.getElementById("centres-map");
  const plan = data("centres-data");
  if (centresEl && plan.cities) {
    const map = L.map(centresEl, { zoomSnap: 0.25, attributionControl: false });
    map.fitBounds([[18, 75], [53, 134]]);
    fetch("/api/v1/health/outlines.geojson")
      .then((r) => (r.ok ? r.json() : null))
      .then((fc) => {
        if (!fc) return;
        L.geoJSON(fc, { style: { color: "#8aa1b1", weight: 0.8, fill: true, fillColor: "#f4f7f9", fillOpacity: 1 } })
          .addTo(map)
          .bringToBack();
        centresEl.dataset.outlines = String(fc.features.length);
      });
    const where = Object.fromEntries(plan.cities.map((c) => [c.city, [c.lat, c.lon]]));
    const max = Math.max(...plan.flows.map((f) => f.patients), 1);
    for (const f of plan.flows) {
      if (f.from === f.to) continue;
      L.polyline([where[f.from], where[f.to]], { color: "#2a7ab0", weight: 1 + 4 * (f.patients / max), opacity: 0.6 })
        .bindTooltip(say("flow", { source: f.from, target: f.to, patients: num(f.patients), km: num(f.km) }))
        .addTo(map);
    }
    for (const c of plan.cities) {
      const unserved = c.unserved > 0.5;
      L.circleMarker([c.lat, c.lon], {
        radius: 2 + Math.sqrt(c.population_2020 / 1e6) * 1.6,
        color: unserved ? "#b3261e" : "#2a7ab0",
        fillColor: unserved ? "#e08b80" : "#7fb3d5",
        weight: 1,
        fillOpacity: 0.7,
      })
        .bindTooltip(`${c.name} ${c.city}<br>${say("residents", { n: c.population_2020.toLocaleString() })}<br>` +
          say("patients", { patients: num(c.patients), unserved: num(c.unserved) }))
        .addTo(map);
    }
    for (const c of plan.centres) {
      L.circleMarker([c.lat, c.lon], { radius: 8, color: "#fff", weight: 2.5, fillColor: "#1e4d6b", fillOpacity: 1 })
        .bindTooltip(`<strong>${c.name} ${c.city}</strong><br>${say("centre", { beds: num(c.beds_used) })}`, { permanent: false })
        .addTo(map);
    }
    centresEl.dataset.centres = String(plan.centres.length);
  }

  // Alarms per district over the boundaries of the city's districts.
  const alarmEl = document.getElementById("alarm-map");
  if (alarmEl) {
    const counts = data("alarms-data");
    const map = L.map(alarmEl, { zoomSnap: 0.25, attributionControl: false });
    fetch("/api/v1/districts.geojson")
      .then((r) => r.json())
      .then((fc) => {
        const max = Math.max(1, ...Object.values(counts));
        const layer = L.geoJSON(fc, {
          style: (f) => {
            const n = counts[f.properties.code] || 0;
            return {
              color: "#1e4d6b",
              weight: 1,
              fillColor: n ? "#c4321c" : "#2a7ab0",
              fillOpacity: n ? 0.25 + 0.6 * (n / max) : 0.08,
            };
          },
          onEachFeature: (f, l) => {
            const n = counts[f.properties.code] || 0;
            l.bindTooltip(`${f.properties.name} ${f.properties.name_en}<br>${n === 1 ? say("alert") : say("alerts", { n })}`);
          },
        }).addTo(map);
        map.fitBounds(layer.getBounds());
        alarmEl.dataset.loaded = String(fc.features.length);
      });
  }
})();
