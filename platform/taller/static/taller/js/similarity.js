// Taller: a similarity report's progress, kept current without a reload.
//
// While the analysis runs, polls the report's small JSON status every few seconds and
// moves the bar; when it is finished, reloads the page once to show the pairs. The
// label is an aria-live region, so a screen reader hears the stage and the count.
(function () {
  "use strict";

  var card = document.getElementById("similarity-progress");
  if (!card || card.getAttribute("aria-busy") !== "true" || !card.dataset.statusUrl) return;
  var url = card.dataset.statusUrl;
  var bar = document.getElementById("similarity-bar");
  var label = document.getElementById("similarity-done");
  var delay = 1500;

  function render(data) {
    if (bar) {
      bar.max = data.total || 1;
      bar.value = data.done;
    }
    if (label && data.stage_label) {
      var text = String(card.dataset.doneText)
        .replace("{stage}", data.stage_label)
        .replace("{done}", String(data.done))
        .replace("{total}", String(data.total));
      if (label.textContent !== text) label.textContent = text;
    }
  }

  window.TallerPoll(
    url,
    delay,
    function (data) {
      render(data);
      if (!data.finished) return delay;
      card.setAttribute("aria-busy", "false");
      window.location.reload();
      return -1;
    },
    function () {
      // A hiccup (a deploy, the network): try again, more slowly.
      delay = Math.min(delay * 2, 30000);
      return delay;
    },
  );
})();
