// The offline shell: precache the page and the Python runtime, answer them cache-first.
//
// build.py injects the list (edgewasm/offline.py). Cached responses keep the headers they were
// fetched with, so the page stays cross-origin isolated (COOP/COEP) when it comes from here.
// Model bundles are not handled here: Python's chunk loader caches and verifies them itself.
"use strict";

const PRECACHE = self.__EDGEWASM_PRECACHE;
const PREFIX = "edgewasm-shell-";
const CACHE = PREFIX + PRECACHE.build;
const URLS = new Set(PRECACHE.files.map((file) => new URL(file, self.registration.scope).href));

self.addEventListener("install", (event) => {
  // Default cache mode: the server's no-cache makes these cheap revalidations of what the page
  // has just downloaded, not second downloads.
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE.files)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  url.search = "";
  url.hash = "";
  if (!URLS.has(url.href)) return; // the network, as if there were no worker
  event.respondWith((async () => {
    const cached = await caches.match(url.href, { cacheName: CACHE });
    return cached || fetch(request);
  })());
});
