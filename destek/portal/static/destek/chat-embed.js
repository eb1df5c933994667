/* Destek chat on any page, in one line:
 *
 *   <script src="https://<destek>/static/destek/chat-embed.js" data-destek-department="technical" async></script>
 *
 * adds a chat button and, once it is pressed, an iframe of https://<destek>/chat/widget/.
 * Everything inside the iframe talks to Destek on its own origin; this file loads nothing else.
 *
 * Optional data attributes of the <script>:
 *   data-destek-department   a department's slug (the visitor can still choose)
 *   data-destek-language     az, en, fa, ru or tr (default: the page's <html lang>)
 *   data-destek-label        the button's text (default: the widget's own, "Chat")
 *   data-destek-site, data-destek-user-id, data-destek-email, data-destek-timestamp,
 *   data-destek-signature, data-destek-name
 *                            a signed-in user of the site, vouched for with
 *                            hex HMAC-SHA256(secret, "<user_id>:<email>:<timestamp>")
 *                            (README: "Live chat on your own site")
 *   data-destek-launcher     a CSS selector of an existing link or button to use instead of
 *                            adding one (the portal's own chat button)
 *
 * On a narrow screen (a phone) the panel covers the page; Escape or the widget's × closes it
 * and gives the focus back to the button.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var all = document.querySelectorAll("script[src*='chat-embed.js']");
    script = all[all.length - 1];
  }
  if (!script || window.__destekChat) { return; }
  window.__destekChat = true;

  var data = script.dataset;
  var origin = new URL(script.src, window.location.href).origin;
  var PHONE = 480;

  function widgetUrl() {
    var params = new URLSearchParams();
    params.set("embed", "1");
    var language = data.destekLanguage || document.documentElement.lang || "";
    if (language) { params.set("lang", language); }
    if (data.destekDepartment) { params.set("department", data.destekDepartment); }
    // The page the visitor is on, for the agent: its address without query or fragment
    // (those may carry a visitor's tokens); a referrer would give only the site.
    params.set("page", (window.location.origin + window.location.pathname).slice(0, 500));
    if (data.destekSignature) {
      params.set("site", data.destekSite || "");
      params.set("uid", data.destekUserId || "");
      params.set("email", data.destekEmail || "");
      params.set("ts", data.destekTimestamp || "");
      params.set("sig", data.destekSignature);
      if (data.destekName) { params.set("name", data.destekName); }
    }
    return origin + "/chat/widget/?" + params.toString();
  }

  var launcher = null;
  var panel = null;
  var frame = null;
  var badge = null;
  var unread = 0;

  function style(element, rules) {
    Object.keys(rules).forEach(function (name) { element.style.setProperty(name, rules[name]); });
  }

  function phone() { return window.innerWidth <= PHONE; }

  function placePanel() {
    if (!panel) { return; }
    if (phone()) {
      style(panel, { "inset": "0", "inline-size": "100%", "block-size": "100%", "border-radius": "0" });
    } else {
      style(panel, {
        "inset": "auto", "inset-block-end": "5rem", "inset-inline-end": "1rem",
        "inline-size": "min(24rem, calc(100vw - 2rem))", "block-size": "min(40rem, calc(100vh - 7rem))",
        "border-radius": ".75rem"
      });
    }
  }

  function makePanel() {
    panel = document.createElement("div");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", launcher.textContent.trim() || "Chat");
    style(panel, {
      "position": "fixed", "z-index": "2147483646", "background": "#fff", "overflow": "hidden",
      "box-shadow": "0 8px 30px rgba(0,0,0,.3)", "display": "none"
    });
    frame = document.createElement("iframe");
    frame.src = widgetUrl();
    frame.title = launcher.textContent.trim() || "Chat";
    frame.setAttribute("allow", "clipboard-read; clipboard-write");
    style(frame, { "border": "0", "inline-size": "100%", "block-size": "100%", "display": "block" });
    panel.appendChild(frame);
    document.body.appendChild(panel);
    placePanel();
    window.addEventListener("resize", placePanel);
  }

  function isOpen() { return panel && panel.style.display !== "none"; }

  function open() {
    if (!panel) { makePanel(); }
    panel.style.display = "block";
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    showBadge();
    // The widget's own first field takes the focus once it has loaded.
    try { frame.focus(); } catch (error) { /* not yet */ }
  }

  function close() {
    if (!panel) { return; }
    panel.style.display = "none";
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function showBadge() {
    if (!badge) { return; }
    badge.textContent = unread ? String(unread) : "";
    badge.style.display = unread ? "inline-block" : "none";
  }

  function setUp() {
    if (data.destekLauncher) {
      launcher = document.querySelector(data.destekLauncher);
    }
    if (!launcher) {
      launcher = document.createElement("button");
      launcher.type = "button";
      launcher.textContent = data.destekLabel || "💬";
      if (!data.destekLabel) { launcher.setAttribute("aria-label", "Chat"); }
      style(launcher, {
        "position": "fixed", "inset-block-end": "1rem", "inset-inline-end": "1rem",
        "z-index": "2147483647", "border": "0", "border-radius": "2rem", "padding": ".75rem 1.1rem",
        "background": "#1f5fbf", "color": "#fff", "font": "600 1rem system-ui, sans-serif",
        "cursor": "pointer", "box-shadow": "0 2px 8px rgba(0,0,0,.25)"
      });
      document.body.appendChild(launcher);
    }
    launcher.setAttribute("aria-haspopup", "dialog");
    launcher.setAttribute("aria-expanded", "false");
    badge = document.createElement("span");
    badge.setAttribute("aria-hidden", "true");
    style(badge, {
      "display": "none", "margin-inline-start": ".4rem", "min-inline-size": "1.2em", "padding": "0 .3rem",
      "border-radius": "1rem", "background": "#b42318", "color": "#fff", "font-size": ".8rem", "text-align": "center"
    });
    launcher.appendChild(badge);
    launcher.addEventListener("click", function (event) {
      // A link on a phone opens the widget as a page of its own.
      if (launcher.tagName === "A" && phone()) { return; }
      event.preventDefault();
      if (isOpen()) { close(); } else { open(); }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) { close(); }
    });
    window.addEventListener("message", function (event) {
      if (event.origin !== origin || !frame || event.source !== frame.contentWindow) { return; }
      var message = event.data || {};
      if (message.destek === "close") { close(); }
      if (message.destek === "message" && !isOpen()) { unread += 1; showBadge(); }
    });
  }

  if (document.body) { setUp(); } else { document.addEventListener("DOMContentLoaded", setUp); }
})();
