/* Destek agent desk: live thread updates, canned-reply insertion and keyboard shortcuts.
 *
 * Loaded with `defer` from the desk pages; no dependencies, no build step. Every page works
 * without it: this script only enhances. It reads these stable hooks (browser tests rely on
 * them, keep them stable):
 *
 *   Queue (/desk/)
 *     #queue-list                      the table of tickets
 *     #queue-list tr[data-ticket]      one row per ticket, data-ticket = ticket number
 *     a[data-ticket-link]              the row's link to the ticket
 *     tr.selected, aria-selected=true  the row picked with j/k (the link gets focus too)
 *     #bulk-form, #bulk-bar            the bulk form around the table and its bar
 *     input[name=ticket]               the per-row checkboxes (id pick-<number>)
 *     [data-count=<filter>]            the counts: all, mine, unassigned, hour, breached,
 *                                      vip, status_new, status_open, status_pending,
 *                                      status_resolved
 *
 *   Ticket (/desk/tickets/<number>/)
 *     #ticket[data-ticket-number]      the ticket
 *     #thread                          the thread; htmx appends new .thread-item elements
 *     #thread-poll[hx-get]             htmx's poller (every 5 s, while the tab is visible):
 *                                      /desk/tickets/<n>/thread/?after=<last message id>;
 *                                      the answer replaces it (out of band) with the next one
 *     .thread-item[data-message-id]    one message
 *     input[data-seen]                 in #reply-form and #note-form: the last message shown
 *                                      (moved on as the poller brings messages)
 *     #presence, #ticket-presence      who else is on the ticket (presence.js)
 *     #thread-status[data-new-text]    live region announcing new messages
 *     #reply-form, #id_reply_body, #id_reply_status, #id_reply_canned
 *     #note-form, #id_note_body
 *     #assign-form                     "assign to me"
 *     #canned-select option[data-body][data-status][data-priority]
 *                                      choosing one puts its text in the reply box, its status
 *                                      in the status select, and its id in #id_reply_canned
 *                                      (so its priority applies when the reply is sent)
 *     #previous-ticket, #next-ticket   neighbours in the queue order
 *     #merge-form
 *
 *   Both
 *     dialog#shortcuts-help            the help dialog; [data-shortcuts-open] buttons (shown
 *                                      only when this script runs) open it
 *
 * Shortcuts (never while typing in an input, textarea, select or editable element, never
 * with Ctrl, Alt or Meta; letters also match by physical key so Cyrillic, Persian or
 * Turkish layouts work):
 *   queue:  j / k move the selection down / up, Enter opens the selected ticket
 *   ticket: r reply, n note, a assign to me, ] next ticket, [ previous ticket
 *   both:   ? this help
 */
(function () {
  "use strict";

  var CODES = { KeyJ: "j", KeyK: "k", KeyR: "r", KeyN: "n", KeyA: "a",
    BracketRight: "]", BracketLeft: "[" };

  function keyOf(event) {
    if (event.key === "?" || event.key === "Enter") return event.key;
    if (event.code === "Slash" && event.shiftKey) return "?";
    var key = event.key && event.key.length === 1 ? event.key.toLowerCase() : "";
    if (/^[jkrna\[\]]$/.test(key)) return key;
    return CODES[event.code] || "";
  }

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // --- help dialog ------------------------------------------------------------------------

  var help = document.getElementById("shortcuts-help");

  function showHelp() {
    if (help && typeof help.showModal === "function" && !help.open) help.showModal();
  }

  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", showHelp);
  });

  // --- queue ------------------------------------------------------------------------------

  var list = document.getElementById("queue-list");
  var rows = list ? Array.prototype.slice.call(list.querySelectorAll("tr[data-ticket]")) : [];
  var selected = -1;

  function select(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (selected >= 0 && rows[selected]) {
      rows[selected].classList.remove("selected");
      rows[selected].removeAttribute("aria-selected");
    }
    selected = index;
    var row = rows[selected];
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    var link = row.querySelector("a[data-ticket-link]");
    if (link) link.focus();
    row.scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    var row = rows[selected];
    var link = row && row.querySelector("a[data-ticket-link]");
    if (link) window.location.href = link.href;
  }

  // --- ticket -----------------------------------------------------------------------------

  var ticket = document.getElementById("ticket");
  var thread = document.getElementById("thread");

  function focusField(id) {
    var field = document.getElementById(id);
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
    }
  }

  function submitForm(id) {
    var form = document.getElementById(id);
    if (!form) return;
    if (typeof form.requestSubmit === "function") form.requestSubmit();
    else form.submit();
  }

  function go(id) {
    var link = document.getElementById(id);
    if (link) window.location.href = link.href;
  }

  // Canned replies: put the text in the reply box instead of sending it at once.
  var canned = document.getElementById("canned-select");
  if (canned) {
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      var body = document.getElementById("id_reply_body");
      var status = document.getElementById("id_reply_status");
      var hidden = document.getElementById("id_reply_canned");
      if (!option || !option.value) {
        if (hidden) hidden.value = "";
        return;
      }
      if (body) {
        var text = option.getAttribute("data-body") || "";
        body.value = body.value.trim() ? body.value.replace(/\s*$/, "\n\n") + text : text;
        body.focus();
      }
      if (status && option.getAttribute("data-status")) {
        status.value = option.getAttribute("data-status");
      }
      if (hidden) hidden.value = option.value;
    });
  }

  // Live thread: htmx polls #thread-poll (see desk/_thread_poll.html) and appends what is new
  // to #thread; each answer brings a new poller that asks for messages after the last one.
  // Here: no polling while the tab is hidden, the end of polling once the ticket is gone
  // (403, 404, signed out), and a word for screen readers when something arrived.
  if (thread) {
    var status = document.getElementById("thread-status");
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.detail.elt.id === "thread-poll" && document.hidden) event.preventDefault();
    });
    document.body.addEventListener("htmx:responseError", function (event) {
      var code = event.detail.xhr.status;
      if (event.detail.elt.id === "thread-poll" && (code === 401 || code === 403 || code === 404)) {
        event.detail.elt.remove();
      }
    });
    // The reply and note forms say which message the agent last saw (input[data-seen]): a
    // message arriving after it holds what they send until they confirm (views._compose).
    var lastSeen = function () {
      var items = thread.querySelectorAll(".thread-item[data-message-id]");
      var poller = document.getElementById("thread-poll");
      var match = poller && /[?&]after=(\d+)/.exec(poller.getAttribute("hx-get") || "");
      return match ? match[1] : (items.length ? items[items.length - 1].getAttribute("data-message-id") : "");
    };
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== thread || event.detail.xhr.status !== 200) return;
      // An answer may carry only who is on the ticket (desk/_thread_more.html).
      if (event.detail.xhr.responseText.indexOf("thread-item") === -1) return;
      if (status) status.textContent = status.getAttribute("data-new-text");
    });
    document.body.addEventListener("htmx:afterSettle", function () {
      var seen = lastSeen();
      if (!seen) return;
      document.querySelectorAll("input[data-seen]").forEach(function (input) {
        input.value = seen;
      });
    });
  }

  // --- keys -------------------------------------------------------------------------------

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    if (typing(event.target)) return;
    if (help && help.open) return;
    var key = keyOf(event);
    if (!key) return;
    if (key === "?") {
      event.preventDefault();
      showHelp();
      return;
    }
    if (rows.length) {
      if (key === "j") { event.preventDefault(); select(selected + 1); return; }
      if (key === "k") { event.preventDefault(); select(selected < 0 ? 0 : selected - 1); return; }
      if (key === "Enter" && selected >= 0) {
        // A focused link opens itself; only take over when focus is elsewhere.
        if (document.activeElement && document.activeElement.tagName === "A") return;
        event.preventDefault();
        openSelected();
        return;
      }
    }
    if (ticket) {
      if (key === "r") { event.preventDefault(); focusField("id_reply_body"); }
      else if (key === "n") { event.preventDefault(); focusField("id_note_body"); }
      else if (key === "a") { event.preventDefault(); submitForm("assign-form"); }
      else if (key === "]") { event.preventDefault(); go("next-ticket"); }
      else if (key === "[") { event.preventDefault(); go("previous-ticket"); }
    }
  });
})();

/* Knowledge base (desk/kb/*, and the ticket page's "insert a link to an article").
 *
 *   form#kb-editor[data-kb-preview-url]  the article editor; its textarea[data-kb-preview]
 *                                        is previewed live in #kb-preview (the server renders
 *                                        and sanitises the Markdown; nothing is saved)
 *   details#kb-insert-link               on the ticket page; htmx loads its list into
 *                                        [data-kb-links] the first time it opens (toggle):
 *                                        li[data-kb-link][data-title][data-url] each with a
 *                                        button[data-kb-insert] that puts "title: url" in
 *                                        #id_reply_body; input[data-kb-filter] narrows the list
 * Without this script the Preview button posts the form, and the menu links to a page with
 * the articles' addresses to copy.
 */
(function () {
  "use strict";

  var editor = document.getElementById("kb-editor");
  var source = editor && editor.querySelector("textarea[data-kb-preview]");
  var target = document.getElementById("kb-preview");
  if (editor && source && target && window.fetch) {
    var timer = null;
    var sent = null;
    var refresh = function () {
      if (source.value === sent) return;
      sent = source.value;
      var data = new FormData();
      data.append("body", source.value);
      var article = editor.querySelector("input[name=article]");
      if (article) data.append("article", article.value);
      var token = editor.querySelector("input[name=csrfmiddlewaretoken]");
      fetch(editor.getAttribute("data-kb-preview-url"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token ? token.value : "" }
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        // Sanitised by the server (nh3 allow-list), and the page's CSP runs no inline script.
        if (html !== null) target.innerHTML = html;
      }).catch(function () {});
    };
    source.addEventListener("input", function () {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 500);
    });
  }

  var picker = document.getElementById("kb-insert-link");
  var reply = document.getElementById("id_reply_body");
  var caret = null;  // where the agent left the cursor in the reply, before clicking
  if (picker && reply) {
    reply.addEventListener("blur", function () {
      caret = [reply.selectionStart, reply.selectionEnd];
    });
  }

  // The list arrives when the menu first opens (htmx), so it is wired then.
  function wireLinks(root) {
    var items = Array.prototype.slice.call(root.querySelectorAll("li[data-kb-link]"));
    var filter = root.querySelector("input[data-kb-filter]");
    var filterRow = root.querySelector("[data-kb-filter-row]");
    if (filterRow) filterRow.hidden = false;
    if (filter) {
      filter.addEventListener("input", function () {
        var words = filter.value.toLocaleLowerCase().split(/\s+/).filter(Boolean);
        items.forEach(function (item) {
          var text = (item.getAttribute("data-title") || "").toLocaleLowerCase();
          item.hidden = !words.every(function (word) { return text.indexOf(word) !== -1; });
        });
      });
    }
    items.forEach(function (item) {
      var button = item.querySelector("button[data-kb-insert]");
      if (!button) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        if (!reply) return;
        var line = item.getAttribute("data-title") + ": " + item.getAttribute("data-url");
        if (caret && reply.value.trim()) {
          reply.value = reply.value.slice(0, caret[0]) + line + reply.value.slice(caret[1]);
          caret = [caret[0] + line.length, caret[0] + line.length];
        } else {
          reply.value = reply.value.trim() ? reply.value.replace(/\s*$/, "\n\n") + line : line;
        }
        reply.focus();
      });
    });
  }

  if (picker) {
    picker.addEventListener("htmx:afterSwap", function (event) {
      wireLinks(event.detail.target);
    });
  }
})();
