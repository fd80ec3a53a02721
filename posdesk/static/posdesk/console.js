/* posdesk console: keeps SLA countdowns ticking between page loads (no dependencies). */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "").indexOf("zh") === 0;
  function span(seconds) {
    var m = Math.floor(seconds / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
    if (h < 1) return zh ? Math.max(m, seconds > 0 ? 1 : 0) + " 分钟" : Math.max(m, seconds > 0 ? 1 : 0) + " min";
    if (d < 1) return zh ? h + " 小时 " + (m % 60) + " 分钟" : h + " h " + (m % 60) + " min";
    return zh ? d + " 天 " + (h % 24) + " 小时" : d + " d " + (h % 24) + " h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".sla[data-due]").forEach(function (el) {
      var due = Date.parse(el.dataset.due), risk = el.dataset.risk ? Date.parse(el.dataset.risk) : due;
      var left = Math.round((due - now) / 1000);
      var state = left <= 0 ? "breached" : now >= risk ? "at_risk" : "on_track";
      el.className = "sla sla-" + state;
      el.textContent = left > 0 ? (zh ? "剩余 " + span(left) : span(left) + " left")
                                : (zh ? "已超时 " + span(-left) : span(-left) + " overdue");
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 30000);
})();
