/*
 * The /dashboard web page: picks a period, fetches /dashboard/data.json (same origin, with the
 * session cookie) and hands it to BillingDashboard.render (render.js). The chosen period and
 * granularity live in the page's query string (?period=last_30_days&granularity=day), so a
 * reload or a bookmark shows the same view. #dashboard's data-state is "loading", "ready" or
 * "error" (a browser test waits on it).
 */
(function () {
  "use strict";

  var PERIODS = {
    this_month: { granularity: "day" },
    last_30_days: { granularity: "day" },
    last_12_months: { granularity: "month" },
  };
  var GRANULARITIES = ["day", "week", "month"];

  var root = document.getElementById("dashboard");
  var form = document.getElementById("controls");
  var periodSel = document.getElementById("period");
  var granSel = document.getElementById("granularity");
  var refresh = document.getElementById("refresh");
  var status = document.getElementById("status");
  var error = document.getElementById("error");
  var sequence = 0;

  function utc(y, m, d) {
    return new Date(Date.UTC(y, m, d));
  }

  function iso(date) {
    return date.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** [from, to) in UTC for a named period, whole days or months, `to` exclusive. */
  function range(period, now) {
    var y = now.getUTCFullYear();
    var m = now.getUTCMonth();
    var d = now.getUTCDate();
    if (period === "last_30_days") return { from: utc(y, m, d - 29), to: utc(y, m, d + 1) };
    if (period === "last_12_months") return { from: utc(y, m - 11, 1), to: utc(y, m + 1, 1) };
    return { from: utc(y, m, 1), to: utc(y, m + 1, 1) };
  }

  function readState() {
    var q = new URLSearchParams(window.location.search);
    var period = PERIODS.hasOwnProperty(q.get("period")) ? q.get("period") : "this_month";
    var granularity = GRANULARITIES.indexOf(q.get("granularity")) >= 0 ? q.get("granularity") : PERIODS[period].granularity;
    return { period: period, granularity: granularity };
  }

  function writeState(state) {
    var q = new URLSearchParams();
    q.set("period", state.period);
    q.set("granularity", state.granularity);
    window.history.replaceState(null, "", window.location.pathname + "?" + q.toString());
  }

  function setBusy(busy) {
    refresh.disabled = busy;
    root.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function load() {
    var state = { period: periodSel.value, granularity: granSel.value };
    writeState(state);
    var r = range(state.period, new Date());
    var q = new URLSearchParams();
    q.set("from", iso(r.from));
    q.set("to", iso(r.to));
    q.set("granularity", state.granularity);
    var mine = ++sequence;
    setBusy(true);
    status.textContent = "Loading\u2026";
    if (root.getAttribute("data-state") !== "ready") root.setAttribute("data-state", "loading");

    fetch("/dashboard/data.json?" + q.toString(), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (res) {
        var toLogin = res.status === 401 || res.status === 403 || (res.redirected && /\/dashboard\/login(\?|#|$)/.test(res.url));
        if (toLogin) {
          window.location.assign("/dashboard/login");
          return null;
        }
        if (!res.ok) {
          return res.text().then(function (body) {
            throw new Error("the server answered " + res.status + (body ? ": " + body.slice(0, 200) : ""));
          });
        }
        return res.json();
      })
      .then(function (data) {
        if (mine !== sequence || data === null) return;
        error.textContent = "";
        window.BillingDashboard.render(root, data);
        root.setAttribute("data-state", "ready");
        status.textContent = "Updated " + new Date().toISOString().slice(11, 16) + " UTC";
      })
      .catch(function (e) {
        if (mine !== sequence) return;
        root.setAttribute("data-state", "error");
        error.textContent = "Could not load the dashboard: " + (e && e.message ? e.message : String(e));
        status.textContent = "";
      })
      .then(function () {
        if (mine === sequence) setBusy(false);
      });
  }

  var initial = readState();
  periodSel.value = initial.period;
  granSel.value = initial.granularity;

  periodSel.addEventListener("change", function () {
    granSel.value = PERIODS[periodSel.value].granularity;
    load();
  });
  granSel.addEventListener("change", load);
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    load();
  });

  load();
})();
