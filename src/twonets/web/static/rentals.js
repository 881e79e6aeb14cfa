// The group-rental page: a heat map of leads per district, and a lead's months against its
// building's households (ratios to the building's median per registered occupant), drawn as
// SVG here: no chart library, no CDN.
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = { water: "#1f77b4", electricity: "#d62728", gas: "#2ca02c" };

  function heatMap() {
    const el = document.getElementById("rentals-map");
    if (!el || !window.L) return;
    const counts = JSON.parse(el.dataset.counts || "{}");
    const label = el.dataset.label || "leads";
    const max = Math.max(1, ...Object.values(counts));
    const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
    fetch("/api/v1/districts.geojson")
      .then((r) => r.json())
      .then((fc) => {
        const layer = L.geoJSON(fc, {
          style: (f) => {
            const n = counts[f.properties.code] || 0;
            return {
              color: "#6b1e1e",
              weight: 1,
              fillColor: n ? "#c0392b" : "#cccccc",
              fillOpacity: n ? 0.2 + 0.6 * (n / max) : 0.1,
            };
          },
          onEachFeature: (f, l) => {
            const n = counts[f.properties.code] || 0;
            l.bindTooltip(`${f.properties.name} ${f.properties.name_en}<br>${n} ${label}`);
          },
        }).addTo(map);
        const shown = layer.getLayers().filter((l) => counts[l.feature.properties.code]);
        const bounds = shown.length ? L.featureGroup(shown).getBounds() : layer.getBounds();
        map.fitBounds(bounds, { padding: [10, 10] });
        el.dataset.loaded = String(Object.keys(counts).length);
      });
  }

  function node(name, attrs, parent) {
    const n = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (parent) parent.appendChild(n);
    return n;
  }

  // One panel per utility: the peers' middle half as a band, the median as a line at 1, the
  // household as a line with points.
  function chart(box, months) {
    const names = JSON.parse(box.dataset.names || "{}");
    if (!months.length) {
      box.textContent = box.dataset.empty || "";
      return;
    }
    const utilities = ["water", "electricity", "gas"];
    const w = 170, h = 130, pad = { l: 26, r: 12, t: 20, b: 20 };
    const svg = node("svg", { viewBox: `0 0 ${w * utilities.length} ${h}`, role: "img" }, null);
    let top = 2;
    for (const m of months) for (const u of utilities) top = Math.max(top, m.ratio[u], m.high[u]);
    top = Math.ceil(top);
    utilities.forEach((u, i) => {
      const g = node("g", { transform: `translate(${i * w},0)` }, svg);
      const x = (j) => pad.l + (months.length > 1 ? (j * (w - pad.l - pad.r)) / (months.length - 1) : 0);
      const y = (v) => h - pad.b - (v / top) * (h - pad.t - pad.b);
      node("text", { x: pad.l, y: 13, "font-size": 12, "font-weight": "bold", fill: COLOURS[u] }, g)
        .textContent = names[u] || u;
      for (let t = 0; t <= top; t += Math.max(1, Math.round(top / 4))) {
        node("line", { x1: pad.l, x2: w - pad.r, y1: y(t), y2: y(t), stroke: "#eee" }, g);
        node("text", { x: pad.l - 3, y: y(t) + 3, "font-size": 10, "text-anchor": "end", fill: "#666" }, g)
          .textContent = `${t}×`;
      }
      const band = months.map((m, j) => `${x(j)},${y(m.high[u])}`)
        .concat(months.map((m, j) => `${x(j)},${y(m.low[u])}`).reverse());
      node("polygon", { points: band.join(" "), fill: "#999", "fill-opacity": 0.25 }, g);
      node("line", { x1: pad.l, x2: w - pad.r, y1: y(1), y2: y(1), stroke: "#555", "stroke-dasharray": "3 3" }, g);
      node("polyline", {
        points: months.map((m, j) => `${x(j)},${y(m.ratio[u])}`).join(" "),
        fill: "none", stroke: COLOURS[u], "stroke-width": 2,
      }, g);
      months.forEach((m, j) => {
        const c = node("circle", { cx: x(j), cy: y(m.ratio[u]), r: 2.5, fill: COLOURS[u] }, g);
        node("title", {}, c).textContent = `${m.month}: ${m.ratio[u]}×`;
        if (j === 0 || j === months.length - 1) {
          const anchor = j === 0 ? "start" : "end";
          node("text", { x: x(j), y: h - 5, "font-size": 10, "text-anchor": anchor, fill: "#666" }, g)
            .textContent = m.month;
        }
      });
    });
    box.replaceChildren(svg);
    const legend = document.createElement("div");
    legend.className = "legend";
    for (const [colour, text, dash] of [
      ["#333", box.dataset.household, false],
      ["rgba(153,153,153,0.4)", box.dataset.peers, false],
      ["#555", box.dataset.median, true],
    ]) {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = dash ? "none" : colour;
      if (dash) swatch.style.borderTop = `2px dashed ${colour}`;
      item.append(swatch, text || "");
      legend.appendChild(item);
    }
    box.appendChild(legend);
    box.dataset.months = String(months.length);
  }

  function histories() {
    for (const details of document.querySelectorAll("details[data-history]")) {
      details.addEventListener("toggle", () => {
        const box = details.querySelector(".rentals-chart");
        if (!details.open || !box || box.dataset.months) return;
        fetch(details.dataset.history, { credentials: "same-origin" })
          .then((r) => (r.ok ? r.json() : []))
          .then((months) => chart(box, months));
      });
    }
  }

  heatMap();
  histories();
})();
