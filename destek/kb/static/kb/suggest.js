/* Destek knowledge base: articles that may answer a new ticket before it is filed.
 *
 * While the customer types the subject (300 ms after the last key, at least three characters)
 * the form asks /api/v1/kb/suggest and lists up to five articles in #suggestions. Each link
 * carries the form's visit id (?visit=), so opening it, and then filing or not, is counted.
 * Without JavaScript the form works as before, without suggestions. Texts are set with
 * textContent only; the heading comes from the server in the customer's language.
 */
(function () {
  "use strict";

  var DELAY = 300;
  var MIN_CHARS = 3;

  function setUp(box, subject) {
    var timer = null;
    var controller = null;
    var last = "";

    function show(items) {
      box.textContent = "";
      if (!items.length) { box.hidden = true; return; }
      var heading = document.createElement("h2");
      heading.textContent = box.getAttribute("data-heading");
      var list = document.createElement("ul");
      items.slice(0, 5).forEach(function (item) {
        var entry = document.createElement("li");
        var link = document.createElement("a");
        var visit = box.getAttribute("data-visit");
        link.href = item.url + (visit ? "?visit=" + encodeURIComponent(visit) : "");
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = item.title;
        link.setAttribute("lang", item.language);
        entry.appendChild(link);
        if (item.snippet) {
          var snippet = document.createElement("p");
          snippet.className = "muted snippet";
          snippet.textContent = item.snippet;
          snippet.setAttribute("lang", item.language);
          entry.appendChild(snippet);
        }
        list.appendChild(entry);
      });
      box.appendChild(heading);
      box.appendChild(list);
      box.hidden = false;
    }

    function ask() {
      var text = subject.value.trim();
      if (text === last) { return; }
      last = text;
      if (controller) { controller.abort(); }
      if (text.length < MIN_CHARS) { show([]); return; }
      controller = typeof AbortController === "function" ? new AbortController() : null;
      var url = box.getAttribute("data-url") + "?subject=" + encodeURIComponent(text.slice(0, 200)) +
        "&lang=" + encodeURIComponent(box.getAttribute("data-lang") || "");
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : [];
      }).then(function (items) {
        if (subject.value.trim() === text) { show(Array.isArray(items) ? items : []); }
      }).catch(function () { /* offline, aborted or limited: the form works without them */ });
    }

    subject.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, DELAY);
    });
    if (subject.value.trim().length >= MIN_CHARS) { ask(); }
  }

  function start() {
    var box = document.getElementById("suggestions");
    var form = document.getElementById("new-ticket");
    var subject = form && form.querySelector("[name=subject]");
    if (box && subject && window.fetch) { setUp(box, subject); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
