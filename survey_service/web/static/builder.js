// The form builder: the admin composes builder fields (the shape POST /api/v1/forms takes)
// from the palette; the server draws the preview with the renderer every form uses and
// returns the JSON Schema; saving and publishing go through the forms API with the
// session's CSRF token.
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var T = zh ? {
    text: "文本", number: "数字", money: "金额", date: "日期", single_choice: "单选",
    multiple_choice: "多选", likert: "量表", table: "表格", section: "分组",
    name: "字段名", labelZh: "题目（中文）", labelEn: "题目（英文）", help: "说明",
    required: "必答", up: "上移", down: "下移", remove: "删除", minLength: "最少字数",
    maxLength: "最多字数", multiline: "多行", minimum: "最小值", maximum: "最大值",
    integer: "只允许整数", minDate: "最早日期", maxDate: "最晚日期",
    choices: "选项（每行一个：取值|中文|英文，只写中文时取值即中文）", minSelected: "最少选",
    maxSelected: "最多选", scale: "级数", low: "最低端说明", high: "最高端说明",
    minRows: "最少行数", maxRows: "最多行数", columns: "表格的列", children: "分组内的题目",
    showIf: "显示条件：仅当", always: "（总是显示）", equalsAny: "的答案为（多个用逗号分开）",
    choosesAny: "选了以下任一项时显示",
    keyExists: "表单键名“{0}”已经存在。可以把这些题目保存为它的新版本（沿用已有表单的标题和类型），或者换一个键名。",
    saveAsVersion: "保存为新版本",
    saved: "已保存草稿：{0} 第 {1} 版。", published: "已发布：{0} 第 {1} 版。可以用它创建调查活动了。",
    needKey: "请填写表单键名和中文标题。", failed: "未能保存：", issues: "需要修改：",
    field: "第 {0} 题", question: "题目"
  } : {
    text: "Text", number: "Number", money: "Money", date: "Date", single_choice: "Single choice",
    multiple_choice: "Multiple choice", likert: "Likert scale", table: "Table", section: "Section",
    name: "Field name", labelZh: "Question (Chinese)", labelEn: "Question (English)", help: "Help",
    required: "Required", up: "Move up", down: "Move down", remove: "Remove",
    minLength: "Min length", maxLength: "Max length", multiline: "Several lines",
    minimum: "Minimum", maximum: "Maximum", integer: "Whole numbers only", minDate: "Earliest",
    maxDate: "Latest", choices: "Choices (one a line: value|Chinese|English; a lone label is its own value)",
    minSelected: "At least", maxSelected: "At most", scale: "Points", low: "Low end label",
    high: "High end label", minRows: "Min rows", maxRows: "Max rows", columns: "Columns",
    children: "Questions in the section", showIf: "Show only when", always: "(always shown)",
    equalsAny: "is (several: separate with commas)", choosesAny: "Shown when any of these is chosen",
    keyExists: "A form with the key \u201c{0}\u201d exists. Save these questions as its new version (keeping that form's title and kind), or choose another key.",
    saveAsVersion: "Save as a new version",
    saved: "Draft saved: {0} version {1}.",
    published: "Published: {0} version {1}. Campaigns can use it now.",
    needKey: "Give the form a key and a Chinese title.", failed: "Not saved: ",
    issues: "To correct: ", field: "Question {0}", question: "Question"
  };
  var TYPES = ["text", "number", "money", "date", "single_choice", "multiple_choice", "likert", "table", "section"];
  var SCALAR = ["text", "number", "money", "date", "single_choice", "multiple_choice", "likert"];
  var state = { fields: [], key: null, version: null, published: false };
  var counter = 0;

  function fmt(s) { var a = arguments; return s.replace(/\{(\d)\}/g, function (_, i) { return a[+i + 1]; }); }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined && attrs[k] !== false) node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  function newField(type) {
    counter += 1;
    var f = { type: type, name: "q" + counter, label: { zh: T.question + " " + counter } };
    if (type === "single_choice" || type === "multiple_choice") f.choices = [
      { value: "1", label: { zh: zh ? "选项一" : "Option one" } },
      { value: "2", label: { zh: zh ? "选项二" : "Option two" } }];
    if (type === "likert") f.scale = 5;
    if (type === "table") f.columns = [{ type: "text", name: "c1", label: { zh: zh ? "第一列" : "Column one" } }];
    if (type === "section") f.fields = [{ type: "text", name: "s1", label: { zh: zh ? "分组内的题目" : "A question" } }];
    return f;
  }

  // --- one field's editor -------------------------------------------------------------
  function input(label, value, onChange, attrs) {
    var box = el("input", Object.assign({ type: "text" }, attrs || {}));
    if (box.type === "checkbox") box.checked = !!value; else box.value = value === undefined || value === null ? "" : value;
    box.addEventListener(box.type === "checkbox" ? "change" : "input", function () {
      onChange(box.type === "checkbox" ? box.checked : box.value);
      schedule();
    });
    if (box.type === "checkbox") return el("label", {}, [box, document.createTextNode(" " + label)]);
    return el("label", { text: label }, [box]);
  }
  function setNumber(f, key) {
    return function (v) { if (v === "" || isNaN(Number(v))) delete f[key]; else f[key] = Number(v); };
  }
  function setText(f, key) { return function (v) { if (v === "") delete f[key]; else f[key] = v; }; }
  function setLabel(f, key, lang) {
    return function (v) {
      var label = f[key] || {};
      if (v === "") delete label[lang]; else label[lang] = v;
      if (label.zh || label.en) f[key] = label; else delete f[key];
    };
  }
  function choicesText(f) {
    return (f.choices || []).map(function (c) {
      var parts = [c.value, c.label.zh];
      if (c.label.en) parts.push(c.label.en);
      return c.value === c.label.zh && !c.label.en ? c.label.zh : parts.join("|");
    }).join("\n");
  }
  function parseChoices(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean).map(function (line) {
      var p = line.split("|").map(function (s) { return s.trim(); });
      if (p.length === 1) return { value: p[0], label: { zh: p[0] } };
      var c = { value: p[0], label: { zh: p[1] || p[0] } };
      if (p[2]) c.label.en = p[2];
      return c;
    });
  }

  function specific(f) {
    var out = [];
    var row = function (items) { return el("div", { class: "row" }, items); };
    if (f.type === "text") {
      out.push(row([input(T.minLength, f.min_length, setNumber(f, "min_length"), { type: "number", min: 0 }),
        input(T.maxLength, f.max_length, setNumber(f, "max_length"), { type: "number", min: 0 })]));
      out.push(input(T.multiline, f.multiline, function (v) { if (v) f.multiline = true; else delete f.multiline; }, { type: "checkbox" }));
    } else if (f.type === "number" || f.type === "money") {
      out.push(row([input(T.minimum, f.minimum, setNumber(f, "minimum"), { type: "number", step: "any" }),
        input(T.maximum, f.maximum, setNumber(f, "maximum"), { type: "number", step: "any" })]));
      if (f.type === "number") out.push(input(T.integer, f.integer, function (v) { if (v) f.integer = true; else delete f.integer; }, { type: "checkbox" }));
    } else if (f.type === "date") {
      out.push(row([input(T.minDate, f.min_date, setText(f, "min_date"), { type: "date" }),
        input(T.maxDate, f.max_date, setText(f, "max_date"), { type: "date" })]));
    } else if (f.type === "single_choice" || f.type === "multiple_choice") {
      var area = el("textarea", { rows: 4 });
      area.value = choicesText(f);
      area.addEventListener("input", function () { f.choices = parseChoices(area.value); schedule(); });
      out.push(el("label", { text: T.choices }, [area]));
      if (f.type === "multiple_choice") out.push(row([
        input(T.minSelected, f.min_selected, setNumber(f, "min_selected"), { type: "number", min: 0 }),
        input(T.maxSelected, f.max_selected, setNumber(f, "max_selected"), { type: "number", min: 0 })]));
    } else if (f.type === "likert") {
      out.push(row([input(T.scale, f.scale, setNumber(f, "scale"), { type: "number", min: 2, max: 11 }),
        input(T.low, (f.low_label || {}).zh, setLabel(f, "low_label", "zh")),
        input(T.high, (f.high_label || {}).zh, setLabel(f, "high_label", "zh"))]));
    } else if (f.type === "table") {
      out.push(row([input(T.minRows, f.min_rows, setNumber(f, "min_rows"), { type: "number", min: 0 }),
        input(T.maxRows, f.max_rows, setNumber(f, "max_rows"), { type: "number", min: 0 })]));
      out.push(nested(T.columns, f.columns, SCALAR, f));
    } else if (f.type === "section") {
      out.push(nested(T.children, f.fields, SCALAR.concat(["table"]), f));
    }
    return out;
  }

  function nested(title, list, types, owner) {
    var box = el("div", { class: "nested" }, [el("h4", { text: title })]);
    var palette = el("div", { class: "palette", role: "group", "aria-label": title });
    types.forEach(function (type) {
      var b = el("button", { type: "button", class: "secondary small", text: "+ " + T[type] });
      b.addEventListener("click", function () { list.push(newField(type)); render(); });
      palette.appendChild(b);
    });
    list.forEach(function (f, i) { box.appendChild(card(f, i, list, owner)); });
    box.appendChild(palette);
    return box;
  }

  // The fields a condition may read: the earlier ones at the same level, then (from inside a
  // section or table) the earlier top-level fields.
  function candidates(list, index, owner) {
    var out = list.slice(0, index);
    if (owner) out = out.concat(state.fields.slice(0, state.fields.indexOf(owner)));
    return out.filter(function (f) { return f.type !== "table" && f.type !== "section"; });
  }
  function everyField(list) {
    var out = [];
    list.forEach(function (f) { out.push(f); out = out.concat(everyField(f.fields || f.columns || [])); });
    return out;
  }
  // A renamed field keeps the conditions that read it (unless its old name is still taken).
  function rename(f, name) {
    var old = f.name;
    f.name = name;
    var all = everyField(state.fields);
    if (!old || all.some(function (g) { return g.name === old; })) return;
    all.forEach(function (g) { if (g.show_if && g.show_if.field === old) g.show_if.field = name; });
  }
  function shownValues(f) {
    if (!f.show_if) return [];
    if (f.show_if.in) return f.show_if.in;
    return f.show_if.equals === undefined ? [] : [f.show_if.equals];
  }

  // Every condition row on the page redraws itself in place when names, questions or choices
  // change: redrawing the cards would take the focus from the box the user clicks next.
  var conditionRows = [];
  function refreshConditions() { conditionRows.forEach(function (redraw) { redraw(); }); }

  function showIf(f, list, index, owner) {
    var options = [];
    var select = el("select", { "aria-label": T.showIf });
    var values = el("div", { class: "show-if-values" });
    var drawnFor = null;
    var drawnChoices = null;
    function dependency() { return options.filter(function (o) { return o.name === select.value; })[0]; }
    function drawOptions() {
      options = candidates(list, index, owner);
      select.textContent = "";
      select.appendChild(el("option", { value: "", text: T.always }));
      options.forEach(function (o) {
        select.appendChild(el("option", { value: o.name, text: o.name + " · " + ((o.label || {}).zh || "") }));
      });
      var wanted = f.show_if ? f.show_if.field : "";
      select.value = options.some(function (o) { return o.name === wanted; }) ? wanted : "";
    }
    // A choice question's options are ticked by their labels (the value is what is stored);
    // other questions take typed values.
    function drawValues() {
      var dep = dependency();
      var choices = dep && dep.choices ? JSON.stringify(dep.choices) : null;
      if (dep === drawnFor && choices === drawnChoices) return;
      drawnFor = dep;
      drawnChoices = choices;
      values.textContent = "";
      values.removeAttribute("role");
      values.removeAttribute("aria-label");
      if (!dep) return;
      var current = shownValues(f);
      if (dep.choices) {
        values.setAttribute("role", "group");
        values.setAttribute("aria-label", T.choosesAny);
        values.appendChild(el("span", { class: "caption", text: T.choosesAny }));
        dep.choices.forEach(function (c) {
          var box = el("input", { type: "checkbox", value: c.value });
          box.checked = current.indexOf(c.value) >= 0;
          box.addEventListener("change", update);
          var text = (zh ? c.label.zh : c.label.en || c.label.zh) || c.value;
          values.appendChild(el("label", { class: "choice" }, [box, document.createTextNode(" " + text)]));
        });
        return;
      }
      var typed = el("input", { type: "text", "aria-label": T.equalsAny, value: current.join(", ") });
      typed.addEventListener("input", update);
      values.appendChild(el("label", { text: T.equalsAny }, [typed]));
    }
    function picked(dep) {
      if (dep.choices) {
        return Array.prototype.filter.call(values.querySelectorAll("input[type=checkbox]"), function (b) { return b.checked; })
          .map(function (b) { return b.value; });
      }
      var numeric = dep.type === "number" || dep.type === "money" || dep.type === "likert";
      var typed = values.querySelector("input");
      return (typed ? typed.value : "").split(/[,，]/).map(function (s) { return s.trim(); }).filter(Boolean)
        .map(function (s) { return numeric && !isNaN(Number(s)) ? Number(s) : s; });
    }
    function update() {
      var dep = dependency();
      if (!dep) { delete f.show_if; schedule(); return; }
      var chosen = picked(dep);
      f.show_if = chosen.length > 1 ? { field: dep.name, in: chosen } : { field: dep.name, equals: chosen[0] };
      schedule();
    }
    select.addEventListener("change", function () {
      var dep = dependency();
      // A newly chosen question starts afresh: a choice question with its first option ticked.
      if (dep && (!f.show_if || f.show_if.field !== dep.name)) {
        f.show_if = dep.choices && dep.choices.length ? { field: dep.name, equals: dep.choices[0].value } : { field: dep.name };
      }
      drawValues();
      update();
    });
    drawOptions();
    drawValues();
    conditionRows.push(function () { drawOptions(); drawValues(); });
    return el("div", { class: "row" }, [el("label", { text: T.showIf }, [select]), values]);
  }

  function card(f, index, list, owner) {
    var header = el("header", {}, [el("strong", { text: (index + 1) + ". " + T[f.type] })]);
    var tools = el("span", {});
    var buttons = [];
    [["up", -1], ["down", 1]].forEach(function (m) {
      var b = el("button", { type: "button", class: "secondary small", text: T[m[0]], "aria-label": T[m[0]] + " " + f.name });
      buttons.push([b, T[m[0]]]);
      b.disabled = (m[1] < 0 && index === 0) || (m[1] > 0 && index === list.length - 1);
      b.addEventListener("click", function () {
        var j = index + m[1];
        list.splice(j, 0, list.splice(index, 1)[0]);
        render();
      });
      tools.appendChild(b);
    });
    var del = el("button", { type: "button", class: "secondary small", text: T.remove, "aria-label": T.remove + " " + f.name });
    buttons.push([del, T.remove]);
    del.addEventListener("click", function () { list.splice(index, 1); render(); });
    tools.appendChild(del);
    header.appendChild(tools);
    // Renaming updates this card and the conditions in place (see refreshConditions).
    var name = input(T.name, f.name, function (v) {
      rename(f, v);
      node.setAttribute("data-field", v);
      buttons.forEach(function (b) { b[0].setAttribute("aria-label", b[1] + " " + v); });
    }, { pattern: "[a-z][a-z0-9_]{0,63}", spellcheck: "false", "data-name": "1" });
    var body = [header,
      el("div", { class: "row" }, [name, input(T.required, f.required, function (v) { if (v) f.required = true; else delete f.required; }, { type: "checkbox" })]),
      el("div", { class: "row" }, [input(T.labelZh, f.label.zh, function (v) { f.label.zh = v; }),
        input(T.labelEn, f.label.en, setLabel(f, "label", "en"))]),
      input(T.help, (f.help || {}).zh, setLabel(f, "help", "zh"))];
    body = body.concat(specific(f));
    if (candidates(list, index, owner).length) body.push(showIf(f, list, index, owner));
    var node = el("div", { class: "field-card", "data-field": f.name }, body);
    return node;
  }

  function render() {
    var box = document.getElementById("fields");
    box.textContent = "";
    conditionRows = [];
    state.fields.forEach(function (f, i) { box.appendChild(card(f, i, state.fields, null)); });
    schedule();
  }

  // --- preview, saving, publishing ----------------------------------------------------
  var timer = null;
  function schedule() { refreshConditions(); clearTimeout(timer); timer = setTimeout(preview, 250); }
  function meta() {
    var title = { zh: document.getElementById("form-title-zh").value.trim() };
    var en = document.getElementById("form-title-en").value.trim();
    if (en) title.en = en;
    var description = null;
    var aboutZh = document.getElementById("form-description-zh").value.trim();
    var aboutEn = document.getElementById("form-description-en").value.trim();
    if (aboutZh) { description = { zh: aboutZh }; if (aboutEn) description.en = aboutEn; }
    return { key: document.getElementById("form-key").value.trim(), kind: document.getElementById("form-kind").value, title: title, description: description };
  }
  // What a version's body carries besides its fields: the description, and the rules of a
  // reopened form (the builder does not edit them; they go on with the form).
  function content() {
    var body = { fields: state.fields };
    var m = meta();
    if (m.description) body.description = m.description;
    if (state.rules && Object.keys(state.rules).length) body.rules = state.rules;
    return body;
  }
  function post(url, method, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json().catch(function () { return {}; }).then(function (b) { return { status: r.status, body: b }; }); });
  }
  function showIssues(errors) {
    var box = document.getElementById("issues");
    box.textContent = "";
    if (!errors || !errors.length) return;
    var list = el("ul", {});
    errors.forEach(function (e) {
      var m = /^\/fields\/(\d+)/.exec(e.path || "");
      var where = m ? fmt(T.field, Number(m[1]) + 1) + (e.path.length > m[0].length ? " (" + e.path.slice(m[0].length + 1) + ")" : "") + "：" : "";
      list.appendChild(el("li", { text: where + ((zh && e.message_zh) || e.message) }));
    });
    box.appendChild(el("div", { class: "errors" }, [el("p", { text: T.issues }), list]));
  }
  function preview() {
    var m = meta();
    if (!state.fields.length) return;
    post("/admin/builder/preview", "POST", { title: m.title.zh ? m.title : { zh: "…" }, description: m.description, fields: state.fields }).then(function (r) {
      showIssues(r.body.errors);
      if (!r.body.html) return;
      var box = document.getElementById("preview");
      box.innerHTML = r.body.html;
      var form = box.querySelector("form");
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      if (window.surveyForm) window.surveyForm.setUp(form);
      document.getElementById("schema").textContent = JSON.stringify(r.body.schema, null, 2);
    });
  }
  function say(text) { document.getElementById("status").textContent = text; }
  function save() {
    var m = meta();
    if (!/^[a-z][a-z0-9-]{1,62}[a-z0-9]$/.test(m.key) || !m.title.zh) { say(T.needKey); return Promise.reject(); }
    var request;
    var creating = state.key !== m.key;
    if (creating) {
      var body = content();
      body.key = m.key; body.kind = m.kind; body.title = m.title;
      request = post("/api/v1/forms", "POST", body);
    } else if (state.published) {
      request = post("/api/v1/forms/" + m.key + "/versions", "POST", content());
    } else {
      request = post("/api/v1/forms/" + m.key + "/versions/" + state.version, "PUT", content());
    }
    return request.then(function (r) {
      if (creating && r.status === 409) {  // the key is taken: offer a new version of that form
        offerVersion(m.key);
        return Promise.reject();
      }
      if (r.status >= 300) {
        say(T.failed + (r.body.detail || r.status));
        showIssues(r.body.errors);
        return Promise.reject();
      }
      var versions = r.body.versions;
      state.key = m.key;
      state.version = versions ? versions[versions.length - 1].number : r.body.number;
      state.published = false;
      showIssues([]);
      say(fmt(T.saved, state.key, state.version));
    });
  }
  function offerVersion(key) {
    var box = document.getElementById("status");
    var button = el("button", { type: "button", class: "secondary small", text: T.saveAsVersion });
    box.textContent = "";
    box.appendChild(el("p", { text: fmt(T.keyExists, key) }, [document.createTextNode(" "), button]));
    button.addEventListener("click", function () {
      button.disabled = true;
      post("/api/v1/forms/" + key + "/versions", "POST", content()).then(function (r) {
        if (r.status >= 300) {
          button.disabled = false;
          say(T.failed + (r.body.detail || r.status));
          showIssues(r.body.errors);
          return;
        }
        state.key = key;
        state.version = r.body.number;
        state.published = false;
        showIssues([]);
        say(fmt(T.saved, state.key, state.version));
      });
    });
  }
  function publish() {
    save().then(function () {
      return post("/api/v1/forms/" + state.key + "/versions/" + state.version + "/publish", "POST", {});
    }).then(function (r) {
      if (!r) return;
      if (r.status >= 300) { say(T.failed + (r.body.detail || r.status)); return; }
      state.published = true;
      say(fmt(T.published, state.key, state.version));
    }).catch(function () { /* said already */ });
  }

  var palette = document.querySelector("[data-palette]");
  TYPES.forEach(function (type) {
    var b = el("button", { type: "button", class: "secondary small", text: "+ " + T[type], "data-add": type });
    b.addEventListener("click", function () { state.fields.push(newField(type)); render(); });
    palette.appendChild(b);
  });
  // A draft version of an existing form, reopened: its fields, description and rules come
  // with the page; the form's key, kind and title stay as they are.
  var loaded = document.getElementById("builder-state");
  if (loaded) {
    var opened = JSON.parse(loaded.textContent);
    state.key = opened.key;
    state.version = opened.version;
    state.published = false;
    state.fields = opened.fields;
    state.rules = opened.rules || {};
    counter = everyField(state.fields).length;
    document.getElementById("form-key").value = opened.key;
    var kind = document.getElementById("form-kind");
    if (!Array.prototype.some.call(kind.options, function (o) { return o.value === opened.kind; })) {
      kind.appendChild(el("option", { value: opened.kind, text: opened.kind }));
    }
    kind.value = opened.kind;
    document.getElementById("form-title-zh").value = opened.title.zh || "";
    document.getElementById("form-title-en").value = opened.title.en || "";
    ["form-key", "form-kind", "form-title-zh", "form-title-en"].forEach(function (id) { document.getElementById(id).disabled = true; });
    if (opened.description) {
      document.getElementById("form-description-zh").value = opened.description.zh || "";
      document.getElementById("form-description-en").value = opened.description.en || "";
    }
    render();
  }
  document.getElementById("save").addEventListener("click", function () { save().catch(function () {}); });
  document.getElementById("publish").addEventListener("click", publish);
  ["form-title-zh", "form-title-en", "form-description-zh", "form-description-en"].forEach(function (id) { document.getElementById(id).addEventListener("input", schedule); });
})();
