// The Guangdong map: provinces and cities simplified per zoom (first view: coarse, so it
// stays small), counties, boundary lines and place names as vector tiles of the OGC API,
// markers coloured by their last inspection state (clustered), with a legend and a layer
// switcher. Layers other than the
// divisions load the first time they are switched on or, for markers, after the first view.
(function () {
  "use strict";
  var G = window.GDMap, el = G.el;
  var container = document.getElementById("map");
  var map = G.createMap(container);
  var detail = document.getElementById("division-detail");
  var T = window.GD_I18N || {};
  function t(key, zh) { return T[key] || zh; }

  function showDivision(f) {
    detail.replaceChildren(el("p", t("loading", "正在加载…"), "hint"));
    G.requestJSON("/api/divisions/" + encodeURIComponent(f.properties.code)).then(function (d) {
      detail.replaceChildren();
      detail.appendChild(el("h3", d.name));
      detail.appendChild(el("p", d.chain.map(function (c) { return c.name; }).join(" > ")));
      detail.appendChild(el("p", t("code", "代码") + " " + d.code + " · " + d.level_zh +
        (d.area_km2 ? " · " + t("area", "面积约") + " " + Math.round(d.area_km2).toLocaleString("zh-CN") + " " + t("km2", "平方千米") : "")));
      if (d.children.length) { detail.appendChild(el("p", t("children", "下辖区划数") + "：" + d.children.length)); }
    }).catch(function (e) { detail.replaceChildren(el("p", e.message, "error")); });
  }

  function failed(e) { status(e.message); }
  var provinces = G.divisionLayer(map, "province", { interactive: false, minTolerance: 0.01, onError: failed });
  var cities = G.divisionLayer(map, "city", { onClick: showDivision, onError: failed });
  var counties = tileLayer("divisions", "?level=county", function () {
    var s = G.DIVISION_STYLES.county;
    return { color: s.color, weight: s.weight, fill: true, fillOpacity: 0 };  // fill: clickable inside
  }, function (p) { showDivision({ properties: p }); });

  function lazyGeoJSON(url, build) {
    var group = L.featureGroup(), loaded = false;
    group.on("add", function () {
      if (loaded) { return; }
      loaded = true;
      G.requestJSON(url).then(function (data) { build(group, data); })
        .catch(function (e) { loaded = false; status(e.message); });
    });
    return group;
  }

  function popupContent(rows, demo) {
    var box = el("div", null, "popup");
    rows.forEach(function (r) { box.appendChild(el(r[0], r[1], r[2])); });
    if (demo) { box.appendChild(el("span", demo, "demo-badge")); }
    return box;
  }

  // Vector tiles (Mapbox Vector Tiles from the OGC API, one request per 256 px tile in
  // view): lines, places and counties never load more than the view needs.
  function tileLayer(collection, query, style, onClick) {
    var url = "/ogc/collections/" + collection + "/tiles/WebMercatorQuad/{z}/{y}/{x}" + (query || "");
    var styles = {};
    styles[collection] = style;
    var layer = L.vectorGrid.protobuf(url, {
      rendererFactory: L.canvas.tile, vectorTileLayerStyles: styles, interactive: !!onClick,
      maxNativeZoom: 16, getFeatureId: function (f) { return f.properties.id || f.properties.code; }
    });
    if (onClick) {
      layer.on("click", function (e) { onClick(e.layer.properties, e.latlng); });
    }
    layer.on("tileerror", function () { status(t("tileError", "部分瓦片加载失败，请稍后重试")); });
    return layer;
  }

  function openPopup(content, latlng) { L.popup().setLatLng(latlng).setContent(content).openOn(map); }

  var lines = tileLayer("boundary_lines", "", function (p) {
    var s = G.LINE_STYLES[p.kind] || G.LINE_STYLES.county;
    return { color: s.color, weight: s.weight, opacity: s.opacity === undefined ? 1 : s.opacity, dashArray: s.dashArray };
  }, function (p, latlng) {
    openPopup(popupContent([["strong", p.name],
      ["p", t("lineLength", "计算长度（概化数据，短于实测）") + "：" + p.length_km + " " + t("km", "千米")]]), latlng);
  });

  var markers = lazyGeoJSON("/api/boundaries/markers", function (group, fc) {
    var cluster = L.markerClusterGroup({ maxClusterRadius: 40, disableClusteringAtZoom: 12 });
    var entries = [];
    var openMarker = function (n) { entries[n].layer.openPopup(); };
    fc.features.forEach(function (f) {
      var c = f.geometry.coordinates, p = f.properties;
      var m = L.marker([c[1], c[0]], { icon: G.markerIcon(p.state), title: p.number, keyboard: true });
      m.bindPopup(function () {
        return popupContent([["strong", p.number], ["p", p.line_name + " · " + p.type_name],
          ["p", t("state", "状态") + "：" + p.state_name]], p.label);
      });
      // (after the popup's own click: with several icons under the tap, a list replaces it)
      m.on("click", function (e) { G.chooseUnderTap(map, e, entries, t("chooseMarker", "此处有 {n} 个界桩，请选择："), openMarker); });
      entries.push({ layer: m, id: entries.length, text: p.number + " · " + p.state_name });
      cluster.addLayer(m);
    });
    group.addLayer(cluster);
    if (fc.notice) { status(fc.notice); }
  });

  var placeNames = tileLayer("places", "", function () {
    return { radius: 5, fill: true, fillColor: "#1e88e5", fillOpacity: 0.9, color: "#ffffff", weight: 1 };
  }, function (p, latlng) {
    var box = popupContent([["strong", p.name], ["p", p.feature_class]]);
    var a = el("a", t("record", "查看地名记录"));
    a.href = "/place/" + encodeURIComponent(p.id);
    box.appendChild(a);
    openPopup(box, latlng);
  });

  function status(message) {
    var node = document.getElementById("map-status");
    if (node) { node.textContent = message; }
  }

  provinces.addTo(map);
  cities.addTo(map);
  var overlays = {};
  overlays[t("provinces", "省界（含邻省）")] = provinces;
  overlays[t("cities", "地级市")] = cities;
  overlays[t("counties", "县级区划")] = counties;
  overlays[t("lines", "行政区域界线")] = lines;
  overlays[t("markers", "界桩（演示数据）")] = markers;
  overlays[t("places", "地名")] = placeNames;
  L.control.layers(null, overlays, { collapsed: G.compactScreen() }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  var legendRows = [
    { colour: "#b71c1c", label: t("cities", "地级市"), kind: "line" },
    { colour: "#1565c0", label: t("counties", "县级区划"), kind: "line" },
    { colour: G.LINE_STYLES.provincial.color, label: t("provLine", "省级界线"), kind: "line" },
    { colour: G.LINE_STYLES.city.color, label: t("cityLine", "市级界线"), kind: "line" },
    { colour: "#1e88e5", label: t("places", "地名") }
  ].concat(G.stateLegendRows());
  G.legendControl(t("legend", "图例（界桩按最近检查状态着色）"), legendRows,
    t("demoNote", "界桩为演示数据")).addTo(map);

  map.on("zoomend", function () {
    if (map.getZoom() >= 9) { counties.addTo(map); } else { map.removeLayer(counties); }
  });

  // Interactive once the first divisions are drawn; markers come after, off the critical path.
  // What is in view, "west,south,east,north" (CGCS2000 lon/lat), on the container: for
  // scripts and tests that need to know what the reader sees.
  function noteView() { container.dataset.view = map.getBounds().toBBoxString(); }
  map.on("moveend", noteView);

  // The first view is the province (its cities' extent), whatever the screen's shape.
  Promise.all([provinces.refresh(), cities.refresh()]).then(function () {
    if (cities.getLayers().length) { G.fitClearOfControls(map, cities.getBounds()); }
    noteView();
    container.dataset.ready = "1";
    if (container.dataset.markers !== "off") { markers.addTo(map); }
  }).catch(function (e) { status(e.message); });
})();
