// A small map of one place's geometry, or of its division when it has none (CGCS2000
// lon/lat drawn as is: no base map needed, nothing is fetched from outside the app).
(function () {
  "use strict";
  var el = document.getElementById("place-map");
  if (!el || !el.dataset.geometry || el.dataset.geometry === "null") { return; }
  var geometry = JSON.parse(el.dataset.geometry);
  var map = L.map(el, { scrollWheelZoom: false });
  var layer = L.geoJSON(geometry, {
    style: { color: "#b71c1c", weight: 2, fillOpacity: 0.08 },
    pointToLayer: function (feature, latlng) {
      return L.circleMarker(latlng, { radius: 8, color: "#fff", weight: 2, fillColor: "#1e88e5", fillOpacity: 1 });
    }
  }).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 12, padding: [12, 12] }); } else { map.setView([23.3, 113.4], 7); }
  el.classList.add("ready");
})();
