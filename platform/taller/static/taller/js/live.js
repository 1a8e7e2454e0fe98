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
  // A block that may scroll: focusable, so a keyboard can scroll it too.
  function scroller(cls, text) {
    var node = el("pre", cls, text);
    node.tabIndex = 0;
    return node;
  }
  function isFinal(status) {
    return FINAL.indexOf(status) !== -1;
  }

  // A graded run's summary in the page's language (the grader writes it in Spanish), and
  // so a run's known reason (the platform failed, a refused file); the grader's own words
  // for anything else (an error, a timeout).
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
    return reasonMessage(results.reason) || results.output || "";
  }
  function reasonMessage(reason) {
    if (!reason || !S.reasons || !S.reasons[reason.code]) return "";
    var params = reason.params || {};
    return S.reasons[reason.code].replace(/%\((\w+)\)s/g, function (_, key) {
      return params[key] === undefined || params[key] === null ? "" : String(params[key]);
    });
  }

  // A failed test's feedback, as templates/web/_results.html renders it on a reload
  // (the words come from web/feedback.py through S).
  var lang = document.documentElement.lang || "es";
  function param(value) {
    if (value === null || value === undefined) return S.none;
    if (Array.isArray(value)) return value.join(" / ");
    return String(value);
  }
  function checkMessage(check) {
    if (!check || !S.checks || !S.checks[check.code]) return "";
    var params = check.params || {};
    return S.checks[check.code].replace(/%\((\w+)\)s/g, function (_, key) {
      if (key === "expected" && (params.expected === null || params.expected === undefined)) {
        return S.any;
      }
      return param(params[key]);
    });
  }
  function testName(t) {
    return (lang === "en" && t.name_en) || t.name;
  }
  function pretty(body, headers) {
    var type = "";
    Object.keys(headers || {}).forEach(function (k) {
      if (k.toLowerCase() === "content-type") type = headers[k];
    });
    if (type.toLowerCase().indexOf("json") !== -1) {
      try {
        return JSON.stringify(JSON.parse(body), null, 2);
      } catch (e) {
        return body;
      }
    }
    return body;
  }
  function headerBlock(headers) {
    var names = Object.keys(headers || {});
    if (!names.length) return null;
    var details = el("details", "exchange-headers");
    details.appendChild(el("summary", null, fmt(S.headers, names.length)));
    details.appendChild(
      el(
        "pre",
        null,
        names
          .map(function (k) {
            return k + ": " + headers[k];
          })
          .join("\n")
      )
    );
    return details;
  }
  function renderExchange(x) {
    if (!x.request && x.description) return el("p", "exchange-description", x.description);
    var box = el("div", "exchange");
    var request = x.request || {};
    var req = el("div", "exchange-request");
    req.appendChild(el("h3", null, S.request));
    req.appendChild(el("pre", "exchange-line", ((request.method || "") + " " + (request.path || "")).trim()));
    var rh = headerBlock(request.headers);
    if (rh) req.appendChild(rh);
    if (request.body) req.appendChild(scroller("exchange-body", pretty(request.body, request.headers)));
    box.appendChild(req);
    var res = el("div", "exchange-response");
    res.appendChild(el("h3", null, S.response));
    var response = x.response;
    if (response) {
      var phrase = (S.phrases || {})[String(response.status)] || "";
      res.appendChild(
        el(
          "pre",
          "exchange-line status-" + (response.status < 400 ? "ok" : "bad"),
          ("HTTP " + response.status + " " + phrase).trim()
        )
      );
      var sh = headerBlock(response.headers);
      if (sh) res.appendChild(sh);
      if (response.body) res.appendChild(scroller("exchange-body", pretty(response.body, response.headers)));
    } else {
      res.appendChild(el("p", "exchange-line status-bad", S.no_response));
    }
    box.appendChild(res);
    if (x.curl) {
      var curl = el("div", "exchange-curl");
      var pre = scroller("curl");
      pre.appendChild(el("code", null, x.curl));
      curl.appendChild(pre);
      var button = el("button", "btn btn-sm copy-curl", S.copy_curl);
      button.type = "button";
      button.dataset.curl = x.curl;
      curl.appendChild(button);
      box.appendChild(curl);
    }
    return box;
  }
  function renderTest(t) {
    var item = el("li", "test-item " + t.status);
    item.dataset.test = t.number;
    item.appendChild(el("span", "test-name", testName(t)));
    item.appendChild(el("span", "test-points", points(t.score) + " / " + points(t.max_score)));
    var exchanges = t.exchanges || [];
    if (t.output || exchanges.length || t.stdout || t.stderr) {
      var details = el("details", "test-detail");
      if (t.status === "failed") details.open = true;
      details.appendChild(el("summary", null, t.status === "failed" ? S.what_failed : S.test_output_title));
      var message = checkMessage(t.check) || t.output;
      if (message) details.appendChild(el("pre", "test-output", message));
      exchanges.forEach(function (x) {
        details.appendChild(renderExchange(x));
      });
      if (t.stdout || t.stderr) {
        var own = el("div", "test-own-output");
        own.appendChild(el("h3", null, S.test_output));
        if (t.stdout) own.appendChild(scroller(null, t.stdout));
        if (t.stderr) own.appendChild(scroller("stderr", t.stderr));
        details.appendChild(own);
      }
      item.appendChild(details);
    }
    return item;
  }
  function firstFailure(t) {
    if (t.status === "passed") return null;
    var params = (t.check && t.check.params) || {};
    if (params.method && params.path && typeof params.got === "number") {
      return params.method + " " + params.path + " \u2192 " + params.got;
    }
    var exchanges = t.exchanges || [];
    for (var i = exchanges.length - 1; i >= 0; i--) {
      var x = exchanges[i];
      if (x.request && x.response) {
        return x.request.method + " " + x.request.path + " \u2192 " + x.response.status;
      }
    }
    return null;
  }
  function startThere(tests) {
    var counts = {};
    var order = [];
    tests.forEach(function (t) {
      var place = firstFailure(t);
      if (place === null) return;
      if (!(place in counts)) {
        counts[place] = 0;
        order.push(place);
      }
      counts[place] += 1;
    });
    var best = null;
    order.forEach(function (place) {
      if (best === null || counts[place] > counts[best]) best = place;
    });
    if (best === null || counts[best] < 2) return "";
    return String(S.start_there_many || "")
      .replace("%(n)s", String(counts[best]))
      .replace("%(request)s", best);
  }

  // "Copy as curl": the Clipboard API where the page may use it, else a selection.
  panel.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".copy-curl") : null;
    if (!button) return;
    var text = button.dataset.curl || "";
    function done(ok) {
      button.textContent = ok ? S.copied : S.copy_failed;
      setTimeout(function () {
        button.textContent = S.copy_curl;
      }, 2000);
    }
    function fallback() {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(area);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          done(true);
        },
        fallback
      );
    } else {
      fallback();
    }
  });
  function revealCopyButtons() {
    panel.querySelectorAll(".copy-curl[hidden]").forEach(function (b) {
      b.hidden = false;
    });
  }
  revealCopyButtons();

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
    var start = startThere(state.tests);
    if (start) panel.appendChild(el("p", "start-there", start));
    if (state.tests.length) {
      var list = el("ul", "test-list");
      state.tests.forEach(function (t) {
        list.appendChild(renderTest(t));
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
      // The server formats the date as the rendered rows are (the site's format).
      var when = document.createElement("time");
      when.dateTime = state.submitted_at || new Date().toISOString();
      when.textContent = state.submitted_at_display || "";
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
            submitted_at: r.body.submitted_at,
            submitted_at_display: r.body.submitted_at_display,
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
