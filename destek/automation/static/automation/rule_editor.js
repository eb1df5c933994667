/* The rule editor's enhancement (automation/rule_editor.py works without it): adds and
   removes rows, shows only the value input the chosen field or action takes and offers only
   its operators. The fields, kinds and operators come from the schema the server wrote. */
(function () {
  "use strict";

  function showValue(editor, schema, row) {
    var select = row.querySelector(".rule-field");
    var name = select.value;
    var spec = schema[name] || null;
    var kind = spec ? spec.kind : "";
    row.setAttribute("data-field", name);
    row.setAttribute("data-kind", kind);
    row.querySelectorAll(".rule-value").forEach(function (span) {
      var wanted = (span.getAttribute("data-for") || "").split(" ");
      var on = name !== "" && (wanted.indexOf("field:" + name) >= 0 || wanted.indexOf("kind:" + kind) >= 0);
      span.classList.toggle("on", on);
    });
    var op = row.querySelector(".rule-op");
    if (op && spec) {
      var current = op.value;
      op.innerHTML = "";
      spec.ops.forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1];
        option.selected = pair[0] === current;
        op.appendChild(option);
      });
    }
  }

  function wire(editor, schema, row) {
    row.querySelector(".rule-field").addEventListener("change", function () {
      showValue(editor, schema, row);
    });
    var remove = row.querySelector(".rule-remove");
    remove.setAttribute("role", "button");
    remove.setAttribute("tabindex", "0");
    function drop(event) {
      event.preventDefault();
      remove.querySelector("input").checked = true;
      row.hidden = true;
    }
    remove.addEventListener("click", drop);
    remove.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { drop(event); }
    });
    showValue(editor, schema, row);
    offerForKind(schema, row);
  }

  // A rule that runs when a ticket is filed may use only what is known before the ticket
  // exists, and a hand-over is for schedule rules only: what the chosen kind may not use is
  // offered disabled (the model refuses it anyway). A filed rule sends no mail, so its mail
  // texts are hidden while that kind is chosen.
  function offerForKind(schema, row) {
    var kind = document.querySelector("select[name=kind]");
    var chosen = kind !== null ? kind.value : "";
    var filed = chosen === "filed";
    row.querySelectorAll(".rule-field option").forEach(function (option) {
      var spec = schema[option.value];
      var refused = spec !== undefined && ((filed && !spec.filed) || (chosen !== "schedule" && spec.schedule === true));
      option.disabled = refused && !option.selected;
    });
    var texts = document.getElementById("texts-group");
    if (texts !== null) { texts.hidden = filed; }
  }

  function start(editor) {
    var schema = JSON.parse(document.getElementById(editor.getAttribute("data-schema")).textContent);
    var kind = document.querySelector("select[name=kind]");
    if (kind !== null) {
      kind.addEventListener("change", function () {
        editor.querySelectorAll(".rule-row").forEach(function (row) { offerForKind(schema, row); });
      });
    }
    var rows = editor.querySelector(".rule-rows");
    var total = editor.querySelector(".rule-total");
    var template = editor.querySelector(".rule-template");
    editor.classList.add("rule-js");
    rows.querySelectorAll(".rule-row").forEach(function (row) { wire(editor, schema, row); });
    editor.querySelector(".rule-add").addEventListener("click", function (event) {
      event.preventDefault();
      var index = parseInt(total.value, 10);
      var holder = document.createElement("ol");
      holder.innerHTML = template.innerHTML.split("__i__").join(String(index));
      var row = holder.querySelector(".rule-row");
      rows.appendChild(row);
      total.value = String(index + 1);
      wire(editor, schema, row);
      row.querySelector(".rule-field").focus();
    });
  }

  function ready() { document.querySelectorAll(".rule-editor").forEach(start); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
