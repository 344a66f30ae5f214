// The residents' app's service worker: keeps the shell for offline use.
// Cache "{{ version }}" is named after every shell file's version, so a new
// release installs a fresh copy and the old one is deleted when it takes over.
const CACHE = "civicpulse-app-{{ version }}";
const SHELL = {{ urls|tojson }};
const PAGE = {{ scope|tojson }};
// Data the app reads that changes (services, words): the network first, the copy
// when offline. Everything else in the shell is versioned: the copy first.
const FRESH_FIRST = [PAGE, ...SHELL.filter((u) => u.endsWith(".json") || u.endsWith(".webmanifest"))];
const NETWORK_WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("civicpulse-app-") && n !== CACHE)
                                        .map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    // One bar of signal: give up on the network after a few seconds, not a minute.
    const answer = await Promise.race([
      fetch(request),
      new Promise((_, reject) => setTimeout(() => reject(new Error("slow")), NETWORK_WAIT_MS)),
    ]);
    if (answer.ok) cache.put(key, answer.clone());
    return answer;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw err;
  }
}

async function cacheFirst(request) {
  const kept = await caches.match(request);
  if (kept) return kept;
  const answer = await fetch(request);
  if (answer.ok) (await caches.open(CACHE)).put(request, answer.clone());
  return answer;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE) {
    event.respondWith(networkFirst(request, PAGE));
  } else if (FRESH_FIRST.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (SHELL.includes(url.pathname + url.search)) {
    event.respondWith(cacheFirst(request));
  }
  // Anything else (the API, tiles) goes to the network as usual.
});
