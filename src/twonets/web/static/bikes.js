// The shared-bikes page: H3 cells of one day drawn on a Leaflet map, coloured by the chosen
// figure for the hour the slider names. The day's counts come with the page
// (<script type="application/json" id="bikes-data">): moving the slider redraws at once.
(function () {
  "use strict";
  const source = document.getElementById("bikes-data");
  const box = document.getElementById("bikes-map");
  if (!source || !box || !window.L) return;
  const data = JSON.parse(source.textContent);
  const slider = document.getElementById("bikes-hour");
  const label = document.getElementById("bikes-hour-label");
  const measure = document.getElementById("bikes-measure");
  const summary = document.getElementById("bikes-summary");
  const COLUMN = { starts: 1, arrivals: 2, supply: 3, net: 4, imbalance: 5 };
  const DIVERGING = { net: true, imbalance: true };

  const map = L.map(box, { preferCanvas: false }).setView([31.23, 121.47], 11);
  const layer = L.layerGroup().addTo(map);
  const bounds = [];
  Object.keys(data.cells).forEach(function (cell) { data.cells[cell].forEach(function (p) { bounds.push(p); }); });
  data.zones.forEach(function (z) {
    bounds.push([z.lat, z.lon]);
    L.circle([z.lat, z.lon], {
      radius: Math.max(z.radius, 40),
      color: z.over ? "#7b1020" : "#555",
      weight: z.over ? 3 : 1,
      fillOpacity: z.over ? 0.35 : 0.05,
    }).bindTooltip(z.name).addTo(map);
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [10, 10] });

  function mix(a, b, t) {
    const c = [0, 1, 2].map(function (i) { return Math.round(a[i] + (b[i] - a[i]) * t); });
    return "rgb(" + c.join(",") + ")";
  }
  const BLUE = [33, 102, 172], WHITE = [247, 247, 247], RED = [178, 24, 43];

  function colour(value, scale, diverging) {
    if (diverging) {
      const t = scale ? Math.max(-1, Math.min(1, value / scale)) : 0;
      return t < 0 ? mix(WHITE, BLUE, -t) : mix(WHITE, RED, t);
    }
    return mix(WHITE, RED, scale ? Math.min(1, value / scale) : 0);
  }

  function draw() {
    const hour = parseInt(slider.value, 10);
    const key = measure.value;
    const column = COLUMN[key];
    const rows = data.hours[hour] || [];
    label.textContent = (hour < 10 ? "0" : "") + hour + ":00";
    layer.clearLayers();
    let scale = 0, starts = 0, supply = 0, shown = 0;
    rows.forEach(function (r) { scale = Math.max(scale, Math.abs(r[column])); });
    if (key === "imbalance") scale = 1;
    rows.forEach(function (r) {
      starts += r[1];
      supply += r[3];
      if (r[column] === 0 && !DIVERGING[key]) return;
      shown += 1;
      L.polygon(data.cells[r[0]], {
        color: "#444",
        weight: 0.5,
        fillColor: colour(r[column], scale, DIVERGING[key]),
        fillOpacity: 0.7,
      }).bindTooltip(r[0] + ": " + r[column]).addTo(layer);
    });
    box.setAttribute("data-hour", String(hour));
    box.setAttribute("data-cells", String(shown));
    if (summary) {
      summary.textContent = summary.getAttribute("data-template")
        .replace("%(cells)s", shown).replace("%(starts)s", starts).replace("%(supply)s", supply);
    }
  }

  slider.addEventListener("input", draw);
  measure.addEventListener("change", draw);
  draw();
})();
