// The dashboard's report buttons: ask for a PDF report through the API (with the session's
// CSRF token), wait for it, then link to it.
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh").indexOf("zh") === 0;
  var meta = document.querySelector("meta[name=csrf-token]");
  var csrf = meta ? meta.content : "";
  function say(id, text, href) {
    var box = document.querySelector("[data-report-status='" + id + "']");
    if (!box) return;
    box.textContent = text;
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.textContent = zh ? "下载 PDF" : "Download the PDF";
      box.appendChild(document.createTextNode(" "));
      box.appendChild(a);
    }
  }
  function wait(campaign, id, tries) {
    fetch("/api/v1/reports/" + id, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (body) {
      if (body.status === "done") say(campaign, zh ? "报告已生成。" : "The report is ready.", "/api/v1/reports/" + id + "/pdf");
      else if (body.status === "failed") say(campaign, zh ? "报告生成失败。" : "The report failed.");
      else if (tries > 0) setTimeout(function () { wait(campaign, id, tries - 1); }, 2000);
      else say(campaign, zh ? "报告仍在生成，请稍后刷新。" : "Still working; refresh later.");
    }).catch(function () { say(campaign, zh ? "无法查询报告状态。" : "Cannot ask for the report's status."); });
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-report]");
    if (!button) return;
    var campaign = button.getAttribute("data-campaign");
    var body = { type: button.getAttribute("data-report"), campaign_id: Number(campaign) };
    if (button.hasAttribute("data-year")) body.year = Number(button.getAttribute("data-year"));
    if (button.hasAttribute("data-annex")) body.annex = true;
    var asOf = document.querySelector("[data-as-of='" + campaign + "']");
    if (button.getAttribute("data-report") === "participation" && asOf && asOf.value) body.as_of = asOf.value;
    say(campaign, zh ? "正在生成报告…" : "Making the report…");
    fetch("/api/v1/reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (b) { return [r.status, b]; });
    }).then(function (result) {
      if (result[0] === 202 || result[0] === 200 || result[0] === 201) wait(campaign, result[1].id, 60);
      else say(campaign, (zh ? "无法生成报告：" : "No report: ") + (result[1].detail || result[0]));
    }).catch(function () { say(campaign, zh ? "无法生成报告。" : "No report."); });
  });
})();
