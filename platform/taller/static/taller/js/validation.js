// Taller: a grader version's validation, followed live ("3 of 8 solutions graded").
//
// Polls each validating version's small JSON status; rewrites the progress line (an
// aria-live region) as solutions are graded, and reloads the page when a row is added
// or the validation ends, so the table shows the new rows. Without JavaScript the page
// refreshes itself instead (a <noscript> meta refresh).
(function () {
  "use strict";

  var lines = document.querySelectorAll("[data-validation-progress]");
  if (!lines.length) return;

  function follow(line) {
    var url = line.dataset.validationProgress;
    var seen = Number(line.dataset.done || 0);
    var template = String(line.dataset.doneText || "");

    window.TallerPoll(
      url,
      1000,
      function (data) {
        if (data.state !== "draft" && data.state !== "validating") {
          window.location.reload();
          return -1;
        }
        if (data.total && template) {
          var text = template
            .replace("{done}", String(data.done))
            .replace("{total}", String(data.total));
          if (line.textContent !== text) line.textContent = text;
        }
        if (data.done !== seen) {
          window.location.reload();
          return -1;
        }
        return 2000;
      },
      function () {
        return 5000;
      },
    );
  }

  Array.prototype.forEach.call(lines, follow);
})();
