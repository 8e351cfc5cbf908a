// The import pages (officers): upload a file, then on the run page pick the layer, map the
// columns, confirm the coordinate system with a sample on the map, preview, download the
// report and write. All work is done by /api/imports/...; user text goes in with textContent.
(function () {
  "use strict";
  var G = window.GDMap, el = G.el;

  // A request that never reached the server (offline, server down) rejects with the
  // browser's own English TypeError ("Failed to fetch"): say it in Chinese.
  function messageOf(err) {
    if (err instanceof TypeError) { return "无法连接服务器：请检查网络连接后重试"; }
    return err.message;
  }

  function setStatus(node, text, kind) {
    node.textContent = text || "";
    node.className = "summary" + (kind ? " " + kind : "");
  }

  // ------------------------------------------------------------------ upload (list page)
  var form = document.getElementById("upload-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var status = document.getElementById("upload-status");
      var button = document.getElementById("upload-button");
      var data = new FormData(form);
      button.disabled = true;
      setStatus(status, "正在上传并读取文件……");
      fetch("/api/imports", {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": G.csrfToken() }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) {
          if (!r.ok) { throw new Error((body.error && body.error.message) || ("上传失败（" + r.status + "）")); }
          window.location.href = "/officer/imports/" + body.id;
        });
      }).catch(function (err) {
        setStatus(status, messageOf(err), "blocking");
        button.disabled = false;
      });
    });
    return;
  }

  // ------------------------------------------------------------------ one run
  var root = document.getElementById("import-run");
  if (!root) { return; }
  var runId = root.dataset.runId;
  var api = "/api/imports/" + runId;
  var layerSelect = document.getElementById("layer");
  var crsSelect = document.getElementById("crs");
  var selects = Array.prototype.slice.call(document.querySelectorAll("#mapping select[data-field]"));
  var map = null, sampleLayer = null, run = null;

  function mapping() {
    var out = {};
    selects.forEach(function (s) { if (s.value) { out[s.dataset.field] = s.value; } });
    return out;
  }

  function fillColumns(columns, current) {
    selects.forEach(function (s) {
      while (s.firstChild) { s.removeChild(s.firstChild); }
      s.appendChild(el("option", "（不导入）")).value = "";
      columns.forEach(function (c) { var o = el("option", c); o.value = c; s.appendChild(o); });
      s.value = current[s.dataset.field] || "";
    });
  }

  function ensureCrsOption(tag) {
    if (!tag) { return; }
    var found = Array.prototype.some.call(crsSelect.options, function (o) { return o.value === tag; });
    if (!found) { var o = el("option", tag); o.value = tag; crsSelect.appendChild(o); }
    crsSelect.value = tag;
  }

  function loadLayer(name, useRunMapping) {
    return G.requestJSON(api + "/layer" + (name ? "?name=" + encodeURIComponent(name) : "")).then(function (info) {
      if (!layerSelect.options.length) {
        info.layers.forEach(function (l) { var o = el("option", l); o.value = l; layerSelect.appendChild(o); });
      }
      layerSelect.value = info.name;
      document.getElementById("layer-info").textContent =
        "列 " + info.columns.length + " 个" + (info.feature_count !== null ? "，约 " + info.feature_count + " 行" : "") +
        (info.geometry_type ? "，几何类型 " + info.geometry_type : "") +
        (info.stated_crs_name ? "，文件注明坐标系：" + info.stated_crs_name : "");
      var current = useRunMapping && run.mapping ? run.mapping : ((info.saved && info.saved.mapping) || info.guessed_mapping);
      fillColumns(info.columns, current);
      return guessCrs();
    });
  }

  function guessCrs() {
    var reason = document.getElementById("crs-reason");
    var list = document.getElementById("crs-candidates");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    return G.requestJSON(api + "/crs-guess", { body: { layer: layerSelect.value, mapping: mapping() } }).then(function (g) {
      setStatus(reason, (g.stated ? "文件注明：" : "推测：") + (g.reason_zh || ""), g.stated ? "ok" : "warning");
      (g.candidates || []).forEach(function (c) {
        var text = c.label;
        if (c.inside_guangdong !== null && c.inside_guangdong !== undefined) { text += "：样本落入广东 " + Math.round(c.inside_guangdong * 100) + "%"; }
        if (c.inside_stated_division !== null && c.inside_stated_division !== undefined) { text += "，落入所注行政区 " + Math.round(c.inside_stated_division * 100) + "%"; }
        list.appendChild(el("li", text));
      });
      ensureCrsOption(run.crs || g.tag);
    }).catch(function (err) { setStatus(reason, messageOf(err), "blocking"); });
  }

  function showSample() {
    var summary = document.getElementById("sample-summary");
    if (!crsSelect.value) { summary.textContent = "请先选择坐标系"; return Promise.resolve(); }
    if (!map) {
      map = G.createMap(document.getElementById("sample-map"));
      G.divisionLayer(map, "county", { interactive: false }).addTo(map);
    }
    return saveConfig(true).then(function () {
      return G.requestJSON(api + "/sample?crs=" + encodeURIComponent(crsSelect.value));
    }).then(function (fc) {
      if (sampleLayer) { map.removeLayer(sampleLayer); }
      sampleLayer = L.geoJSON(fc, {
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 5, weight: 1, color: f.properties.inside_guangdong ? "#1565c0" : "#c62828", fillOpacity: 0.7 });
        },
        onEachFeature: function (f, layer) {
          layer.bindTooltip("第 " + f.properties.row + " 行 " + f.properties.name + (f.properties.division ? "（" + f.properties.division + "）" : ""));
        }
      }).addTo(map);
      if (fc.features.length) { map.fitBounds(sampleLayer.getBounds(), { maxZoom: 14, padding: [20, 20] }); }
      summary.textContent = "样本 " + fc.features.length + " 点（" + fc.crs_label + " 转 CGCS2000），落入广东 " + fc.inside_guangdong + " 点。蓝色在广东省内，红色在省外。";
    }).catch(function (err) { summary.textContent = messageOf(err); });
  }

  function saveConfig(quiet) {
    var status = document.getElementById("config-status");
    return G.requestJSON(api + "/configure", { body: { layer: layerSelect.value, mapping: mapping(), crs: crsSelect.value || null } }).then(function (r) {
      run = r;
      if (!quiet) { status.textContent = "已保存（下次导入同一来源时沿用）"; }
      document.getElementById("run-state").textContent = "待预览";
    }).catch(function (err) { status.textContent = messageOf(err); throw err; });
  }

  function showCounts(r) {
    if (!r.counts) { return; }
    document.getElementById("counts").hidden = false;
    Object.keys(r.counts).forEach(function (k) {
      var cell = document.querySelector('[data-count="' + k + '"]');
      if (cell) { cell.textContent = r.counts[k]; }
    });
    document.getElementById("report-link").hidden = false;
    var rows = (r.preview && r.preview.rows) || [], errors = (r.preview && r.preview.errors) || [];
    var errBody = document.querySelector("#error-rows tbody"), rowBody = document.querySelector("#preview-rows tbody");
    [errBody, rowBody].forEach(function (b) { while (b.firstChild) { b.removeChild(b.firstChild); } });
    errors.forEach(function (e) {
      var tr = el("tr"); tr.className = "row-error";
      [e.row, e.name || "", e.errors.join("；")].forEach(function (v) { tr.appendChild(el("td", v)); });
      errBody.appendChild(tr);
    });
    rows.forEach(function (e) {
      var tr = el("tr"); if (e.action === "error") { tr.className = "row-error"; }
      [e.row, e.action_zh, e.name || "", e.feature_class || "", e.division_code || "", e.lon === null ? "" : e.lon, e.lat === null ? "" : e.lat,
       e.errors.concat(e.findings).join("；")].forEach(function (v) { tr.appendChild(el("td", v)); });
      rowBody.appendChild(tr);
    });
    document.getElementById("errors-title").hidden = document.getElementById("error-rows").hidden = !errors.length;
    document.getElementById("rows-title").hidden = document.getElementById("preview-rows").hidden = !rows.length;
  }

  function watch(phase, bar, status) {
    bar.hidden = false;
    return new Promise(function (resolve) {
      function poll() {
        G.requestJSON(api).then(function (r) {
          var job = r.job || {};
          if (job.total) { bar.max = job.total; bar.value = job.done; }
          if (job.state === "running") {
            setStatus(status, (phase === "preview" ? "正在检查" : "正在写入") + "：" + job.done + (job.total ? " / " + job.total : "") + " 行");
            window.setTimeout(poll, 500);
            return;
          }
          bar.hidden = true;
          if (job.state === "failed") { setStatus(status, job.error.message, "blocking"); } else { run = r; }
          resolve(r);
        }).catch(function (err) { setStatus(status, messageOf(err) + "（稍后重试）", "warning"); window.setTimeout(poll, 2000); });
      }
      poll();
    });
  }

  function stateText(s) { return { uploaded: "待预览", previewed: "已预览", written: "已写入" }[s] || s; }

  document.getElementById("start-preview").addEventListener("click", function () {
    var status = document.getElementById("preview-status");
    saveConfig(true).then(function () {
      return G.requestJSON(api + "/preview", { body: {} });
    }).then(function () {
      return watch("preview", document.getElementById("preview-progress"), status);
    }).then(function (r) {
      if (r.job && r.job.state === "failed") { return; }
      document.getElementById("run-state").textContent = stateText(r.state);
      setStatus(status, "预览完成：新增 " + r.counts.insert + "，更新 " + r.counts.update + "，不变 " + r.counts.unchanged + "，错误 " + r.counts.error, r.counts.error ? "warning" : "ok");
      showCounts(r);
    }).catch(function (err) { setStatus(status, messageOf(err), "blocking"); });
  });

  document.getElementById("start-write").addEventListener("click", function () {
    var status = document.getElementById("write-status");
    var body = { skip_errors: document.getElementById("skip-errors").checked, skip_reason: document.getElementById("skip-reason").value };
    G.requestJSON(api + "/write", { body: body }).then(function () {
      return watch("write", document.getElementById("write-progress"), status);
    }).then(function (r) {
      if (r.job && r.job.state === "failed") { return; }
      document.getElementById("run-state").textContent = stateText(r.state);
      setStatus(status, "已写入登记册：新增 " + r.counts.insert + "，更新 " + r.counts.update + "，不变 " + r.counts.unchanged +
        (r.skip_errors ? "；按选择跳过 " + r.skipped_count + " 行（理由：" + r.skip_reason + "）" : ""), "ok");
    }).catch(function (err) { setStatus(status, messageOf(err), "blocking"); });
  });

  document.getElementById("save-config").addEventListener("click", function () { saveConfig(false).catch(function () {}); });
  document.getElementById("show-sample").addEventListener("click", showSample);
  layerSelect.addEventListener("change", function () { loadLayer(layerSelect.value, false); });
  selects.forEach(function (s) { s.addEventListener("change", function () { if (s.dataset.field === "x" || s.dataset.field === "y" || s.dataset.field === "wkt") { guessCrs(); } }); });

  G.requestJSON(api).then(function (r) {
    run = r;
    showCounts(r);
    if (r.state === "written") { setStatus(document.getElementById("write-status"), "此批次已写入登记册。", "ok"); }
    return loadLayer(r.layer, true);
  }).catch(function (err) { setStatus(document.getElementById("preview-status"), messageOf(err), "blocking"); });
})();
