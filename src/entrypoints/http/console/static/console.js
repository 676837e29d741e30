// Live runs: the page listens to the run's event stream and, when something happens,
// fetches the part of the page that changes, one fetch at a time (events that come during
// one lead to one more after it). When the run ends, the page loads once more so that its
// controls and graph match the final state.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.stream || !window.EventSource) return;
  var timer = null;
  var fetching = false;
  var again = false;
  var stopped = false;
  var source = new EventSource(live.dataset.stream);

  function stop() {
    stopped = true;
    source.close();
    if (timer !== null) window.clearTimeout(timer);
  }

  function refresh() {
    timer = null;
    if (stopped) return;
    fetching = true;
    again = false;
    live.setAttribute("aria-busy", "true");
    fetch(live.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.status === 401) { stop(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && !stopped) {
          live.innerHTML = html;
          if (live.querySelector("[data-ended]")) {
            stop();
            window.location.replace(window.location.pathname);
          }
        }
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        live.setAttribute("aria-busy", "false");
        if (again) soon();
      });
  }

  function soon() {
    if (stopped) return;
    if (fetching) { again = true; return; }
    if (timer === null) timer = window.setTimeout(refresh, 150);
  }

  // A form sent from this page leads to a page of its own: stop moving this one meanwhile.
  document.addEventListener("submit", stop);
  source.onmessage = soon;
  source.onopen = soon; // anything that happened between the page and the stream
})();
