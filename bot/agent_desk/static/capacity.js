// Supervisor page: each agent's capacity (conversations offered at once), edited in place
// (bot/agent_desk/capacity_api.py; the same record as `./majlis users capacity`).
// The table is drawn on load and after a save only, so a refresh never wipes a number being typed.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function call(method, path, body) {
    const options = { method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (body) { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
    const answer = await fetch(base + "/api/v1" + path, options);
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.error || ("HTTP " + answer.status));
    return data;
  }

  function agentRow(agent) {
    const tr = document.createElement("tr");
    tr.dataset.agent = String(agent.id);
    const name = document.createElement("td");
    name.textContent = agent.name;
    name.dir = "auto";
    const input = document.createElement("input");
    input.type = "number";
    input.min = "0";
    input.max = "50";
    input.value = String(agent.capacity);
    input.setAttribute("aria-label", "capacity of " + agent.name);
    const save = document.createElement("button");
    save.type = "button";
    save.className = "secondary small";
    save.textContent = "Save · حفظ";
    const status = document.createElement("td");
    status.className = "muted";
    status.setAttribute("role", "status");
    save.addEventListener("click", async () => {
      status.textContent = "";
      try {
        const answer = await call("POST", "/agents/" + agent.id + "/capacity", { capacity: Number(input.value) });
        input.value = String(answer.capacity);
        status.textContent = "saved · حُفظ";
      } catch (error) {
        status.textContent = error.message;
      }
    });
    const cells = [name, document.createElement("td"), document.createElement("td"), status];
    cells[1].append(input);
    cells[2].append(save);
    tr.append(...cells);
    return tr;
  }

  async function draw() {
    const data = await call("GET", "/assignment");
    document.querySelector("#capacity tbody").replaceChildren(...data.agents.map(agentRow));
  }

  draw().catch(() => {});
})();
