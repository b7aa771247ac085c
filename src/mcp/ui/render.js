/*
 * billing-mcp dashboard renderer, shared by the web page (/dashboard) and the MCP App
 * (ui://billing-mcp/dashboard). Plain JavaScript, no build step: it defines
 *
 *     window.BillingDashboard.render(rootElement, data)
 *
 * where `data` is get_dashboard's structuredContent (the same JSON as /dashboard/data.json).
 * It draws its charts with uPlot (window.uPlot, vendored in vendor/), builds every element with
 * createElement/textContent only (customer ids, plans and tool names are untrusted text) and sets
 * no inline style attribute, so it runs under `style-src 'self'` without 'unsafe-inline'.
 * Money is never computed here: a Money value is shown as its `display` string, as the server
 * formatted it. Series values (integer minor units) are only plotted; their axis and legend
 * labels are made with integer/string arithmetic (formatMinor), never floats.
 *
 * Figure attributes (what a browser test reads)
 * ---------------------------------------------
 * Every figure is one element with `data-figure="KEY"`; keys are unique in the document.
 * Its textContent is what a person sees, by type:
 *   Money    text = the Money's `display`, verbatim; also data-amount="<amount>" and
 *            data-currency="<currency>". A null Money shows "—" (no data-amount).
 *   integer  text = the integer with "," between thousands ("12,345"); data-value = the JSON
 *            number as written ("12345").
 *   time     text = "YYYY-MM-DD" when the time is midnight UTC, else "YYYY-MM-DD HH:MM UTC";
 *            data-value = the JSON string verbatim.
 *   boolean  text = "yes" / "no"; data-value = "true" / "false".
 *   string   text = the JSON string verbatim (no data-value).
 *   null     text = "—" (any type).
 * Keys (<cur> is the lower-case currency code of a currencies[] block, <meter>, <tool> and
 * <customer> are the JSON strings verbatim):
 *   period.from  period.to  period.as_of (time)          period.granularity (string)
 *   <cur>.mrr  <cur>.arr  <cur>.arpu (Money)            <cur>.paying_customers (integer)
 *   <cur>.upcoming.total|base|prorations|usage (Money)  <cur>.upcoming.invoices (integer)
 *   <cur>.billed.total (Money)                          <cur>.billed.invoices (integer)
 *   <cur>.credit_packs_sold.total (Money)               <cur>.credit_packs_sold.packs (integer)
 *   <cur>.movements.new|expansion|contraction|churn|reactivation|net (Money)
 *   customers.total|active|trialing|delinquent|churned|new (integer)
 *   credits.sold|granted|burned|expired|outstanding (integer)
 *   delivery.meter_events_pending|meter_events_failed|webhooks_failed (integer)
 *   usage.<meter>.quantity  usage.<meter>.events (integer)   usage.<meter>.aggregation (string)
 *   top_tools.<meter>.<tool>.quantity  top_tools.<meter>.<tool>.events (integer; <tool> may be
 *            "" for usage without a tool dimension, shown to people as "(untagged)")
 *   reserved.<customer>.<meter>.reserved  reserved.<customer>.<meter>.used (integer)
 *   accounts.total (integer: accounts_total)            accounts.shown (integer: accounts.length)
 *   account.<customer>.customer|plan|status (string)    account.<customer>.delinquent (boolean)
 *   account.<customer>.events (integer)                 account.<customer>.next_invoice (Money)
 *   account.<customer>.period_end (time)
 *   stripe_balance.available.<cur>  stripe_balance.pending.<cur> (Money)
 *   stripe_balance.as_of (time); none of the stripe_balance.* keys exists when it is null.
 * Rows and blocks: each accounts row is <tr data-account="<customer>">, each reserved row
 * <tr data-reserved="<customer>/<meter>">, each currency block <section data-currency="<cur>">.
 * Charts: <div data-chart="KEY" data-points="N"> with N the number of points plotted:
 *   <cur>.mrr and <cur>.movements (N = series length), usage.<meter> (N = its series length),
 *   top_tools (N = top_tools length).
 * The root element gets data-rendered="<as_of>" once everything, charts included, is drawn.
 */
(function () {
  "use strict";

  var DASH = "\u2014";
  var MOVEMENTS = [
    // key, label, colour (kept in step with dashboard.css's .bd-swatch-* classes)
    ["new", "New", "#2f9e63"],
    ["expansion", "Expansion", "#84cc9f"],
    ["reactivation", "Reactivation", "#3b7dd8"],
    ["contraction", "Contraction", "#f0a04b"],
    ["churn", "Churn", "#d64545"],
  ];
  var ZERO_DECIMAL = ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];
  var THREE_DECIMAL = ["bhd", "jod", "kwd", "omr", "tnd"];

  // ---- formatting (integers and strings only) ---------------------------------------------

  /** "12345" -> "12,345"; works on the decimal digits, so no float ever rounds a figure. */
  function groupDigits(digits) {
    var out = "";
    while (digits.length > 3) {
      out = "," + digits.slice(-3) + out;
      digits = digits.slice(0, -3);
    }
    return digits + out;
  }

  function formatInt(n) {
    if (n === null || n === undefined) return DASH;
    var s = String(n);
    var m = /^(-?)(\d+)(\.\d+)?$/.exec(s);
    return m ? m[1] + groupDigits(m[2]) + (m[3] || "") : s;
  }

  /** Minor units (an integer) -> major units string with `exp` decimals: (-123456, 2) -> "-1,234.56". */
  function formatMinor(n, exp, dropZeroFraction) {
    var v = Math.round(Number(n));
    if (!isFinite(v)) return "";
    var neg = v < 0;
    var digits = String(Math.abs(v));
    while (digits.length <= exp) digits = "0" + digits;
    var whole = groupDigits(digits.slice(0, digits.length - exp));
    var frac = exp > 0 ? digits.slice(digits.length - exp) : "";
    if (dropZeroFraction && /^0*$/.test(frac)) frac = "";
    return (neg ? "-" : "") + whole + (frac ? "." + frac : "");
  }

  /** "2027-01-01T00:00:00Z" -> "2027-01-01"; "2026-12-05T20:00:00Z" -> "2026-12-05 20:00 UTC". */
  function formatTime(iso) {
    if (iso === null || iso === undefined) return DASH;
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]00:?00)$/.exec(String(iso));
    if (!m) return String(iso);
    if (m[2] === "00" && m[3] === "00" && (m[4] === undefined || m[4] === "00")) return m[1];
    return m[1] + " " + m[2] + ":" + m[3] + " UTC";
  }

  /** Decimal places of a currency's minor unit: read off a Money's display when there is one. */
  function currencyExponent(block) {
    var samples = [block.mrr, block.arr, block.arpu, block.upcoming && block.upcoming.total, block.billed && block.billed.total];
    for (var i = 0; i < samples.length; i++) {
      var m = samples[i];
      if (m && typeof m.display === "string") {
        var dot = m.display.lastIndexOf(".");
        return dot < 0 ? 0 : m.display.length - dot - 1;
      }
    }
    var c = String(block.currency || "").toLowerCase();
    if (ZERO_DECIMAL.indexOf(c) >= 0) return 0;
    if (THREE_DECIMAL.indexOf(c) >= 0) return 3;
    return 2;
  }

  function toSeconds(iso) {
    return Date.parse(iso) / 1000;
  }

  // ---- DOM helpers --------------------------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function append(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }

  function figure(tag, key, text, attrs) {
    var e = el(tag, "bd-fig", text);
    e.setAttribute("data-figure", key);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
    return e;
  }

  function moneyFig(key, m, tag) {
    if (!m) return figure(tag || "span", key, DASH);
    var e = figure(tag || "span", key, m.display, { "data-amount": String(m.amount), "data-currency": m.currency });
    if (m.amount < 0) e.classList.add("bd-neg");
    return e;
  }

  function intFig(key, n, tag) {
    if (n === null || n === undefined) return figure(tag || "span", key, DASH);
    return figure(tag || "span", key, formatInt(n), { "data-value": String(n) });
  }

  function timeFig(key, iso, tag) {
    if (iso === null || iso === undefined) return figure(tag || "span", key, DASH);
    return figure(tag || "span", key, formatTime(iso), { "data-value": String(iso) });
  }

  function textFig(key, s, tag) {
    return figure(tag || "span", key, s === null || s === undefined ? DASH : String(s));
  }

  function boolFig(key, b, tag) {
    if (b === null || b === undefined) return figure(tag || "span", key, DASH);
    return figure(tag || "span", key, b ? "yes" : "no", { "data-value": b ? "true" : "false" });
  }

  function curLabel(code) {
    return el("span", "bd-cur", String(code || "").toUpperCase());
  }

  function panel(title, extraClass) {
    var p = el("section", "bd-panel" + (extraClass ? " " + extraClass : ""));
    if (title) p.appendChild(el("h3", "bd-panel-title", title));
    return p;
  }

  /** A <dl> of label/value rows; rows are [label, valueElement, modifierClass]. */
  function statList(rows) {
    var dl = el("dl", "bd-stats");
    rows.forEach(function (r) {
      var row = el("div", "bd-stat" + (r[2] ? " " + r[2] : ""));
      append(row, el("dt", null, r[0]), append(el("dd"), r[1]));
      dl.appendChild(row);
    });
    return dl;
  }

  function plural(n, one, many) {
    return n === 1 ? one : many;
  }

  // ---- sections -----------------------------------------------------------------------------

  function renderPeriod(data) {
    var head = el("div", "bd-period");
    append(
      head,
      el("span", "bd-period-label", "Period"),
      timeFig("period.from", data.from),
      el("span", "bd-period-sep", "\u2192"),
      timeFig("period.to", data.to),
      el("span", "bd-dot", "\u00b7"),
      textFig("period.granularity", data.granularity),
      el("span", null, " buckets"),
      el("span", "bd-dot", "\u00b7"),
      el("span", "bd-period-label", "as of"),
      timeFig("period.as_of", data.as_of)
    );
    return head;
  }

  function kpi(label, valueEl, currency, subEls, extraClass) {
    var card = el("div", "bd-kpi" + (extraClass ? " " + extraClass : ""));
    card.appendChild(el("div", "bd-kpi-label", label));
    var v = append(el("div", "bd-kpi-value"), valueEl);
    if (currency) v.appendChild(curLabel(currency));
    card.appendChild(v);
    (subEls || []).forEach(function (s) {
      card.appendChild(s);
    });
    return card;
  }

  function countLine(key, n, one, many) {
    return append(el("div", "bd-kpi-sub"), intFig(key, n), el("span", null, " " + plural(n, one, many)));
  }

  function renderCurrency(block, charts) {
    var cur = String(block.currency).toLowerCase();
    var exp = currencyExponent(block);
    var sec = el("section", "bd-currency");
    sec.setAttribute("data-currency", cur);
    sec.appendChild(append(el("h2", "bd-h2"), el("span", null, "Revenue"), curLabel(cur)));

    var up = block.upcoming || {};
    var billed = block.billed || {};
    var packs = block.credit_packs_sold || {};
    var upBreakdown = statList([
      ["Base", moneyFig(cur + ".upcoming.base", up.base)],
      ["Prorations", moneyFig(cur + ".upcoming.prorations", up.prorations)],
      ["Usage", moneyFig(cur + ".upcoming.usage", up.usage)],
    ]);
    upBreakdown.classList.add("bd-stats-compact");

    var headline = statList([
      ["ARR", append(el("span"), moneyFig(cur + ".arr", block.arr), curLabel(cur))],
      ["ARPU", append(el("span"), moneyFig(cur + ".arpu", block.arpu), curLabel(cur))],
      ["Paying customers", intFig(cur + ".paying_customers", block.paying_customers)],
    ]);
    headline.classList.add("bd-stats-compact");

    var kpis = append(
      el("div", "bd-kpis"),
      kpi("MRR", moneyFig(cur + ".mrr", block.mrr), cur, [headline], "bd-kpi-primary"),
      kpi("Upcoming invoices", moneyFig(cur + ".upcoming.total", up.total), cur, [
        countLine(cur + ".upcoming.invoices", up.invoices, "invoice", "invoices"),
        upBreakdown,
      ]),
      kpi("Billed in period", moneyFig(cur + ".billed.total", billed.total), cur, [
        countLine(cur + ".billed.invoices", billed.invoices, "invoice", "invoices"),
      ]),
      kpi("Credit packs sold", moneyFig(cur + ".credit_packs_sold.total", packs.total), cur, [
        countLine(cur + ".credit_packs_sold.packs", packs.packs, "pack", "packs"),
      ])
    );
    sec.appendChild(kpis);

    var series = block.series || [];
    var row = el("div", "bd-grid bd-grid-2");

    var mrrPanel = panel("MRR over time");
    var mrrChart = chartBox(cur + ".mrr", series.length);
    mrrPanel.appendChild(mrrChart);
    charts.push({ box: mrrChart, build: function (w) { return mrrChartOpts(w, series, cur, exp); }, data: mrrData(series) });

    var mv = block.mrr_movements || {};
    var movPanel = panel("MRR movements");
    var list = el("div", "bd-movements");
    MOVEMENTS.forEach(function (m) {
      var item = el("div", "bd-movement");
      append(
        item,
        append(el("div", "bd-movement-label"), el("span", "bd-swatch bd-swatch-" + m[0]), el("span", null, m[1])),
        moneyFig(cur + ".movements." + m[0], mv[m[0]], "div")
      );
      list.appendChild(item);
    });
    var net = el("div", "bd-movement bd-movement-net");
    append(net, el("div", "bd-movement-label", "Net"), moneyFig(cur + ".movements.net", mv.net, "div"));
    list.appendChild(net);
    movPanel.appendChild(list);
    var movChart = chartBox(cur + ".movements", series.length);
    movPanel.appendChild(movChart);
    var stacked = movementsData(series);
    charts.push({ box: movChart, build: function (w) { return movementsChartOpts(w, stacked, cur, exp); }, data: stacked.data });

    append(row, mrrPanel, movPanel);
    sec.appendChild(row);
    return sec;
  }

  function renderCustomers(c) {
    c = c || {};
    var p = panel("Customers");
    p.appendChild(
      statList([
        ["Total", intFig("customers.total", c.total), "bd-stat-strong"],
        ["Active", intFig("customers.active", c.active), "bd-dot-ok"],
        ["Trialing", intFig("customers.trialing", c.trialing), "bd-dot-info"],
        ["Delinquent", intFig("customers.delinquent", c.delinquent), c.delinquent > 0 ? "bd-dot-bad" : "bd-dot-muted"],
        ["Churned", intFig("customers.churned", c.churned), "bd-dot-muted"],
        ["New in period", intFig("customers.new", c.new), "bd-dot-ok"],
      ])
    );
    return p;
  }

  function renderCredits(c) {
    c = c || {};
    var p = panel("Credits");
    p.appendChild(
      statList([
        ["Sold", intFig("credits.sold", c.sold)],
        ["Granted", intFig("credits.granted", c.granted)],
        ["Burned", intFig("credits.burned", c.burned)],
        ["Expired", intFig("credits.expired", c.expired)],
        ["Outstanding", intFig("credits.outstanding", c.outstanding), "bd-stat-strong"],
      ])
    );
    return p;
  }

  function renderDelivery(d) {
    d = d || {};
    function health(n, bad) {
      if (!(n > 0)) return "bd-dot-ok";
      return bad ? "bd-dot-bad" : "bd-dot-warn";
    }
    var p = panel("Delivery");
    p.appendChild(
      statList([
        ["Meter events pending", intFig("delivery.meter_events_pending", d.meter_events_pending), health(d.meter_events_pending, false)],
        ["Meter events failed", intFig("delivery.meter_events_failed", d.meter_events_failed), health(d.meter_events_failed, true)],
        ["Webhooks failed", intFig("delivery.webhooks_failed", d.webhooks_failed), health(d.webhooks_failed, true)],
      ])
    );
    var allOk = !(d.meter_events_pending > 0) && !(d.meter_events_failed > 0) && !(d.webhooks_failed > 0);
    p.appendChild(el("p", "bd-note " + (allOk ? "bd-ok" : "bd-warn"), allOk ? "All delivered." : "Needs attention."));
    return p;
  }

  function renderStripeBalance(b) {
    var p = panel("Stripe balance");
    if (!b) {
      p.appendChild(el("p", "bd-note bd-muted", "Not available (no Stripe key, or Stripe did not answer)."));
      return p;
    }
    var rows = [];
    (b.available || []).forEach(function (m) {
      rows.push(["Available " + String(m.currency).toUpperCase(), moneyFig("stripe_balance.available." + String(m.currency).toLowerCase(), m)]);
    });
    (b.pending || []).forEach(function (m) {
      rows.push(["Pending " + String(m.currency).toUpperCase(), moneyFig("stripe_balance.pending." + String(m.currency).toLowerCase(), m)]);
    });
    if (rows.length) p.appendChild(statList(rows));
    else p.appendChild(el("p", "bd-note bd-muted", "No balance."));
    p.appendChild(append(el("p", "bd-note bd-muted"), el("span", null, "as of "), timeFig("stripe_balance.as_of", b.as_of)));
    return p;
  }

  function granularityWord(g) {
    return { day: "day", week: "week", month: "month", hour: "hour" }[g];
  }

  function renderUsage(usage, topTools, granularity, charts) {
    var sec = el("section", "bd-usage");
    sec.appendChild(el("h2", "bd-h2", "Usage"));
    var grid = el("div", "bd-grid bd-grid-auto");
    if (!usage || !usage.length) {
      var empty = panel("Meters");
      empty.appendChild(el("p", "bd-note bd-muted", "No usage recorded in this period."));
      grid.appendChild(empty);
    }
    (usage || []).forEach(function (u) {
      var p = panel(null, "bd-meter");
      var title = append(el("h3", "bd-panel-title"), el("span", null, u.meter), el("span", "bd-tag", null));
      title.lastChild.appendChild(textFig("usage." + u.meter + ".aggregation", u.aggregation));
      p.appendChild(title);
      p.appendChild(
        append(
          el("div", "bd-meter-figures"),
          append(el("div", "bd-big"), intFig("usage." + u.meter + ".quantity", u.quantity), el("span", "bd-unit", " quantity")),
          append(el("div", "bd-big bd-big-secondary"), intFig("usage." + u.meter + ".events", u.events), el("span", "bd-unit", " events"))
        )
      );
      var s = u.series || [];
      p.appendChild(
        append(
          el("div", "bd-key"),
          el("span", "bd-key-bar"),
          el("span", null, "quantity (" + (u.aggregation || "total") + " per " + (granularityWord(granularity) || "bucket") + ")"),
          el("span", "bd-key-line"),
          el("span", null, "events")
        )
      );
      var box = chartBox("usage." + u.meter, s.length);
      p.appendChild(box);
      charts.push({ box: box, build: function (w) { return usageChartOpts(w, u.meter); }, data: usageData(s) });
      grid.appendChild(p);
    });

    var tp = panel("Top tools");
    var tools = topTools || [];
    if (!tools.length) {
      tp.appendChild(el("p", "bd-note bd-muted", "No per-tool usage in this period."));
    } else {
      var box = chartBox("top_tools", tools.length);
      box.classList.add("bd-chart-tall");
      tp.appendChild(box);
      charts.push({ box: box, build: function (w) { return topToolsChartOpts(w, tools); }, data: topToolsData(tools), height: topToolsHeight(tools) });
      var t = table(["Tool", "Meter", "Quantity", "Events"], ["", "", "bd-num", "bd-num"]);
      tools.forEach(function (x) {
        var key = "top_tools." + x.meter + "." + x.tool;
        var tr = el("tr");
        append(
          tr,
          el("td", "bd-mono" + (x.tool ? "" : " bd-muted"), toolName(x.tool)),
          el("td", "bd-muted", x.meter),
          append(el("td", "bd-num"), intFig(key + ".quantity", x.quantity)),
          append(el("td", "bd-num"), intFig(key + ".events", x.events))
        );
        t.body.appendChild(tr);
      });
      t.table.classList.add("bd-table-compact");
      tp.appendChild(t.table);
    }
    grid.appendChild(tp);
    sec.appendChild(grid);
    return sec;
  }

  /** Usage recorded without a `tool` dimension is shown as "(untagged)"; its key keeps "". */
  function toolName(tool) {
    return tool ? String(tool) : "(untagged)";
  }

  function table(headers, classes) {
    var t = el("table", "bd-table");
    var thead = el("thead");
    var tr = el("tr");
    headers.forEach(function (h, i) {
      tr.appendChild(el("th", classes && classes[i] ? classes[i] : null, h));
    });
    thead.appendChild(tr);
    var body = el("tbody");
    append(t, thead, body);
    return { table: t, body: body };
  }

  function statusBadge(key, status, delinquent) {
    var wrap = el("span", "bd-badges");
    var b = textFig(key + ".status", status);
    b.classList.add("bd-badge", "bd-badge-" + String(status || "none").replace(/[^a-z_]/gi, ""));
    wrap.appendChild(b);
    // The boolean figure is for readers and tests; people see the "delinquent" badge.
    var d = boolFig(key + ".delinquent", delinquent === undefined ? null : !!delinquent);
    d.classList.add("bd-sr-only");
    wrap.appendChild(d);
    if (delinquent) wrap.appendChild(el("span", "bd-badge bd-badge-delinquent", "delinquent"));
    return wrap;
  }

  function renderAccounts(accounts, total) {
    var sec = el("section", "bd-accounts");
    var h = append(el("h2", "bd-h2"), el("span", null, "Accounts"));
    var count = append(el("span", "bd-h2-aside"), el("span", null, "showing "), intFig("accounts.shown", (accounts || []).length), el("span", null, " of "), intFig("accounts.total", total));
    h.appendChild(count);
    sec.appendChild(h);
    var p = panel(null, "bd-panel-table");
    if (!accounts || !accounts.length) {
      p.appendChild(el("p", "bd-note bd-muted", "No customers yet."));
      sec.appendChild(p);
      return sec;
    }
    var t = table(["Customer", "Plan", "Status", "Events", "Next invoice", "Period end"], ["", "", "", "bd-num", "bd-num", ""]);
    accounts.forEach(function (a) {
      var key = "account." + a.customer;
      var tr = el("tr");
      tr.setAttribute("data-account", a.customer);
      if (a.delinquent) tr.classList.add("bd-row-alert");
      var next = append(el("td", "bd-num"), moneyFig(key + ".next_invoice", a.next_invoice));
      if (a.next_invoice) next.appendChild(curLabel(a.next_invoice.currency));
      append(
        tr,
        append(el("td", "bd-mono"), textFig(key + ".customer", a.customer)),
        append(el("td"), textFig(key + ".plan", a.plan)),
        append(el("td"), statusBadge(key, a.status, a.delinquent)),
        append(el("td", "bd-num"), intFig(key + ".events", a.events)),
        next,
        append(el("td"), timeFig(key + ".period_end", a.period_end))
      );
      t.body.appendChild(tr);
    });
    p.appendChild(t.table);
    sec.appendChild(p);
    return sec;
  }

  function renderReserved(reserved) {
    var sec = el("section", "bd-reserved");
    sec.appendChild(el("h2", "bd-h2", "Reserved capacity"));
    var p = panel(null, "bd-panel-table");
    if (!reserved || !reserved.length) {
      p.appendChild(el("p", "bd-note bd-muted", "No reserved tiers."));
      sec.appendChild(p);
      return sec;
    }
    var t = table(["Customer", "Meter", "Used", "Reserved", "", "Used %"], ["", "", "bd-num", "bd-num", "bd-meter-col", "bd-num"]);
    reserved.forEach(function (r) {
      var key = "reserved." + r.customer + "." + r.meter;
      var tr = el("tr");
      tr.setAttribute("data-reserved", r.customer + "/" + r.meter);
      var bar = el("meter", "bd-bar");
      var max = r.reserved > 0 ? r.reserved : 1;
      bar.min = 0;
      bar.max = max;
      bar.low = max * 0.8;
      bar.high = max * 0.95;
      bar.optimum = 0;
      bar.value = Math.min(r.used, max);
      // Integer percent, rounded down, from integers only.
      var pct = r.reserved > 0 ? Math.floor((r.used * 100) / r.reserved) : null;
      append(
        tr,
        el("td", "bd-mono", r.customer),
        el("td", "bd-muted", r.meter),
        append(el("td", "bd-num"), intFig(key + ".used", r.used)),
        append(el("td", "bd-num"), intFig(key + ".reserved", r.reserved)),
        append(el("td", "bd-meter-col"), bar),
        el("td", "bd-num" + (pct !== null && pct >= 100 ? " bd-neg" : ""), pct === null ? DASH : pct + "%")
      );
      t.body.appendChild(tr);
    });
    p.appendChild(t.table);
    sec.appendChild(p);
    return sec;
  }

  // ---- charts (uPlot) ---------------------------------------------------------------------

  function chartBox(key, points) {
    var box = el("div", "bd-chart");
    box.setAttribute("data-chart", key);
    box.setAttribute("data-points", String(points));
    return box;
  }

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return v && v.trim() ? v.trim() : fallback;
  }

  function axisStyle() {
    var text = cssVar("--bd-axis", "#5b6475");
    var grid = cssVar("--bd-grid", "#e6e9ef");
    return {
      stroke: text,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      font: "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    };
  }

  function merge(a, b) {
    var o = {};
    for (var k in a) o[k] = a[k];
    for (var j in b) o[j] = b[j];
    return o;
  }

  function utcDate(ts) {
    return window.uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  }

  /** Half a bucket of padding on each side of a time axis, so the first and last bars show whole. */
  function timeRange(u, min, max) {
    var xs = u.data[0];
    var step = xs.length > 1 ? xs[1] - xs[0] : 86400;
    if (min === null || max === null || !isFinite(min)) return [0, 1];
    return [min - step / 2, max + step / 2];
  }

  /** A y range that always holds 0 and at least `minSpan` (so an all-zero series gets a sane axis). */
  function zeroBased(minSpan) {
    return function (u, min, max) {
      var lo = Math.min(0, min === null ? 0 : min);
      var hi = Math.max(0, max === null ? 0 : max);
      if (hi - lo < minSpan) hi = lo + minSpan;
      var pad = (hi - lo) * 0.08;
      return [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0];
    };
  }

  var zeroBasedRange = zeroBased(10);

  /** Money axes (minor units) span at least 10 major units. */
  function moneyRange(exp) {
    return zeroBased(10 * Math.pow(10, exp));
  }

  function moneyAxisValues(exp) {
    return function (u, splits) {
      return splits.map(function (v) {
        return formatMinor(v, exp, true);
      });
    };
  }

  function mrrData(series) {
    return [
      series.map(function (p) { return toSeconds(p.at); }),
      series.map(function (p) { return p.mrr; }),
    ];
  }

  function mrrChartOpts(width, series, cur, exp) {
    var ax = axisStyle();
    return {
      width: width,
      height: 262,
      tzDate: utcDate,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: moneyRange(exp) } },
      axes: [ax, merge(ax, { values: moneyAxisValues(exp), size: 72 })],
      series: [
        { label: "Bucket", value: function (u, v) { return v === null ? DASH : formatTime(new Date(v * 1000).toISOString().replace(".000Z", "Z")); } },
        {
          label: "MRR (" + cur.toUpperCase() + ")",
          stroke: "#3b7dd8",
          width: 2,
          fill: "rgba(59, 125, 216, 0.12)",
          points: { show: series.length <= 16, size: 5 },
          value: function (u, v) { return v === null || v === undefined ? DASH : formatMinor(v, exp); },
        },
      ],
    };
  }

  /** Stacked bars: positives (new, expansion, reactivation) stack up, negatives (contraction, churn)
   *  stack down. Each series holds the running total so far, drawn outermost first, so each bar
   *  shows its own segment; the legend reads the raw (unstacked) values. */
  function movementsData(series) {
    var xs = series.map(function (p) { return toSeconds(p.at); });
    var raw = {};
    MOVEMENTS.forEach(function (m) {
      raw[m[0]] = series.map(function (p) { return p[m[0]] || 0; });
    });
    function cumulative(keys) {
      return series.map(function (p, i) {
        var s = 0;
        keys.forEach(function (k) { s += raw[k][i]; });
        return s;
      });
    }
    var order = [
      ["reactivation", ["new", "expansion", "reactivation"]],
      ["expansion", ["new", "expansion"]],
      ["new", ["new"]],
      ["churn", ["contraction", "churn"]],
      ["contraction", ["contraction"]],
    ];
    return {
      order: order.map(function (o) { return o[0]; }),
      raw: raw,
      data: [xs].concat(order.map(function (o) { return cumulative(o[1]); })),
    };
  }

  function movementsChartOpts(width, stacked, cur, exp) {
    var ax = axisStyle();
    var colour = {};
    var label = {};
    MOVEMENTS.forEach(function (m) { colour[m[0]] = m[2]; label[m[0]] = m[1]; });
    var bars = window.uPlot.paths.bars({ size: [0.7, 28], gap: 1 });
    var series = [{ label: "Bucket", value: function (u, v) { return v === null ? DASH : formatTime(new Date(v * 1000).toISOString().replace(".000Z", "Z")); } }];
    stacked.order.forEach(function (key) {
      series.push({
        label: label[key],
        stroke: colour[key],
        fill: colour[key],
        width: 0,
        paths: bars,
        points: { show: false },
        value: function (u, v, si, idx) {
          if (idx === null || idx === undefined) return DASH;
          return formatMinor(stacked.raw[key][idx], exp);
        },
      });
    });
    return {
      width: width,
      height: 220,
      tzDate: utcDate,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true, range: timeRange }, y: { range: moneyRange(exp) } },
      axes: [ax, merge(ax, { values: moneyAxisValues(exp), size: 72 })],
      series: series,
    };
  }

  function usageData(series) {
    return [
      series.map(function (p) { return toSeconds(p.at); }),
      series.map(function (p) { return p.quantity; }),
      series.map(function (p) { return p.events; }),
    ];
  }

  function usageChartOpts(width, meter) {
    var ax = axisStyle();
    var intValues = function (u, splits) {
      return splits.map(function (v) { return Number.isInteger(v) ? formatInt(v) : ""; });
    };
    return {
      width: width,
      height: 200,
      tzDate: utcDate,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: { x: { time: true, range: timeRange }, y: { range: zeroBasedRange } },
      axes: [ax, merge(ax, { values: intValues, size: 56 })],
      series: [
        { label: "Bucket", value: function (u, v) { return v === null ? DASH : formatTime(new Date(v * 1000).toISOString().replace(".000Z", "Z")); } },
        {
          label: meter,
          stroke: "#7a5af5",
          fill: "rgba(122, 90, 245, 0.55)",
          width: 0,
          paths: window.uPlot.paths.bars({ size: [0.7, 24], gap: 1 }),
          points: { show: false },
          value: function (u, v) { return v === null || v === undefined ? DASH : formatInt(v); },
        },
        {
          label: "events",
          stroke: "#1f2937",
          width: 1.5,
          dash: [4, 3],
          points: { show: false },
          value: function (u, v) { return v === null || v === undefined ? DASH : formatInt(v); },
        },
      ],
    };
  }

  function topToolsData(tools) {
    return [tools.map(function (t, i) { return i; }), tools.map(function (t) { return t.quantity; })];
  }

  function topToolsHeight(tools) {
    return Math.max(120, 40 + tools.length * 28);
  }

  /** Horizontal bars: the x scale (tool index) runs top to bottom, the y scale (quantity) left to right. */
  function topToolsChartOpts(width, tools) {
    var ax = axisStyle();
    var names = tools.map(function (t) { return toolName(t.tool); });
    var longest = names.reduce(function (n, s) { return Math.max(n, s.length); }, 4);
    return {
      width: width,
      height: topToolsHeight(tools),
      legend: { show: false },
      cursor: { show: false },
      scales: {
        x: { time: false, ori: 1, dir: -1, range: [-0.5, tools.length - 0.5] },
        y: { ori: 0, range: zeroBasedRange },
      },
      axes: [
        merge(ax, {
          scale: "x",
          side: 3,
          size: Math.min(160, 16 + longest * 7),
          grid: { show: false },
          ticks: { show: false },
          splits: function () { return names.map(function (n, i) { return i; }); },
          values: function (u, splits) { return splits.map(function (i) { return names[i] === undefined ? "" : names[i]; }); },
        }),
        merge(ax, {
          scale: "y",
          side: 2,
          values: function (u, splits) { return splits.map(function (v) { return Number.isInteger(v) ? formatInt(v) : ""; }); },
        }),
      ],
      series: [
        {},
        {
          label: "quantity",
          stroke: "#0f9fb0",
          fill: "rgba(15, 159, 176, 0.7)",
          width: 0,
          paths: window.uPlot.paths.bars({ size: [0.65, 22] }),
          points: { show: false },
        },
      ],
    };
  }

  function drawCharts(root, charts) {
    var made = [];
    if (typeof window.uPlot !== "function") {
      charts.forEach(function (c) {
        c.box.appendChild(el("p", "bd-note bd-muted", "Chart library not loaded."));
      });
      return made;
    }
    charts.forEach(function (c) {
      var width = Math.max(240, Math.floor(c.box.clientWidth || root.clientWidth || 600));
      if (!c.data[0].length) {
        c.box.appendChild(el("p", "bd-note bd-muted", "No data in this period."));
        return;
      }
      try {
        made.push(new window.uPlot(c.build(width), c.data, c.box));
      } catch (e) {
        c.box.appendChild(el("p", "bd-note bd-muted", "Chart failed: " + (e && e.message ? e.message : e)));
      }
    });
    return made;
  }

  // ---- entry point --------------------------------------------------------------------------

  var mounted = [];

  function render(root, data) {
    if (!root) throw new Error("BillingDashboard.render: no root element");
    var state = null;
    for (var i = 0; i < mounted.length; i++) if (mounted[i].root === root) state = mounted[i];
    if (state) {
      state.plots.forEach(function (p) { p.destroy(); });
    } else {
      state = { root: root, plots: [], width: 0 };
      mounted.push(state);
    }
    state.data = data;
    root.removeAttribute("data-rendered");
    root.classList.add("bd");
    while (root.firstChild) root.removeChild(root.firstChild);

    if (!data || typeof data !== "object") {
      root.appendChild(el("p", "bd-note bd-muted", "No dashboard data."));
      return;
    }

    var charts = [];
    root.appendChild(renderPeriod(data));

    var currencies = data.currencies || [];
    if (!currencies.length) {
      var empty = panel("Revenue");
      empty.appendChild(el("p", "bd-note bd-muted", "No revenue in this period."));
      root.appendChild(empty);
    }
    currencies.forEach(function (block) {
      root.appendChild(renderCurrency(block, charts));
    });

    var ops = el("section", "bd-ops");
    ops.appendChild(el("h2", "bd-h2", "Customers, credits and delivery"));
    ops.appendChild(
      append(
        el("div", "bd-grid bd-grid-4"),
        renderCustomers(data.customers),
        renderCredits(data.credits),
        renderDelivery(data.delivery),
        renderStripeBalance(data.stripe_balance)
      )
    );
    root.appendChild(ops);
    root.appendChild(renderUsage(data.usage, data.top_tools, data.granularity, charts));
    root.appendChild(renderAccounts(data.accounts, data.accounts_total));
    root.appendChild(renderReserved(data.reserved));

    state.plots = drawCharts(root, charts);
    state.width = root.clientWidth;
    root.setAttribute("data-rendered", String(data.as_of || ""));
  }

  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      mounted.forEach(function (s) {
        if (s.root.isConnected && s.root.clientWidth !== s.width) render(s.root, s.data);
      });
    }, 150);
  });

  window.BillingDashboard = {
    render: render,
    format: { int: formatInt, minor: formatMinor, time: formatTime, exponent: currencyExponent },
  };
})();
