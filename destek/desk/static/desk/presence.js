/* Destek desk: who else is on this ticket (viewing, typing a reply or a note).
 *
 * Reads #presence[data-presence-url][data-presence-tab][data-presence-socket] on the ticket
 * page; #ticket-presence inside it is the list the server renders (desk/_presence.html), in
 * the reader's language. The server also sends it with every thread poll (htmx, out of band),
 * so without this script, or without the socket, the list is at most one poll old.
 *
 * With the socket (/ws/tickets/<number>?tab=...): being connected is "viewing", typing is a
 * frame, and a {"type": "presence"} frame means "read the list again". Without it (closed with
 * 4400/4404/4429, no WebSocket on this server, or after a few failed tries): a heartbeat POST
 * every 10 s and a POST when typing starts. Leaving the page says goodbye with a beacon.
 */
(function () {
  "use strict";

  var root = document.getElementById("presence");
  if (!root || !window.fetch) return;
  var url = root.getAttribute("data-presence-url");
  var tab = root.getAttribute("data-presence-tab");
  var socketPath = root.getAttribute("data-presence-socket");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  var HEARTBEAT = 10000;
  var TYPING_EVERY = 2000;

  var socket = null;
  var live = false;  // the socket is open
  var attempts = 0;
  var gone = false;

  function show(html) {
    var list = document.getElementById("ticket-presence");
    if (!list || html === null) return;
    var holder = document.createElement("div");
    holder.innerHTML = html;  // rendered and escaped by the server; the CSP runs no inline script
    var fresh = holder.querySelector("#ticket-presence");
    if (fresh) list.replaceWith(fresh);
  }

  function form(state) {
    var data = new FormData();
    data.append("tab", tab);
    data.append("state", state);
    if (token) data.append("csrfmiddlewaretoken", token.value);
    return data;
  }

  function post(state) {
    fetch(url, { method: "POST", body: form(state), credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(show)
      .catch(function () {});
  }

  function reload() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(show)
      .catch(function () {});
  }

  function connect() {
    if (!window.WebSocket || !socketPath || gone || attempts > 5) return;
    attempts += 1;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    try {
      socket = new WebSocket(scheme + window.location.host + socketPath + "?tab=" + encodeURIComponent(tab));
    } catch (e) {
      socket = null;
      return;
    }
    socket.onopen = function () {
      live = true;
      attempts = 0;
      root.setAttribute("data-presence-live", "socket");
      reload();
    };
    socket.onmessage = function (message) {
      var frame = null;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame && frame.type === "presence") reload();
    };
    socket.onclose = function (close) {
      var was = live;
      live = false;
      socket = null;
      root.setAttribute("data-presence-live", "poll");
      if (gone) return;
      // Not for this page (4400, 4404), or too many sockets (4429): stay on polling.
      if (close.code === 4400 || close.code === 4404 || close.code === 4429) return;
      post("viewing");  // the socket's close counted as leaving
      window.setTimeout(connect, was ? 1000 : 3000 * attempts);
    };
  }

  window.setInterval(function () {
    if (!live && !gone) post("viewing");
  }, HEARTBEAT);

  var lastTyping = 0;
  function typed(box) {
    var now = Date.now();
    if (now - lastTyping < TYPING_EVERY) return;
    lastTyping = now;
    if (live && socket) socket.send(JSON.stringify({ type: "typing", box: box }));
    else post(box);
  }
  [["id_reply_body", "reply"], ["id_note_body", "note"]].forEach(function (pair) {
    var field = document.getElementById(pair[0]);
    if (field) field.addEventListener("input", function () { typed(pair[1]); });
  });

  window.addEventListener("pagehide", function () {
    gone = true;
    if (socket) socket.close(1000);
    if (navigator.sendBeacon) navigator.sendBeacon(url, form("gone"));
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back from the back-forward cache: here again
    gone = false;
    attempts = 0;
    post("viewing");
    connect();
  });

  root.setAttribute("data-presence-live", "poll");
  connect();
})();
