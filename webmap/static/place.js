// A small map of one place's geometry (CGCS2000 lon/lat drawn as is: no base map needed).
(function () {
  "use strict";
  var el = document.getElementById("place-map");
  if (!el) { return; }
  var geometry = JSON.parse(el.dataset.geometry);
  var map = L.map(el);
  var layer = L.geoJSON(geometry).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 12 }); } else { map.setView([23.3, 113.4], 7); }
})();
