// Supervisor view: auto-assignment per queue (switchable), agents' presence and load,
// conversations whose reply window is closing (bot/handoff/assignment.py). textContent only.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const cell = (text) => { const td = document.createElement("td"); td.textContent = String(text); td.dir = "auto"; return td; };
  const row = (...cells) => { const tr = document.createElement("tr"); tr.append(...cells); return tr; };
  const left = (w) => !w ? "—" : w.seconds_left <= 0 ? "closed" : Math.floor(w.seconds_left / 60) + " min";

  async function fetchJson(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    const answer = await fetch(base + "/api/v1" + path, options);
    if (!answer.ok) throw new Error("HTTP " + answer.status);
    return answer.json();
  }

  function switchCell(queue) {
    const td = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary small";
    button.dataset.queue = queue.queue;
    button.textContent = queue.auto_assign ? "Turn off" : "Turn on";
    button.addEventListener("click", async () => {
      await fetchJson("POST", "/queues/" + encodeURIComponent(queue.queue) + "/assignment", { auto_assign: !queue.auto_assign });
      await refresh();
    });
    td.append(button);
    return td;
  }

  async function refresh() {
    const data = await fetchJson("GET", "/assignment");
    document.querySelector("#auto-assign tbody").replaceChildren(...data.queues.map((q) =>
      row(cell(q.queue), cell(q.auto_assign ? "on" : "off"), switchCell(q))));
    document.querySelector("#presence tbody").replaceChildren(...data.agents.map((a) =>
      row(cell(a.name), cell(a.available ? "available" : "away"), cell((a.load ?? "–") + " / " + a.capacity))));
    document.querySelector("#escalations tbody").replaceChildren(...data.escalations.map((e) =>
      row(cell(e.id.slice(0, 8)), cell(e.queue), cell(e.state), cell(left(e.window)))));
  }

  refresh().catch(() => {});
  const source = new EventSource(base + "/api/v1/events");
  source.addEventListener("handoff", () => refresh().catch(() => {}));
  setInterval(() => refresh().catch(() => {}), 15000);
})();
