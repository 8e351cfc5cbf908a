// Service worker (served at /sw.js, scope /): keeps the inspection app shell and the data
// of the round in hand so the inspection page opens and works with no signal.
// - app shell (page, scripts, styles, vendor files): cached at install, then served from
//   the cache and refreshed in the background;
// - round data (rounds, markers, marker details, divisions): network first, cache when
//   the network fails;
// - writes (POST) are never touched: the page queues them itself (offline-queue.js).
"use strict";
var VERSION = "gdgis-sw-v4";
var SHELL = VERSION + "-shell", DATA = VERSION + "-data";
var SHELL_URLS = [
  "/inspect",
  "/static/app.css",
  "/static/mapcommon.js",
  "/static/nav.js",
  "/static/form-guard.js",
  "/static/offline-queue.js",
  "/static/inspect.js",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet.markercluster/MarkerCluster.css",
  "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
  "/static/vendor/leaflet.markercluster/leaflet.markercluster.js"
];
// Base-map tiles saved for a round: from the cache first (they do not change), else the network.
function cacheFirst(request) {
  return caches.match(request, { ignoreVary: true }).then(function (hit) {
    return hit || fetch(request);
  });
}
var DATA_PATHS = [/^\/api\/boundaries\/(rounds|markers|inspections|lines|vocabulary)/, /^\/api\/divisions/, /^\/api\/map\//];
var TILES = VERSION + "-tiles";

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL).then(function (cache) { return cache.addAll(SHELL_URLS); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k.indexOf(VERSION) !== 0; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function networkFirst(request, cacheName) {
  return fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(cacheName).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreVary: true }).then(function (hit) {
      return hit || new Response(JSON.stringify({ error: { code: "offline", message: "离线：本设备没有该数据的缓存", details: {} } }),
        { status: 503, headers: { "Content-Type": "application/json" } });
    });
  });
}

function staleWhileRevalidate(request) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      var refresh = fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
      if (hit) { refresh.catch(function () { return null; }); return hit; }
      return refresh;
    });
  });
}

// The page asks for a round's data to be kept ({type: "cache-urls", urls: [...]}): fetched
// here, so it works even before this worker controls the page. Answers {type: "cached", ok, failed}.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "cache-urls" || !Array.isArray(data.urls)) { return; }
  var tag = data.tag || "round";
  event.waitUntil(caches.open(tag === "tiles" ? TILES : DATA).then(function (cache) {
    var ok = 0, failed = 0, total = data.urls.length;
    return data.urls.reduce(function (p, url) {
      return p.then(function () {
        return fetch(url, { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) { failed += 1; return; }
          ok += 1;
          return cache.put(url, r);
        }).catch(function () { failed += 1; }).then(function () {
          if (event.source && (ok + failed) % 10 === 0) {
            event.source.postMessage({ type: "progress", tag: tag, done: ok + failed, total: total });
          }
        });
      });
    }, Promise.resolve()).then(function () {
      if (event.source) { event.source.postMessage({ type: "cached", tag: tag, ok: ok, failed: failed, total: total }); }
    });
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname === "/inspect") {
    // The page shows who is signed in: prefer a fresh copy, fall back to the cached shell.
    event.respondWith(networkFirst(request, SHELL).then(function (r) {
      return r.status === 503 ? caches.match("/inspect", { ignoreSearch: true, ignoreVary: true }).then(function (h) { return h || r; }) : r;
    }));
  } else if (url.pathname.indexOf("/basemap/tiles/") === 0) {
    event.respondWith(cacheFirst(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staleWhileRevalidate(request));
  } else if (DATA_PATHS.some(function (re) { return re.test(url.pathname); })) {
    event.respondWith(networkFirst(request, DATA));
  }
});
