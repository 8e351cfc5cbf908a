// Inspection mode for tablets: pick the round, locate yourself, tap a marker to see its
// record and history, walk to it (distance and bearing), record what you found. Records
// go into the device outbox first (offline-queue.js) and are sent when there is a network.
(function () {
  "use strict";
  var G = window.GDMap, Q = window.GDQueue, el = G.el;
  var script = document.currentScript;
  var signedIn = script && script.dataset.signedIn === "1";
  var container = document.getElementById("map");
  var map = G.createMap(container, { tap: true });
  var $ = function (id) { return document.getElementById(id); };
  var form = $("inspection-form");
  var state = { round: null, markers: {}, layers: {}, selected: null, me: null, meLayer: null, watch: null };

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* page still works online */ });
  }

  G.divisionLayer(map, "city", { interactive: false, onError: function () { /* offline, not cached */ } }).addTo(map);
  var cluster = L.markerClusterGroup({ maxClusterRadius: 30, disableClusteringAtZoom: 11 }).addTo(map);
  G.legendControl("界桩状态（最近一次检查）", G.stateLegendRows(), "界桩为演示数据").addTo(map);
  L.control.scale({ imperial: false }).addTo(map);

  // ---- network status and the outbox ------------------------------------------------------
  function showNet() {
    var n = $("net-status");
    n.textContent = navigator.onLine ? "在线" : "离线：记录将保存在本设备";
    n.className = "net " + (navigator.onLine ? "online" : "offline");
  }
  window.addEventListener("online", showNet);
  window.addEventListener("offline", showNet);
  showNet();

  var STATUS_TEXT = { pending: "待发送", sending: "发送中", sent: "已同步", failed: "发送失败" };
  function renderQueue(items) {
    var waiting = items.filter(function (i) { return i.status !== "sent"; }).length;
    $("queue-count").textContent = String(waiting);
    $("queue-toggle").classList.toggle("has-items", waiting > 0);
    var list = $("queue-list");
    list.replaceChildren();
    if (!items.length) { list.appendChild(el("li", "本设备没有待同步的记录。", "hint")); }
    items.forEach(function (item) {
      var li = el("li", null, "queue-item status-" + item.status);
      li.dataset.id = item.id;
      li.appendChild(el("span", item.label, "queue-label"));
      li.appendChild(el("span", STATUS_TEXT[item.status] || item.status, "queue-status"));
      if (item.error) { li.appendChild(el("span", item.error, "queue-error")); }
      if (item.status === "failed") {
        var retry = el("button", "重试"); retry.type = "button";
        retry.addEventListener("click", function () { Q.retry(item.id); });
        var drop = el("button", "删除"); drop.type = "button";
        drop.addEventListener("click", function () {
          if (window.confirm("删除这条未能同步的记录？删除后无法恢复。")) { Q.remove(item.id); }
        });
        li.appendChild(retry); li.appendChild(drop);
      }
      list.appendChild(li);
    });
  }
  Q.onChange(function (items) {
    renderQueue(items);
    items.forEach(function (i) {
      if (i.status === "sent" && i.result && state.markers[i.record.marker_id]) {
        setMarkerState(i.record.marker_id, i.result.assessed_state);
      }
    });
  });
  $("queue-toggle").addEventListener("click", function () {
    var q = $("queue"), open = q.hidden;
    q.hidden = !open;
    this.setAttribute("aria-expanded", String(open));
  });
  $("queue-flush").addEventListener("click", function () { Q.flush(); });
  $("queue-clear").addEventListener("click", function () { Q.clearSent(); });
  Q.all().then(renderQueue);

  // Dates come as ISO text or HTTP dates ("Fri, 01 Mar 2024 00:00:00 GMT"): show YYYY-MM-DD.
  function day(value) {
    if (!value) { return "—"; }
    var d = new Date(value);
    return isNaN(d) ? String(value) : d.toISOString().slice(0, 10);
  }

  // ---- rounds and markers -----------------------------------------------------------------
  function loadRounds() {
    return G.requestJSON("/api/boundaries/rounds").then(function (data) {
      var select = $("round-select");
      var open = data.rounds.filter(function (r) { return r.status === "in_progress"; });
      open.forEach(function (r) {
        var o = el("option", r.title + (r.is_demonstration ? "（演示数据）" : ""));
        o.value = r.id;
        select.appendChild(o);
      });
      if (!open.length) { $("round-info").textContent = "目前没有进行中的联检。"; }
      var wanted = new URLSearchParams(location.search).get("round") || localStorage.getItem("gdgis.round");
      var pick = open.filter(function (r) { return String(r.id) === String(wanted); })[0] || (open.length === 1 ? open[0] : null);
      if (pick) { select.value = pick.id; return selectRound(pick); }
    });
  }

  function selectRound(rnd) {
    state.round = rnd;
    localStorage.setItem("gdgis.round", rnd.id);
    $("round-info").textContent = rnd.line_name + " · 计划 " + day(rnd.planned_start) + " 至 " + day(rnd.planned_end);
    return G.requestJSON("/api/boundaries/markers?line_id=" + encodeURIComponent(rnd.line_id)).then(function (fc) {
      cluster.clearLayers();
      state.markers = {}; state.layers = {};
      var jump = $("marker-jump");
      jump.replaceChildren(el("option", "（按编号选择）"));
      jump.firstChild.value = "";
      fc.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        state.markers[p.id] = { id: p.id, number: p.number, lon: c[0], lat: c[1], props: p };
        var m = L.marker([c[1], c[0]], { icon: G.markerIcon(p.state), title: p.number, keyboard: true });
        m.on("click", function () { selectMarker(p.id); });
        state.layers[p.id] = m;
        cluster.addLayer(m);
        var o = el("option", p.number + " · " + p.state_name);
        o.value = p.id;
        jump.appendChild(o);
      });
      if (fc.features.length) { map.fitBounds(cluster.getBounds(), { padding: [30, 30] }); }
      container.dataset.ready = "1";
      if (navigator.onLine) { cacheRoundData(fc); }
    });
  }

  // Ask the service worker to keep everything the round needs offline: the rounds, this
  // round, its markers and each marker's record, and the city outlines at every zoom step.
  function cacheRoundData(fc) {
    if (!("serviceWorker" in navigator)) { return; }
    var urls = ["/api/boundaries/rounds", "/api/boundaries/rounds/" + state.round.id,
      "/api/boundaries/markers?line_id=" + state.round.line_id];
    fc.features.forEach(function (f) { urls.push("/api/boundaries/markers/" + f.properties.id); });
    [0.02, 0.01, 0.005, 0.0025, 0.001].forEach(function (t) { urls.push("/api/divisions.geojson?level=city&tolerance_deg=" + t); });
    navigator.serviceWorker.ready.then(function (reg) {
      navigator.serviceWorker.addEventListener("message", function onMessage(e) {
        if (!e.data || e.data.type !== "cached") { return; }
        navigator.serviceWorker.removeEventListener("message", onMessage);
        var info = $("round-info");
        info.dataset.cached = e.data.failed ? "partial" : "1";
        info.appendChild(el("span", e.data.failed ? "（离线数据缓存不完整）" : "（本轮数据已存到本设备，可离线使用）", "hint"));
      });
      reg.active.postMessage({ type: "cache-urls", urls: urls });
    });
  }

  $("marker-jump").addEventListener("change", function () {
    var m = state.markers[this.value];
    if (m) { map.setView([m.lat, m.lon], 15); }
  });

  $("round-select").addEventListener("change", function () {
    var id = this.value;
    if (!id) { return; }
    G.requestJSON("/api/boundaries/rounds/" + encodeURIComponent(id)).then(selectRound)
      .catch(function (e) { $("round-info").textContent = e.message; });
  });

  function setMarkerState(id, s) {
    var m = state.markers[id];
    if (!m) { return; }
    m.props.state = s;
    state.layers[id].setIcon(G.markerIcon(s, state.selected === id));
  }

  // ---- marker detail ----------------------------------------------------------------------
  function fact(dl, term, value) {
    dl.appendChild(el("dt", term));
    dl.appendChild(el("dd", value === null || value === undefined || value === "" ? "—" : value));
  }

  function selectMarker(id, keepMessage) {
    var previous = state.selected;
    state.selected = id;
    if (previous && state.layers[previous]) { state.layers[previous].setIcon(G.markerIcon(state.markers[previous].props.state)); }
    state.layers[id].setIcon(G.markerIcon(state.markers[id].props.state, true));
    var m = state.markers[id];
    $("marker-panel").hidden = false;
    $("marker-title").textContent = "界桩 " + m.number;
    if (!keepMessage) { $("form-message").textContent = ""; form.reset(); }
    updateNav();
    G.requestJSON("/api/boundaries/markers/" + encodeURIComponent(id)).then(function (f) {
      var p = f.properties;
      $("marker-demo").hidden = !p.label;
      var dl = $("marker-facts");
      dl.replaceChildren();
      fact(dl, "界线", p.line_name);
      fact(dl, "类型", p.type_name);
      fact(dl, "材质", p.material);
      fact(dl, "当前状态", p.state_name);
      fact(dl, "登记位置", m.lon.toFixed(6) + ", " + m.lat.toFixed(6) + "（CGCS2000）");
      fact(dl, "高程（米）", p.elevation_m);
      fact(dl, "埋设日期", p.installed_date ? day(p.installed_date) : null);
      fact(dl, "维护方", p.responsible_side);
      var list = $("marker-history");
      list.replaceChildren();
      var items = f.history.inspections;
      if (!items.length) { list.appendChild(el("li", "尚无检查记录。", "hint")); }
      items.forEach(function (i) {
        var when = new Date(i.inspected_at);
        var text = (isNaN(when) ? "" : when.toLocaleString("zh-CN", { hour12: false })) + " · " +
          (G.STATE_NAMES[i.found_state] || i.found_state) + " · " + (i.inspected_by || "");
        if (i.displacement_m !== null && i.displacement_m !== undefined) { text += " · 位移 " + i.displacement_m + " 米"; }
        var li = el("li", text);
        if (i.notes) { li.appendChild(el("div", i.notes, "hint")); }
        list.appendChild(li);
      });
      f.history.tasks.slice(0, 5).forEach(function (tsk) {
        list.appendChild(el("li", "维护任务：" + tsk.kind + "（" + tsk.status + "）", "hint"));
      });
    }).catch(function (e) {
      $("marker-facts").replaceChildren(el("dd", e.message + "（离线且本设备未缓存该界桩）", "error"));
    });
  }

  // ---- position -------------------------------------------------------------------------
  function updateNav() {
    var nav = $("marker-nav");
    var m = state.selected && state.markers[state.selected];
    if (!m) { return; }
    if (!state.me) { nav.textContent = "定位后显示到该界桩的距离和方位。"; return; }
    var db = G.distanceBearing(state.me.lon, state.me.lat, m.lon, m.lat);
    nav.textContent = "距离约 " + G.formatDistance(db.distance_m) + "，方位 " + Math.round(db.bearing_deg) + "°（" + G.compass(db.bearing_deg) + "）";
    nav.dataset.distanceM = String(Math.round(db.distance_m));
  }

  function onPosition(pos) {
    var c = pos.coords;
    state.me = { lon: c.longitude, lat: c.latitude, accuracy: c.accuracy };
    $("position").textContent = "我的位置：" + c.longitude.toFixed(6) + ", " + c.latitude.toFixed(6) +
      "（精度约 " + Math.round(c.accuracy) + " 米；设备 GPS 为 WGS84，与 CGCS2000 相差厘米级）";
    var ll = [c.latitude, c.longitude];
    if (!state.meLayer) {
      state.meLayer = L.layerGroup([L.circle(ll, { radius: c.accuracy, weight: 1, color: "#1e88e5" }),
        L.circleMarker(ll, { radius: 8, color: "#fff", weight: 2, fillColor: "#1e88e5", fillOpacity: 1 })]).addTo(map);
      map.setView(ll, Math.max(map.getZoom(), 13));
    } else {
      state.meLayer.eachLayer(function (l) { l.setLatLng(ll); if (l.setRadius && l instanceof L.Circle) { l.setRadius(c.accuracy); } });
    }
    updateNav();
  }

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { $("position").textContent = "本设备不支持定位。"; return; }
    $("position").textContent = "正在定位…";
    if (state.watch !== null) { navigator.geolocation.clearWatch(state.watch); }
    state.watch = navigator.geolocation.watchPosition(onPosition, function (e) {
      $("position").textContent = "定位失败：" + (e.code === 1 ? "未获准使用位置" : "暂时无法定位");
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
  });

  $("use-gps").addEventListener("click", function () {
    if (!state.me) { $("form-message").textContent = "请先点“定位我”。"; return; }
    form.elements.measured_lon.value = state.me.lon.toFixed(7);
    form.elements.measured_lat.value = state.me.lat.toFixed(7);
    form.elements.measurement_method.value = "gnss_handheld";
    form.elements.measurement_accuracy_m.value = Math.min(20, Math.max(0.1, state.me.accuracy)).toFixed(1);
  });

  // ---- recording --------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var msg = $("form-message");
    if (!signedIn) { msg.textContent = "请先以检查人员身份登录后再录入。"; return; }
    if (!state.round || !state.selected) { msg.textContent = "请先选择联检轮次和界桩。"; return; }
    var f = form.elements, m = state.markers[state.selected];
    var record = {
      id: uuid(), round_id: state.round.id, marker_id: m.id, found_state: form.querySelector("input[name=found_state]:checked").value,
      measurement_method: f.measurement_method.value, notes: f.notes.value.trim() || null,
      inspected_at: new Date().toISOString()
    };
    if (f.measured_lon.value.trim() || f.measured_lat.value.trim()) {
      record.measured_lon = Number(f.measured_lon.value); record.measured_lat = Number(f.measured_lat.value);
      if (!isFinite(record.measured_lon) || !isFinite(record.measured_lat)) { msg.textContent = "经纬度应为数字（十进制度）。"; return; }
      if (f.measurement_accuracy_m.value.trim()) { record.measurement_accuracy_m = Number(f.measurement_accuracy_m.value); }
    }
    var photos = Array.prototype.slice.call(f.photos.files || []);
    var label = m.number + " · " + (G.STATE_NAMES[record.found_state] || record.found_state) + " · " +
      new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
    $("record-submit").disabled = true;
    Q.add({ record: record, photos: photos, label: label }).then(function () {
      setMarkerState(m.id, record.found_state);
      form.reset();
      if (!navigator.onLine) {
        msg.textContent = "已保存到本设备（离线），恢复网络后自动同步。";
        return;
      }
      msg.textContent = "已保存，正在同步…";
      return Q.flush().then(function () { return Q.all(); }).then(function (items) {
        var item = items.filter(function (i) { return i.id === record.id; })[0];
        msg.textContent = !item || item.status === "sent" ? "已同步到服务器。" :
          item.status === "failed" ? "服务器未接受：" + item.error : "已保存到本设备，稍后自动同步。";
        if (item && item.status === "sent") { selectMarker(m.id, true); }
      });
    }).catch(function (e) {
      msg.textContent = "保存失败：" + e.message;
    }).then(function () { $("record-submit").disabled = false; });
  });

  // ---- start --------------------------------------------------------------------------------
  loadRounds().catch(function (e) { $("round-info").textContent = e.message; }).then(function () {
    if (!state.round) { container.dataset.ready = "1"; }
    if (navigator.onLine) { Q.flush(); }
  });
})();
