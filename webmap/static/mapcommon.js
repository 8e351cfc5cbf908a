// Shared by the map pages: the base map, divisions simplified per zoom, marker colours,
// the legend, safe DOM helpers and JSON requests with the CSRF header.
// User text is only ever put into the page with textContent (never innerHTML).
(function () {
  "use strict";

  // Codes, Chinese labels and state colours are declared once on the server
  // (boundaries/vocabulary.py) and handed over as a JSON data block by base.html.
  var vocabularyNode = document.getElementById("boundary-vocabulary");
  var VOCABULARY = vocabularyNode ? JSON.parse(vocabularyNode.textContent) : {};
  function labelsOf(name) {
    var out = {};
    (VOCABULARY[name] || []).forEach(function (t) { out[t.code] = t.zh; });
    return out;
  }
  function label(name, code) {
    if (code === null || code === undefined || code === "") { return "—"; }
    var names = labelsOf(name);
    return Object.prototype.hasOwnProperty.call(names, code) ? names[code] : String(code);
  }
  var STATE_COLOURS = {}, STATE_NAMES = labelsOf("marker_states");
  (VOCABULARY.marker_states || []).forEach(function (t) { STATE_COLOURS[t.code] = t.colour; });
  var UNINSPECTED = VOCABULARY.uninspected || { code: "unknown", zh: "未检查", colour: "#607d8b" };

  var DIVISION_STYLES = {
    province: { color: "#555", weight: 2, fill: true, fillColor: "#ccc", fillOpacity: 0.2 },
    city: { color: "#b71c1c", weight: 1.5, fillColor: "#ffcdd2", fillOpacity: 0.2 },
    county: { color: "#1565c0", weight: 0.6, fill: false }
  };
  var LINE_STYLES = {
    provincial: { color: "#4a148c", weight: 4, opacity: 0.85 },
    city: { color: "#d81b60", weight: 3, opacity: 0.8, dashArray: "8 4" },
    county: { color: "#00838f", weight: 2, opacity: 0.7, dashArray: "3 4" }
  };

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (className) { node.className = className; }
    return node;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // fetch JSON; a non-2xx answer rejects with the API's Chinese message and the status.
  function requestJSON(url, options) {
    options = options || {};
    var headers = { "Accept": "application/json" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
    }
    return fetch(url, {
      method: options.method || (options.body !== undefined ? "POST" : "GET"),
      headers: headers, credentials: "same-origin",
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) {
          var err = new Error((data.error && data.error.message) || ("请求失败（" + r.status + "）"));
          err.status = r.status; err.data = data;
          throw err;
        }
        data.__status = r.status;
        return data;
      });
    });
  }

  // The base map is declared once on the server (webmap/tile_sources.py: 天地图 presets, a
  // custom URL, or the operator's offline package served by the app) and read from the page.
  var basemapNode = document.getElementById("basemap-config");
  var BASEMAP = basemapNode ? JSON.parse(basemapNode.textContent) : { layers: [] };

  function createMap(container, options) {
    var map = L.map(container, Object.assign({ preferCanvas: true, zoomSnap: 1, tapTolerance: 20, minZoom: 5, maxZoom: 18 }, options || {}))
      .setView([23.3, 113.4], 7);
    BASEMAP.layers.forEach(function (layer) {
      L.tileLayer(layer.url, {
        attribution: layer.attribution || "", maxZoom: layer.max_zoom || 18,
        maxNativeZoom: layer.max_native_zoom || layer.max_zoom || 18,
        subdomains: layer.subdomains || "abc"
      }).addTo(map);
    });
    // Leaflet measures its container once; when the page around it changes (the panel below
    // the map fills in on a tablet in portrait) the map would keep believing in its old size
    // and centre things in a part of it that is no longer on screen.
    if (window.ResizeObserver) {
      new ResizeObserver(function () { map.invalidateSize({ pan: false }); }).observe(map.getContainer());
    }
    return map;
  }

  // About one screen pixel in degrees at zoom z, snapped to a few steps so the server's
  // cache (and the browser's) is hit again and again.
  function toleranceForZoom(z) {
    var steps = [0.02, 0.01, 0.005, 0.0025, 0.001];
    var px = 360 / (256 * Math.pow(2, z));
    for (var i = 0; i < steps.length; i++) { if (steps[i] <= px * 1.01) { return steps[i]; } }
    return steps[steps.length - 1];
  }

  // A division layer that reloads itself with a finer or coarser simplification on zoom.
  function divisionLayer(map, level, options) {
    options = options || {};
    var group = L.featureGroup();
    var current = null, currentTol = null, cache = {}, pending = Promise.resolve();
    function load(tol) {
      if (!cache[tol]) {
        cache[tol] = fetch("/api/divisions.geojson?level=" + level + "&tolerance_deg=" + tol)
          .then(function (r) { if (!r.ok) { throw new Error("区划数据加载失败"); } return r.json(); });
      }
      return cache[tol].catch(function (e) {
        delete cache[tol];
        if (tol === currentTol) { currentTol = null; }   // try again on the next zoom
        throw e;
      }).then(function (fc) {
        if (tol !== currentTol) { return; }
        var layer = L.geoJSON(fc, {
          style: DIVISION_STYLES[level], interactive: options.interactive !== false,
          onEachFeature: function (f, lyr) {
            if (options.interactive === false) { return; }
            lyr.bindTooltip(f.properties.name, { sticky: true });
            if (options.onClick) { lyr.on("click", function (e) { options.onClick(f, e); }); }
          }
        });
        if (current) { group.removeLayer(current); }
        current = layer;
        group.addLayer(layer);
      });
    }
    group.refresh = function () {
      var tol = Math.max(toleranceForZoom(map.getZoom()), options.minTolerance || 0);
      if (tol === currentTol) { return pending; }
      currentTol = tol;
      pending = load(tol).catch(function (e) {
        if (options.onError) { options.onError(e); }
      });
      return pending;
    };
    map.on("zoomend", function () { if (map.hasLayer(group)) { group.refresh(); } });
    group.on("add", function () { group.refresh(); });
    return group;
  }

  // The colour is set through the element's style property (CSSOM), which the
  // Content-Security-Policy allows, unlike a style attribute in markup.
  function markerIcon(state, selected) {
    var known = STATE_COLOURS[state] ? state : UNINSPECTED.code;
    var dot = document.createElement("span");
    dot.style.background = STATE_COLOURS[state] || UNINSPECTED.colour;
    return L.divIcon({
      className: "bm-icon bm-state-" + known + (selected ? " bm-selected" : ""),
      html: dot,
      iconSize: [44, 44], iconAnchor: [22, 22]
    });
  }

  // A tap on a marker icon may cover others: a paired number's two markers (同号双立) stand
  // 10–50 m apart on the two banks, a junction's (同号三立) closer still, so their 44 px
  // icons lie on top of each other until the map is zoomed far in, and the tap would always
  // pick the top one. ``event`` is the marker's Leaflet click; ``entries`` are
  // {layer, id, text} of every marker; ``choose(id)`` is what picking one does. With more
  // than one icon under the finger a popup lists them (``title`` above the list); a key
  // press (no pointer position) picks the marker it was made on.
  var ICON_HALF_PX = 22;
  function chooseUnderTap(map, event, entries, title, choose) {
    var own = entries.filter(function (e) { return e.layer === event.target; })[0];
    var pointer = event.originalEvent;
    if (!pointer || pointer.clientX === undefined) { if (own) { choose(own.id); } return; }
    var at = map.mouseEventToContainerPoint(pointer);
    var under = entries.filter(function (e) {
      if (!map.hasLayer(e.layer)) { return false; }   // inside a cluster: not drawn on its own
      var p = map.latLngToContainerPoint(e.layer.getLatLng());
      return Math.abs(p.x - at.x) <= ICON_HALF_PX && Math.abs(p.y - at.y) <= ICON_HALF_PX;
    });
    if (under.length < 2) { if (own) { choose(own.id); } return; }
    under.sort(function (a, b) { return a.text < b.text ? -1 : a.text > b.text ? 1 : 0; });
    var box = el("div", null, "bm-choose");
    box.appendChild(el("p", title.replace("{n}", under.length)));
    var popup = L.popup({ closeButton: true, autoPanPadding: [20, 20] });
    under.forEach(function (e) {
      var b = el("button", e.text);
      b.type = "button";
      b.dataset.markerId = String(e.id);
      b.addEventListener("click", function () { map.closePopup(popup); choose(e.id); });
      box.appendChild(b);
    });
    popup.setLatLng(map.containerPointToLatLng(at)).setContent(box).openOn(map);
  }

  // Below this width (phones, tablets in portrait) an open legend or layer box covers a
  // good part of the map: they start folded.
  var COMPACT_WIDTH_PX = 1024;
  function compactScreen() { return window.innerWidth < COMPACT_WIDTH_PX; }

  // Fit ``bounds`` in the part of the map that the controls in its corners leave free
  // (their widths and heights, measured now, plus a small margin), so that no edge of
  // the area lies under the zoom buttons, the layer box or the legend.
  function fitClearOfControls(map, bounds) {
    var corner = function (name) {
      var node = map.getContainer().querySelector(".leaflet-" + name);
      return node ? [node.offsetWidth, node.offsetHeight] : [0, 0];
    };
    var tl = corner("top.leaflet-left"), tr = corner("top.leaflet-right");
    var bl = corner("bottom.leaflet-left"), br = corner("bottom.leaflet-right");
    var margin = 8;
    map.fitBounds(bounds, {
      paddingTopLeft: [Math.max(tl[0], bl[0]) + margin, Math.max(tl[1], tr[1]) + margin],
      paddingBottomRight: [Math.max(tr[0], br[0]) + margin, Math.max(bl[1], br[1]) + margin],
      animate: false
    });
  }

  // A legend that folds to a 44 px button (folded at first on compact screens, where it
  // would cover the map; ``control.fold()`` folds it later, e.g. once a marker is chosen).
  function legendControl(title, rows, note) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = el("div", null, "legend");
      var toggle = el("button", title, "legend-toggle");
      toggle.type = "button";
      var body = el("div", null, "legend-body");
      rows.forEach(function (row) {
        var line = el("div", null, "legend-row");
        var swatch = el("span", null, "legend-swatch legend-" + (row.kind || "dot"));
        swatch.style.background = row.kind === "line" ? "none" : row.colour;
        swatch.style.borderColor = row.colour;
        line.appendChild(swatch);
        line.appendChild(el("span", row.label));
        body.appendChild(line);
      });
      if (note) { body.appendChild(el("div", note, "legend-note")); }
      box.appendChild(toggle);
      box.appendChild(body);
      var folded = compactScreen();
      function show() {
        box.classList.toggle("collapsed", folded);
        toggle.setAttribute("aria-expanded", String(!folded));
      }
      toggle.addEventListener("click", function () { folded = !folded; show(); });
      control.fold = function () { folded = true; show(); };
      show();
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    return control;
  }

  function stateLegendRows() {
    return Object.keys(STATE_NAMES).map(function (s) {
      return { colour: STATE_COLOURS[s], label: STATE_NAMES[s] };
    });
  }

  // Great-circle distance (m) and initial bearing (deg from north) on a sphere of the
  // CGCS2000 mean radius: within 0.5% of the ellipsoid, enough to walk to a marker.
  function distanceBearing(lon1, lat1, lon2, lat2) {
    var R = 6371008.8, rad = Math.PI / 180;
    var p1 = lat1 * rad, p2 = lat2 * rad, dp = (lat2 - lat1) * rad, dl = (lon2 - lon1) * rad;
    var a = Math.sin(dp / 2) * Math.sin(dp / 2) + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    var d = 2 * R * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
    var y = Math.sin(dl) * Math.cos(p2);
    var x = Math.cos(p1) * Math.sin(p2) - Math.sin(p1) * Math.cos(p2) * Math.cos(dl);
    var b = (Math.atan2(y, x) / rad + 360) % 360;
    return { distance_m: d, bearing_deg: b };
  }

  function compass(bearing) {
    var names = ["北", "东北", "东", "东南", "南", "西南", "西", "西北"];
    return names[Math.round(bearing / 45) % 8];
  }

  function formatDistance(m) {
    return m >= 1000 ? (m / 1000).toFixed(m >= 10000 ? 0 : 1) + " 千米" : Math.round(m) + " 米";
  }

  window.GDMap = {
    VOCABULARY: VOCABULARY, label: label, UNINSPECTED: UNINSPECTED, BASEMAP: BASEMAP,
    STATE_COLOURS: STATE_COLOURS, STATE_NAMES: STATE_NAMES, LINE_STYLES: LINE_STYLES,
    DIVISION_STYLES: DIVISION_STYLES,
    el: el, csrfToken: csrfToken, requestJSON: requestJSON, createMap: createMap,
    toleranceForZoom: toleranceForZoom, divisionLayer: divisionLayer, markerIcon: markerIcon,
    legendControl: legendControl, stateLegendRows: stateLegendRows, distanceBearing: distanceBearing,
    compass: compass, formatDistance: formatDistance, compactScreen: compactScreen,
    fitClearOfControls: fitClearOfControls, chooseUnderTap: chooseUnderTap
  };
})();
