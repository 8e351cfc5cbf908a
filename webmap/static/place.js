// A small map of one place's geometry, or of its division when it has none (CGCS2000
// lon/lat drawn as is: no base map needed, nothing is fetched from outside the app).
// With data-context (a FeatureCollection from gazetteer.place_view.map_context) a point or
// line is drawn among its division (red outline) and the neighbouring divisions (grey),
// each labelled, and the view fits the division: where the place lies, not a lone dot.
(function () {
  "use strict";
  var el = document.getElementById("place-map");
  if (!el || !el.dataset.geometry || el.dataset.geometry === "null") { return; }
  var geometry = JSON.parse(el.dataset.geometry);
  var context = el.dataset.context && el.dataset.context !== "null" ? JSON.parse(el.dataset.context) : null;
  var map = L.map(el, { scrollWheelZoom: false });
  L.control.scale({ imperial: false }).addTo(map);
  var home = null;
  if (context) {
    L.geoJSON(context, {
      style: function (f) {
        return f.properties.role === "division"
          ? { color: "#b71c1c", weight: 2, fillColor: "#fff8e1", fillOpacity: 0.6 }
          : { color: "#78909c", weight: 1, fillColor: "#eceff1", fillOpacity: 0.5 };
      },
      onEachFeature: function (f, layer) {
        if (f.properties.role === "division") { home = layer; return; }
        layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "map-label" });
      }
    }).addTo(map);
  }
  if (home) {
    // The division's own name sits inside its southern edge, clear of the place's label.
    var hb = home.getBounds();
    L.tooltip({ permanent: true, direction: "top", offset: [0, -4], className: "map-label map-label-home" })
      .setLatLng([hb.getSouth(), hb.getCenter().lng])
      .setContent(home.feature.properties.name)
      .addTo(map);
  }
  var layer = L.geoJSON(geometry, {
    style: { color: context ? "#1e88e5" : "#b71c1c", weight: context ? 5 : 2, fillOpacity: 0.08 },
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, { radius: 9, color: "#fff", weight: 3, fillColor: "#1e88e5", fillOpacity: 1 });
    }
  }).addTo(map);
  if (context && el.dataset.label) {
    layer.bindTooltip(el.dataset.label, { permanent: true, direction: "top", offset: [0, -10], className: "map-label map-label-place" });
  }
  var bounds = layer.getBounds();
  if (home) { bounds = home.getBounds().extend(bounds); }
  if (bounds.isValid()) { map.fitBounds(bounds, { maxZoom: context ? 14 : 12, padding: [12, 12] }); } else { map.setView([23.3, 113.4], 7); }
  el.classList.add("ready");
})();
