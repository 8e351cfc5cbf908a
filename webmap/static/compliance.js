// Naming-compliance mode: a proposed name, its class and a division or a point on the map
// -> the rules' findings beside a map of the conflicting and similar names. Names with no
// geometry are drawn hollow at a point of their county; an officer can place one (上图).
(function () {
  "use strict";
  var G = window.GDMap, el = G.el;
  var $ = function (id) { return document.getElementById(id); };
  var container = $("map");
  var canPlace = container.dataset.canPlace === "1";
  var map = G.createMap(container);
  var results = L.featureGroup().addTo(map);
  var spot = null, picked = null, placing = null, lastBody = null;

  G.divisionLayer(map, "city", { interactive: false }).addTo(map);
  G.divisionLayer(map, "county", { interactive: false, minTolerance: 0.0025 }).addTo(map);
  G.legendControl("图例", [
    { colour: "#c62828", label: "冲突（重名、同音、变体）" },
    { colour: "#1e88e5", label: "相近地名" },
    { colour: "#6d4c41", label: "空心：无图形，位置为所在县区示意" },
    { colour: "#000", label: "拟用位置" }
  ]).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  function setLocation(latlng) {
    picked = { lon: Number(latlng.lng.toFixed(6)), lat: Number(latlng.lat.toFixed(6)) };
    if (spot) { map.removeLayer(spot); }
    spot = L.circleMarker(latlng, { radius: 9, color: "#000", weight: 3, fillColor: "#ffeb3b", fillOpacity: 1 }).addTo(map);
    $("location").textContent = "拟用位置：" + picked.lon + ", " + picked.lat + "（CGCS2000）";
    $("division_code").value = "";
  }

  map.on("click", function (e) {
    if (placing) { confirmPlacement(e.latlng); return; }
    setLocation(e.latlng);
  });
  $("clear-location").addEventListener("click", function () {
    picked = null;
    if (spot) { map.removeLayer(spot); spot = null; }
    $("location").textContent = "未设定位置。";
  });

  function nameMarker(item, colour) {
    if (!item.point) { return null; }
    var hollow = item.point_source !== "place";
    var m = L.circleMarker([item.point[1], item.point[0]], {
      radius: hollow ? 9 : 8, color: colour, weight: 3, fillColor: colour, fillOpacity: hollow ? 0 : 0.9,
      dashArray: hollow ? "3 3" : null
    });
    m.bindTooltip(item.name);
    m.bindPopup(function () { return itemBox(item); });
    results.addLayer(m);
    return m;
  }

  function itemBox(item) {
    var box = el("div", null, "popup");
    box.appendChild(el("strong", item.name));
    box.appendChild(el("div", [item.division, item.feature_class, item.status_zh].filter(Boolean).join(" · ")));
    if (!item.has_geometry) { box.appendChild(el("div", "无图形：位置为所在县区示意", "hint")); }
    var link = el("a", "地名记录");
    link.href = "/place/" + encodeURIComponent(item.id);
    box.appendChild(link);
    if (canPlace && !item.has_geometry && item.status === "in_force") {
      var b = el("button", "上图"); b.type = "button"; b.className = "place-button";
      b.dataset.placeId = item.id;
      b.addEventListener("click", function () { startPlacement(item); });
      box.appendChild(b);
    }
    return box;
  }

  function startPlacement(item) {
    placing = item;
    map.closePopup();
    container.classList.add("placing");
    $("summary").textContent = "上图：请在地图上点击“" + item.name + "”的位置。";
  }

  function confirmPlacement(latlng) {
    var item = placing;
    placing = null;
    container.classList.remove("placing");
    var lon = Number(latlng.lng.toFixed(6)), lat = Number(latlng.lat.toFixed(6));
    if (!window.confirm("将“" + item.name + "”上图于 " + lon + ", " + lat + "（CGCS2000）？")) {
      $("summary").textContent = "已取消上图。";
      return;
    }
    G.requestJSON("/api/places/" + item.id + "/geometry", { body: { lon: lon, lat: lat, version: item.version } })
      .then(function () {
        $("summary").textContent = "“" + item.name + "”已上图。";
        if (lastBody) { return check(lastBody, true); }
      }).catch(function (e) { $("summary").textContent = "上图失败：" + e.message; });
  }

  function listItem(item, colour) {
    var li = el("li", null, "name-item");
    var a = el("a", item.name);
    a.href = "#";
    a.addEventListener("click", function (ev) {
      ev.preventDefault();
      if (item.point) { map.setView([item.point[1], item.point[0]], Math.max(map.getZoom(), 10)); }
      var m = item.marker;
      if (m) { m.openPopup(); }
    });
    li.appendChild(a);
    li.appendChild(el("span", " " + [item.division, item.status_zh].filter(Boolean).join(" · "), "hint"));
    if (!item.has_geometry) {
      li.appendChild(el("span", "无图形", "tag"));
      if (canPlace && item.status === "in_force") {
        var b = el("button", "上图"); b.type = "button"; b.className = "place-button";
        b.addEventListener("click", function () { startPlacement(item); });
        li.appendChild(b);
      }
    }
    li.style.borderLeftColor = colour;
    return li;
  }

  function render(data) {
    results.clearLayers();
    var list = $("findings");
    list.replaceChildren();
    var summary = data.findings.length
      ? "“" + data.name + "”：" + data.findings.length + " 项发现，其中阻断 " + data.blocking + " 项"
      : "“" + data.name + "”未发现问题（" + (data.division ? data.division.full_name : "") + "）";
    $("summary").textContent = summary;
    $("summary").className = "summary " + (data.blocking ? "blocking" : data.findings.length ? "warning" : "ok");
    data.findings.forEach(function (f) {
      var li = el("li", null, "finding severity-" + f.severity);
      var head = el("div", null, "finding-head");
      head.appendChild(el("span", f.severity_zh, "badge badge-" + f.severity));
      head.appendChild(el("code", f.rule_id));
      li.appendChild(head);
      li.appendChild(el("p", f.message));
      li.appendChild(el("p", "依据：" + f.source, "hint"));
      if (f.conflicts.length) {
        var ul = el("ul", null, "conflicts");
        f.conflicts.forEach(function (c) {
          c.marker = nameMarker(c, "#c62828");
          ul.appendChild(listItem(c, "#c62828"));
        });
        li.appendChild(ul);
      }
      list.appendChild(li);
    });
    var near = $("nearby");
    near.replaceChildren();
    $("nearby-title").hidden = !data.nearby.length;
    $("nearby-rule").textContent = data.nearby.length ? data.nearby_rule : "";
    data.nearby.forEach(function (n) {
      n.marker = nameMarker(n, "#1e88e5");
      near.appendChild(listItem(n, "#1e88e5"));
    });
    var bounds = results.getBounds();
    if (spot) { bounds.extend(spot.getLatLng()); }
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [40, 40], maxZoom: 11 }); }
    container.dataset.checked = "1";
  }

  function check(body, keepSummary) {
    lastBody = body;
    var note = keepSummary ? $("summary").textContent : "";
    if (!keepSummary) { $("summary").textContent = "正在审查…"; }
    return G.requestJSON("/api/rules/check", { body: body }).then(function (data) {
      render(data);
      if (note) { $("summary").textContent = note + " " + $("summary").textContent; }
    }).catch(function (e) {
      $("summary").textContent = e.message;
      $("summary").className = "summary blocking";
    });
  }

  $("check-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = { name: $("name").value, feature_class: $("feature_class").value };
    if ($("division_code").value) { body.division_code = $("division_code").value; }
    if (picked) { body.lon = picked.lon; body.lat = picked.lat; }
    check(body);
  });

  container.dataset.ready = "1";
})();
