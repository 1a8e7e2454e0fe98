// Taller: a cohort regrade's progress page, kept current without a reload.
//
// Polls the batch's small JSON status every few seconds until every regrade is final,
// and rewrites the counts and the score cells. Everything is inserted as text. The
// progress label is an aria-live region, so a screen reader hears "12 de 30…".
(function () {
  "use strict";

  var card = document.getElementById("regrade-progress");
  if (!card) return;
  var url = card.dataset.statusUrl;
  var bar = document.getElementById("regrade-bar");
  var done = document.getElementById("regrade-done");
  var counts = document.getElementById("regrade-counts");
  var rows = document.getElementById("regrade-rows");
  var delay = 2000;

  function points(x) {
    if (x === null || x === undefined) return "—";
    var r = Math.round(Number(x) * 100) / 100;
    var lang = document.documentElement.lang || "es";
    return r.toLocaleString(lang, { maximumFractionDigits: 2 });
  }
  function badge(status, label) {
    var span = document.createElement("span");
    span.className = "status status-" + status;
    span.textContent = label;
    return span;
  }

  function render(data) {
    bar.max = data.total;
    bar.value = data.done;
    var text = String(card.dataset.doneText)
      .replace("{done}", String(data.done))
      .replace("{total}", String(data.total));
    if (data.finished) text += " " + card.dataset.finishedText;
    if (done.textContent !== text) done.textContent = text;
    counts.replaceChildren();
    data.counts.forEach(function (c) {
      var li = document.createElement("li");
      li.appendChild(badge(c.status, c.label));
      li.appendChild(document.createTextNode(" " + c.n));
      counts.appendChild(li);
    });
    data.rows.forEach(function (row) {
      var tr = rows.querySelector('tr[data-regrade="' + row.regrade_id + '"]');
      if (!tr) return;
      tr.querySelector(".new-score").textContent =
        points(row.new_score) + " / " + points(row.new_max);
      var cell = tr.querySelector(".regrade-status");
      cell.replaceChildren(badge(row.status, row.status_label));
    });
    card.setAttribute("aria-busy", data.finished ? "false" : "true");
  }

  if (card.getAttribute("aria-busy") !== "true") return;
  window.TallerPoll(
    url,
    delay,
    function (data) {
      render(data);
      return data.finished ? -1 : delay;
    },
    function () {
      // A hiccup (a deploy, the network): try again, more slowly.
      delay = Math.min(delay * 2, 30000);
      return delay;
    },
  );
})();
