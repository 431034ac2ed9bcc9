// The Mobile Token's service worker (docs/mobile-token-design.md §3.3): keeps the token page and
// its files so the token opens offline. The cache name changes with the static files' hashed
// URLs, so a new release installs a new cache and the old one is deleted.
// Only GETs of the SHELL are answered here (stale-while-revalidate); everything else, the
// registration pages included, goes to the network untouched.
const CACHE = {{ cache_name|safe }};
const SHELL = {{ shell|safe }};
const APP = {{ scope|safe }};

// Without cookies: the token page is the same for everyone and must not be a login session's
// activity (nor be answered by a redirect to the login page when a session has ended).
function shellRequest(url) {
  return new Request(url, { credentials: "omit", cache: "no-store" });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL.map(shellRequest)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names.filter((name) => name.startsWith("mt-") && name !== CACHE).map((name) => caches.delete(name)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

function shellPath(request) {
  if (request.method !== "GET") return null;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return null;
  // The token page with a query (?registered=1) is still the token page.
  if (url.pathname === APP) return APP;
  return SHELL.includes(url.pathname) && !url.search ? url.pathname : null;
}

self.addEventListener("fetch", (event) => {
  const path = shellPath(event.request);
  if (!path) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(path);
      const fresh = fetch(shellRequest(path))
        .then((response) => {
          if (response.ok && !response.redirected && response.type === "basic") {
            cache.put(path, response.clone());
          }
          return response;
        })
        .catch(() => null);
      if (cached) {
        event.waitUntil(fresh);
        return cached;
      }
      const response = await fresh;
      return response || Response.error();
    }),
  );
});
