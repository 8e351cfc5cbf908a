// Fast 上图 of one county's names without geometry: the next name is shown with a hint
// (a point of its division); a click on the map (or typed lon/lat, CGCS2000) picks the
// point, Enter places it (POST /api/places/<id>/geometry) and the next name follows; S skips.
(function () {
  "use strict";
  var G = window.GDMap;
  var section = document.getElementById("placement");
  if (!section) { return; }
  var county = section.getAttribute("data-county");
  var canPlace = section.getAttribute("data-can-place") === "1";
  var current = JSON.parse(document.getElementById("placement-first").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var map = G.createMap("map");
  G.divisionLayer(map, "county").addTo(map);
  var hintMarker = null, pickMarker = null, busy = false;

  function say(text) { $("status").textContent = text; }

  function show(item) {
    current = item;
    var box = $("current");
    box.textContent = "";
    if (hintMarker) { map.removeLayer(hintMarker); hintMarker = null; }
    clearPick();
    if (!item) {
      box.appendChild(G.el("strong", "本县区已没有待上图的地名。"));
      if ($("place-button")) { $("place-button").disabled = true; $("skip-button").disabled = true; }
      return;
    }
    box.appendChild(G.el("strong", item.name, "name"));
    box.appendChild(G.el("div", [item.feature_class, item.feature_type].filter(Boolean).join(" · ")));
    box.appendChild(G.el("div", item.division || "", "hint"));
    var link = G.el("a", "查看记录 " + item.id);
    link.href = "/officer/places/" + item.id;
    box.appendChild(link);
    if (item.hint) {
      hintMarker = L.circleMarker([item.hint[1], item.hint[0]], { radius: 8, fill: false, color: "#666" })
        .bindTooltip("所在区划示意：" + (item.division || "")).addTo(map);
      map.setView([item.hint[1], item.hint[0]], 12);
    }
    if ($("lon")) { $("lon").focus(); }
  }

  function clearPick() {
    if (pickMarker) { map.removeLayer(pickMarker); pickMarker = null; }
    if ($("lon")) { $("lon").value = ""; $("lat").value = ""; }
  }

  function pick(lon, lat) {
    if (pickMarker) { map.removeLayer(pickMarker); }
    pickMarker = L.marker([lat, lon]).addTo(map);
    $("lon").value = lon.toFixed(6);
    $("lat").value = lat.toFixed(6);
    say("已选位置 " + lon.toFixed(6) + ", " + lat.toFixed(6) + "，按 Enter 确认上图。");
  }

  function next(afterId) {
    return G.requestJSON("/api/placements/unplaced?county=" + encodeURIComponent(county) +
        "&after=" + encodeURIComponent(afterId) + "&limit=1")
      .then(function (data) {
        $("remaining").textContent = data.remaining;
        show(data.items[0] || null);
      });
  }

  function place() {
    if (!current || busy) { return; }
    var lon = $("lon").value.trim(), lat = $("lat").value.trim();
    if (!lon || !lat) { say("请先在地图上点击位置，或输入经纬度。"); return; }
    busy = true;
    var item = current;
    G.requestJSON("/api/places/" + item.id + "/geometry",
      { body: { lon: Number(lon), lat: Number(lat), version: item.version } })
      .then(function () {
        say("“" + item.name + "”已上图。");
        return next(item.id);
      })
      .catch(function (e) { say("上图失败：" + e.message); })
      .then(function () { busy = false; });
  }

  if (canPlace) {
    map.on("click", function (e) { if (current) { pick(e.latlng.lng, e.latlng.lat); } });
    $("place-form").addEventListener("submit", function (e) { e.preventDefault(); place(); });
    $("skip-button").addEventListener("click", function () {
      if (current) { say("已跳过“" + current.name + "”。"); next(current.id); }
    });
    document.addEventListener("keydown", function (e) {
      var typing = e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA");
      if (e.key === "Escape") { clearPick(); say("已清除所选位置。"); }
      else if (!typing && (e.key === "s" || e.key === "S") && current) { $("skip-button").click(); }
      else if (!typing && e.key === "Enter") { e.preventDefault(); place(); }
    });
  }
  show(current);
})();
