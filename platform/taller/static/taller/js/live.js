// Taller: the exercise page's live results.
//
// Submits the editor's form with fetch (so the page stays put), then follows the run
// over a WebSocket: queue position, each test as it finishes, the verdict. Without a
// WebSocket it polls the status URL; without JavaScript the form posts normally and the
// server renders the same panel. Everything the student's program printed, and every
// test message, is inserted as text (textContent), never as HTML.
(function () {
  "use strict";

  var FINAL = ["passed", "failed", "error", "timeout", "rejected", "internal-error"];
  var stringsEl = document.getElementById("live-strings");
  var S = stringsEl ? JSON.parse(stringsEl.textContent) : { status: {} };
  var panel = document.getElementById("results");
  var form = document.getElementById("submission-form");
  if (!panel || !form) return;
  var attemptsBody = document.querySelector("[data-attempts]");
  var attemptsWrap = document.querySelector("[data-attempts-wrap]");
  var attemptsEmpty = document.querySelector("[data-attempts-empty]");

  var state = null; // {id, attempt, status, queue_position, test_count, tests[], results}
  var socket = null;
  var pollTimer = null;

  function fmt(template, n) {
    return String(template || "").replace("%(n)s", String(n));
  }
  function points(x) {
    if (x === null || x === undefined) return "—";
    var r = Math.round(Number(x) * 100) / 100;
    var lang = document.documentElement.lang || "es";
    return r.toLocaleString(lang, { maximumFractionDigits: 2 });
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function isFinal(status) {
    return FINAL.indexOf(status) !== -1;
  }

  // A graded run's summary in the page's language (the grader writes it in Spanish);
  // the grader's own words for anything else (an error, a timeout, a rejection).
  function summaryLine(results) {
    if (!results) return "";
    var tests = results.tests || [];
    if ((results.status === "passed" || results.status === "failed") && tests.length) {
      var failed = tests.filter(function (t) {
        return t.status !== "passed";
      }).length;
      if (!failed) return S.summary_passed || results.output;
      var template = failed === 1 ? S.summary_failed_one : S.summary_failed_many;
      if (!template) return results.output;
      return template.replace("%(failed)s", String(failed)).replace("%(total)s", String(tests.length));
    }
    return results.output || "";
  }

  function render() {
    if (!state) return;
    panel.dataset.status = state.status;
    panel.setAttribute("aria-busy", isFinal(state.status) ? "false" : "true");
    panel.replaceChildren();
    var title = el("h2", null, fmt(S.title, state.attempt));
    title.id = "results-title";
    panel.appendChild(title);
    if (state.status === "queued" && state.queue_position) {
      var q = el("p", "queue-position");
      q.textContent = fmt(S.queue, state.queue_position);
      panel.appendChild(q);
    }
    var summary = el("div", "results-summary");
    var score = el("span", "score", points(state.score) + " ");
    score.appendChild(el("span", "max", "/ " + points(state.max_score)));
    summary.appendChild(score);
    summary.appendChild(
      el("span", "status status-" + state.status, S.status[state.status] || state.status)
    );
    var total = state.test_count || 0;
    if (total) {
      var done = state.tests.length;
      var progress = el("div", "progress");
      var bar = document.createElement("progress");
      bar.max = total;
      bar.value = done;
      progress.appendChild(bar);
      progress.appendChild(el("span", "progress-label", done + " / " + total));
      summary.appendChild(progress);
    }
    panel.appendChild(summary);
    var results = state.results;
    var line = summaryLine(results);
    if (line) panel.appendChild(el("p", "results-output", line));
    if (state.tests.length) {
      var list = el("ul", "test-list");
      state.tests.forEach(function (t) {
        var item = el("li", "test-item " + t.status);
        item.appendChild(el("span", "test-name", t.name));
        item.appendChild(el("span", "test-points", points(t.score) + " / " + points(t.max_score)));
        if (t.output) {
          var details = document.createElement("details");
          if (t.status === "failed") details.open = true;
          details.appendChild(el("summary", null, S.what_failed));
          details.appendChild(el("pre", "test-output", t.output));
          item.appendChild(details);
        }
        list.appendChild(item);
      });
      panel.appendChild(list);
    }
    if (results && (results.stdout || results.stderr)) {
      var out = el("div", "program-output");
      out.appendChild(el("h3", null, S.program_output));
      if (results.stdout) out.appendChild(el("pre", null, results.stdout));
      if (results.stderr) out.appendChild(el("pre", "stderr", results.stderr));
      panel.appendChild(out);
    }
  }

  // The history below the panel: the current attempt's row, added on submit and kept
  // in step with the panel, so it never says "no attempts yet" after one.
  function syncAttempt() {
    if (!attemptsBody || !state || !state.id) return;
    var row = attemptsBody.querySelector('tr[data-submission="' + state.id + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.dataset.submission = String(state.id);
      var when = document.createElement("time");
      var now = new Date();
      when.dateTime = now.toISOString();
      when.textContent = now.toLocaleString(document.documentElement.lang || "es", {
        dateStyle: "short",
        timeStyle: "short",
      });
      var whenCell = el("td");
      whenCell.appendChild(when);
      row.append(el("td", null, state.attempt), whenCell, el("td"), el("td"));
      attemptsBody.insertBefore(row, attemptsBody.firstChild);
      if (attemptsWrap) attemptsWrap.hidden = false;
      if (attemptsEmpty) attemptsEmpty.hidden = true;
    }
    var cells = row.children;
    cells[2].replaceChildren(
      el("span", "status status-" + state.status, S.status[state.status] || state.status)
    );
    cells[3].textContent =
      isFinal(state.status) && state.score !== null && state.score !== undefined
        ? points(state.score) + " / " + points(state.max_score)
        : "—";
  }

  function apply(event) {
    if (!state && event.type !== "snapshot") return;
    switch (event.type) {
      case "snapshot":
        state = {
          id: event.id,
          attempt: event.attempt,
          status: event.status,
          queue_position: event.queue_position,
          test_count: event.test_count,
          score: event.score,
          max_score: event.max_score,
          tests: event.tests || [],
          results: event.results,
        };
        break;
      case "started":
        state.status = "running";
        state.queue_position = null;
        state.tests = [];
        break;
      case "requeued":
        state.status = "queued";
        state.tests = [];
        state.test_count = null;
        break;
      case "collected":
        state.status = "running";
        state.test_count = event.tests.length;
        state.max_score = event.tests.reduce(function (sum, t) {
          return sum + Number(t.max_score);
        }, 0);
        state.score = 0;
        break;
      case "test":
        state.tests = state.tests.filter(function (t) {
          return t.number !== event.test.number;
        });
        state.tests.push(event.test);
        state.score = state.tests.reduce(function (sum, t) {
          return sum + Number(t.score);
        }, 0);
        break;
      case "finished":
        state.results = event.results;
        state.status = event.results.status;
        state.score = event.results.score;
        state.max_score = event.results.max_score;
        state.tests = event.results.tests;
        state.test_count = event.results.tests.length;
        break;
      default:
        return;
    }
    render();
    syncAttempt();
    if (isFinal(state.status)) stop();
  }

  function stop() {
    if (socket) {
      socket.onclose = null;
      socket.close();
      socket = null;
    }
    if (pollTimer) {
      clearTimeout(pollTimer);
      pollTimer = null;
    }
  }

  function poll(statusUrl) {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (snap) {
        if (snap) apply(Object.assign({ type: "snapshot" }, snap));
        if (!state || !isFinal(state.status)) {
          pollTimer = setTimeout(function () {
            poll(statusUrl);
          }, 1500);
        }
      })
      .catch(function () {
        pollTimer = setTimeout(function () {
          poll(statusUrl);
        }, 3000);
      });
  }

  function follow(wsPath, statusUrl) {
    stop();
    var finished = false;
    try {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + wsPath);
    } catch (e) {
      poll(statusUrl);
      return;
    }
    socket.onmessage = function (message) {
      var event = JSON.parse(message.data);
      apply(event);
      finished = state && isFinal(state.status);
    };
    socket.onclose = function () {
      socket = null;
      // Missed the end, or never connected: fetch the truth until it is final.
      if (!finished) poll(statusUrl);
    };
  }

  function showError(message) {
    var box = form.querySelector(".submit-error");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
  }

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) return; // the plain POST still works
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    showError("");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { response: response, body: body };
        });
      })
      .then(function (r) {
        if (r.response.status === 202) {
          state = {
            id: r.body.id,
            attempt: r.body.attempt,
            status: r.body.status,
            queue_position: null,
            test_count: null,
            score: null,
            max_score: null,
            tests: [],
            results: null,
          };
          render();
          syncAttempt();
          follow(r.body.ws_path, r.body.status_url);
        } else if (r.response.status === 429) {
          var wait = Number(r.response.headers.get("Retry-After") || r.body.retry_after || 5);
          showError(r.body.error + " " + fmt(S.retry_in, wait));
        } else {
          showError(r.body.error || S.send_failed);
        }
      })
      .catch(function () {
        showError(S.send_failed);
      })
      .finally(function () {
        if (button) button.disabled = false;
      });
  });

  // A reload during a run picks it up where it is.
  if (panel.dataset.submission && !isFinal(panel.dataset.status)) {
    follow(panel.dataset.wsPath, panel.dataset.statusUrl);
  }
})();
