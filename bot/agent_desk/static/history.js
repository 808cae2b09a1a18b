// Majlis agent desk: the customer's other conversations (another channel linked to the same
// customer by a verification or the operator's backend; bot/agent_desk/links_api.py), shown on
// the context card, each labelled by its channel. Customer words go on the page with textContent.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let desk = null, current = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function conversation(c) {
    const section = el("section", null, "linked-conversation");
    section.dataset.channel = c.channel;
    const head = el("h4", c.label.en + " · " + c.label.ar, "linked-channel");
    head.append(el("span", " " + c.sender_id.split(":").slice(1).join(":") + " · " + c.source, "muted"));
    section.append(head);
    if (c.handoffs.length) {
      section.append(el("p", c.handoffs.length + " earlier handoff(s): " +
        c.handoffs.map((h) => h.reason + (h.resolution ? " → " + h.resolution : "")).join(", "), "muted"));
    }
    const list = el("ol", null, "linked-turns");
    for (const turn of c.turns) {
      const li = el("li", null, "linked-turn turn-" + turn.role);
      const text = el("span", turn.text);
      text.dir = "auto";
      li.append(el("span", turn.role + (turn.at ? " " + new Date(turn.at).toLocaleString() : "") + ": ", "muted"), text);
      list.append(li);
    }
    if (!c.turns.length) list.append(el("li", "no messages kept", "muted"));
    section.append(list);
    return section;
  }

  async function opened(event) {
    const id = event.detail.id;
    current = id;
    const box = $("linked-history");
    try {
      const answer = await desk.call("GET", "/handoffs/" + encodeURIComponent(id) + "/linked-history");
      if (current !== id) return;
      box.hidden = !answer.conversations.length;
      box.replaceChildren(el("h3", "Same customer on other channels · نفس العميل في قنوات أخرى"),
        ...answer.conversations.map(conversation));
    } catch (error) {
      box.hidden = true;
    }
  }

  document.addEventListener("majlis:ready", () => {
    desk = window.MajlisDesk;
    document.addEventListener("majlis:opened", (event) => { opened(event); });
  });
})();
