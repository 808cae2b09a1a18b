// Supervisor view: queue lengths, waiting times, who handles what (textContent only).
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const cell = (text) => { const td = document.createElement("td"); td.textContent = String(text); td.dir = "auto"; return td; };
  const mins = (s) => Math.floor(s / 60) + "m " + (s % 60) + "s";
  async function refresh() {
    const answer = await fetch(base + "/api/v1/stats", { credentials: "same-origin" });
    if (!answer.ok) return;
    const data = await answer.json();
    document.querySelector("#queues tbody").replaceChildren(...data.queues.map((q) => {
      const tr = document.createElement("tr");
      tr.append(cell(q.queue), cell(q.waiting), cell(mins(q.longest_wait_seconds)), cell(q.assigned));
      return tr;
    }));
    document.querySelector("#agents tbody").replaceChildren(...data.agents.map((a) => {
      const tr = document.createElement("tr");
      tr.append(cell(a.agent || "?"), cell(a.handoffs.map((h) => h.queue + "/" + h.language).join(", ")));
      return tr;
    }));
  }
  refresh();
  const source = new EventSource(base + "/api/v1/events");
  source.addEventListener("handoff", refresh);
  source.addEventListener("signed-out", () => { source.close(); window.location = base + "/login"; });
  setInterval(refresh, 15000);
})();
