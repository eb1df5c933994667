/* Destek agent desk: live chats. Loaded with `defer` on /desk/chats/ and /desk/chats/<id>/;
 * no dependencies (htmx polls the inbox's lists). Every form works without it; this script
 * keeps the page live and sends the forms without leaving it. Hooks (browser tests rely on
 * them, keep them stable):
 *
 *   Inbox (/desk/chats/)
 *     #chat-inbox[data-heartbeat-url]   the page; a heartbeat is posted every 20 s
 *     #presence-form button[name=status]  online / away / offline (aria-pressed)
 *     #chat-lists                       htmx swaps the lists every 3 s and on `chats-changed`
 *     #waiting-chats[data-waiting-count] the line; tr[data-chat] one waiting chat, .offered
 *                                       when offered to me; #accept-<id> its Accept button
 *     #my-chats li[data-chat]           my active chats
 *     #chat-sound, #chat-title-count    alerts for a new waiting chat, kept in localStorage
 *                                       ("destek.chat.sound", "destek.chat.title": "off")
 *
 *   Chat (/desk/chats/<id>/)
 *     #chat[data-chat][data-last-seq][data-events-url][data-typing-url]
 *     #transcript li[data-seq]          one event (message, assigned, ended); li[data-note]
 *     #chat-send, #chat-body            Enter sends, Shift+Enter a new line; a refusal shows
 *                                       in #chat-error and the text stays in the box
 *     #chat-canned option[data-body]    puts the canned reply in the box
 *     #chat-note-form, #chat-typing
 *
 * Events come from the WebSocket /ws/chats/<id>?after=<seq> when the server offers it (the
 * session is enough), and from polling the desk's JSON (every 2 s, every 15 s while the
 * socket is open); both are deduplicated by seq.
 */
(function () {
  "use strict";

  var HEARTBEAT_MS = 20000;

  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, data) {
    return fetch(url, {
      method: "POST",
      body: data || new FormData(),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" }
    });
  }

  function storedOn(key) {
    try { return window.localStorage.getItem(key) !== "off"; } catch (e) { return true; }
  }

  function store(key, on) {
    try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function socketUrl(path) {
    return (window.location.protocol === "https:" ? "wss://" : "ws://") + window.location.host + path;
  }

  // --- heartbeat (both pages) -------------------------------------------------------------

  var root = document.getElementById("chat-inbox") || document.getElementById("chat");
  if (!root || !window.fetch) return;
  var presenceStatus = document.getElementById("presence-status");

  function pressed(status) {
    document.querySelectorAll("#presence-form button[name=status]").forEach(function (button) {
      var on = button.value === status;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("secondary", !on);
    });
  }

  function beat() {
    post(root.getAttribute("data-heartbeat-url")).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (!answer || !presenceStatus) return;
      var was = document.querySelector("#presence-form button[aria-pressed=true]");
      if (was && was.value === "online" && answer.status === "offline") {
        presenceStatus.textContent = presenceStatus.getAttribute("data-text-offline");
      }
      pressed(answer.status);
    }).catch(function () {});
  }
  window.setInterval(beat, HEARTBEAT_MS);

  // --- the inbox --------------------------------------------------------------------------

  var inbox = document.getElementById("chat-inbox");
  if (inbox) {
    var presenceForm = document.getElementById("presence-form");
    var clicked = null;
    presenceForm.addEventListener("click", function (event) {
      if (event.target && event.target.name === "status") clicked = event.target.value;
    });
    presenceForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = (event.submitter && event.submitter.value) || clicked;
      if (!status) return;
      var data = new FormData();
      data.append("status", status);
      post(presenceForm.action, data).then(function (response) {
        if (response.ok) {
          pressed(status);
          if (presenceStatus) presenceStatus.textContent = "";
          if (window.htmx) window.htmx.trigger("#chat-lists", "chats-changed");
        }
      }).catch(function () {});
    });

    var alerts = document.getElementById("chat-alerts");
    var sound = document.getElementById("chat-sound");
    var titleCount = document.getElementById("chat-title-count");
    if (alerts) alerts.hidden = false;
    sound.checked = storedOn("destek.chat.sound");
    titleCount.checked = storedOn("destek.chat.title");
    sound.addEventListener("change", function () { store("destek.chat.sound", sound.checked); });
    titleCount.addEventListener("change", function () {
      store("destek.chat.title", titleCount.checked);
      showCount();
    });

    var audio = null;
    var beep = function () {
      var Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      try {
        audio = audio || new Context();
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        oscillator.frequency.value = 880;
        gain.gain.setValueAtTime(0.15, audio.currentTime);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
        oscillator.connect(gain);
        gain.connect(audio.destination);
        oscillator.start();
        oscillator.stop(audio.currentTime + 0.4);
      } catch (e) { /* no sound, the title still tells */ }
    };

    var title = inbox.getAttribute("data-title") || document.title;
    var seen = null;  // ids of the waiting chats already known
    var news = document.getElementById("chat-news");

    var waitingIds = function () {
      var ids = {};
      document.querySelectorAll("#waiting-list tr[data-chat]").forEach(function (row) {
        ids[row.getAttribute("data-chat")] = true;
      });
      return ids;
    };

    var showCount = function () {
      var line = document.getElementById("waiting-chats");
      var count = line ? parseInt(line.getAttribute("data-waiting-count"), 10) || 0 : 0;
      document.title = titleCount.checked && count ? "(" + count + ") " + title : title;
    };

    var check = function () {
      var ids = waitingIds();
      if (seen !== null) {
        var fresh = Object.keys(ids).some(function (id) { return !seen[id]; });
        if (fresh) {
          if (sound.checked) beep();
          if (news) news.textContent = news.getAttribute("data-new-text");
        }
      }
      seen = ids;
      showCount();
    };
    check();
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "chat-lists") check();
    });
    // The inbox socket, when the server has one: a hint to reload the lists at once.
    var connectInbox = function (attempt) {
      if (!window.WebSocket || attempt > 5) return;
      var socket;
      try { socket = new WebSocket(socketUrl("/ws/inbox")); } catch (e) { return; }
      var opened = false;
      socket.onopen = function () { opened = true; };
      socket.onmessage = function () {
        if (window.htmx) window.htmx.trigger("#chat-lists", "chats-changed");
      };
      socket.onclose = function () {
        // Never opened: the server has no sockets here; polling goes on alone.
        if (opened) window.setTimeout(function () { connectInbox(attempt + 1); }, 3000);
      };
    };
    connectInbox(0);
    return;
  }

  // --- one chat ---------------------------------------------------------------------------

  var chat = root;
  var transcript = document.getElementById("transcript");
  var lastSeq = parseInt(chat.getAttribute("data-last-seq"), 10) || 0;
  var typingLine = document.getElementById("chat-typing");
  var typingTimer = null;
  var state = chat.getAttribute("data-state");

  function text(name) { return chat.getAttribute("data-text-" + name) || ""; }

  function when(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return "";
    try {
      // In the agent's own time zone, as the server wrote the earlier lines, not the browser's.
      return date.toLocaleTimeString(document.documentElement.lang || undefined,
        { hour: "2-digit", minute: "2-digit", timeZone: chat.getAttribute("data-time-zone") || undefined });
    } catch (e) { return date.toLocaleTimeString(); }
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;  // text, never HTML
    return node;
  }

  function meta(name, iso, badge) {
    var line = element("p", "meta");
    if (badge) {
      line.appendChild(element("span", "badge internal", badge));
      line.appendChild(document.createTextNode(" "));
    }
    var who = element("b", "", name);
    who.setAttribute("dir", "auto");
    line.appendChild(who);
    line.appendChild(document.createTextNode(" · "));
    var time = element("time", "", when(iso));
    time.setAttribute("datetime", iso);
    line.appendChild(time);
    return line;
  }

  function scrollDown() { transcript.scrollTop = transcript.scrollHeight; }

  function show(event) {
    if (typeof event.seq !== "number" || event.seq <= lastSeq) return;  // seen already
    lastSeq = event.seq;
    chat.setAttribute("data-last-seq", String(lastSeq));
    var item = null;
    if (event.type === "message") {
      item = element("li", "chat-item message " + (event.author || "system"));
      item.appendChild(meta(event.name || "", event.at));
      var body = element("div", "body", event.body || "");
      body.setAttribute("dir", "auto");
      item.appendChild(body);
      if (event.attachments && event.attachments.length) {
        var files = element("ul", "files");
        event.attachments.forEach(function (file) {
          var li = element("li");
          var link = element("a", "", file.name);
          link.href = file.url;
          link.setAttribute("download", "");
          li.appendChild(link);
          files.appendChild(li);
        });
        item.appendChild(files);
      }
      if (event.author === "visitor") {
        if (typingLine) typingLine.textContent = "";
        markSeen();
      }
    } else if (event.type === "assigned") {
      item = element("li", "chat-item system", text("assigned").replace("{agent}", event.agent || ""));
    } else if (event.type === "ended") {
      var said = event.by === "visitor" ? text("ended-visitor")
        : event.by === "agent" ? text("ended-agent") : text("ended");
      if (event.continues_as_ticket) said += " " + text("continues");
      item = element("li", "chat-item system", said);
      ended();
    } else if (event.type === "typing" && event.author === "visitor" && typingLine) {
      typingLine.textContent = typingLine.getAttribute("data-text");
      if (typingTimer) window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(function () { typingLine.textContent = ""; }, 5000);
    }
    if (item) {
      item.setAttribute("data-seq", String(event.seq));
      transcript.appendChild(item);
      scrollDown();
    }
  }

  // "Seen": the visitor's lines the agent has in front of them (the page visible), told at
  // most once a second; the widget shows it under the visitor's own lines.
  var seenSent = 0;
  var seenTimer = null;
  function markSeen() {
    if (seenTimer || state === "ended") return;
    seenTimer = window.setTimeout(function () {
      seenTimer = null;
      if (document.hidden || lastSeq <= seenSent) return;
      seenSent = lastSeq;
      var data = new FormData();
      data.append("up_to", String(lastSeq));
      post(chat.getAttribute("data-seen-url"), data).catch(function () {});
    }, 1000);
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) markSeen();
  });

  function ended() {
    if (state === "ended") return;
    state = "ended";
    chat.setAttribute("data-state", "ended");
    // The page's forms are those of a live chat: read it afresh once the socket is quiet.
    window.setTimeout(function () { window.location.reload(); }, 1500);
  }

  // Polling: the fallback, and a safety net while the socket is open.
  var socketOpen = false;
  var polling = false;
  function poll() {
    if (polling || (document.hidden && socketOpen)) return;
    polling = true;
    fetch(chat.getAttribute("data-events-url") + "?after=" + lastSeq, {
      credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 404 || response.status === 403) {
        stopPolling();
        return null;
      }
      return response.ok ? response.json() : null;
    }).then(function (answer) {
      if (answer) answer.events.forEach(show);
    }).catch(function () {}).then(function () { polling = false; });
  }
  var pollTimer = null;
  function schedule() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = window.setInterval(poll, socketOpen ? 15000 : 2000);
  }
  function stopPolling() {
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }
  schedule();

  function connect(attempt) {
    if (!window.WebSocket || attempt > 8) return;
    var socket;
    try {
      socket = new WebSocket(socketUrl("/ws/chats/" + chat.getAttribute("data-chat") + "?after=" + lastSeq));
    } catch (e) { return; }
    var opened = false;
    socket.onopen = function () { opened = true; socketOpen = true; schedule(); };
    socket.onmessage = function (message) {
      try { show(JSON.parse(message.data)); } catch (e) { /* not an event */ }
    };
    socket.onclose = function (close) {
      socketOpen = false;
      schedule();
      poll();
      // 4404: not (or no longer) ours; never opened: no sockets on this server.
      if (opened && close.code !== 4404 && close.code !== 4400) {
        window.setTimeout(function () { connect(attempt + 1); }, Math.min(30000, 1000 * Math.pow(2, attempt)));
      }
    };
  }
  connect(0);
  scrollDown();
  markSeen();

  // --- the send box -----------------------------------------------------------------------

  var form = document.getElementById("chat-send");
  var box = document.getElementById("chat-body");
  var error = document.getElementById("chat-error");
  var sending = false;

  function refuse(target, detail) {
    target.textContent = detail;
    target.hidden = false;
  }

  if (form && box) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) return;
      var body = box.value;
      if (!body.trim()) { box.focus(); return; }
      sending = true;
      error.hidden = true;
      post(form.action, new FormData(form)).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (response.ok) {
            // Only what was sent leaves the box: a line typed meanwhile stays.
            box.value = box.value.indexOf(body) === 0 ? box.value.slice(body.length) : box.value;
            poll();
          } else {
            refuse(error, answer.detail || text("failed"));
          }
        });
      }).catch(function () {
        refuse(error, text("failed"));
      }).then(function () {
        sending = false;
        box.focus();
      });
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && !event.ctrlKey && !event.altKey && !event.metaKey) {
        event.preventDefault();
        if (typeof form.requestSubmit === "function") form.requestSubmit();
        else form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
    var lastTyping = 0;
    box.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 3000 || !box.value.trim()) return;
      lastTyping = now;
      post(chat.getAttribute("data-typing-url")).catch(function () {});
    });
    var canned = document.getElementById("chat-canned");
    if (canned) {
      canned.addEventListener("change", function () {
        var option = canned.options[canned.selectedIndex];
        if (!option || !option.value) return;
        var add = option.getAttribute("data-body") || "";
        box.value = box.value.trim() ? box.value.replace(/\s*$/, "\n") + add : add;
        canned.selectedIndex = 0;
        box.focus();
      });
    }
  }

  // --- internal note ----------------------------------------------------------------------

  var noteForm = document.getElementById("chat-note-form");
  var noteBox = document.getElementById("chat-note-body");
  var noteError = document.getElementById("chat-note-error");
  if (noteForm && noteBox) {
    noteForm.addEventListener("submit", function (event) {
      event.preventDefault();
      noteError.hidden = true;
      var body = noteBox.value;
      post(noteForm.action, new FormData(noteForm)).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (answer) {
          if (!response.ok) { refuse(noteError, answer.detail || text("failed")); return; }
          if (noteBox.value === body) noteBox.value = "";
          var item = element("li", "chat-item note");
          item.setAttribute("data-note", String(answer.message_id));
          item.appendChild(meta(answer.name || "", answer.at, text("note")));
          var content = element("div", "body", answer.body || body);
          content.setAttribute("dir", "auto");
          item.appendChild(content);
          transcript.appendChild(item);
          scrollDown();
        });
      }).catch(function () { refuse(noteError, text("failed")); });
    });
  }
})();
