/* Destek chat widget: the visitor's side of a live chat, on /chat/widget/.
 *
 * Steps (one <section> shown at a time): the pre-chat form (with whether anyone is there,
 * asked before anything is typed), knowledge-base suggestions for the question, the
 * conversation, its end (the survey when the end asked it, else a quick rating; the
 * transcript), or the ticket filed when nobody was there.
 *
 * The API (docs: README "Live chat"):
 *   GET  /api/v1/chats/availability?department=        {"online", "estimated_wait_seconds"}
 *   GET  /api/v1/kb/suggest?subject=&lang=             [{"title", "url", "snippet"}]
 *   POST /api/v1/chats {"body","name","email","department","identity","facts"}
 *        -> 201 {"id","ticket","visitor_token","offline","queue_position","estimated_wait_seconds"}
 *   POST /api/v1/chats/{id}/attachments  multipart "file", X-Chat-Token -> 201 {"id", ...}
 *   POST /api/v1/chats/{id}/messages {"body", "attachments": [id]}  X-Chat-Token -> 201
 *   POST /api/v1/chats/{id}/typing {}  /  POST /api/v1/chats/{id}/seen {"up_to": seq}
 *   GET  /api/v1/chats/{id}/events?after=<seq>          {"events": [...]}
 *   POST /api/v1/chats/{id}/end {"transcript": bool}  /  POST /api/v1/chats/{id}/rating
 *   GET  /api/v1/chats/{id}/survey  {"asked", "questions", "answer", "reopened"}
 *   POST /api/v1/chats/{id}/survey {"speed","clarity","tone" (1-5),"solved","comment"} -> 201
 *   WebSocket /ws/chats/{id}?token=&after=<seq>: the same events, one JSON object a frame.
 *
 * Events are applied once each, in order of their `seq`: whatever arrives twice (the socket
 * and a poll, a replay after a reconnect) is dropped, and a gap is filled by asking the
 * events endpoint before going on. The socket reconnects with a growing pause; while it is
 * down the events endpoint is polled every 2 s. The chat's id, token and last seq live in
 * localStorage so a reload continues the chat. Nothing typed is lost: a send that fails
 * leaves the text (and the chosen files) in the box with the reason.
 * Every text shown comes from #chat-strings, rendered by the server in the page's language.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var T = JSON.parse(document.getElementById("chat-strings").textContent);
  var lang = config.language || document.documentElement.lang || "en";
  var numbers = (function () {
    try { return new Intl.NumberFormat(lang); } catch (error) { return new Intl.NumberFormat(); }
  })();
  var POLL_MS = 2000;
  var TYPING_EVERY_MS = 3000;
  var TYPING_SHOWN_MS = 6000;
  var MAX_BACKOFF_MS = 30000;
  var PING_MS = 25000;

  var plainNumbers = (function () {
    try { return new Intl.NumberFormat(lang, { useGrouping: false }); } catch (error) { return new Intl.NumberFormat(); }
  })();

  function $(id) { return document.getElementById(id); }

  /* A ticket number in the reader's digits, without group separators. */
  function digits(value) {
    var number = parseInt(value, 10);
    return isNaN(number) ? String(value) : plainNumbers.format(number);
  }

  function fill(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (whole, key) {
      if (!Object.prototype.hasOwnProperty.call(values, key)) { return whole; }
      var value = values[key];
      return typeof value === "number" ? numbers.format(value) : String(value);
    });
  }

  /* --- storage: the chat a reload continues ------------------------------------------------ */

  var store = {
    read: function () {
      try {
        var raw = window.localStorage.getItem(config.storage_key);
        return raw ? JSON.parse(raw) : null;
      } catch (error) { return null; }
    },
    write: function (value) {
      // When the chat was first kept: a chat left open is not resumed by whoever uses this
      // browser the next day (a shared computer).
      var kept = this.read();
      value.at = (kept && kept.id === value.id && kept.at) || Date.now();
      try { window.localStorage.setItem(config.storage_key, JSON.stringify(value)); } catch (error) { /* private mode */ }
    },
    clear: function () {
      try { window.localStorage.removeItem(config.storage_key); } catch (error) { /* private mode */ }
    }
  };

  /* --- HTTP --------------------------------------------------------------------------------- */

  function ApiError(status, detail) {
    this.status = status;
    this.detail = detail;
  }

  function request(method, path, body, token, isForm) {
    var headers = { "Accept": "application/json", "Accept-Language": lang };
    if (token) { headers["X-Chat-Token"] = token; }
    // A signed-in customer on the portal starts a chat with the session: Django's CSRF check.
    if (method !== "GET" && config.csrf) { headers["X-CSRFToken"] = config.csrf; }
    var options = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined && body !== null) {
      if (isForm) {
        options.body = body;
      } else {
        headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(body);
      }
    }
    return fetch(config.api + path, options).then(function (response) {
      if (response.status === 204) { return null; }
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (error) { data = null; }
        if (!response.ok) {
          throw new ApiError(response.status, data && typeof data.detail === "string" ? data.detail : "");
        }
        return data;
      });
    }, function () {
      throw new ApiError(0, "");
    });
  }

  /* The reason to show for a failed request: the server's own words (already in the
     visitor's language), else ours. */
  function reason(error, fallback) {
    if (error instanceof ApiError) {
      if (error.status === 0) { return T.offline_network; }
      if (error.detail) { return error.detail; }
    }
    return fallback;
  }

  function showError(element, text) {
    element.textContent = text || "";
    element.hidden = !text;
  }

  /* --- steps -------------------------------------------------------------------------------- */

  var main = $("chat");
  var steps = ["chat-start", "chat-suggestions", "chat-room", "chat-ended", "chat-filed"];

  function show(step, focus) {
    steps.forEach(function (id) { $(id).hidden = id !== step; });
    $("chat-availability").hidden = step !== "chat-start";
    main.setAttribute("data-state", step.replace("chat-", ""));
    if (focus) {
      var target = typeof focus === "string" ? $(focus) : focus;
      if (target) { target.focus(); }
    }
  }

  /* --- availability, asked before anything is typed ----------------------------------------- */

  var startForm = $("chat-start");
  var online = $("chat-availability").getAttribute("data-online") === "1";

  function departmentValue() {
    var field = startForm.elements.namedItem("department");
    return field ? field.value : "";
  }

  function waitText(seconds, short, minutes) {
    if (seconds === null || seconds === undefined) { return ""; }
    if (seconds < 60) { return short; }
    return fill(minutes, { minutes: Math.round(seconds / 60) });
  }

  function renderAvailability(isOnline, wait) {
    online = isOnline;
    var box = $("chat-availability");
    box.classList.remove("checking");
    box.classList.toggle("online", isOnline);
    box.classList.toggle("offline", !isOnline);
    box.setAttribute("data-online", isOnline ? "1" : "0");
    var text = box.querySelector("[data-availability-text]");
    text.textContent = "";
    if (isOnline) {
      text.textContent = (T.online + " " + waitText(wait, T.wait_short, T.wait_minutes)).trim();
    } else {
      var strong = document.createElement("strong");
      strong.textContent = T.offline;
      text.appendChild(strong);
      text.appendChild(document.createTextNode(" " + T.offline_help));
    }
    $("chat-start-button").textContent = isOnline ? T.start_chat : T.send_question;
    $("chat-suggestions").querySelector("[data-suggestion-continue]").textContent =
      isOnline ? T.still_chat : T.still_ticket;
  }

  function checkAvailability() {
    var department = departmentValue();
    var query = department ? "?department=" + encodeURIComponent(department) : "";
    return request("GET", "/chats/availability" + query).then(function (data) {
      renderAvailability(Boolean(data && data.online), data ? data.estimated_wait_seconds : null);
    }, function () {
      // The page's own answer stays (the server asked the same question a moment ago).
    });
  }

  /* --- the pre-chat form -------------------------------------------------------------------- */

  function fieldError(name, text) {
    var field = startForm.elements.namedItem(name);
    var error = field ? $(field.id + "-error") : null;
    if (!field || !error) { return; }
    error.textContent = text || "";
    error.hidden = !text;
    if (text) { field.setAttribute("aria-invalid", "true"); } else { field.removeAttribute("aria-invalid"); }
  }

  function validStart() {
    var first = null;
    var checks = [];
    if (!config.known) {
      var name = startForm.elements.namedItem("name");
      var email = startForm.elements.namedItem("email");
      checks.push([name, !name.value.trim() ? T.name_required : ""]);
      var address = email.value.trim();
      checks.push([email, !address || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) ? T.email_invalid : ""]);
    }
    var question = startForm.elements.namedItem("body");
    checks.push([question, !question.value.trim() ? T.question_required : ""]);
    checks.forEach(function (check) {
      fieldError(check[0].name, check[1]);
      if (check[1] && !first) { first = check[0]; }
    });
    if (first) { first.focus(); }
    return !first;
  }

  function browserFacts() {
    var page = "";
    try { page = new URLSearchParams(window.location.search).get("page") || ""; } catch (error) { /* old browser */ }
    var facts = { page: page || document.referrer || "", language: navigator.language || "" };
    try { facts.time_zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (error) { /* old browser */ }
    var ua = navigator.userAgent || "";
    facts.device = /iPad|Tablet/i.test(ua) ? "tablet" : (/Mobi|iPhone|Android/i.test(ua) ? "smartphone" : "computer");
    facts.screen = window.screen ? window.screen.width + "x" + window.screen.height : "";
    return facts;
  }

  var suggestedFor = null;

  function suggest(question) {
    var query = "?subject=" + encodeURIComponent(question.slice(0, 200)) + "&lang=" + encodeURIComponent(lang);
    return request("GET", "/kb/suggest" + query).then(function (hits) {
      return Array.isArray(hits) ? hits : [];
    }, function () { return []; });
  }

  function renderSuggestions(hits) {
    var list = $("chat-suggestions").querySelector("[data-suggestion-list]");
    list.textContent = "";
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.url;
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = hit.title;
      item.appendChild(link);
      if (hit.snippet) {
        var snippet = document.createElement("p");
        snippet.className = "snippet muted";
        snippet.textContent = hit.snippet;
        item.appendChild(snippet);
      }
      list.appendChild(item);
    });
  }

  var starting = false;

  function start() {
    if (starting) { return; }
    starting = true;
    var button = $("chat-start-button");
    button.disabled = true;
    showError($("chat-start-error"), "");
    var payload = {
      body: startForm.elements.namedItem("body").value.trim(),
      department: departmentValue() || null,
      facts: browserFacts()
    };
    if (config.identity) {
      // The identity token is what the server trusts; the name and address travel as well
      // so a server that does not read the token yet still knows who is writing.
      payload.identity = config.identity;
      payload.name = config.known_name || "";
      payload.email = config.known_email || "";
    }
    if (!config.known) {
      payload.name = startForm.elements.namedItem("name").value.trim();
      payload.email = startForm.elements.namedItem("email").value.trim();
    }
    request("POST", "/chats", payload).then(function (data) {
      starting = false;
      button.disabled = false;
      if (data.offline) {
        filed(data.ticket || {}, payload.email || "");
        return;
      }
      chat.begin(data.id, data.visitor_token, data.ticket ? data.ticket.number : null);
      chat.renderQueue(data.queue_position, data.estimated_wait_seconds);
      // The question is the first message of the chat: shown at once, its event replaces it.
      startForm.elements.namedItem("body").value = "";
    }, function (error) {
      starting = false;
      button.disabled = false;
      show("chat-start");
      showError($("chat-start-error"), reason(error, T.send_failed));
      $("chat-question").focus();
    });
  }

  function filed(ticket, email) {
    store.clear();
    $("chat-filed-title").textContent = fill(T.filed, { number: String(ticket.number || "") });
    $("chat-filed-expected").textContent = ticket.expected_answer || "";
    $("chat-filed-email").textContent = email ? fill(T.filed_email, { email: email }) : "";
    startForm.elements.namedItem("body").value = "";
    show("chat-filed", "chat-filed-title");
  }

  startForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!validStart()) { return; }
    var question = startForm.elements.namedItem("body").value.trim();
    if (suggestedFor === question) { start(); return; }
    suggestedFor = question;
    $("chat-start-button").disabled = true;
    suggest(question).then(function (hits) {
      $("chat-start-button").disabled = false;
      if (!hits.length) { start(); return; }
      renderSuggestions(hits);
      show("chat-suggestions", "chat-suggestions-title");
    });
  });

  Array.prototype.forEach.call(startForm.querySelectorAll("input, textarea"), function (field) {
    field.addEventListener("input", function () {
      if (field.getAttribute("aria-invalid")) { fieldError(field.name, ""); }
    });
  });

  var departmentField = startForm.elements.namedItem("department");
  if (departmentField && departmentField.tagName === "SELECT") {
    departmentField.addEventListener("change", checkAvailability);
  }

  $("chat-suggestions").querySelector("[data-suggestion-continue]").addEventListener("click", start);
  $("chat-suggestions").querySelector("[data-suggestion-answered]").addEventListener("click", function () {
    startForm.elements.namedItem("body").value = "";
    suggestedFor = null;
    show("chat-start");
    showError($("chat-start-error"), "");
    var text = $("chat-availability").querySelector("[data-availability-text]");
    $("chat-availability").hidden = false;
    text.textContent = T.glad;
    $("chat-question").focus();
  });

  /* --- the conversation --------------------------------------------------------------------- */

  function Chat() {
    this.id = null;
    this.token = null;
    this.ticket = null;
    this.lastSeq = 0;         // every event up to here was applied
    this.pending = {};        // events that arrived ahead of a gap, by seq
    this.socket = null;
    this.socketOpen = false;
    this.backoff = 1000;
    this.reconnectTimer = null;
    this.pollTimer = null;
    this.polling = false;
    this.ended = false;
    this.agentName = "";
    this.lastTyping = 0;
    this.typingTimer = null;
    this.seenSent = 0;
    this.agentSeen = 0;
    this.files = [];
    this.sending = false;
    this.survey = "";         // "asked" (to answer), "done" (answered or skipped), or ""
  }

  Chat.prototype.save = function () {
    store.write({ id: this.id, token: this.token, seq: this.lastSeq, ticket: this.ticket, ended: this.ended, survey: this.survey });
  };

  Chat.prototype.begin = function (id, token, ticket) {
    this.id = id;
    this.token = token;
    this.ticket = ticket;
    this.lastSeq = 0;
    this.pending = {};
    this.ended = false;
    $("chat-log").textContent = "";
    this.save();
    show("chat-room", "chat-body");
    $("chat-queue").textContent = T.waiting;
    this.connect();
    this.poll();
  };

  /* A reload: the same chat, its history read again from the first event. */
  Chat.prototype.resume = function (saved) {
    this.id = saved.id;
    this.token = saved.token;
    this.ticket = saved.ticket || null;
    this.survey = saved.survey || "";
    show("chat-room");
    $("chat-queue").textContent = T.waiting;
    var self = this;
    this.poll().then(function () {
      if (!self.ended) { self.connect(); }
    });
  };

  Chat.prototype.path = function (tail) { return "/chats/" + encodeURIComponent(this.id) + tail; };

  /* Events in, whichever way they came. */
  Chat.prototype.receive = function (event) {
    if (!event || typeof event.seq !== "number") { return; }
    if (event.seq <= this.lastSeq || this.pending[event.seq]) { return; }
    this.pending[event.seq] = event;
    var applied = false;
    while (this.pending[this.lastSeq + 1]) {
      var next = this.pending[this.lastSeq + 1];
      delete this.pending[this.lastSeq + 1];
      this.lastSeq = next.seq;
      this.apply(next);
      applied = true;
    }
    if (applied) { this.save(); }
    if (Object.keys(this.pending).length && !this.polling) {
      // A gap: something between lastSeq and this event has not come yet.
      this.poll();
    }
  };

  Chat.prototype.apply = function (event) {
    switch (event.type) {
      case "message": this.renderMessage(event); break;
      case "queue": this.renderQueue(event.position, event.estimated_wait_seconds); break;
      case "assigned": this.renderAssigned(event.agent); break;
      case "typing": this.renderTyping(event); break;
      case "seen": this.renderSeen(event); break;
      case "ended": this.renderEnded(event); break;
      default: break;
    }
  };

  Chat.prototype.renderMessage = function (event) {
    var author = event.author === "agent" || event.author === "system" ? event.author : "visitor";
    var item = document.createElement("li");
    item.className = author;
    item.setAttribute("data-seq", String(event.seq));
    var meta = document.createElement("span");
    meta.className = "chat-meta";
    var who = author === "visitor" ? T.you : (author === "system" ? T.system : (event.name || T.agent));
    var when = "";
    if (event.at) {
      try {
        when = new Date(event.at).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
      } catch (error) { when = ""; }
    }
    var name = document.createElement("bdi");
    name.textContent = who;
    meta.appendChild(name);
    if (when) { meta.appendChild(document.createTextNode(" · " + when)); }
    var bubble = document.createElement("div");
    bubble.className = "chat-bubble";
    bubble.setAttribute("dir", "auto");
    bubble.textContent = event.body || "";
    if (Array.isArray(event.attachments) && event.attachments.length) {
      var files = document.createElement("ul");
      files.className = "chat-files";
      var self = this;
      event.attachments.forEach(function (file) {
        var li = document.createElement("li");
        var link = document.createElement("a");
        link.href = file.url;
        link.setAttribute("download", file.name || "");
        link.addEventListener("click", function (click) { self.download(click, file); });
        link.textContent = "📎 " + (file.name || T.attachment);
        li.appendChild(link);
        files.appendChild(li);
      });
      bubble.appendChild(files);
    }
    item.appendChild(meta);
    item.appendChild(bubble);
    if (author === "visitor") {
      var seen = document.createElement("span");
      seen.className = "chat-meta chat-seen";
      seen.hidden = event.seq > this.agentSeen;
      seen.textContent = T.seen;
      item.appendChild(seen);
    }
    if (author === "agent") {
      $("chat-typing").textContent = "";
      $("chat-queue").textContent = "";
      if (event.name && !this.agentName) { this.setAgent(event.name); }
      parent.postMessage({ destek: "message" }, "*");
    }
    var log = $("chat-log");
    var nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    log.appendChild(item);
    if (nearBottom || author === "visitor") { log.scrollTop = log.scrollHeight; }
    if (author !== "visitor") { this.markSeen(); }
  };

  /* A chat's file needs the chat token, which a plain link cannot send (and which must not
     end up in an address): fetched with the header, then saved from memory. */
  Chat.prototype.download = function (click, file) {
    if (String(file.url).indexOf(config.api + "/chats/") !== 0) { return; }
    click.preventDefault();
    fetch(file.url, { headers: { "X-Chat-Token": this.token }, credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { throw new ApiError(response.status, ""); }
      return response.blob();
    }).then(function (blob) {
      var url = URL.createObjectURL(blob);
      var save = document.createElement("a");
      save.href = url;
      save.download = file.name || "";
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    }).catch(function (error) {
      showError($("chat-send-error"), reason(error, fill(T.file_failed, { name: file.name || "" })));
    });
  };

  Chat.prototype.renderQueue = function (position, wait) {
    if (this.agentName || this.ended) { return; }
    var parts = [];
    if (position === 1) { parts.push(T.queue_next); }
    else if (typeof position === "number" && position > 1) { parts.push(fill(T.queue_position, { position: position })); }
    else { parts.push(T.waiting); }
    var waiting = waitText(wait, T.queue_wait_short, T.queue_wait);
    if (waiting) { parts.push(waiting); }
    $("chat-queue").textContent = parts.join(" ");
  };

  Chat.prototype.setAgent = function (name) {
    this.agentName = name;
    var label = $("chat-agent");
    label.textContent = fill(T.with_agent, { agent: name });
    label.hidden = false;
  };

  Chat.prototype.renderAssigned = function (agent) {
    $("chat-queue").textContent = "";
    if (agent) {
      this.setAgent(agent);
      this.renderMessage({ seq: 0, type: "message", author: "system", body: fill(T.assigned, { agent: agent }) });
    }
  };

  Chat.prototype.renderTyping = function (event) {
    if (event.author !== "agent") { return; }
    // A replayed typing event from long ago says nothing about now.
    if (event.at && Date.now() - new Date(event.at).getTime() > TYPING_SHOWN_MS) { return; }
    var line = $("chat-typing");
    line.textContent = fill(T.typing, { name: this.agentName || T.agent });
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(function () { line.textContent = ""; }, TYPING_SHOWN_MS);
  };

  Chat.prototype.renderSeen = function (event) {
    if (event.author !== "agent" || typeof event.up_to !== "number") { return; }
    this.agentSeen = Math.max(this.agentSeen, event.up_to);
    var upTo = this.agentSeen;
    Array.prototype.forEach.call($("chat-log").querySelectorAll("li.visitor"), function (item) {
      var seen = item.querySelector(".chat-seen");
      if (seen && parseInt(item.getAttribute("data-seq"), 10) <= upTo) { seen.hidden = false; }
    });
  };

  Chat.prototype.renderEnded = function (event) {
    this.ended = true;
    this.save();
    this.disconnect();
    $("chat-agent").hidden = true;  // "you are talking with …" is over
    var ticket = $("chat-ended-ticket");
    ticket.textContent = event.continues_as_ticket && this.ticket ? fill(T.ended_ticket, { number: String(this.ticket) }) : "";
    show("chat-ended", "chat-ended-title");
    var self = this;
    if (typeof event.survey === "boolean") {
      this.offerSurvey(event.survey);
    } else {
      // Ended here while the event was not read yet: the chat says whether it asks.
      survey.hidden = true;
      rating.hidden = true;
      request("GET", this.path("/survey"), null, this.token).then(function (data) {
        self.offerSurvey(Boolean(data && data.asked && !data.answer));
      }, function () { self.offerSurvey(false); });
    }
  };

  /* The survey when the chat's end asked it (and it was not answered or skipped yet);
     otherwise the quick 1-5 rating of the chat. */
  Chat.prototype.offerSurvey = function (asked) {
    if (asked && this.survey !== "done") {
      this.survey = "asked";
      survey.hidden = false;
      rating.hidden = true;
    } else {
      survey.hidden = true;
      rating.hidden = asked || $("chat-rating-thanks").hidden === false;
    }
    this.save();
  };

  /* --- the socket, and polling while it is down ---------------------------------------------- */

  Chat.prototype.connect = function () {
    var self = this;
    if (this.ended || this.socket || typeof WebSocket !== "function") { return; }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + window.location.host + config.socket + encodeURIComponent(this.id) +
      "?token=" + encodeURIComponent(this.token) + "&after=" + this.lastSeq;
    var socket;
    try { socket = new WebSocket(url); } catch (error) { this.scheduleReconnect(); return; }
    this.socket = socket;
    var heartbeat = null;
    var answered = true;
    socket.addEventListener("open", function () {
      self.socketOpen = true;
      self.backoff = 1000;
      self.stopPolling();
      $("chat-connection").textContent = "";
      // A connection that died without a close (a sleeping laptop, a proxy) is found by a
      // ping that gets no pong; the server also catches up from the database on a ping.
      heartbeat = setInterval(function () {
        if (!answered) { socket.close(); return; }
        answered = false;
        try { socket.send(JSON.stringify({ type: "ping" })); } catch (error) { socket.close(); }
      }, PING_MS);
    });
    socket.addEventListener("message", function (message) {
      var data;
      try { data = JSON.parse(message.data); } catch (error) { return; }
      answered = true;
      if (Array.isArray(data)) { data.forEach(function (one) { self.receive(one); }); } else { self.receive(data); }
    });
    socket.addEventListener("close", function (close) {
      clearInterval(heartbeat);
      if (self.socket !== socket) { return; }  // closed by disconnect(): nothing to redo
      var wasOpen = self.socketOpen;
      self.socket = null;
      self.socketOpen = false;
      if (self.ended) { return; }
      if (wasOpen) { $("chat-connection").textContent = T.reconnecting; }
      self.startPolling();
      // 4400/4404: a wrong `after`, or the chat is not this token's: polling will say.
      if (close.code !== 4400 && close.code !== 4404) { self.scheduleReconnect(); }
    });
  };

  Chat.prototype.scheduleReconnect = function () {
    var self = this;
    clearTimeout(this.reconnectTimer);
    var delay = this.backoff + Math.floor(Math.random() * 500);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.reconnectTimer = setTimeout(function () { self.connect(); }, delay);
  };

  Chat.prototype.disconnect = function () {
    clearTimeout(this.reconnectTimer);
    this.stopPolling();
    if (this.socket) {
      var socket = this.socket;
      this.socket = null;
      socket.close();
    }
  };

  Chat.prototype.startPolling = function () {
    var self = this;
    if (this.pollTimer || this.ended) { return; }
    this.pollTimer = setInterval(function () {
      if (!self.socketOpen && !self.polling) { self.poll(); }
    }, POLL_MS);
  };

  Chat.prototype.stopPolling = function () {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  };

  /* Everything after the last applied event, over HTTP. */
  Chat.prototype.poll = function () {
    var self = this;
    if (this.polling || !this.id) { return Promise.resolve(); }
    this.polling = true;
    return request("GET", this.path("/events?after=" + this.lastSeq), null, this.token).then(function (data) {
      self.polling = false;
      (data && Array.isArray(data.events) ? data.events : []).forEach(function (event) { self.receive(event); });
      if (!self.socketOpen && !self.ended) { self.startPolling(); }
    }, function (error) {
      self.polling = false;
      if (error.status === 404 || error.status === 401 || error.status === 403) {
        // The token no longer opens this chat (expired, or a different browser's).
        self.disconnect();
        store.clear();
        show("chat-start");
        showError($("chat-start-error"), T.not_found);
        return;
      }
      if (!self.ended) { self.startPolling(); }
    });
  };

  /* --- typing, seen ------------------------------------------------------------------------- */

  /* Typing and seen are hints: over the socket when it is open, else over HTTP. */
  Chat.prototype.hint = function (frame, path, body) {
    if (this.socketOpen) {
      try { this.socket.send(JSON.stringify(frame)); return; } catch (error) { /* fall through */ }
    }
    request("POST", this.path(path), body, this.token).catch(function () { /* a hint only */ });
  };

  Chat.prototype.typing = function () {
    var now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY_MS || this.ended || !this.id) { return; }
    this.lastTyping = now;
    this.hint({ type: "typing" }, "/typing", {});
  };

  Chat.prototype.markSeen = function () {
    if (document.hidden || this.ended || !this.id || this.lastSeq <= this.seenSent) { return; }
    this.seenSent = this.lastSeq;
    this.hint({ type: "seen", up_to: this.lastSeq }, "/seen", { up_to: this.lastSeq });
  };

  /* --- sending ------------------------------------------------------------------------------ */

  Chat.prototype.addFiles = function (files) {
    var self = this;
    var refused = [];
    files.forEach(function (file) {
      if (file.size > config.max_bytes) { refused.push(file.name); return; }
      var known = self.files.some(function (other) {
        return other.name === file.name && other.size === file.size && other.lastModified === file.lastModified;
      });
      if (!known) { self.files.push(file); }
    });
    showError($("chat-send-error"), refused.map(function (name) {
      return fill(T.too_big, { name: name, mb: config.max_mb });
    }).join(" "));
    this.renderFiles();
  };

  Chat.prototype.renderFiles = function () {
    var self = this;
    var list = document.querySelector("[data-chat-files]");
    list.textContent = "";
    this.files.forEach(function (file, index) {
      var item = document.createElement("li");
      var name = document.createElement("bdi");
      name.textContent = file.name;
      item.appendChild(name);
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary small";
      remove.textContent = "×";
      remove.setAttribute("aria-label", fill(T.remove_file, { name: file.name }));
      remove.addEventListener("click", function () {
        self.files.splice(index, 1);
        self.renderFiles();
        $("chat-body").focus();
      });
      item.appendChild(document.createTextNode(" "));
      item.appendChild(remove);
      list.appendChild(item);
    });
  };

  Chat.prototype.upload = function (file) {
    var form = new FormData();
    form.append("file", file, file.name);
    return request("POST", this.path("/attachments"), form, this.token, true).then(function (data) {
      return data.id;
    }, function (error) {
      error.file = file.name;
      throw error;
    });
  };

  Chat.prototype.send = function () {
    var self = this;
    var box = $("chat-body");
    var body = box.value;
    if (this.sending || (!body.trim() && !this.files.length)) { return; }
    this.sending = true;
    var button = $("chat-send");
    button.disabled = true;
    showError($("chat-send-error"), "");
    $("chat-connection").textContent = T.sending;
    var files = this.files.slice();
    // Uploaded one after another; a file that fails stops the send with everything kept.
    var ids = [];
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () { return self.upload(file).then(function (id) { ids.push(id); }); });
    });
    chain.then(function () {
      var payload = { body: body };
      if (ids.length) { payload.attachments = ids; }
      return request("POST", self.path("/messages"), payload, self.token);
    }).then(function () {
      // Only now is the text cleared: the server has committed it. Text typed meanwhile stays.
      if (box.value === body) { box.value = ""; } else if (box.value.indexOf(body) === 0) { box.value = box.value.slice(body.length); }
      self.files = self.files.filter(function (file) { return files.indexOf(file) < 0; });
      self.renderFiles();
      $("chat-connection").textContent = "";
      if (!self.socketOpen) { self.poll(); }
    }, function (error) {
      $("chat-connection").textContent = "";
      var text = error.file ? fill(T.file_failed, { name: error.file }) + " " + (error.detail || "") : reason(error, T.send_failed);
      showError($("chat-send-error"), text.trim());
    }).then(function () {
      self.sending = false;
      button.disabled = false;
      box.focus();
    });
  };

  Chat.prototype.end = function (transcript) {
    var self = this;
    var button = $("chat-end");
    button.disabled = true;
    return request("POST", this.path("/end"), { transcript: Boolean(transcript), keep_open: false }, this.token).then(function () {
      button.disabled = false;
      if (transcript) {
        $("chat-transcript-status").textContent = T.transcript_sent;
        $("chat-transcript").disabled = true;  // asked for already: once per chat
      }
      // The `ended` event says whether the survey is asked: read it now, else end without it.
      return self.poll().then(function () {
        if (!self.ended) { self.renderEnded({ continues_as_ticket: false }); }
      });
    }, function (error) {
      button.disabled = false;
      showError($("chat-send-error"), reason(error, T.send_failed));
    });
  };

  var chat = new Chat();

  var compose = $("chat-compose");
  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    chat.send();
  });
  $("chat-body").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      chat.send();
    }
  });
  $("chat-body").addEventListener("input", function () { chat.typing(); });
  $("chat-body").addEventListener("paste", function (event) {
    var items = event.clipboardData ? Array.prototype.slice.call(event.clipboardData.items || []) : [];
    var pictures = items.filter(function (item) { return item.kind === "file"; }).map(function (item) {
      var file = item.getAsFile();
      if (!file) { return null; }
      var stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
      var extension = (file.type.split("/")[1] || "png").replace("jpeg", "jpg");
      return new File([file], T.screenshot + "-" + stamp + "." + extension, { type: file.type });
    }).filter(Boolean);
    if (pictures.length) {
      event.preventDefault();
      chat.addFiles(pictures);
      $("chat-connection").textContent = T.pasted;
    }
  });
  var fileInput = $("chat-files");
  fileInput.addEventListener("change", function () {
    chat.addFiles(Array.prototype.slice.call(fileInput.files));
    fileInput.value = "";
  });
  ["dragover", "drop"].forEach(function (name) {
    compose.addEventListener(name, function (event) {
      event.preventDefault();
      if (name === "drop" && event.dataTransfer) { chat.addFiles(Array.prototype.slice.call(event.dataTransfer.files)); }
    });
  });
  $("chat-end").addEventListener("click", function () {
    chat.end($("chat-transcript-on-end").checked);
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { chat.markSeen(); }
  });

  /* --- the end: transcript, rating, a new chat ----------------------------------------------- */

  $("chat-transcript").addEventListener("click", function () {
    var button = $("chat-transcript");
    button.disabled = true;
    request("POST", chat.path("/end"), { transcript: true, keep_open: false }, chat.token).then(function () {
      $("chat-transcript-status").textContent = T.transcript_sent;
    }, function (error) {
      button.disabled = false;
      $("chat-transcript-status").textContent = reason(error, T.transcript_failed);
    });
  });

  var rating = $("chat-rating");
  rating.addEventListener("submit", function (event) {
    event.preventDefault();
    var chosen = rating.querySelector("input[name=rating]:checked");
    if (!chosen) {
      showError($("chat-rating-error"), T.rating_required);
      rating.querySelector("input[name=rating]").focus();
      return;
    }
    showError($("chat-rating-error"), "");
    var payload = { rating: parseInt(chosen.value, 10), comment: rating.elements.namedItem("comment").value };
    request("POST", chat.path("/rating"), payload, chat.token).then(function () {
      rating.hidden = true;
      var thanks = $("chat-rating-thanks");
      thanks.textContent = T.rating_thanks;
      thanks.hidden = false;
      thanks.setAttribute("tabindex", "-1");
      thanks.focus();
    }, function (error) {
      showError($("chat-rating-error"), reason(error, T.rating_failed));
    });
  });

  /* --- the survey ---------------------------------------------------------------------------- */

  var survey = $("chat-survey");
  var surveyThanks = $("chat-survey-thanks");

  function chosen(name) {
    var input = survey.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : null;
  }

  /* The first question left unanswered, with what to say: the server's own words. */
  function surveyMissing() {
    var groups = survey.querySelectorAll("fieldset[data-question]");
    for (var i = 0; i < groups.length; i += 1) {
      var name = groups[i].getAttribute("data-question");
      if (chosen(name) === null) {
        var text = name === "solved" ? T.survey_solved : fill(T.survey_score, { question: groups[i].getAttribute("data-label") });
        return { group: groups[i], text: text };
      }
    }
    return null;
  }

  function surveyDone(text) {
    survey.hidden = true;
    chat.survey = "done";
    chat.save();
    if (text) {
      $("chat-survey-thanks-text").textContent = text;
      surveyThanks.hidden = false;
      $("chat-survey-thanks-text").focus();
    } else {
      $("chat-ended-title").focus();
    }
  }

  Array.prototype.forEach.call(survey.querySelectorAll("fieldset[data-question]"), function (group) {
    group.addEventListener("change", function () {
      group.removeAttribute("aria-invalid");
      if (!surveyMissing()) { showError($("chat-survey-error"), ""); }
    });
  });

  var answering = false;
  survey.addEventListener("submit", function (event) {
    event.preventDefault();
    if (answering) { return; }
    var missing = surveyMissing();
    if (missing) {
      missing.group.setAttribute("aria-invalid", "true");
      showError($("chat-survey-error"), missing.text);
      missing.group.querySelector("input").focus();
      return;
    }
    showError($("chat-survey-error"), "");
    var payload = {
      speed: parseInt(chosen("speed"), 10),
      clarity: parseInt(chosen("clarity"), 10),
      tone: parseInt(chosen("tone"), 10),
      solved: chosen("solved") === "yes",
      comment: survey.elements.namedItem("comment").value
    };
    answering = true;
    $("chat-survey-send").disabled = true;
    request("POST", chat.path("/survey"), payload, chat.token).then(function (data) {
      var text = data && data.reopened ? fill(T.survey_reopened, { number: digits(data.ticket) }) : T.survey_thanks;
      surveyDone(text);
    }, function (error) {
      // Nothing chosen is lost: the form stays as it was, with the reason.
      showError($("chat-survey-error"), reason(error, T.survey_failed));
    }).then(function () {
      answering = false;
      $("chat-survey-send").disabled = false;
    });
  });

  $("chat-survey-skip").addEventListener("click", function () { surveyDone(""); });

  /* Answering again replaces the answer (it reopens the ticket only once). */
  $("chat-survey-change").addEventListener("click", function () {
    surveyThanks.hidden = true;
    survey.hidden = false;
    survey.querySelector("input").focus();
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-chat-new]"), function (button) {
    button.addEventListener("click", function () {
      chat.disconnect();
      store.clear();
      chat = new Chat();
      $("chat-log").textContent = "";
      $("chat-agent").hidden = true;
      rating.hidden = false;
      rating.reset();
      survey.hidden = true;
      survey.reset();
      surveyThanks.hidden = true;
      showError($("chat-survey-error"), "");
      $("chat-rating-thanks").hidden = true;
      $("chat-transcript").disabled = false;
      $("chat-transcript-status").textContent = "";
      suggestedFor = null;
      show("chat-start", "chat-question");
      checkAvailability();
    });
  });

  /* --- framed or not ----------------------------------------------------------------------- */

  var framed = window.parent !== window;
  if (framed) {
    var close = document.querySelector("[data-chat-close]");
    close.hidden = false;
    close.addEventListener("click", function () { parent.postMessage({ destek: "close" }, "*"); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { parent.postMessage({ destek: "close" }, "*"); }
    });
  } else {
    document.querySelector("[data-chat-home]").hidden = false;
  }

  /* --- start ------------------------------------------------------------------------------- */

  var saved = store.read();
  var fresh = saved && (!saved.at || Date.now() - saved.at < 12 * 3600 * 1000);
  // An ended chat whose survey is still to answer comes back to it (a reload, a new page).
  if (saved && saved.id && saved.token && (!saved.ended || saved.survey === "asked") && fresh) {
    chat.resume(saved);
  } else {
    if (saved) { store.clear(); }
    $("chat-availability").classList.add("checking");
    checkAvailability();
  }
})();
