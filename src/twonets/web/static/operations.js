// Operations centre pages: the dashboard map with its layers and live updates, a case's
// small map, the small maps of field tasks and of cases to verify, the report form's place
// picker. No tile server: district outlines only.
(function () {
  "use strict";
  if (!window.L) return;

  // The page's words for what the map writes (data-* attributes of #ops-map, in its language).
  const mapEl = document.getElementById("ops-map");
  const words = { count: "%(n)s cases", age: "%(n)s h old", overdue: "overdue", ...(mapEl ? mapEl.dataset : {}) };

  let districts = null; // one download of the outlines for every map of the page
  function districtsInto(map, fit) {
    districts = districts || fetch("/api/v1/districts.geojson").then((r) => r.json());
    return districts
      .then((fc) => {
        const layer = L.geoJSON(fc, {
          style: { color: "#1e4d6b", weight: 1, fillColor: "#2a7ab0", fillOpacity: 0.06 },
          onEachFeature: (f, l) => l.bindTooltip(`${f.properties.name} ${f.properties.name_en}`, { sticky: true }),
          interactive: true,
        }).addTo(map);
        if (fit) map.fitBounds(layer.getBounds());
        return layer;
      });
  }

  function ageClass(p) {
    if (p.overdue) return "#7b1020";
    if (p.age_hours < 24) return "#2e9b4d";
    if (p.age_hours < 72) return "#e0a800";
    return "#d9534f";
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function renderLayer(kind, key, fc) {
    if (kind === "cells") {
      // Shared bikes, the latest hour: blue where bikes outnumber trip starts, red where
      // demand finds too few; the stronger the imbalance, the darker.
      return L.geoJSON(fc, {
        style: (f) => {
          const v = Number(f.properties.imbalance) || 0;
          const colour = v >= 0 ? "#1f5fa8" : "#b03a2e";
          return { color: colour, weight: 0.5, fillColor: colour, fillOpacity: 0.1 + 0.5 * Math.min(1, Math.abs(v)) };
        },
        onEachFeature: (f, l) => {
          const p = f.properties || {};
          const text = (words.bikes || "%(p)s / %(d)s / %(n)s")
            .replace("%(p)s", p.supply).replace("%(d)s", p.starts).replace("%(n)s", p.net);
          l.bindTooltip(escapeHtml(text));
        },
      });
    }
    if (kind === "heat") {
      return L.geoJSON(fc, {
        style: (f) => ({ color: "#b03a2e", weight: 0.5, fillColor: "#e74c3c", fillOpacity: 0.15 + 0.6 * (f.properties.share || 0) }),
        onEachFeature: (f, l) => l.bindTooltip(words.count.replace("%(n)s", f.properties.count)),
      });
    }
    return L.geoJSON(fc, {
      pointToLayer: (f, latlng) => {
        const p = f.properties || {};
        if (key === "rentals") {
          // Group-rental leads per building: bigger with more leads, darker with open ones.
          return L.circleMarker(latlng, {
            radius: Math.min(4 + 2 * (p.leads || 1), 14),
            color: "#7a3e00",
            weight: 1,
            fillColor: p.open ? "#e67e22" : "#f5cba7",
            fillOpacity: 0.9,
          });
        }
        if (key !== "cases") {
          return L.circleMarker(latlng, { radius: 4, color: "#1f5fa8", weight: 1, fillColor: "#4a90d9", fillOpacity: 0.9 });
        }
        return L.circleMarker(latlng, {
          radius: p.overdue ? 7 : 5,
          color: p.overdue ? "#7b1020" : "#333",
          weight: p.overdue ? 3 : 1,
          fillColor: ageClass(p),
          fillOpacity: 0.9,
        });
      },
      onEachFeature: (f, l) => {
        const p = f.properties || {};
        if (key === "cases") {
          l.bindPopup(
            `<strong><a href="/ops/cases/${encodeURIComponent(p.id)}">${escapeHtml(p.number)}</a></strong><br>` +
              `${escapeHtml(p.category)} ${escapeHtml(p.category_name)} <small>${escapeHtml(p.category_name_en)}</small><br>` +
              `${escapeHtml(p.state)} · ${escapeHtml(words.age.replace("%(n)s", Math.round(p.age_hours)))}${p.overdue ? ` · <strong>${escapeHtml(words.overdue)}</strong>` : ""}`
          );
        } else if (key === "rentals") {
          const text = (words.leads || "%(b)s: %(n)s (%(s)s)")
            .replace("%(b)s", p.building).replace("%(n)s", p.leads).replace("%(s)s", Number(p.score).toFixed(2));
          l.bindTooltip(escapeHtml(text));
        } else {
          const label = p.plate || p.name || p.id || "";
          if (label) l.bindTooltip(escapeHtml(label));
        }
      },
    });
  }

  function dashboard(el) {
    const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
    map.setView([31.2, 121.45], 9);
    districtsInto(map, true).then(() => { el.dataset.districts = "loaded"; });
    const shown = {};
    const boxes = Array.from(document.querySelectorAll("#ops-layers input[name=layer]"));

    // H3 resolution for the zoom: hexagons of a few screen millimetres at every scale.
    function resolution() {
      const z = map.getZoom();
      return z <= 9 ? 6 : z <= 11 ? 7 : z <= 13 ? 8 : 9;
    }

    function urlOf(box) {
      if (box.dataset.kind !== "heat") return box.dataset.url;
      const url = new URL(box.dataset.url, window.location.origin);
      url.searchParams.set("resolution", String(resolution()));
      return url.pathname + url.search;
    }

    function load(box) {
      const key = box.value;
      return fetch(urlOf(box), { headers: { Accept: "application/geo+json, application/json" } })
        .then((r) => (r.ok ? r.json() : { type: "FeatureCollection", features: [] }))
        .then((fc) => {
          if (shown[key]) map.removeLayer(shown[key]);
          shown[key] = renderLayer(box.dataset.kind, key, fc);
          if (box.checked) {
            shown[key].addTo(map);
            if (box.dataset.kind === "heat" || box.dataset.kind === "cells") shown[key].bringToBack();
          }
          el.dataset["layer" + key.charAt(0).toUpperCase() + key.slice(1)] = String((fc.features || []).length);
        })
        .catch(() => { box.parentElement.classList.add("error"); });
    }

    boxes.forEach((box) => {
      box.addEventListener("change", () => {
        if (box.checked) {
          if (shown[box.value]) {
            shown[box.value].addTo(map);
            if (box.dataset.kind === "heat") shown[box.value].bringToBack();
          } else load(box);
        } else if (shown[box.value]) {
          map.removeLayer(shown[box.value]);
        }
      });
      if (box.checked) load(box);
    });

    let lastResolution = null;
    map.on("zoomend", () => {
      const now = resolution();
      if (now === lastResolution) return;
      lastResolution = now;
      boxes.forEach((box) => { if (box.dataset.kind === "heat" && shown[box.value]) load(box); });
    });

    function refresh() {
      boxes.forEach((box) => { if (box.checked || shown[box.value]) load(box); });
      document.body.dispatchEvent(new Event("ops-refresh"));
    }

    const live = document.getElementById("ops-live");
    const root = document.querySelector(".ops-dashboard");
    let version = root ? root.dataset.version : "";
    if (window.EventSource) {
      const source = new EventSource("/ops/stream");
      source.addEventListener("open", () => { live.textContent = live.dataset.live; live.classList.add("on"); });
      source.addEventListener("error", () => { live.textContent = live.dataset.reconnecting; live.classList.remove("on"); });
      source.addEventListener("cases", (e) => {
        if (e.data !== version) {
          version = e.data;
          refresh();
          live.textContent = live.dataset.updated.replace("%(time)s", new Date().toLocaleTimeString());
        }
      });
    } else {
      setInterval(refresh, 15000);
      live.textContent = live.dataset.polling;
    }
  }

  function caseMap(el) {
    const lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
    const map = L.map(el, { zoomSnap: 0.25, attributionControl: false }).setView([lat, lon], 13);
    districtsInto(map, false);
    L.circleMarker([lat, lon], { radius: 8, color: "#7b1020", weight: 3, fillColor: "#d9534f", fillOpacity: 0.9 }).addTo(map);
  }

  // A task's (or a case to verify's) place: the spot, zoomed in, with the district outlines.
  function taskMap(el) {
    const lon = parseFloat(el.dataset.lon), lat = parseFloat(el.dataset.lat);
    // A picture of where the case is (role="img"): nothing in it takes focus or clicks.
    const map = L.map(el, {
      zoomSnap: 0.25, attributionControl: false, zoomControl: false, keyboard: false,
      dragging: false, scrollWheelZoom: false, doubleClickZoom: false, boxZoom: false,
      touchZoom: false,
    }).setView([lat, lon], 14);
    districtsInto(map, false).then(() => { el.dataset.districts = "loaded"; });
    L.circleMarker([lat, lon], {
      radius: 9, color: "#7b1020", weight: 3, fillColor: "#d9534f", fillOpacity: 0.9,
      interactive: false,
    }).addTo(map);
  }

  function reportMap(el) {
    const map = L.map(el, { zoomSnap: 0.25, attributionControl: false });
    districtsInto(map, true);
    const lonInput = document.getElementById("report-lon");
    const latInput = document.getElementById("report-lat");
    const where = document.getElementById("report-where");
    let marker = null;
    function put(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.marker(latlng).addTo(map);
      lonInput.value = latlng.lng.toFixed(6);
      latInput.value = latlng.lat.toFixed(6);
      where.textContent = where.dataset.marked;
    }
    if (lonInput.value && latInput.value) put(L.latLng(parseFloat(latInput.value), parseFloat(lonInput.value)));
    map.on("click", (e) => put(e.latlng));
    // On a phone the resident usually stands at the problem: offer the device's position.
    const locate = document.getElementById("report-locate");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", () => {
        where.textContent = where.dataset.finding;
        navigator.geolocation.getCurrentPosition(
          (pos) => {
            const here = L.latLng(pos.coords.latitude, pos.coords.longitude);
            put(here);
            map.setView(here, 15);
          },
          () => { where.textContent = where.dataset.unavailable; },
          { enableHighAccuracy: true, timeout: 10000 }
        );
      });
    }
  }

  const dash = document.getElementById("ops-map");
  if (dash) dashboard(dash);
  const small = document.getElementById("case-map");
  if (small) caseMap(small);
  const picker = document.getElementById("report-map");
  if (picker) reportMap(picker);
  document.querySelectorAll(".task-map").forEach(taskMap);
})();
