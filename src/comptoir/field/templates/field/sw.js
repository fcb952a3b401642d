{% autoescape off %}/* Comptoir Terrain: the service worker of one organisation's field app.
 * Pages: network first; without a network, the offline page.
 * Versioned static files (a hash in their name): cache first, they never change.
 * Other static files: network first, the stored copy when offline.
 * Nothing else is stored: no page with someone's data stays on the phone. */
"use strict";
const CONFIG = {{ config }};
const PREFIX = CONFIG.cachePrefix;
const CACHE = PREFIX + CONFIG.version;
const OFFLINE = CONFIG.offline;
const STATIC = CONFIG.staticPrefix;
const SHELL = CONFIG.shell;
const VERSIONED = /\.[0-9a-f]{12}\.[A-Za-z0-9]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith(PREFIX) && key !== CACHE).map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

function store(request, response) {
  if (response.ok) {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy));
  }
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(() => caches.match(OFFLINE).then((hit) => hit || Response.error()))
    );
    return;
  }
  if (!url.pathname.startsWith(STATIC)) return;
  if (VERSIONED.test(url.pathname)) {
    event.respondWith(
      caches.match(request).then((hit) => hit || fetch(request).then((response) => store(request, response)))
    );
    return;
  }
  event.respondWith(
    fetch(request).then((response) => store(request, response)).catch(() => caches.match(request))
  );
});
{% endautoescape %}
