/* Destek portal: enhancements of forms that already work without JavaScript.
 *
 * - [data-attachments]: drag and drop onto the file input, a list of chosen files, the size
 *   limit (data-max-bytes) checked before anything is uploaded (the server enforces it too),
 *   and "Record my screen" (getDisplayMedia + MediaRecorder) attaching a WebM video. The
 *   desk's ticket page loads this file too, for the files of its reply and note boxes.
 * - #new-ticket: shows the technical fieldset only for departments that ask for it, the
 *   critical fieldset only for critical urgency, when it started for either, and fills in what the browser knows
 *   (operating system, browser, device, time zone) where the field is still empty.
 * Every text shown comes from data attributes the server rendered in the user's language.
 */
(function () {
  "use strict";

  function formatSize(bytes) {
    var units = ["B", "KB", "MB", "GB"];
    var i = 0;
    var n = bytes;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
    });
  }

  /* --- attachments ------------------------------------------------------------------------ */

  function Attachments(root) {
    this.root = root;
    this.input = root.querySelector("input[type=file]");
    this.list = root.querySelector("[data-file-list]");
    this.error = root.querySelector("[data-file-error]");
    this.maxBytes = parseInt(this.input.getAttribute("data-max-bytes"), 10) || Infinity;
    this.files = [];
    this.canSet = typeof DataTransfer === "function";
    var self = this;
    this.input.addEventListener("change", function () {
      // Choosing more files adds to those already chosen or dropped (the browser would
      // replace them); where the list cannot be set, the input keeps what was chosen last.
      self.add(Array.prototype.slice.call(self.input.files), !self.canSet);
    });
    var zone = root.querySelector("[data-dropzone]");
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files) {
        self.add(Array.prototype.slice.call(event.dataTransfer.files), false);
      }
    });
    if (this.canSet) { this.setUpRecording(); }
  }

  Attachments.prototype.add = function (files, fromInput) {
    var self = this;
    var refused = [];
    if (fromInput) { this.files = []; }
    files.forEach(function (file) {
      var known = self.files.some(function (other) {
        return other.name === file.name && other.size === file.size &&
          other.lastModified === file.lastModified;
      });
      if (file.size > self.maxBytes) { refused.push(file.name); } else if (!known) { self.files.push(file); }
    });
    if (refused.length) {
      var template = this.input.getAttribute("data-too-big");
      this.error.textContent = refused.map(function (name) {
        return fill(template, { name: name });
      }).join(" ");
      this.error.hidden = false;
    } else {
      this.error.hidden = true;
    }
    this.sync();
  };

  Attachments.prototype.remove = function (index) {
    this.files.splice(index, 1);
    this.sync();
  };

  Attachments.prototype.sync = function () {
    var self = this;
    if (this.canSet) {
      var transfer = new DataTransfer();
      this.files.forEach(function (file) { transfer.items.add(file); });
      this.input.files = transfer.files;
    }
    this.list.textContent = "";
    this.files.forEach(function (file, index) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + formatSize(file.size) + ") ";
      if (self.canSet) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary small";
        button.textContent = "×";
        button.setAttribute("aria-label", file.name);
        button.addEventListener("click", function () { self.remove(index); });
        item.appendChild(button);
      }
      self.list.appendChild(item);
    });
  };

  Attachments.prototype.setUpRecording = function () {
    var box = this.root.querySelector("[data-record]");
    var devices = navigator.mediaDevices;
    if (!box || !devices || !devices.getDisplayMedia || typeof MediaRecorder !== "function") {
      return;
    }
    box.hidden = false;
    var self = this;
    var button = box.querySelector("[data-record-start]");
    var status = box.querySelector("[data-record-status]");
    var recorder = null;
    var timer = null;
    var stream = null;
    var chunks = [];
    var size = 0;
    var started = 0;
    // Stop well before the limit: the last chunk arrives after stop() is called.
    var budget = Math.min(self.maxBytes * 0.9, self.maxBytes - 1024 * 1024);
    var MAX_SECONDS = 180;

    function stop() {
      if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    }

    function finish() {
      clearInterval(timer);
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      button.textContent = button.getAttribute("data-label-start");
      button.setAttribute("aria-pressed", "false");
      var type = (recorder && recorder.mimeType) || "video/webm";
      var blob = new Blob(chunks, { type: type.split(";")[0] });
      recorder = null;
      if (!blob.size) { return; }
      var stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
      var name = button.getAttribute("data-name") + "-" + stamp + ".webm";
      self.add([new File([blob], name, { type: blob.type })], false);
      status.textContent = fill(status.getAttribute("data-attached"), { size: formatSize(blob.size) });
    }

    button.addEventListener("click", function () {
      if (recorder) { stop(); return; }
      devices.getDisplayMedia({ video: true, audio: false }).then(function (captured) {
        stream = captured;
        chunks = [];
        size = 0;
        var options = {};
        ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].some(function (type) {
          if (MediaRecorder.isTypeSupported && MediaRecorder.isTypeSupported(type)) {
            options.mimeType = type;
            return true;
          }
          return false;
        });
        options.videoBitsPerSecond = 1000000;
        recorder = new MediaRecorder(stream, options);
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) {
            chunks.push(event.data);
            size += event.data.size;
            if (size >= budget) { stop(); }
          }
        });
        recorder.addEventListener("stop", finish);
        // The user can also end sharing from the browser's own bar.
        stream.getVideoTracks().forEach(function (track) { track.addEventListener("ended", stop); });
        recorder.start(1000);
        started = Date.now();
        button.textContent = button.getAttribute("data-label-stop");
        button.setAttribute("aria-pressed", "true");
        status.textContent = fill(status.getAttribute("data-recording"), { seconds: 0 });
        timer = setInterval(function () {
          var seconds = Math.round((Date.now() - started) / 1000);
          status.textContent = fill(status.getAttribute("data-recording"), { seconds: seconds });
          if (seconds >= MAX_SECONDS) { stop(); }
        }, 1000);
      }).catch(function () {
        status.textContent = status.getAttribute("data-denied");
      });
    });
  };

  /* --- the new-ticket form --------------------------------------------------------------- */

  function browserFacts() {
    var facts = {};
    var ua = navigator.userAgent || "";
    try {
      facts.time_zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) { /* an old browser: the server's guess stays */ }
    if (/iPad|Tablet/i.test(ua)) { facts.device = "tablet"; }
    else if (/Mobi|iPhone|Android/i.test(ua)) { facts.device = "smartphone"; }
    else { facts.device = "computer"; }
    return facts;
  }

  function refineFromClientHints(form) {
    var data = navigator.userAgentData;
    if (!data || !data.getHighEntropyValues) { return; }
    data.getHighEntropyValues(["platformVersion", "fullVersionList"]).then(function (hints) {
      var os = form.querySelector("[name=os]");
      if (os && !os.dataset.touched && hints.platform) {
        var version = hints.platformVersion || "";
        if (hints.platform === "Windows") {
          // Windows 11 reports platform version 13 and later; 10 reports 1 to 10.
          version = parseInt(version, 10) >= 13 ? "11" : "10";
        }
        os.value = (hints.platform + " " + version).trim();
      }
      var browser = form.querySelector("[name=browser]");
      var brands = (hints.fullVersionList || []).filter(function (brand) {
        return !/Not.?A.?Brand|Chromium/i.test(brand.brand);
      });
      if (browser && !browser.dataset.touched && brands.length) {
        browser.value = brands[0].brand + " " + brands[0].version;
      }
    }).catch(function () { /* hints refused: the server's reading stays */ });
  }

  function setUpTicketForm(form) {
    var department = form.querySelector("[name=department]");
    var urgency = form.querySelector("[name=urgency]");
    var technical = form.querySelector("[data-technical-details]");
    var critical = form.querySelector("[data-critical-details]");
    var when = form.querySelector("[data-when-details]");

    function hasErrors(fieldset) {
      return fieldset && fieldset.querySelector(".errorlist");
    }

    function update() {
      var asks = true;
      var isCritical = false;
      if (technical && department) {
        var option = department.options[department.selectedIndex];
        asks = !department.value || (option && option.getAttribute("data-diagnostics") === "1");
        technical.hidden = !asks && !hasErrors(technical);
      }
      if (critical && urgency) {
        isCritical = urgency.value === "critical";
        critical.hidden = !isCritical && !hasErrors(critical);
        var service = critical.querySelector("[name=service_name]");
        if (service) { service.required = isCritical; }
      }
      // When it started (and in which zone): asked with the technical details, required for
      // a critical incident.
      if (when) {
        when.hidden = !asks && !isCritical && !hasErrors(when);
        ["started_at", "time_zone"].forEach(function (name) {
          var field = when.querySelector("[name=" + name + "]");
          if (field) { field.required = isCritical; }
        });
      }
    }

    if (department) { department.addEventListener("change", update); }
    if (urgency) { urgency.addEventListener("change", update); }
    update();

    Array.prototype.forEach.call(form.querySelectorAll("input, select, textarea"), function (el) {
      el.addEventListener("input", function () { el.dataset.touched = "1"; });
    });
    var facts = browserFacts();
    Object.keys(facts).forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      if (field && !field.value && facts[name]) { field.value = facts[name]; }
    });
    var zone = form.querySelector("[name=time_zone]");
    if (zone && facts.time_zone && !form.querySelector(".errorlist")) { zone.value = facts.time_zone; }
    // A form sent back with errors keeps what the customer typed.
    if (!form.querySelector(".errorlist")) { refineFromClientHints(form); }
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-attachments]"), function (root) {
      root.attachments = new Attachments(root);
    });
    var form = document.getElementById("new-ticket");
    if (form) { setUpTicketForm(form); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
