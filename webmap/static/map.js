// The division map: Guangdong's cities and counties, simplified as a coverage by the server.
(function () {
  "use strict";
  var el = document.getElementById("map");
  var map = L.map(el, { preferCanvas: true }).setView([23.3, 113.4], 7);
  var tileUrl = el.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { attribution: el.dataset.tileAttribution, maxZoom: 18 }).addTo(map);
  }
  var styles = {
    province: { color: "#555", weight: 2, fill: true, fillColor: "#ccc", fillOpacity: 0.25 },
    city: { color: "#b71c1c", weight: 1.5, fillColor: "#ffcdd2", fillOpacity: 0.25 },
    county: { color: "#1565c0", weight: 0.6, fill: false }
  };
  var detail = document.getElementById("division-detail");

  function text(tag, value) {
    var node = document.createElement(tag);
    node.textContent = value;
    return node;
  }

  function showDivision(code) {
    fetch("/api/divisions/" + encodeURIComponent(code))
      .then(function (r) { return r.json(); })
      .then(function (d) {
        detail.replaceChildren();
        detail.appendChild(text("h3", d.name));
        detail.appendChild(text("p", d.chain.map(function (c) { return c.name; }).join(" > ")));
        detail.appendChild(text("p", "代码 " + d.code + " · " + d.level_zh +
          (d.area_km2 ? " · 面积约 " + Math.round(d.area_km2).toLocaleString("zh-CN") + " 平方千米" : "")));
        if (d.children.length) {
          detail.appendChild(text("p", "下辖 " + d.children.length + " 个区划"));
        }
      });
  }

  function load(level, tolerance) {
    return fetch("/api/divisions.geojson?level=" + level + "&tolerance_deg=" + tolerance)
      .then(function (r) { return r.json(); })
      .then(function (fc) {
        return L.geoJSON(fc, {
          style: styles[level],
          onEachFeature: function (f, layer) {
            layer.bindTooltip(f.properties.name, { sticky: true });
            layer.on("click", function () { showDivision(f.properties.code); });
          }
        });
      });
  }

  Promise.all([load("province", 0.01), load("city", 0.003), load("county", 0.003)]).then(function (layers) {
    var provinces = layers[0], cities = layers[1], counties = layers[2];
    provinces.addTo(map); cities.addTo(map);
    L.control.layers(null, { "省界": provinces, "市界": cities, "县界": counties }, { collapsed: false }).addTo(map);
    map.on("zoomend", function () {
      if (map.getZoom() >= 9) { counties.addTo(map); } else { map.removeLayer(counties); }
    });
    el.dataset.ready = "1";
  });
})();
