// Inspection mode for tablets and phones: pick the round, select ONE current marker (tap it,
// choose it from the list, search its number, or take the nearest), walk to it (distance
// and bearing), record what you found. Records go into the device outbox first
// (offline-queue.js) and are sent when there is a network; the device keeps the round's
// list of already-inspected markers so a second visit becomes a re-inspection, not a
// duplicate, offline too. A refused record stays on the device until the inspector decides.
(function () {
  "use strict";
  var G = window.GDMap, Q = window.GDQueue, el = G.el;
  var script = document.currentScript;
  var signedIn = script && script.dataset.signedIn === "1";
  var staff = script && script.dataset.staff === "1";   // rounds are field data: staff only
  var GUARDS = JSON.parse((script && script.dataset.guards) || "{}");
  var FARTHEST_M = Number((script && script.dataset.farthestM) || Infinity);
  var username = (script && script.dataset.username) || "";
  var userLabel = (script && script.dataset.userLabel) || username;
  Q.setUser(username, userLabel);
  // The page may come from the device's cache, drawn for whoever signed in before: who is
  // signed in now is the server's to say (records are tagged with it, and sent only by it).
  if (navigator.onLine) {
    G.requestJSON("/auth/me").then(function (d) { username = d.username || ""; userLabel = d.label || username; Q.setUser(username, userLabel); }, function () {});
  }
  var container = document.getElementById("map");
  var map = G.createMap(container, { tap: true });
  var $ = function (id) { return document.getElementById(id); };
  var form = $("inspection-form");
  var state = {
    round: null, markers: {}, layers: {}, selected: null, me: null, meLayer: null, watch: null,
    // marker_id -> knownRecord(): {id, the finding, inspected_by(_label), inspected_at,
    // local: the record is only on this device, pending: the id of an amendment of it that is
    // (base: the record before it), refused: the id of an amendment the server did not take}
    records: {},
    // marker_id -> when (performance.now()) the request that taught its record was asked: an
    // answer asked earlier (a slow round list) never overwrites what a later one taught
    learntAt: {},
    drafts: {}    // "round:marker" -> what was typed for a marker and not saved (this page only)
  };

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* page still works online */ });
  }

  G.divisionLayer(map, "city", { interactive: false, onError: function () { /* offline, not cached */ } }).addTo(map);
  var UNCLUSTERED_ZOOM = 11;   // from this zoom on every marker is its own (tappable) icon
  var cluster = L.markerClusterGroup({ maxClusterRadius: 30, disableClusteringAtZoom: UNCLUSTERED_ZOOM }).addTo(map);
  // The cluster plugin ignores a move made while its zoom animation runs (about 0.3 s), so
  // choosing a marker right after "定位我" zoomed in left the new view without any icon.
  // When the animation ends, let it catch up with where the map now is.
  cluster.on("animationend", function () { map.fire("moveend"); });
  var legendNote = null;
  L.control.scale({ imperial: false }).addTo(map);

  function stateName(code) { return G.label("marker_states", code); }
  // A record's state as found, and as judged where they differ (found intact 5 m from the
  // registered position: judged moved), as the marker's colour and the round page say.
  function findingName(r) {
    var judged = r.assessed_state && r.assessed_state !== r.found_state;
    return stateName(r.found_state) + (judged ? "，判定为" + stateName(r.assessed_state) : "");
  }
  function methodName(code) { return G.label("measurement_methods", code); }

  // ---- network status and the outbox ------------------------------------------------------
  function showNet() {
    var n = $("net-status");
    n.textContent = navigator.onLine ? "在线" : "离线：记录将保存在本设备";
    n.className = "net " + (navigator.onLine ? "online" : "offline");
  }
  window.addEventListener("online", showNet);
  window.addEventListener("offline", showNet);
  showNet();

  var STATUS_TEXT = { pending: "待发送", sending: "发送中", sent: "已同步", failed: "服务器未接受" };

  function button(text, onClick, className) {
    var b = el("button", text, className);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // A refused note mended in the outbox itself (a text box, not a browser prompt, which a
  // tablet shows as a one-line box): held to the form's rules before it is sent again.
  // What is typed survives the outbox being drawn again (another record's change).
  var mending = {};   // outbox item id -> the note as being mended
  function noteProblem(text) {
    if (!text.isWellFormed()) { return "备注中有无法保存的字符（不成对的代理项），请删去后再发送。"; }
    if (text && !new RegExp(form.elements.notes.dataset.pattern).test(text)) { return "备注中有控制字符（如 ESC），请删去后再发送。"; }
    var limit = Number($("notes-count").dataset.limit);
    return text.length > limit ? "备注最多 " + limit + " 字（现为 " + text.length + " 字），请删减后再发送。" : null;
  }
  function noteMender(item) {
    var box = el("div", null, "queue-mend");
    var area = el("textarea");
    area.rows = 3;
    area.setAttribute("aria-label", "修改备注");
    area.value = item.id in mending ? mending[item.id] : (item.record.notes || "");
    var said = el("p", null, "hint");
    area.addEventListener("input", function () { mending[item.id] = area.value; said.textContent = ""; said.className = "hint"; });
    box.appendChild(area);
    box.appendChild(button("修改备注后重新发送", function () {
      var notes = area.value.trim(), problem = noteProblem(notes);
      if (problem) { said.textContent = problem; said.className = "form-message error"; return; }
      delete mending[item.id];
      decide(item, function (i) { i.record.notes = notes || null; });
    }, "primary"));
    box.appendChild(said);
    return box;
  }

  // The inspector's choice for a refused record, sent at once: the form's message follows
  // this record from here on (not the refusal it said before).
  function decide(item, change) {
    var msg = $("form-message");
    msg.textContent = "正在按您的选择重新发送：" + item.label + "…";
    msg.dataset.waitingFor = item.id; msg.dataset.decided = "1";
    return Q.revise(item.id, change);
  }

  // The choices for a record the server refused: it stays here until one is taken.
  function decisions(item) {
    var box = el("div", null, "queue-decide");
    var details = item.error_details || {};
    var dropPosition = function () {
      return button("不保存实测位置，重新发送", function () {
        decide(item, function (i) {
          delete i.record.measured_lon; delete i.record.measured_lat; delete i.record.measurement_accuracy_m;
          i.record.measurement_method = "none";
        });
      });
    };
    if (item.error_code === "confirmation_required") {
      box.appendChild(button("界桩确已移位（" + details.distance_m + " 米），重新发送", function () {
        decide(item, function (i) { i.record.moved_confirmed = true; });
      }, "primary"));
      box.appendChild(dropPosition());
    } else if (details.field === "measured_lon" || details.field === "measured_lat") {
      box.appendChild(dropPosition());   // a position the server will never take (too far, …)
    } else if (item.error_code === "conflict" && details.inspection_id && item.kind !== "amendment") {
      box.appendChild(button("保留为本轮记录的补充（再次检查）", function () {
        decide(item, function (i) {
          i.kind = "amendment"; i.target = details.inspection_id;
          i.record.kind = "reinspection"; i.record.reason = "现场再次检查（发送时本轮已有该界桩的记录，并入为补充）";
          i.label = i.label.replace(/^/, "补充 · ");
        });
      }, "primary"));
    } else if (item.error_code === "conflict" && details.changed_since && item.kind === "amendment") {
      // The other side changed the record after this was typed: theirs is what the record
      // says now (the marker shows it); this one replaces it only if the inspector says so.
      box.appendChild(button("仍以本条替换（" + details.inspected_by + "：" + stateName(details.found_state) + "）", function () {
        decide(item, function (i) { i.record.amends_inspected_at = details.inspected_at; });
      }));
    }
    // A refused photo or note need not hold back the findings: mend it here and send again.
    if (details.field === "photo" && (item.photos || []).length) {
      box.appendChild(button("去掉照片，只发送检查记录", function () {
        decide(item, function (i) { i.photos = []; });
      }, "primary"));
    }
    if (details.field === "notes") { box.appendChild(noteMender(item)); }
    var others = Object.keys(state.markers).map(function (k) { return state.markers[k]; });
    if (others.length && item.kind !== "amendment") {
      var pick = el("select", null, "attach-select");
      pick.appendChild(el("option", "改挂到其他界桩…"));
      pick.firstChild.value = "";
      others.forEach(function (m) {
        var o = el("option", m.number);
        o.value = m.id;
        pick.appendChild(o);
      });
      pick.addEventListener("change", function () {
        var m = state.markers[pick.value];
        if (!m) { return; }
        decide(item, function (i) {
          i.record.marker_id = m.id;
          i.label = m.number + i.label.slice(i.label.indexOf(" ·"));
        });
      });
      box.appendChild(pick);
    }
    box.appendChild(button("导出为文件", function () { $("queue-export").click(); }));
    box.appendChild(button("重试", function () { Q.retry(item.id); }));
    box.appendChild(button("放弃这条记录", function () {
      if (!window.confirm("放弃这条未能同步的记录？放弃后无法恢复。")) { return; }
      Q.remove(item.id);
      var msg = $("form-message");
      if (msg.dataset.waitingFor === item.id) { msg.dataset.waitingFor = ""; msg.textContent = "已放弃：" + item.label + "。"; }
    }));
    return box;
  }

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
      if (item.status === "failed") { li.appendChild(decisions(item)); }
      list.appendChild(li);
    });
    if (items.some(function (i) { return i.status === "failed"; })) {
      $("queue").hidden = false;
      $("queue-toggle").setAttribute("aria-expanded", "true");
    }
  }
  Q.onChange(function (items) {
    renderQueue(items);
    items.forEach(function (i) {
      var markerId = i.record.marker_id;
      if (i.status !== "sent" || !i.result || !state.markers[markerId]) { return; }
      // Only the send the known record waits for speaks for it: the outbox still lists
      // earlier sends, whose findings a later amendment (this side's or the other's) replaced.
      var known = state.records[markerId];
      var awaited = !known || known.pending === i.record.id ||
        (known.local && !known.pending && i.kind !== "amendment" && known.id === i.record.id);
      if (!awaited) { return; }
      setMarkerState(markerId, i.result.assessed_state);
      state.learntAt[markerId] = performance.now();
      state.records[markerId] = knownRecord(i.kind === "amendment" ? i.target : i.record.id, i.record,
        { inspected_by: i.by || null, inspected_by_label: i.by_label || null, assessed_state: i.result.assessed_state });
      saveRecords();
      // On this marker's untouched form: the record as now stored, and its history again
      // (after 仍以本条替换 the form still held the finding it replaced).
      if (state.selected === markerId && form.dataset.dirty !== "1") { startForm(markerId); selectMarker(markerId, true); }
    });
  });
  $("queue-toggle").addEventListener("click", function () {
    var q = $("queue"), open = q.hidden;
    q.hidden = !open;
    this.setAttribute("aria-expanded", String(open));
  });
  $("queue-flush").addEventListener("click", function () { Q.flush(); });
  $("queue-clear").addEventListener("click", function () { Q.clearSent(); });
  $("queue-export").addEventListener("click", function () {
    Q.exportAll().then(function (doc) {
      var blob = new Blob([JSON.stringify(doc, null, 2)], { type: "application/json" });
      var a = el("a");
      a.href = URL.createObjectURL(blob);
      a.download = "inspection-outbox-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-") + ".json";
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
  });
  Q.all().then(renderQueue);

  // Dates shown as YYYY-MM-DD in Beijing time (Asia/Shanghai, UTC+8 all year).
  function day(value) {
    if (!value) { return "—"; }
    var d = new Date(value);
    if (isNaN(d)) { return String(value).slice(0, 10); }
    return new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
  }

  // ---- rounds and markers -----------------------------------------------------------------
  function loadRounds() {
    return G.requestJSON("/api/boundaries/rounds").then(function (data) {
      var select = $("round-select");
      var open = data.rounds.filter(function (r) { return r.status === "in_progress"; });
      // Which of them the signed-in inspector is on (a team lists them): only those take
      // records from this account, so the others are marked and never chosen by themselves.
      return Promise.all(open.map(function (r) {
        // Offline the other rounds' details are not on the device: none is hidden then.
        if (!username || !navigator.onLine) { return Promise.resolve(true); }
        return G.requestJSON("/api/boundaries/rounds/" + r.id).then(function (full) {
          return (full.teams || []).some(function (t) { return (t.members || []).indexOf(username) >= 0; });
        }, function () { return true; });   // offline and not cached: do not hide it
      })).then(function (mine) {
        open.forEach(function (r, n) {
          var o = el("option", r.title + (r.is_demonstration ? "（演示数据）" : "") + (mine[n] ? "" : "（您不在本轮联检队伍中）"));
          o.value = r.id;
          o.dataset.member = mine[n] ? "1" : "0";
          select.appendChild(o);
        });
        var own = open.filter(function (r, n) { return mine[n]; });
        return pickRound(open, own);
      });
    });
  }

  function pickRound(open, own) {
      var select = $("round-select");
      $("round-empty").hidden = open.length > 0;
      var wanted = new URLSearchParams(location.search).get("round") || localStorage.getItem("gdgis.round");
      var pick = own.filter(function (r) { return String(r.id) === String(wanted); })[0] || (own.length === 1 ? own[0] : null);
      if (pick) {
        select.value = pick.id;
        return G.requestJSON("/api/boundaries/rounds/" + pick.id).then(selectRound);
      }
  }

  function recordsKey() { return "gdgis.round." + state.round.id + ".records"; }
  function saveRecords() { if (state.round) { localStorage.setItem(recordsKey(), JSON.stringify(state.records)); } }

  // What the device knows of a record of this round: its id, its finding (what a correction
  // starts from: the position and note stay unless changed) and who made it.
  var FINDING = ["found_state", "measured_lon", "measured_lat", "measurement_method", "measurement_accuracy_m", "notes"];
  function knownRecord(id, source, extra) {
    var out = { id: id };
    FINDING.forEach(function (k) { out[k] = source[k] === undefined ? null : source[k]; });
    ["inspected_by", "inspected_by_label", "inspected_at", "assessed_state"].forEach(function (k) { if (source[k]) { out[k] = source[k]; } });
    return Object.assign(out, extra || {});
  }
  // Record ``id`` as amendment ``amendment`` (still on this device) makes it, over ``was``.
  function pendingRecord(id, amendment, was) {
    var base = was ? Object.assign({}, was.pending ? was.base : was, { refused: null }) : null;
    return knownRecord(id, amendment, { local: was ? was.local : false, pending: amendment.id, base: base });
  }

  // Which markers of the round already have a record. Server records never go away
  // (history is kept), so the copy kept on this device is merged with what the server (or,
  // offline, the service worker's possibly older copy) says; the records still in this
  // device's outbox are added from the outbox itself, so a record the inspector discarded
  // is forgotten with it.
  function knownRecords(serverRecords, items) {
    var out = {}, queued = {};
    items.forEach(function (i) { queued[i.record.id] = true; });
    Object.keys(serverRecords).forEach(function (k) {
      var r = serverRecords[k];
      if (r.pending && r.base && !queued[r.pending]) { r = r.base; }   // its amendment was discarded
      if (r.refused && !queued[r.refused]) { r = Object.assign({}, r, { refused: null }); }
      if (!r.local) { out[k] = r; }
    });
    items.forEach(function (i) {
      if (!state.round || i.record.round_id !== state.round.id) { return; }
      var k = String(i.record.marker_id);
      if (i.kind === "amendment") {
        var was = out[k] && out[k].pending === i.record.id ? out[k].base : out[k];
        if (i.status === "failed" && was) {
          // refused (the record changed meanwhile, …): the record is still what it was; the
          // amendment waits in the outbox for the inspector's decision
          out[k] = Object.assign({}, was, { refused: i.record.id });
        } else if (i.status !== "sent") {   // a correction still on the device is what the record says here
          out[k] = pendingRecord(i.target, i.record, was);
        }
        return;
      }
      if (out[k]) { return; }
      out[k] = knownRecord(i.record.id, i.record, { local: i.status !== "sent" });
    });
    return out;
  }

  function loadRecords() {
    var kept = JSON.parse(localStorage.getItem(recordsKey()) || "{}");
    var fromServer = G.requestJSON("/api/boundaries/rounds/" + state.round.id + "/markers").then(function (data) {
      data.markers.forEach(function (m) { if (m.inspection) { kept[m.marker_id] = knownRecord(m.inspection.id, m.inspection); } });
    }).catch(function () { /* offline and not cached: the kept copy */ });
    return fromServer.then(Q.all).then(function (items) {
      state.records = knownRecords(kept, items);
      saveRecords();
    });
  }

  // After a record reaches the server, ask for the round's records again (online): the
  // service worker keeps that answer, so an offline reload later still knows the record.
  var sentSeen = null;
  function refreshAfterSync(items) {
    var sent = items.filter(function (i) { return i.status === "sent"; }).length;
    var more = sentSeen !== null && sent > sentSeen;
    sentSeen = sent;
    if (!more || !state.round || !navigator.onLine) { return; }
    var roundId = state.round.id, asked = performance.now();
    G.requestJSON("/api/boundaries/rounds/" + roundId + "/markers").then(function (data) {
      if (!state.round || state.round.id !== roundId) { return; }
      data.markers.forEach(function (m) {
        var known = state.records[m.marker_id];
        if (!m.inspection || (known && (known.local || known.pending || known.refused))) { return; }  // the outbox's say
        if (!newestAnswer(m.marker_id, asked)) { return; }
        state.records[m.marker_id] = knownRecord(m.inspection.id, m.inspection);
      });
      saveRecords();
      showExisting();   // whose the record is, as the server names them
    }).catch(function () { /* next time */ });
  }

  // The outbox changed (sent, revised, attached elsewhere, discarded): the known records
  // follow it, so a discarded record no longer makes its marker look recorded.
  Q.onChange(function (items) {
    // A record the form said would be sent later went through by itself: say so.
    var msg = $("form-message"), waiting = msg.dataset.waitingFor;
    var sent = waiting && items.filter(function (i) { return i.id === waiting && i.status === "sent"; })[0];
    if (sent) {
      msg.textContent = (msg.dataset.decided === "1" ? "已按您的选择同步到服务器：" : "已自动同步到服务器：") + sent.label + "。";
      msg.dataset.waitingFor = ""; msg.dataset.decided = "";
    }
    if (!state.round) { return; }
    state.records = knownRecords(state.records, items);
    saveRecords();
    Object.keys(state.markers).forEach(markListed);   // a discarded record loses its tick
    Object.keys(state.records).forEach(function (k) {  // a refused amendment: the record's colour again
      var rec = state.records[k];
      if (rec.refused && state.markers[k]) { setMarkerState(Number(k), rec.assessed_state || rec.found_state); }
    });
    showExisting();
    refreshAfterSync(items);
  });

  function selectRound(rnd) {
    state.round = rnd;
    localStorage.setItem("gdgis.round", rnd.id);
    var section = rnd.section_from_seq || rnd.section_to_seq ? "，第 " + (rnd.section_from_seq || 1) + " 至 " + (rnd.section_to_seq || "末") + " 号界桩" : "";
    $("round-info").textContent = rnd.line_name + section + " · 计划 " + day(rnd.planned_start) + " 至 " + day(rnd.planned_end);
    return Promise.all([
      G.requestJSON("/api/boundaries/markers?line_id=" + encodeURIComponent(rnd.line_id)),
      loadRecords()
    ]).then(function (results) {
      var fc = results[0];
      var features = fc.features.filter(function (f) {
        var seq = f.properties.seq;
        return (!rnd.section_from_seq || seq >= rnd.section_from_seq) && (!rnd.section_to_seq || seq <= rnd.section_to_seq);
      });
      cluster.clearLayers();
      state.markers = {}; state.layers = {};
      var jump = $("marker-jump"), numbers = $("marker-numbers");
      jump.replaceChildren(el("option", "（按编号选择）"));
      jump.firstChild.value = "";
      numbers.replaceChildren();
      features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates;
        state.markers[p.id] = { id: p.id, number: p.number, lon: c[0], lat: c[1], props: p };
        var m = L.marker([c[1], c[0]], { icon: G.markerIcon(p.state), title: p.number, keyboard: true });
        m.on("click", function (e) { G.chooseUnderTap(map, e, tapEntries(), "此处有 {n} 个界桩，请选择：", selectMarker); });
        state.layers[p.id] = m;
        cluster.addLayer(m);
        var o = el("option", listedName(p.id, p.number));
        o.value = p.id;
        jump.appendChild(o);
        numbers.appendChild(el("option", p.number));
      });
      if (!legendNote) {
        legendNote = G.legendControl("界桩状态（最近一次检查）", G.stateLegendRows(),
          features.some(function (f) { return f.properties.label; }) ? "界桩位置为演示数据" : null).addTo(map);
      }
      if (features.length) { map.fitBounds(cluster.getBounds(), { padding: [30, 30] }); }
      container.dataset.ready = "1";
      $("basemap-save").hidden = !G.BASEMAP.offline_tiles;
      if (navigator.onLine) { cacheRoundData(features); }
    });
  }

  // Ask the service worker to keep everything the round needs offline: the rounds, this
  // round, its markers with their records, each marker's detail, and the city outlines.
  function cacheRoundData(features) {
    if (!("serviceWorker" in navigator)) { return; }
    var urls = ["/api/boundaries/rounds", "/api/boundaries/rounds/" + state.round.id,
      "/api/boundaries/rounds/" + state.round.id + "/markers",
      "/api/boundaries/markers?line_id=" + state.round.line_id];
    features.forEach(function (f) { urls.push("/api/boundaries/markers/" + f.properties.id); });
    [0.02, 0.01, 0.005, 0.0025, 0.001].forEach(function (t) { urls.push("/api/divisions.geojson?level=city&tolerance_deg=" + t); });
    postToWorker({ type: "cache-urls", tag: "round", urls: urls });
  }

  function postToWorker(message) {
    navigator.serviceWorker.ready.then(function (reg) { reg.active.postMessage(message); });
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (e) {
      var d = e.data || {};
      if (d.type === "cached" && d.tag === "round") {
        var info = $("round-info");
        info.dataset.cached = d.failed ? "partial" : "1";
        info.appendChild(el("span", d.failed ? "（离线数据缓存不完整）" : "（本轮数据已存到本设备，可离线使用）", "hint"));
      } else if (d.tag === "tiles" && (d.type === "progress" || d.type === "cached")) {
        var bar = $("tiles-progress");
        bar.max = d.total || 1; bar.value = d.type === "cached" ? bar.max : d.done;
        if (d.type === "cached") {
          $("tiles-info").textContent = "已保存 " + d.ok + " 张底图瓦片" + (d.failed ? "，" + d.failed + " 张失败" : "") + "，离线可用。";
          $("tiles-info").dataset.saved = String(d.ok);
          $("save-tiles").disabled = false;
        }
      }
    });
  }

  $("save-tiles").addEventListener("click", function () {
    if (!state.round) { return; }
    var btn = this;
    btn.disabled = true;
    G.requestJSON("/basemap/round-tiles?round_id=" + state.round.id).then(function (plan) {
      var mb = (plan.bytes / 1048576).toFixed(1), limit = (plan.limit_bytes / 1048576).toFixed(0);
      $("tiles-info").textContent = "正在保存 " + plan.tiles.length + " 张瓦片（约 " + mb + " MB，上限 " + limit + " MB" +
        (plan.left_out_zooms && plan.left_out_zooms.length ? "；超出上限，未含 " + plan.left_out_zooms.join("、") + " 级" : "") + "）…";
      var bar = $("tiles-progress");
      bar.hidden = false; bar.max = plan.tiles.length || 1; bar.value = 0;
      if (!plan.tiles.length) { btn.disabled = false; return; }
      postToWorker({ type: "cache-urls", tag: "tiles", urls: plan.tiles });
    }).catch(function (e) { $("tiles-info").textContent = e.message; btn.disabled = false; });
  });

  $("marker-jump").addEventListener("change", function () {
    if (state.markers[this.value]) { selectMarker(Number(this.value)); }
  });

  function searchMarker() {
    var text = $("marker-search").value.trim().toUpperCase();
    if (!text) { return; }
    var ids = Object.keys(state.markers);
    var exact = ids.filter(function (k) { return state.markers[k].number.toUpperCase() === text; });
    var partial = ids.filter(function (k) { return state.markers[k].number.toUpperCase().indexOf(text) >= 0; });
    var hit = exact[0] || (partial.length === 1 ? partial[0] : null);
    if (hit) { selectMarker(Number(hit)); $("marker-search").value = ""; }
    else { $("form-message").textContent = partial.length ? "有 " + partial.length + " 颗界桩编号含“" + text + "”，请输入完整编号。" : "本轮没有编号含“" + text + "”的界桩。"; }
  }
  $("marker-search").addEventListener("change", searchMarker);
  $("marker-search").addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); searchMarker(); } });

  $("nearest").addEventListener("click", function () {
    if (!state.me) { $("position").textContent = "请先点“定位我”，再找最近的界桩。"; return; }
    var best = null;
    Object.keys(state.markers).forEach(function (k) {
      var m = state.markers[k], d = G.distanceBearing(state.me.lon, state.me.lat, m.lon, m.lat).distance_m;
      if (!best || d < best.d) { best = { id: m.id, d: d }; }
    });
    if (best) { selectMarker(best.id); }
  });

  $("round-select").addEventListener("change", function () {
    var id = this.value, chosen = this.options[this.selectedIndex];
    if (!id) { return; }
    // A round whose teams do not list this inspector can be looked at, not recorded in:
    // said now, not after a whole record is typed and refused.
    var outsider = chosen && chosen.dataset.member === "0";
    G.requestJSON("/api/boundaries/rounds/" + encodeURIComponent(id)).then(selectRound).then(function () {
      state.outsider = outsider;
      if (outsider) { $("round-info").textContent += " · 您不在本轮联检队伍中：可查看界桩与记录，不能录入。"; }
    }).catch(function (e) { $("round-info").textContent = e.message; });
  });

  // Every marker of the round, as the chooser lists those under a tap: number, ✓, state.
  function tapEntries() {
    return Object.keys(state.markers).map(function (k) {
      var m = state.markers[k];
      return { layer: state.layers[k], id: m.id, text: listedName(m.id, m.number) + " · " + (G.STATE_NAMES[m.props.state] || G.UNINSPECTED.zh) };
    });
  }
  // A marker in the list: its number, ticked once this round has its record.
  function listedName(id, number) { return number + (state.records[id] ? " ✓" : ""); }
  function markListed(id) {
    var o = $("marker-jump").querySelector("option[value='" + id + "']");
    if (o && state.markers[id]) { o.textContent = listedName(id, state.markers[id].number); }
  }
  function setMarkerState(id, s) {
    var m = state.markers[id];
    if (!m) { return; }
    m.props.state = s;
    state.layers[id].setIcon(G.markerIcon(s, state.selected === id));
  }

  // ---- the one current marker -------------------------------------------------------------
  function fact(dl, term, value) {
    dl.appendChild(el("dt", term));
    dl.appendChild(el("dd", value === null || value === undefined || value === "" ? "—" : value));
  }

  // Bring the chosen marker on screen as its own icon: from UNCLUSTERED_ZOOM on nothing is
  // clustered, so a marker off screen or inside a cluster is shown by moving the view there.
  // (The cluster plugin's zoomToShowLayer left it off screen when the view was already
  // zoomed in elsewhere, e.g. around the inspector's own position.)
  // The view also keeps it clear of the controls: the zoom buttons top left and the legend
  // (even folded, a 44 px button) bottom left.
  function showOnMap(layer) {
    var ll = layer.getLatLng();
    if (map.getZoom() < UNCLUSTERED_ZOOM) {
      map.setView(ll, UNCLUSTERED_ZOOM + 2);
    } else {
      var size = map.getSize(), p = map.latLngToContainerPoint(ll);
      var clear = L.bounds([Math.min(240, size.x * 0.4), Math.min(110, size.y * 0.3)],
        [size.x - Math.min(40, size.x * 0.1), size.y - Math.min(80, size.y * 0.2)]);
      if (!clear.contains(p)) { map.panTo(ll); }   // centred: clear of every control
    }
  }

  // Every way of choosing a marker ends here: the map, the list, the search and "nearest"
  // all set this one selection, and the form records for it and nothing else.
  function selectMarker(id, keepMessage) {
    id = Number(id);
    var m = state.markers[id];
    if (!m) { return; }
    var previous = state.selected;
    if (!keepMessage && previous && previous !== id) { keepDraft(previous); }
    if (previous === id) { keepMessage = true; }  // a second tap: the form is already this marker's
    state.selected = id;
    if (previous && state.layers[previous]) { state.layers[previous].setIcon(G.markerIcon(state.markers[previous].props.state)); }
    state.layers[id].setIcon(G.markerIcon(m.props.state, true));
    showOnMap(state.layers[id]);
    if (legendNote && legendNote.fold && G.compactScreen()) { legendNote.fold(); }  // it would cover the marker
    $("marker-jump").value = String(id);
    var current = $("current-marker");
    current.textContent = m.number;
    current.className = "current-marker";
    current.dataset.markerId = String(id);
    form.dataset.markerId = String(id);
    $("marker-panel").hidden = false;
    if (!keepMessage) {
      $("form-message").dataset.waitingFor = ""; $("form-message").dataset.formError = "";
      $("form-message").textContent = previous && previous !== id && state.drafts[draftKey(previous)] ?
        "界桩 " + state.markers[previous].number + " 的填写尚未保存，已暂存：回到该界桩可继续。" : "";
      startForm(id);
    }
    showExisting();
    updateNav();
    if (previous !== id) {   // never another marker's facts and history under this one's number
      $("marker-facts").replaceChildren(); $("marker-history").replaceChildren();
    }
    var asked = performance.now();
    G.requestJSON("/api/boundaries/markers/" + encodeURIComponent(id)).then(function (f) {
      if (state.selected !== id) { return; }
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
      fact(dl, "维护方", p.responsible_side_name || p.responsible_side);
      if (!f.history) { return; }
      learnRoundRecord(id, f.history.inspections, asked);
      showHistory(id, f.history.inspections, f.history.tasks);
    }).catch(function (e) {
      if (state.selected !== id) { return; }
      $("marker-facts").replaceChildren(el("dd", e.message + "（离线且本设备未缓存该界桩）", "error"));
      showHistory(id, null, []);
    });
  }

  // Marker ``id``'s inspections (null: not known on this device) and tasks, newest first.
  // Offline the history is the copy kept when the round was opened: the round's record as
  // this device knows it (its own, still to send, or learnt since) heads the list.
  function showHistory(id, items, tasks) {
    var list = $("marker-history");
    list.replaceChildren();
    var rec = state.records[id];
    if (rec && !(items || []).some(function (i) { return i.id === rec.id && i.found_state === rec.found_state; })) {
      var mine = rec.local || rec.pending;
      list.appendChild(el("li", "本轮 · " + findingName(rec) + " · " + (rec.inspected_by_label || rec.inspected_by || userLabel) +
        (mine ? "（在本设备待同步）" : "（本设备已知的本轮记录）")));
    } else if (items && !items.length) { list.appendChild(el("li", "尚无检查记录。", "hint")); }
    if (!items) { list.appendChild(el("li", "离线：本设备没有该界桩的检查历史。", "hint")); }
    (items || []).forEach(function (i) {
      var text = day(i.inspected_at) + " · " + findingName(i) + " · " + (i.inspected_by_label || i.inspected_by || "");
      if (i.displacement_m !== null && i.displacement_m !== undefined) { text += " · 位移 " + i.displacement_m + " 米"; }
      var li = el("li", text);
      if (i.notes) { li.appendChild(el("div", i.notes, "hint")); }
      list.appendChild(li);
    });
    tasks.slice(0, 5).forEach(function (tsk) {
      list.appendChild(el("li", "维护任务：" + G.label("task_kinds", tsk.kind) + "（" + G.label("task_statuses", tsk.status) + "）", "hint"));
    });
  }

  // Whether an answer to a request asked at ``asked`` may teach marker ``id``'s record: not
  // when a request asked later already did (a slow round list after the marker's own
  // history). Stamps the marker with ``asked`` when it may.
  function newestAnswer(id, asked) {
    if ((state.learntAt[id] || 0) > asked) { return false; }
    state.learntAt[id] = asked;
    return true;
  }

  // The other side may have recorded or amended this marker since the round's records
  // were loaded: the marker's own history (asked for on every selection) says so before
  // the inspector types a record the server would refuse, or corrects a finding that is no
  // longer the record's. Typing already done is kept, and is saved as an amendment of the
  // record as it now stands.
  function learnRoundRecord(id, history, asked) {
    var row = state.round && history.filter(function (i) { return i.round_id === state.round.id; })[0];
    var known = state.records[id];
    // (one of ours still in the outbox, a record or an amendment, is left as it is: a
    // refused record is offered to amend, and an amendment applies to the record then)
    if (!row || (known && (known.local || known.pending)) || !newestAnswer(id, asked)) { return; }
    var same = known && known.id === row.id && known.found_state === row.found_state && (known.notes || null) === (row.notes || null);
    if (same && known.inspected_by === row.inspected_by) { return; }
    // (an amendment of ours the server refused still waits in the outbox: it stays said)
    state.records[id] = knownRecord(row.id, row, known && known.refused ? { refused: known.refused } : null);
    saveRecords();
    markListed(id);
    setMarkerState(id, row.assessed_state);
    if (same) { showExisting(); return; }   // only whose it is is new (our own change, now stored)
    var typing = form.dataset.dirty === "1";
    if (!typing) { startForm(id); }
    showExisting();
    var who = (row.inspected_by_label || row.inspected_by) + "：" + findingName(row);
    var said = known && known.refused ? $("form-message").textContent + " " : "";   // why it was refused
    $("form-message").textContent = said + (known ? "本轮该界桩的检查记录已更新（" + who + "）" : "本轮已有该界桩的检查记录（" + who + "）") +
      (typing ? "：您的填写将作为该记录的补充或更正保存。" : "。");
  }

  // A marker this round already has a record for: the form becomes a re-inspection or an
  // amendment of that record, never a second record.
  function showExisting() {
    var rec = state.selected && state.records[state.selected];
    var box = $("existing-record");
    $("amend-fields").hidden = !rec;
    box.hidden = !rec;
    $("form-title").textContent = rec ? "补充或更正本轮记录" : "录入本次检查";
    labelSubmit();
    if (rec) {
      var who = rec.inspected_by_label || rec.inspected_by;
      box.textContent = "本轮已有界桩 " + state.markers[state.selected].number + " 的检查记录（" + (who && !rec.local && !rec.pending ? who + "：" : "") + findingName(rec) +
        (rec.local || rec.pending ? "，在本设备待同步" : "") + "）：再次保存会作为该记录的补充或更正，不会重复录入；" +
        "该记录已有的双方签认随之撤销，须重新签认。" +
        (rec.refused ? "您对该记录的修改未被服务器接受，仍在“待同步”中，等您选择处理方式。" : "");
    }
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
    state.me = { lon: c.longitude, lat: c.latitude, accuracy: (typeof c.accuracy === "number" && isFinite(c.accuracy)) ? c.accuracy : null };
    $("position").textContent = "我的位置：" + c.longitude.toFixed(6) + ", " + c.latitude.toFixed(6) +
      (state.me.accuracy === null ? "（精度未知" : "（精度约 " + state.me.accuracy + " 米") + "；设备 GPS 为 WGS84，与 CGCS2000 相差厘米级）";
    var ll = [c.latitude, c.longitude];
    if (!state.meLayer) {
      state.meLayer = L.layerGroup([L.circle(ll, { radius: c.accuracy || 1, weight: 1, color: "#1e88e5" }),
        L.circleMarker(ll, { radius: 8, color: "#fff", weight: 2, fillColor: "#1e88e5", fillOpacity: 1 })]).addTo(map);
      map.setView(ll, Math.max(map.getZoom(), 13));
    } else {
      state.meLayer.eachLayer(function (l) { l.setLatLng(ll); if (l.setRadius && l instanceof L.Circle) { l.setRadius(c.accuracy || 1); } });
    }
    if (state.fillOnFix) { state.fillOnFix = false; fillFromGps(); $("form-message").textContent = "已填入当前 GPS 位置。"; }
    updateNav();
  }

  $("locate").addEventListener("click", function () {
    if (!navigator.geolocation) { $("position").textContent = "本设备不支持定位。"; return; }
    $("position").textContent = "正在定位…";
    if (state.watch !== null) { navigator.geolocation.clearWatch(state.watch); }
    state.watch = navigator.geolocation.watchPosition(onPosition, function (e) {
      $("position").textContent = "定位失败：" + (e.code === 1 ? "未获准使用位置" : "暂时无法定位");
      // asked for from the form (使用当前 GPS 位置): said there, where the inspector looks
      if (state.fillOnFix) { state.fillOnFix = false; $("form-message").textContent = $("position").textContent + "，未填入实测位置。"; }
    }, { enableHighAccuracy: true, maximumAge: 5000, timeout: 20000 });
  });

  // The device's position and accuracy as the device gives them: an accuracy it does not
  // report stays empty (unknown), and 0 stays 0.
  function fillFromGps() {
    form.elements.measured_lon.value = state.me.lon.toFixed(7);
    form.elements.measured_lat.value = state.me.lat.toFixed(7);
    form.elements.measurement_method.value = "gnss_handheld";
    form.elements.measurement_accuracy_m.value = state.me.accuracy === null ? "" : String(state.me.accuracy);
  }
  // Not located yet: locate now and fill in the first fix (one tap, not two).
  $("use-gps").addEventListener("click", function () {
    if (state.me) { fillFromGps(); return; }
    state.fillOnFix = true;
    $("form-message").textContent = "正在定位，定位后自动填入实测位置…";
    $("locate").click();
  });

  // ---- recording --------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function hideGuard() { $("guard").hidden = true; }
  // The answer to a save is read where it is written: on a phone the form runs below the
  // screen, so the message is brought into view (and nothing moves when it is in view).
  function reveal(node) {
    var box = node.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) { node.scrollIntoView({ block: "nearest" }); }
  }

  // Distance guard: a position further from the registered one than the method's threshold
  // (settings) is saved only after "the marker has moved" with the distance shown.
  // Beyond FARTHEST_M (the server's limit) no confirmation makes a position plausible:
  // refused at the form with the server's own advice, before anything is queued.
  function guardDistance(record, m) {
    if (record.measured_lon === undefined) { return null; }
    var d = G.distanceBearing(m.lon, m.lat, record.measured_lon, record.measured_lat).distance_m;
    if (d > FARTHEST_M) {
      throw new Error("实测位置距登记位置 " + Math.round(d) + " 米，超过 " + FARTHEST_M + " 米：请核对界桩编号，" +
        "并确认坐标为 CGCS2000（不是高德/腾讯 GCJ-02 或百度 BD-09）；界桩若确被移至远处，请记为丢失并在备注中说明，或清空实测位置。");
    }
    var limit = GUARDS[record.measurement_method];
    return limit !== undefined && d > limit ? { distance_m: d, guard_m: limit } : null;
  }

  function buildRecord() {
    var f = form.elements;
    var markerId = Number(form.dataset.markerId);
    var m = state.markers[markerId];
    if (!m || markerId !== state.selected || $("current-marker").dataset.markerId !== String(markerId)) {
      throw new Error("请先选择界桩：记录只能保存到当前显示的界桩。");
    }
    var record = {
      id: uuid(), round_id: state.round.id, marker_id: m.id, found_state: form.querySelector("input[name=found_state]:checked").value,
      measurement_method: f.measurement_method.value, notes: f.notes.value.trim() || null,
      inspected_at: new Date().toISOString()
    };
    // Half of a character pair (pasted from a broken source) can never be stored: said now,
    // while the inspector is at the form, not at sync.
    if (record.notes && !record.notes.isWellFormed()) {
      throw new Error("备注中有无法保存的字符（不成对的代理项，常见于复制来的文字），请删去后再保存。");
    }
    // the server's own rule for text (control characters), served with the page
    if (record.notes && !new RegExp(f.notes.dataset.pattern).test(record.notes)) {
      throw new Error("备注中有控制字符（如 ESC，常见于复制来的文字），请删去后再保存。");
    }
    var reason = f.reason.value.trim();   // an amendment's: the same rules, and its own limit
    if (reason && (!reason.isWellFormed() || !new RegExp(f.notes.dataset.pattern).test(reason))) {
      throw new Error("原因中有无法保存的字符（控制字符或不成对的代理项，常见于复制来的文字），请删去后再保存。");
    }
    if (reason.length > Number(f.reason.dataset.limit)) {
      throw new Error("原因最多 " + f.reason.dataset.limit + " 字（现为 " + reason.length + " 字），请删减后再保存。");
    }
    if (f.measurement_accuracy_m.value.trim() && !f.measured_lon.value.trim() && !f.measured_lat.value.trim()) {
      throw new Error("填写了定位精度时请同时填写实测经纬度（或清空精度）。");
    }
    if (f.measured_lon.value.trim() || f.measured_lat.value.trim()) {
      if (!f.measured_lon.value.trim() || !f.measured_lat.value.trim()) {   // ("" would read as 0)
        throw new Error("实测位置请同时填写经度和纬度（或都清空）。");
      }
      record.measured_lon = Number(f.measured_lon.value); record.measured_lat = Number(f.measured_lat.value);
      if (!isFinite(record.measured_lon) || !isFinite(record.measured_lat)) { throw new Error("经纬度应为数字（十进制度）。"); }
      if (Math.abs(record.measured_lat) > 90 && Math.abs(record.measured_lon) <= 90) {
        throw new Error("实测位置的坐标疑似经纬度颠倒：纬度 " + record.measured_lat + " 超过 90°。请把经度（广东约 109–118）填在前，纬度（约 20–26）填在后。");
      }
      if (Math.abs(record.measured_lat) > 90 || Math.abs(record.measured_lon) > 180) { throw new Error("经纬度超出范围：经度 −180～180，纬度 −90～90（十进制度）。"); }
      if (record.measurement_method === "none") { throw new Error("填写了实测位置时请选择测量方法。"); }
      var acc = f.measurement_accuracy_m.value.trim();
      if (acc) {
        record.measurement_accuracy_m = Number(acc);
        if (!isFinite(record.measurement_accuracy_m) || record.measurement_accuracy_m < 0) { throw new Error("精度应为米数（空表示未知）。"); }
      }
    }
    // an amendment: which of the two it is, and for a correction why
    if (state.records[markerId]) {
      var kind = form.querySelector("input[name=amend_kind]:checked");
      if (!kind) {
        var choose = new Error("请选择：再次检查（第二次到桩）还是更正原记录。");
        choose.show = $("amend-fields");   // the choice, which may be above the screen
        throw choose;
      }
      if (kind.value === "amendment" && !f.reason.value.trim()) { throw new Error("更正原记录请填写原因（原记录哪里有误）。"); }
    }
    return { record: record, marker: m };
  }

  // The notes limit is the server's (served into the page): the box stops there, and the
  // count shows how much is left, so a long note is never refused at sync.
  function showNotesCount() {
    var box = $("notes-count");
    box.textContent = form.elements.notes.value.length + " / " + box.dataset.limit + " 字";
    box.className = "hint";
  }
  form.elements.notes.addEventListener("input", showNotesCount);
  // The box stops at the limit, and a paste past it would be cut without a word: say so.
  form.elements.notes.addEventListener("paste", function (event) {
    var box = event.target, limit = Number($("notes-count").dataset.limit);
    var text = event.clipboardData ? event.clipboardData.getData("text") : "";
    var room = limit - box.value.length + (box.selectionEnd - box.selectionStart);
    if (text.length <= room) { return; }
    setTimeout(function () {
      var count = $("notes-count");
      count.textContent = "粘贴的文字共 " + text.length + " 字，备注最多 " + limit + " 字：只粘贴了前 " +
        Math.max(room, 0) + " 字，其余未写入。";
      count.className = "form-message error";
    }, 0);
  });
  form.addEventListener("reset", function () { setTimeout(showNotesCount, 0); });
  // A correction starts from the whole record, its note too: choosing it asks for the
  // note to be read again (a wrong finding often has a wrong note).
  function showNotesFromRecord() {
    var rec = state.selected && state.records[state.selected];
    var kind = form.querySelector("input[name=amend_kind]:checked");
    $("notes-from-record").hidden = !(rec && rec.notes && kind && kind.value === "amendment" &&
      form.elements.notes.value === rec.notes);
    labelSubmit();
  }
  // The save button says what it will save: a record, or which kind of amendment.
  function labelSubmit() {
    var rec = state.selected && state.records[state.selected];
    var kind = form.querySelector("input[name=amend_kind]:checked");
    $("record-submit").textContent = !rec ? "保存检查记录" : !kind ? "保存为补充记录" :
      kind.value === "amendment" ? "保存更正" : "保存再次检查记录";
  }
  Array.prototype.forEach.call(form.elements.amend_kind, function (r) { r.addEventListener("change", showNotesFromRecord); });
  form.elements.notes.addEventListener("input", showNotesFromRecord);
  form.addEventListener("reset", function () { setTimeout(showNotesFromRecord, 0); });

  function showPhotoNames() {
    var files = Array.prototype.slice.call(form.elements.photos.files || []);
    $("photo-names").textContent = files.length ? "已选 " + files.length + " 张：" +
      files.map(function (f) { return f.name; }).join("、") : "未选择照片";
  }
  form.elements.photos.addEventListener("change", showPhotoNames);
  form.addEventListener("reset", function () { setTimeout(showPhotoNames, 0); });

  var pending = null;   // a record waiting for the distance-guard decision

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var msg = $("form-message");
    // a refusal at the form: it stands until the inspector edits what it is about
    var tell = function (text, show) { msg.textContent = text; msg.dataset.formError = "1"; reveal(show || msg); };
    if (!signedIn) { tell("请先以检查人员身份登录后再录入。"); return; }
    if (!state.round) { tell("请先选择联检轮次。"); return; }
    if (state.outsider) { tell("您不在本轮联检队伍中，不能录入：请联系审核人员把您列入联检队伍。"); return; }
    var built;
    var guard;
    try { built = buildRecord(); guard = guardDistance(built.record, built.marker); } catch (e) { tell(e.message, e.show); return; }
    if (guard) {
      pending = built;
      $("guard-text").textContent = "实测位置距登记位置 " + guard.distance_m.toFixed(1) + " 米，超过" +
        methodName(built.record.measurement_method) + "的距离阈值 " + guard.guard_m + " 米。界桩确已移位吗？";
      $("guard").hidden = false;
      $("guard").dataset.distanceM = guard.distance_m.toFixed(1);
      $("guard-moved").focus();
      return;
    }
    save(built);
  });
  $("guard-moved").addEventListener("click", function () {
    if (!pending) { return; }
    pending.record.moved_confirmed = true;
    hideGuard(); save(pending); pending = null;
  });
  $("guard-drop").addEventListener("click", function () {
    if (!pending) { return; }
    var r = pending.record;
    delete r.measured_lon; delete r.measured_lat; delete r.measurement_accuracy_m;
    r.measurement_method = "none";
    form.elements.measured_lon.value = ""; form.elements.measured_lat.value = "";
    form.elements.measurement_accuracy_m.value = ""; form.elements.measurement_method.value = "none";
    hideGuard(); save(pending); pending = null;
  });
  $("guard-cancel").addEventListener("click", function () { pending = null; hideGuard(); });

  function save(built) {
    var msg = $("form-message"), record = built.record, m = built.marker, f = form.elements;
    msg.dataset.formError = "";
    var existing = state.records[m.id];
    var entry = { record: record, photos: Array.prototype.slice.call(f.photos.files || []) };
    var label = m.number + " · " + stateName(record.found_state) + " · " +
      new Date().toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai" });
    if (existing) {
      entry.kind = "amendment"; entry.target = existing.id;
      record.kind = form.querySelector("input[name=amend_kind]:checked").value;
      record.reason = f.reason.value.trim() || null;
      // made on the record as known here: refused if the other side changed it meanwhile
      if (existing.inspected_at) { record.amends_inspected_at = existing.inspected_at; }
      label = G.label("amendment_kinds", record.kind) + " · " + label;
    }
    entry.label = label;
    $("record-submit").disabled = true;
    form.dataset.dirty = "";   // what the form holds is being saved: nothing to keep as a draft
    // The inspector may pick the next marker while a slow network still sends this record:
    // the form and the selection are then theirs, and the answer must not take them back
    // to this marker (a record typed for the next one would be saved against this one).
    function stillOnIt() { return state.selected === m.id; }
    Q.add(entry).then(function () {
      setMarkerState(m.id, record.found_state);
      if (!existing) {
        state.records[m.id] = knownRecord(record.id, record, { local: true });
      } else {  // the box above the form, and the next correction, start from it now
        state.records[m.id] = pendingRecord(existing.id, record, existing);
      }
      markListed(m.id);
      saveRecords();
      delete state.drafts[draftKey(m.id)];
      if (stillOnIt()) { startForm(m.id); }
      if (!navigator.onLine) {
        msg.textContent = "已保存到本设备（离线）：界桩 " + m.number + "，恢复网络后自动同步。";
        if (stillOnIt()) { reveal(msg); }
        msg.dataset.waitingFor = record.id;  // said again when it goes (the outbox's change)
        if (stillOnIt()) { selectMarker(m.id, true); }
        return;
      }
      msg.textContent = "已保存，正在同步…";
      if (stillOnIt()) { reveal(msg); }
      return Q.flush().then(function () { return Q.all(); }).then(function (items) {
        var item = items.filter(function (i) { return i.id === record.id; })[0];
        msg.textContent = !item || item.status === "sent" ? "已同步到服务器：界桩 " + m.number + "。" :
          item.status === "failed" ? "服务器未接受：界桩 " + m.number + "：" + item.error + "（记录仍在本设备，请在“待同步”中选择处理方式）" :
            "已保存到本设备，稍后自动同步：界桩 " + m.number + "。";
        msg.dataset.waitingFor = item && item.status !== "sent" ? record.id : "";
        if (stillOnIt()) { reveal(msg); }
        // A send that landed has already redrawn an untouched form and its history (the
        // outbox's change, above); a refused or held one asks for the history here, so the
        // page learns the other side's record. Asking twice would race the other side.
        var redrawn = item && item.status === "sent" && form.dataset.dirty !== "1";
        if (stillOnIt() && !redrawn) { selectMarker(m.id, true); }
      });
    }).catch(function (e) {
      msg.textContent = "保存失败：" + e.message;
      if (stillOnIt()) { reveal(msg); }
      form.dataset.unchanged = "";
      if (stillOnIt()) { form.dataset.dirty = "1"; }
    }).then(function () { $("record-submit").disabled = form.dataset.unchanged === "1" && stillOnIt(); });
  }
  // A fresh form for marker ``id``. A marker with a record on this round starts from that
  // record's state, and saving waits for a change: one tap (a double tap after a save, a
  // tap on reopening the marker) would otherwise save 完好 over what was recorded.
  // What was typed for a marker and not saved is kept, with its photos, when the inspector
  // picks another marker, and is back in the form on returning to it.
  function startForm(id) {
    form.reset(); hideGuard();
    var rec = state.records[id], draft = state.drafts[draftKey(id)];
    if (rec) {
      var radio = form.querySelector("input[name=found_state][value='" + rec.found_state + "']");
      if (radio) { radio.checked = true; }
      var f = form.elements;
      var text = function (v) { return v === null || v === undefined ? "" : String(v); };
      f.measured_lon.value = text(rec.measured_lon);
      f.measured_lat.value = text(rec.measured_lat);
      if (rec.measurement_method) { f.measurement_method.value = rec.measurement_method; }
      f.measurement_accuracy_m.value = text(rec.measurement_accuracy_m);
      f.notes.value = rec.notes || "";
    }
    form.dataset.dirty = "";
    form.dataset.unchanged = rec ? "1" : "";
    if (draft) {
      restoreDraft(draft);
      delete state.drafts[draftKey(id)];   // it is the form's again
      form.dataset.dirty = "1"; form.dataset.unchanged = "";
      var said = $("form-message").textContent;
      $("form-message").textContent = (said ? said + " " : "") + "已恢复此前为界桩 " + state.markers[id].number + " 填写但未保存的内容。";
    }
    $("record-submit").disabled = form.dataset.unchanged === "1";
  }
  function draftKey(markerId) { return (state.round ? state.round.id : "") + ":" + markerId; }
  function keepDraft(markerId) {
    if (form.dataset.dirty !== "1" || form.dataset.markerId !== String(markerId)) { return; }
    var values = {};
    Array.prototype.forEach.call(form.elements, function (e) {
      if (!e.name || e.type === "file") { return; }
      if (e.type === "radio" || e.type === "checkbox") { if (e.checked) { values[e.name] = e.value; } } else { values[e.name] = e.value; }
    });
    state.drafts[draftKey(markerId)] = { values: values, photos: Array.prototype.slice.call(form.elements.photos.files || []) };
  }
  function restoreDraft(draft) {
    Array.prototype.forEach.call(form.elements, function (e) {
      if (!e.name || e.type === "file" || !(e.name in draft.values)) { return; }
      if (e.type === "radio" || e.type === "checkbox") { e.checked = draft.values[e.name] === e.value; } else { e.value = draft.values[e.name]; }
    });
    if (draft.photos.length && window.DataTransfer) {
      var files = new DataTransfer();
      draft.photos.forEach(function (f) { files.items.add(f); });
      form.elements.photos.files = files.files;
    }
    setTimeout(function () { showNotesCount(); showPhotoNames(); }, 0);  // after the reset's own
  }
  function formChanged() {
    form.dataset.dirty = "1";
    var msg = $("form-message");
    if (msg.dataset.formError === "1") { msg.textContent = ""; msg.dataset.formError = ""; }  // being mended
    if (form.dataset.unchanged !== "1") { return; }
    form.dataset.unchanged = "";
    $("record-submit").disabled = false;
  }
  form.addEventListener("input", formChanged);
  // Typed text is seen by "input". Its "change" comes on leaving the box, which may be after
  // the form was redrawn for another marker: it would mark that marker's form changed.
  form.addEventListener("change", function (event) {
    if (event.target.type !== "text" && event.target.type !== "textarea") { formChanged(); }
  });

  // ---- start --------------------------------------------------------------------------------
  var ready = staff ? loadRounds() : Promise.resolve($("round-info").textContent = "联检轮次与检查记录仅供工作人员查看：请先登录。");
  ready.catch(function (e) { $("round-info").textContent = e.message; }).then(function () {
    if (!state.round) { container.dataset.ready = "1"; }
    if (navigator.onLine) { Q.flush(); }
  });
})();
