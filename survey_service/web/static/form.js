// Forms drawn by form_fields.html, made easier with JavaScript: inline errors as you type,
// show-if toggling, table rows added and removed in place, one screen per group with a
// progress bar, and a draft kept in the browser until the form is sent. Every form works
// without this file; it only changes what the page does before the post.
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var T = zh ? {
    required: "此题必答", choose: "请从选项中选择", number: "请填写数字",
    min: "不能小于 {0}", max: "不能大于 {0}", step: "最多保留 {0} 位小数",
    integer: "请填写整数", short: "至少 {0} 个字符", long: "最多 {0} 个字符",
    pattern: "格式不正确", date: "请填写有效日期", dateMin: "不能早于 {0}",
    dateMax: "不能晚于 {0}", next: "下一页", back: "上一页",
    part: "第 {0} 部分，共 {1} 部分", restored: "已恢复您上次未提交的答案。",
    fix: "请先修改本页标出的问题。"
  } : {
    required: "This question needs an answer", choose: "Choose one of the options",
    number: "Enter a number", min: "At least {0}", max: "At most {0}",
    step: "At most {0} decimal places", integer: "Enter a whole number",
    short: "At least {0} characters", long: "At most {0} characters",
    pattern: "Not in the expected format", date: "Enter a valid date",
    dateMin: "Not before {0}", dateMax: "Not after {0}", next: "Next", back: "Back",
    part: "Part {0} of {1}", restored: "Unsaved answers from your last visit were restored.",
    fix: "Please correct what is marked on this page first."
  };
  function fmt(s) {
    var args = arguments;
    return s.replace(/\{(\d)\}/g, function (_, i) { return args[+i + 1]; });
  }
  function $$(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  // --- inline errors ------------------------------------------------------------------
  function question(el) { return el.closest("td") || el.closest(".question") || el.parentNode; }
  function shown(el) { return !el.closest("[hidden]") && !el.disabled; }
  // A table row left wholly blank is dropped by the server, so nothing in it is required.
  function blankRow(el) {
    var tr = el.closest("tr[data-row]");
    return !!tr && $$(tr, "input, select").every(function (c) { return !c.value.trim(); });
  }
  function isRequired(el) {
    return (el.required || el.hasAttribute("data-required")) && !blankRow(el);
  }

  function problem(el) {
    if (!shown(el)) return "";
    var v = el.value.trim();
    if (el.type === "radio" || el.type === "checkbox") {
      if (!isRequired(el)) return "";
      var group = $$(el.form, "input[name='" + CSS.escape(el.name) + "']");
      return group.some(function (g) { return g.checked; }) ? "" : (el.type === "radio" ? T.required : T.choose);
    }
    if (!v) return isRequired(el) ? T.required : "";
    if (el.type === "number") {
      if (el.validity && el.validity.badInput || isNaN(Number(v))) return T.number;
      var n = Number(v);
      if (el.min !== "" && n < Number(el.min)) return fmt(T.min, el.min);
      if (el.max !== "" && n > Number(el.max)) return fmt(T.max, el.max);
      if (el.step === "1" && !/^[+-]?\d+$/.test(v)) return T.integer;
      if (el.step === "0.01" && /\.\d{3,}$/.test(v)) return fmt(T.step, 2);
    }
    if (el.type === "date") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) return T.date;
      if (el.min && v < el.min) return fmt(T.dateMin, el.min);
      if (el.max && v > el.max) return fmt(T.dateMax, el.max);
    }
    var minLength = el.getAttribute("minlength"), maxLength = el.getAttribute("maxlength");
    if (minLength && v.length < +minLength) return fmt(T.short, minLength);
    if (maxLength && v.length > +maxLength) return fmt(T.long, maxLength);
    var pattern = el.getAttribute("pattern");
    if (pattern) {
      try { if (!new RegExp("^(?:" + pattern + ")$", "u").test(v)) return T.pattern; } catch (e) { /* the server checks */ }
    }
    return "";
  }

  function show(el, message) {
    var box = el.type === "radio" || el.type === "checkbox" ? question(el) : el;
    var id = (box.id || el.id) + "-error";
    var note = document.getElementById(id);
    if (!message) {
      if (note) note.remove();
      question(el).classList.remove("invalid");
      el.removeAttribute("aria-invalid");
      return true;
    }
    if (!note) {
      note = document.createElement("p");
      note.className = "error";
      note.id = id;
      note.setAttribute("aria-live", "polite");
      var anchor = el.closest("td") ? el : (question(el).querySelector(".options, .with-unit, textarea, select") || el);
      anchor.parentNode.insertBefore(note, anchor.nextSibling);
      var described = box.getAttribute("aria-describedby") || "";
      if (described.split(" ").indexOf(id) < 0) box.setAttribute("aria-describedby", (described + " " + id).trim());
    }
    note.textContent = message;
    question(el).classList.add("invalid");
    el.setAttribute("aria-invalid", "true");
    return false;
  }

  function check(el) { return show(el, problem(el)); }

  function checkAll(root) {
    var first = null, seen = {};
    $$(root, "input, select, textarea").forEach(function (el) {
      if (el.type === "hidden" || el.type === "file" || el.type === "submit" || el.closest("template")) return;
      if ((el.type === "radio" || el.type === "checkbox") && seen[el.name]) return;
      seen[el.name] = true;
      if (!check(el) && !first) first = el;
    });
    return first;
  }

  // --- show-if ------------------------------------------------------------------------
  function answers(form, name) {
    return $$(form, "[name='" + CSS.escape(name) + "']").filter(function (el) {
      return !el.disabled && ((el.type !== "radio" && el.type !== "checkbox") || el.checked);
    }).map(function (el) { return el.value; }).filter(function (v) { return v !== ""; });
  }
  function same(a, b) {
    if (a === b) return true;
    return a !== "" && b !== "" && !isNaN(Number(a)) && !isNaN(Number(b)) && Number(a) === Number(b);
  }
  function applyConditions(form) {
    // In document order, so a field hidden because its own condition's field is hidden goes too.
    $$(form, "[data-show-if]").forEach(function (box) {
      if (box.closest("template")) return;
      var wanted = JSON.parse(box.getAttribute("data-show-values") || "[]");
      var given = answers(form, box.getAttribute("data-show-if"));
      var on = given.some(function (g) { return wanted.some(function (w) { return same(g, w); }); });
      box.hidden = !on;
      var controls = box.matches("input, select, textarea") ? [box] : $$(box, "input, select, textarea");
      controls.forEach(function (el) { el.disabled = !on; });
      if (box.matches("input, select, textarea") && box.closest("td")) box.style.visibility = on ? "" : "hidden";
      var cond = box.querySelector(":scope > .cond");
      if (cond) cond.hidden = true;
    });
  }

  // --- table rows ---------------------------------------------------------------------
  function renumber(body) {
    $$(body, "tr[data-row]").forEach(function (tr, i) {
      var cell = tr.querySelector("[data-row-number]");
      if (cell) cell.textContent = i + 1;
    });
  }
  function addRow(form, name) {
    var body = form.querySelector("tbody[data-rows='" + CSS.escape(name) + "']");
    var template = form.querySelector("template[data-row-template='" + CSS.escape(name) + "']");
    if (!body || !template) return;
    var next = 0;
    $$(body, "[name]").forEach(function (el) {
      var rest = el.name.slice(name.length + 1), index = parseInt(rest, 10);
      if (el.name.indexOf(name + ".") === 0 && !isNaN(index)) next = Math.max(next, index + 1);
    });
    var html = template.innerHTML.split("__i__").join(String(next));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("tr");
    body.appendChild(row);
    renumber(body);
    applyConditions(form);
    var first = row.querySelector("input, select");
    if (first) first.focus();
  }
  function removeRow(button) {
    var row = button.closest("tr"), body = row.parentNode, form = button.form;
    if ($$(body, "tr[data-row]").length > 1) {
      row.remove();
    } else {
      $$(row, "input, select").forEach(function (el) { el.value = ""; });
    }
    renumber(body);
    applyConditions(form);
    save(form);
  }

  // --- one screen per group -----------------------------------------------------------
  function steps(form) {
    var all = $$(form, "[data-step]");
    if (!form.hasAttribute("data-progressive") || all.length < 2) return;
    var current = 0;
    var bar = document.createElement("div");
    bar.className = "progress";
    bar.innerHTML = '<span aria-live="polite"></span><progress max="' + all.length + '"></progress>';
    form.insertBefore(bar, all[0]);
    var nav = document.createElement("div");
    nav.className = "step-nav";
    nav.innerHTML = '<button type="button" class="secondary" data-back>' + T.back + '</button>' +
      '<button type="button" data-next>' + T.next + '</button>';
    var submit = form.querySelector("[data-submit]");
    var actions = submit ? submit.parentNode : null;
    form.insertBefore(nav, actions || null);
    function go(n, focus) {
      current = Math.max(0, Math.min(all.length - 1, n));
      all.forEach(function (s, i) { s.hidden = i !== current; });
      bar.querySelector("span").textContent = fmt(T.part, current + 1, all.length);
      bar.querySelector("progress").value = current + 1;
      nav.querySelector("[data-back]").hidden = current === 0;
      nav.querySelector("[data-next]").hidden = current === all.length - 1;
      if (actions) actions.hidden = current !== all.length - 1;
      if (focus) { bar.scrollIntoView({ block: "start" }); }
    }
    nav.querySelector("[data-back]").addEventListener("click", function () { go(current - 1, true); });
    nav.querySelector("[data-next]").addEventListener("click", function () {
      var bad = checkAll(all[current]);
      if (bad) { bad.focus(); return; }
      go(current + 1, true);
    });
    form.showStepOf = function (el) {
      for (var i = 0; i < all.length; i++) if (all[i].contains(el)) { go(i, false); return; }
    };
    var invalid = form.querySelector(".invalid");
    go(invalid ? all.indexOf(invalid.closest("[data-step]")) : 0, false);
  }

  // --- the draft kept in the browser --------------------------------------------------
  function store(form) {
    var kind = form.getAttribute("data-autosave");
    try { return kind === "local" ? window.localStorage : kind === "session" ? window.sessionStorage : null; } catch (e) { return null; }
  }
  function key() { return "draft:" + location.pathname; }
  function save(form) {
    var s = store(form);
    if (!s) return;
    var data = [];
    $$(form, "input, select, textarea").forEach(function (el) {
      if (!el.name || el.name[0] === "_" || el.type === "file" || el.type === "password" || el.hasAttribute("data-no-autosave") || el.closest("template")) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.value !== "") data.push([el.name, el.value]);
    });
    try { s.setItem(key(), JSON.stringify(data)); } catch (e) { /* full or refused: no draft */ }
  }
  function restore(form) {
    var s = store(form);
    if (!s || !form.hasAttribute("data-restore")) return;
    var data;
    try { data = JSON.parse(s.getItem(key()) || "null"); } catch (e) { data = null; }
    if (!data || !data.length) return;
    data.forEach(function (pair) {
      var name = pair[0], value = pair[1];
      var els = $$(form, "[name='" + CSS.escape(name) + "']");
      if (!els.length) {
        // A table row added last time: add rows until this one exists.
        var m = /^(.*)\.(\d+)\.[^.]+$/.exec(name);
        for (var guard = 0; m && !els.length && guard < 500; guard++) {
          addRow(form, m[1]);
          els = $$(form, "[name='" + CSS.escape(name) + "']");
        }
      }
      els.forEach(function (el) {
        if (el.type === "radio" || el.type === "checkbox") { if (el.value === value) el.checked = true; }
        else el.value = value;
      });
    });
    var note = document.createElement("p");
    note.className = "flash";
    note.setAttribute("role", "status");
    note.textContent = T.restored;
    form.insertBefore(note, form.firstChild);
  }

  function setUp(form) {
    form.noValidate = true;
    restore(form);
    applyConditions(form);
    form.addEventListener("input", function (e) {
      var el = e.target;
      if (el.getAttribute("aria-invalid") === "true") check(el);
      save(form);
    });
    form.addEventListener("change", function (e) {
      check(e.target);
      applyConditions(form);
      save(form);
    });
    form.addEventListener("focusout", function (e) {
      var el = e.target;
      if (el.matches("input[type=text], input[type=number], input[type=date], textarea") && el.value !== "") check(el);
    });
    form.addEventListener("click", function (e) {
      var add = e.target.closest("[data-add-row]"), remove = e.target.closest("[data-remove-row]");
      if (add) { e.preventDefault(); addRow(form, add.getAttribute("data-add-row")); }
      if (remove) { e.preventDefault(); removeRow(remove); }
    });
    form.addEventListener("submit", function (e) {
      var button = e.submitter;
      if (button && button.hasAttribute("formnovalidate")) return;
      var bad = checkAll(form);
      if (bad) {
        e.preventDefault();
        if (form.showStepOf) form.showStepOf(bad);
        bad.focus();
        return;
      }
      var s = store(form);
      if (s) try { s.removeItem(key()); } catch (err) { /* nothing kept */ }
    });
    steps(form);
    $$(document, "#error-summary a[href^='#']").forEach(function (a) {
      a.addEventListener("click", function () {
        var target = document.getElementById(a.getAttribute("href").slice(1));
        if (target && form.showStepOf) form.showStepOf(target);
      });
    });
  }

  window.surveyForm = { setUp: setUp };
  $$(document, "form[data-form]").forEach(setUp);
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
