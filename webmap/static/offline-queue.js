// The device's outbox of inspection records, kept in IndexedDB so records made with no
// signal survive reloads and restarts. Each record carries the client-made UUID the
// server deduplicates on, so sending one again (a lost answer, two tabs) stores it once.
// Photos are kept as Blobs beside the record and uploaded just before it.
(function () {
  "use strict";
  var DB_NAME = "gdgis-fieldwork", STORE = "outbox", VERSION = 1;
  var dbPromise = null, flushing = null;
  var listeners = [];

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, VERSION);
        req.onupgradeneeded = function () {
          var store = req.result.createObjectStore(STORE, { keyPath: "id" });
          store.createIndex("created_at", "created_at");
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function tx(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), result;
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
        result = work(t.objectStore(STORE));
        if (result && "onsuccess" in result) {
          var req = result;
          req.onsuccess = function () { result = req.result; };
        }
      });
    });
  }

  function changed() {
    all().then(function (items) { listeners.forEach(function (fn) { fn(items); }); });
  }

  function all() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    });
  }

  function put(item) { return tx("readwrite", function (s) { s.put(item); }).then(changed); }
  function remove(id) { return tx("readwrite", function (s) { s.delete(id); }).then(changed); }

  // Queue a record: {record: {...inspection body with id...}, photos: [Blob], label: text,
  // kind: "record" (a new record) or "amendment" (a later finding for the record ``target``)}.
  // An item stays on the device until it is sent or the inspector discards it.
  function add(entry) {
    var item = {
      id: entry.record.id, record: entry.record, photos: entry.photos || [], label: entry.label || "",
      kind: entry.kind || "record", target: entry.target || null, by: user || null, by_label: user ? userLabel : null,
      status: "pending", error: null, error_code: null, error_details: null,
      attempts: 0, created_at: new Date().toISOString(), sent_at: null
    };
    return put(item).then(function () { return item; });
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function uploadPhoto(markerId, blob) {
    var form = new FormData();
    form.append("photo", blob, blob.name || "photo.jpg");
    return fetch("/api/boundaries/markers/" + encodeURIComponent(markerId) + "/photos", {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRFToken": csrf() }
    }).then(answer).then(function (d) { return d.sha256; }, function (e) {
      // 409: these very bytes are stored already, with a caption this upload did not give;
      // the record only needs their hash.
      if (e.status === 409 && e.details.stored && e.details.stored.sha256) { return e.details.stored.sha256; }
      throw e;
    });
  }

  function answer(r) {
    return r.json().catch(function () { return {}; }).then(function (d) {
      if (!r.ok) {
        var details = (d.error && d.error.details) || {};
        var message = (d.error && d.error.message) || ("服务器返回 " + r.status);
        // The request key beside the Chinese label is for programs (照片（photo）): the
        // inspector reads the label (as webmap.errors.page_message does for pages).
        if (typeof details.field === "string") { message = message.replace("（" + details.field + "）", ""); }
        var e = new Error(message);
        e.status = r.status;
        e.code = d.error && d.error.code;
        e.details = details;
        e.retryAfter = parseInt(r.headers.get("Retry-After"), 10) || 0;
        throw e;
      }
      return d;
    });
  }

  // A refusal the server will repeat (bad data, conflict, not on the round's team: 403)
  // fails the item for the inspector to decide; a network error, a sign-in that expired
  // (401, 419), a timeout (408), too many requests (429) or a server problem (5xx) leaves
  // it pending for the next flush.
  function permanent(status) {
    return status && status >= 400 && status < 500 && [401, 408, 419, 429].indexOf(status) < 0;
  }

  function sendOne(item) {
    item.status = "sending"; item.attempts += 1;
    return put(item).then(function () {
      var photos = item.photos || [];
      return Promise.all(photos.map(function (b) { return uploadPhoto(item.record.marker_id, b); }));
    }).then(function (hashes) {
      var body = Object.assign({}, item.record);
      if (hashes.length) { body.photos = (body.photos || []).concat(hashes); }
      var url = item.kind === "amendment" ?
        "/api/boundaries/inspections/" + encodeURIComponent(item.target) + "/amendments" :
        "/api/boundaries/inspections";
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(body)
      }).then(answer);
    }).then(function (stored) {
      item.status = "sent"; item.error = null; item.error_code = null; item.error_details = null;
      item.sent_at = new Date().toISOString();
      item.photos = []; item.result = { assessed_state: stored.assessed_state, flagged_moved: stored.flagged_moved };
      return put(item).then(function () { return stored; });
    }, function (err) {
      var refused = permanent(err.status);
      item.status = refused ? "failed" : "pending";
      // Only what will be sent again says so; a refusal waits for the inspector's choice.
      item.error = !err.status ? "网络不可用，稍后自动重发" :
        refused ? err.message :
          err.status === 401 || err.status === 419 ? "登录已过期：重新登录后自动发送" :
            err.message + "（稍后自动重发）";
      if (!refused) { retryAfterS = Math.max(retryAfterS, err.retryAfter || 0); }
      item.error_code = err.code || null; item.error_details = err.details || null;
      return put(item).then(function () { return null; });
    });
  }

  // Who records on this page. A record is sent only in its own inspector's session: on a
  // tablet handed over to the other side, the next person's sign-in must not send (and so
  // sign) the last one's findings; they wait until their inspector signs in again.
  var user = "", userLabel = null;
  // Who makes the records from here on, and how pages name them (王强（韶关市民政局）).
  function setUser(username, label) { user = username || ""; userLabel = label || null; }
  function signedInAs() {
    return fetch("/auth/me", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (d) { return d.username || null; });
  }
  function heldForOthers(items, me) {
    return Promise.all(items.filter(function (i) {
      return i.by && i.by !== me && i.status === "pending" && i.error_code !== "other_user";
    }).map(function (i) {
      i.error = "由 " + (i.by_label || i.by) + " 录入：须其本人在本设备登录后发送"; i.error_code = "other_user";
      return put(i);
    }));
  }

  // Send every pending record of the signed-in inspector, one at a time, in the order they
  // were made. One flush at a time per page; across tabs the Web Locks API (where present)
  // keeps it to one. A flush asked for while one runs (a record revised mid-flush) runs
  // again right after.
  var flushAgain = false;
  function flush() {
    if (flushing) {
      flushAgain = true;
      return flushing.then(function () { return flushAgain ? flush() : 0; });
    }
    flushAgain = false;
    var run = function () {
      return all().then(function (items) {
        var waiting = items.filter(function (i) { return i.status === "pending" || i.status === "sending"; });
        if (!waiting.length || !navigator.onLine) { return []; }
        return signedInAs().catch(function () { return null; }).then(function (me) {
          if (!me) { return []; }  // signed out, or no answer: nothing is sent for no one
          return heldForOthers(items, me).then(function () {
            return waiting.filter(function (i) { return !i.by || i.by === me; });
          });
        });
      }).then(function (todo) {
        return todo.reduce(function (p, item) {
          return p.then(function (sent) {
            if (!navigator.onLine) { return sent; }
            return sendOne(item).then(function (ok) { return sent + (ok ? 1 : 0); });
          });
        }, Promise.resolve(0));
      });
    };
    var p = (navigator.locks && navigator.locks.request) ? navigator.locks.request("gdgis-outbox", run) : run();
    flushing = p.then(function (n) {
      flushing = null; changed();
      if (flushAgain) { flushAgain = false; return flush().then(function (m) { return n + m; }); }
      return scheduleRetry(n).then(function () { return n; });
    },
      function (e) { flushing = null; scheduleRetry(0); throw e; });
    return flushing;
  }

  // A record left pending by a network error, a busy server (5xx, 429) or an expired
  // sign-in is sent again by itself: the "online" event comes once, and a field network
  // that drops a request is still "online". The wait doubles from 5 s to 2 min while no
  // record goes through, and is at least what the server's Retry-After asked for.
  var RETRY_FIRST_S = 5, RETRY_MAX_S = 120;
  var retryTimer = null, retryDelayS = RETRY_FIRST_S, retryAfterS = 0;
  function scheduleRetry(sent) {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (sent) { retryDelayS = RETRY_FIRST_S; }
    return all().then(function (items) {
      var waiting = items.some(function (i) { return i.status === "pending" || i.status === "sending"; });
      if (!waiting || !navigator.onLine) { retryDelayS = RETRY_FIRST_S; retryAfterS = 0; return; }
      var delayS = Math.max(retryDelayS, retryAfterS);
      retryDelayS = Math.min(retryDelayS * 2, RETRY_MAX_S); retryAfterS = 0;
      retryTimer = setTimeout(function () { retryTimer = null; flush(); }, delayS * 1000);
    });
  }

  function retry(id) {
    return all().then(function (items) {
      var item = items.filter(function (i) { return i.id === id; })[0];
      if (!item) { return; }
      item.status = "pending"; item.error = null;
      return put(item);
    }).then(flush);
  }

  // Change a refused item as the inspector decided (keep as an amendment, attach to another
  // marker, confirm the move, drop the position) and send it again.
  function revise(id, change) {
    return all().then(function (items) {
      var item = items.filter(function (i) { return i.id === id; })[0];
      if (!item) { return; }
      change(item);
      item.status = "pending"; item.error = null; item.error_code = null; item.error_details = null;
      return put(item);
    }).then(flush);
  }

  // Everything not yet sent, as a JSON document the inspector can save as a file: the last
  // resort when a device cannot reach the server (photos are listed by name and size).
  function exportAll() {
    return all().then(function (items) {
      var waiting = items.filter(function (i) { return i.status !== "sent"; });
      return {
        exported_at: new Date().toISOString(), app: "gdgis inspection outbox", count: waiting.length,
        items: waiting.map(function (i) {
          return {
            id: i.id, kind: i.kind || "record", target: i.target || null, label: i.label,
            status: i.status, error: i.error, created_at: i.created_at, record: i.record,
            photos: (i.photos || []).map(function (b) { return { name: b.name || "photo", size: b.size, type: b.type }; })
          };
        })
      };
    });
  }

  function clearSent() {
    return all().then(function (items) {
      return Promise.all(items.filter(function (i) { return i.status === "sent"; })
        .map(function (i) { return tx("readwrite", function (s) { s.delete(i.id); }); }));
    }).then(changed);
  }

  window.addEventListener("online", function () { retryDelayS = RETRY_FIRST_S; flush(); });

  window.GDQueue = {
    add: add, all: all, flush: flush, setUser: setUser, retry: retry, remove: remove, clearSent: clearSent,
    revise: revise, exportAll: exportAll,
    onChange: function (fn) { listeners.push(fn); }
  };
})();
