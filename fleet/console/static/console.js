// Auto-refresh: an element with data-refresh="S" data-fragment="NAME" is reloaded from the
// same URL every S seconds (the server answers the fragment for header X-Fragment: NAME).
// Without JavaScript the page still works; it just does not refresh itself.
(function () {
  "use strict";
  function start(el) {
    var seconds = parseInt(el.getAttribute("data-refresh"), 10);
    if (!seconds) { return; }
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(window.location.href, { headers: { "X-Fragment": el.getAttribute("data-fragment") },
                                    credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected) { window.location.reload(); return null; }  // signed out
          return r.ok ? r.text() : null;
        })
        .then(function (html) { if (html !== null) { el.innerHTML = html; } })
        .catch(function () { /* the next tick tries again */ });
    }, seconds * 1000);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(start);
  });
})();
