// The resident app's service worker (served as /sw.js, so its scope is the whole app).
// Keeps the app's own files (the shell) so it starts without network: network first,
// the kept copy when offline. Never API answers or the signaling socket: calls, door
// answers and history are always live.
"use strict";

const CACHE = "resident-app-v1";
const SHELL = ["/app", "/static/app.css", "/static/app.js", "/static/key.js", "/static/icon.svg",
               "/manifest.webmanifest", "/icons/icon-192.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  // /app?resident=..&token=..: one copy, kept without its query (the sign-in is the page's, not the file's)
  event.respondWith(fetch(event.request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
    }
    return response;
  }).catch(() => caches.match(url.pathname)));
});

// A tap on the incoming-call notification brings the app (signed in) to the front.
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/app";
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
    const open = windows.find((w) => new URL(w.url).pathname === "/app");
    return open ? open.focus() : self.clients.openWindow(url);
  }));
});
