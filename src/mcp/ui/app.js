/*
 * The MCP App (View) of get_dashboard: connects to its host with the official SDK's App class
 * (window.McpApps, vendor/ext-apps-app.iife.js), renders the tool result's structuredContent with
 * the dashboard's own renderer (BillingDashboard.render, render.js) and re-runs get_dashboard
 * through the host (callServerTool) when Refresh is pressed, with the arguments the tool was
 * first called with. #dashboard's data-state is "loading", "ready" or "error", and its
 * data-refreshes counts the refreshes that came back (a browser test reads both).
 */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  var refresh = document.getElementById("refresh");
  var status = document.getElementById("status");
  var error = document.getElementById("error");
  var args = {};
  var refreshes = 0;

  var app = new window.McpApps.App({ name: "billing-mcp dashboard", version: "1.0.0" }, {}, { autoResize: true });

  function errorText(result) {
    var parts = (result && result.content) || [];
    for (var i = 0; i < parts.length; i++) if (parts[i] && parts[i].type === "text") return parts[i].text;
    return "the tool returned an error";
  }

  function show(result) {
    if (!result) return;
    if (result.isError || !result.structuredContent) {
      root.setAttribute("data-state", "error");
      error.textContent = "get_dashboard failed: " + (result.isError ? errorText(result) : "no structured content in the result");
      status.textContent = "";
      return;
    }
    error.textContent = "";
    root.__billingData = result.structuredContent;
    window.BillingDashboard.render(root, result.structuredContent);
    root.setAttribute("data-state", "ready");
    status.textContent = "";
    refresh.disabled = false;
  }

  function theme(ctx) {
    if (ctx && (ctx.theme === "light" || ctx.theme === "dark")) window.McpApps.applyDocumentTheme(ctx.theme);
  }

  // Handlers first: the host may send the tool's input and result right after the handshake.
  app.ontoolinput = function (params) {
    args = (params && params.arguments) || {};
  };
  app.ontoolresult = function (result) {
    show(result);
  };
  app.ontoolcancelled = function () {
    status.textContent = "The call was cancelled.";
    refresh.disabled = false;
  };
  app.onhostcontextchanged = function (ctx) {
    var before = document.documentElement.getAttribute("data-theme");
    theme(ctx);
    // Charts take their axis colours when drawn: draw again after a theme change.
    if (document.documentElement.getAttribute("data-theme") !== before && root.getAttribute("data-state") === "ready") {
      var last = root.__billingData;
      if (last) window.BillingDashboard.render(root, last);
    }
  };

  refresh.addEventListener("click", function () {
    refresh.disabled = true;
    status.textContent = "Refreshing\u2026";
    app
      .callServerTool({ name: "get_dashboard", arguments: args })
      .then(function (result) {
        refreshes += 1;
        root.setAttribute("data-refreshes", String(refreshes));
        show(result);
        if (!result.isError) status.textContent = "Refreshed";
      })
      .catch(function (e) {
        error.textContent = "Refresh failed: " + (e && e.message ? e.message : String(e));
        status.textContent = "";
      })
      .then(function () {
        refresh.disabled = false;
      });
  });

  app
    .connect()
    .then(function () {
      theme(app.getHostContext());
      refresh.disabled = false;
    })
    .catch(function (e) {
      root.setAttribute("data-state", "error");
      error.textContent = "Could not connect to the host: " + (e && e.message ? e.message : String(e));
    });
})();
