/* Comptoir Terrain: registers the service worker (offline page, cached styles). The pages
 * work without it: every form posts as a plain HTML form. */
"use strict";
(function () {
  const script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) return;
  const url = script.dataset.worker;
  const scope = script.dataset.scope;
  if (!url || !scope) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(url, { scope: scope }).catch(function () {});
  });
})();
