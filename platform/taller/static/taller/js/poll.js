// Taller: a page's small JSON status, fetched again until the page has what it waits for
// (regrade.js, similarity.js, validation.js).
//
// TallerPoll(url, first, step, retry): fetches `url` after `first` ms and hands the data
// to `step`, which returns how long to wait before the next fetch (ms), or a negative
// number to stop. A failed fetch (a deploy, the network) is tried again after
// `retry()` ms.
(function () {
  "use strict";

  window.TallerPoll = function (url, first, step, retry) {
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (data) {
          var next = step(data);
          if (next >= 0) window.setTimeout(poll, next);
        })
        .catch(function () {
          window.setTimeout(poll, retry());
        });
    }
    window.setTimeout(poll, first);
  };
})();
