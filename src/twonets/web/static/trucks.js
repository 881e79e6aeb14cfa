// The muck-trucks page: each truck's newest position on the map (refreshed every 10 s), a
// truck's track on demand, and the violations of the period. Positions and tracks come from
// the page's own routes (the session cookie; /api/ takes bearer tokens only) in WGS-84, the
// frame of the district outlines drawn here; the API's routes also give GCJ-02 (?crs=gcj02)
// for a map drawn on GCJ-02 street tiles.
(function () {
  "use strict";
  if (!window.L) return;
  const el = document.getElementById("trucks-map");
  if (!el) return;
  const words = el.dataset;
  const status = document.getElementById("trucks-status");
  const map = L.map(el, { zoomSnap: 0.25 });
  map.setView([31.2, 121.55], 11);

  function say(template, values) {
    return Object.keys(values).reduce((text, key) => text.replace(`%(${key})s`, values[key]), template || "");
  }
  function localTime(iso) {
    const when = new Date(iso);
    return isNaN(when) ? iso : when.toLocaleString(document.documentElement.lang || undefined, { timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short" });
  }
  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  fetch("/api/v1/districts.geojson")
    .then((r) => r.json())
    .then((fc) => {
      L.geoJSON(fc, {
        style: { color: "#1e4d6b", weight: 1, fillColor: "#2a7ab0", fillOpacity: 0.04 },
        interactive: false,
      }).addTo(map);
    })
    .catch(() => {});

  // The permits' routes (dashed, their corridor's width at the map's scale is not drawn) and
  // the sites and no-go zones.
  const zoneColours = { construction_site: "#8a5a00", disposal_site: "#5a3e8a", no_go: "#b03a2e" };
  fetch("/ops/trucks/permits.geojson", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((fc) => {
      L.geoJSON(fc, {
        style: (f) => {
          const p = f.properties || {};
          if (p.layer === "permit") return { color: "#1f5fa8", weight: 2, opacity: 0.6, dashArray: "6 6" };
          const colour = zoneColours[p.kind] || "#555";
          return { color: colour, weight: 1, fillColor: colour, fillOpacity: 0.12 };
        },
        onEachFeature: (f, l) => {
          const p = f.properties || {};
          l.bindTooltip(escapeHtml(p.layer === "permit" ? `${p.number} · ${p.hours}` : `${p.name}${p.hours ? " · " + p.hours : ""}`));
        },
      }).addTo(map);
      el.dataset.permits = String(fc.features.length);
    })
    .catch(() => {});

  // The violations of the period: red rings where each began.
  const data = document.getElementById("trucks-violations");
  const violations = L.layerGroup().addTo(map);
  const seen = []; // where the violations began: in the first view with the trucks
  (data ? JSON.parse(data.textContent) : []).forEach((v) => {
    seen.push([v.lat, v.lon]);
    L.circleMarker([v.lat, v.lon], { radius: 7, color: "#b03a2e", weight: 2, fillOpacity: 0.15 })
      .bindTooltip(`${escapeHtml(v.plate)} · ${escapeHtml(v.kind)} · ${escapeHtml(v.start)}${v.case ? " · " + escapeHtml(v.case) : ""}`)
      .addTo(violations);
  });

  const trucks = L.layerGroup().addTo(map);
  let track = null;
  let fitted = false;

  function showTrack(plate) {
    fetch(`/ops/trucks/${encodeURIComponent(plate)}/track.geojson`, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((feature) => {
        if (track) map.removeLayer(track);
        const points = feature.geometry.coordinates.map((c) => [c[1], c[0]]);
        track = L.polyline(points, { color: "#1f5fa8", weight: 3, opacity: 0.8 }).addTo(map);
        if (points.length) map.fitBounds(track.getBounds(), { maxZoom: 15, padding: [20, 20], animate: false });
        el.dataset.track = plate;
        if (status) status.textContent = say(words.trackWords, { plate: plate, n: points.length });
      })
      .catch(() => {});
  }

  function refresh() {
    fetch("/ops/trucks/positions.geojson", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((fc) => {
        trucks.clearLayers();
        const bounds = seen.slice();
        fc.features.forEach((f) => {
          const p = f.properties;
          const at = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
          bounds.push(at);
          const marker = L.circleMarker(at, { radius: 6, color: "#333", weight: 1, fillColor: p.speed_kmh >= 5 ? "#2e9b4d" : "#e0a800", fillOpacity: 0.95 });
          marker.bindTooltip(escapeHtml(p.plate), { permanent: true, interactive: true, direction: "right", className: "truck-label" });
          const button = document.createElement("button");
          button.type = "button";
          button.className = "secondary";
          button.textContent = words.showTrack;
          button.addEventListener("click", () => showTrack(p.plate));
          const box = document.createElement("div");
          box.innerHTML = `<strong>${escapeHtml(p.plate)}</strong><br>${escapeHtml(p.company)}<br>${escapeHtml(localTime(p.time))} · ${escapeHtml(say(words.speed, { n: Math.round(p.speed_kmh) }))}<br>`;
          box.appendChild(button);
          marker.bindPopup(box, { autoPan: false });
          marker.on("click", () => showTrack(p.plate));
          marker.addTo(trucks);
        });
        if (!fitted && bounds.length) {
          map.fitBounds(bounds, { maxZoom: 14, padding: [40, 40], animate: false });
          fitted = true;
        }
        el.dataset.trucks = String(fc.features.length);
        if (status && !track) status.textContent = say(words.loaded, { n: fc.features.length });
      })
      .catch(() => {});
  }
  refresh();
  setInterval(refresh, 10000);
})();
