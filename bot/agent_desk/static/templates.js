// Majlis agent desk: approved WhatsApp templates after the 24-hour window
// (bot/agent_desk/templates_api.py). The agent picks one, sees its parameters filled from the
// conversation's context, may edit them, and sends it. Values go on the page with .value and
// textContent only, never as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let desk = null, handoff = null, templates = [], drawn = "";
  const heading = (open) => open ? "Template · قالب" :
    "Reply window closed: approved templates only · انتهت نافذة الرد: القوالب المعتمدة فقط";

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  const label = (l) => [l.en, l.ar].filter(Boolean).map((t) => "\u2068" + t + "\u2069").join(" · ");
  const newKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random());

  function fill(body, values) {
    return values.reduce((text, value, i) => text.split("{{" + (i + 1) + "}}").join(value), body);
  }

  function render(answer, owns) {
    const box = $("template-picker");
    templates = answer.templates;
    box.hidden = !templates.length;
    if (!templates.length) { box.replaceChildren(); return; }
    const title = el("h3", heading(answer.window_open), "template-heading");
    const picker = el("select");
    picker.id = "template-choice";
    picker.setAttribute("aria-label", "template");
    for (const t of templates) picker.append(new Option(label(t.label) + " (" + t.language + ")", t.key));
    const fields = el("div", null, "template-fields");
    const preview = el("p", "", "template-preview");
    preview.id = "template-preview";
    preview.dir = "auto";
    const send = el("button", "Send template · إرسال القالب");
    send.type = "button";
    send.id = "template-send";
    send.disabled = !owns;
    const status = el("span", owns ? "" : "Take the conversation to send · استلم المحادثة للإرسال", "muted");
    status.id = "template-status";
    status.setAttribute("role", "status");

    const inputs = () => Array.from(fields.querySelectorAll("input"));
    const chosen = () => templates.find((t) => t.key === picker.value);
    const update = () => { preview.textContent = fill(chosen().body, inputs().map((i) => i.value)); };
    function showFields() {
      fields.replaceChildren(...chosen().parameters.map((p, i) => {
        const row = el("label", label(p.label) + " {{" + (i + 1) + "}} ", "template-field");
        const input = document.createElement("input");
        input.type = "text";
        input.dir = "auto";
        input.value = p.value;  // filled from the context; the agent may change it
        input.dataset.index = String(i);
        input.addEventListener("input", update);
        row.append(input);
        return row;
      }));
      update();
    }
    picker.addEventListener("change", showFields);
    send.addEventListener("click", async () => {
      send.disabled = true;
      status.textContent = "";
      try {
        await desk.call("POST", "/handoffs/" + encodeURIComponent(handoff) + "/templates",
          { key: picker.value, values: inputs().map((i) => i.value), client_key: newKey() });
        status.textContent = "Template sent · أُرسل القالب";
        send.disabled = false;
        await desk.open(handoff);
      } catch (error) {
        status.textContent = error.message;
        send.disabled = false;
      }
    });
    box.replaceChildren(title, picker, fields, preview, el("div", null, "composer-actions"));
    box.lastElementChild.append(send, status);
    showFields();
  }

  async function opened(event) {
    const { id, detail } = event.detail;
    handoff = id;
    const h = detail.handoff;
    const owns = h.state === "assigned" && h.agent_id === desk.me.agent.id;
    try {
      const answer = await desk.call("GET", "/handoffs/" + encodeURIComponent(id) + "/templates");
      if (handoff !== id) return;
      // The same conversation opened again (a live update): keep what the agent is editing.
      const key = id + ":" + owns;
      const title = document.querySelector("#template-picker .template-heading");
      if (key === drawn && title) { title.textContent = heading(answer.window_open); return; }
      drawn = key;
      render(answer, owns);
    } catch (error) {
      $("template-picker").hidden = true;
    }
  }

  document.addEventListener("majlis:ready", () => {
    desk = window.MajlisDesk;
    document.addEventListener("majlis:opened", (event) => { opened(event); });
  });
})();
