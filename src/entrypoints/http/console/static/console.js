// Live runs: the page listens to the run's event stream and, when something happens,
// fetches the part of the page that changes. When the run ends, the page loads once more
// so that its controls match the final state.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.stream || !window.EventSource) return;
  var pending = null;
  var source = new EventSource(live.dataset.stream);

  function refresh() {
    if (pending === -1) return;
    pending = null;
    live.setAttribute("aria-busy", "true");
    fetch(live.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status === 401) { source.close(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        live.setAttribute("aria-busy", "false");
        if (html === null || pending === -1) return;
        live.innerHTML = html;
        if (live.querySelector("[data-ended]")) {
          source.close();
          window.location.replace(window.location.pathname);
        }
      })
      .catch(function () { live.setAttribute("aria-busy", "false"); });
  }

  function soon() {
    if (pending === null) pending = window.setTimeout(refresh, 150);
  }

  // A form sent from this page leads to a page of its own: stop moving this one meanwhile.
  document.addEventListener("submit", function () {
    source.close();
    if (pending !== null) window.clearTimeout(pending);
    pending = -1;
  });

  source.onmessage = soon;
  source.onopen = soon; // anything that happened between the page and the stream
})();
