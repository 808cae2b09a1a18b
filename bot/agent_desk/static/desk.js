// Majlis agent desk. Everything a customer (or anyone) wrote is put on the page with
// textContent or as attribute values set through the DOM, never as HTML.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = base + "/api/v1";
  const $ = (id) => document.getElementById(id);
  const PAGE = 50;
  const state = { me: null, current: null, detail: null, handoffs: [], offset: 0, total: 0 };
  const newKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : Date.now() + "-" + Math.random());

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  async function call(method, path, body) {
    const options = { method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(api + path, options);
    if (answer.status === 401) { window.location = base + "/login"; throw new Error("signed out"); }
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(data.error || ("HTTP " + answer.status));
    return data;
  }

  function waited(seconds) {
    if (seconds < 60) return seconds + "s";
    if (seconds < 3600) return Math.floor(seconds / 60) + "m";
    return Math.floor(seconds / 3600) + "h" + Math.floor((seconds % 3600) / 60) + "m";
  }

  function queueRow(item) {
    const li = el("li", null, "queue-item priority-" + item.priority + (state.current === item.id ? " selected" : ""));
    li.dataset.id = item.id;
    li.tabIndex = 0;
    const head = el("div", null, "queue-head");
    const wants = el("span", labelText(item.wants_label) || item.reason, "intent");
    wants.dir = "auto";
    head.append(wants, el("span", waited(item.waiting_seconds), "muted"));
    const facts = Object.entries(item.facts || {}).map(([k, v]) => k + ": " + v).join(" · ");
    const summary = el("div", item.language === "ar" ? item.summary.ar : item.summary.en, "preview");
    summary.dir = "auto";
    li.append(head, el("div", [item.language, item.queue, item.state, item.agent || ""].filter(Boolean).join(" · "), "muted"));
    if (item.window) {
      // How long the channel still allows a free-form reply; escalated ones are marked for everyone.
      if (item.window.escalated) li.classList.add("window-escalated");
      li.append(el("div", (item.window.escalated ? "⚠ " : "⏳ ") + (item.window.seconds_left > 0 ?
        "reply window " + waited(item.window.seconds_left) : "reply window closed"), "window"));
    }
    if (facts) { const f = el("div", facts, "facts-line"); f.dir = "auto"; li.append(f); }
    li.append(summary);
    li.addEventListener("click", () => open(item.id));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(item.id); });
    return li;
  }

  // The server filters and pages the queue (only what this agent serves); "Mine" is its own list.
  async function loadQueue() {
    let data = await call("GET", "/handoffs?state=queued&limit=" + PAGE + "&offset=" + state.offset);
    if (!data.handoffs.length && state.offset > 0 && data.total > 0) {
      state.offset = Math.max(0, Math.floor((data.total - 1) / PAGE) * PAGE);
      data = await call("GET", "/handoffs?state=queued&limit=" + PAGE + "&offset=" + state.offset);
    }
    const mine = await call("GET", "/handoffs?state=assigned&mine=1&limit=200");
    state.handoffs = data.handoffs.concat(mine.handoffs);
    state.total = data.total;
    $("queue-list").replaceChildren(...data.handoffs.map(queueRow));
    $("mine-list").replaceChildren(...mine.handoffs.map(queueRow));
    $("queue-count").textContent = String(data.total);
    const first = data.total ? state.offset + 1 : 0;
    $("queue-page").textContent = first + "–" + (state.offset + data.handoffs.length) + " / " + data.total;
    $("queue-prev").disabled = state.offset === 0;
    $("queue-next").disabled = state.offset + PAGE >= data.total;
  }

  function setupPager() {
    $("queue-prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); loadQueue(); });
    $("queue-next").addEventListener("click", () => { state.offset += PAGE; loadQueue(); });
  }

  function tick(status) {
    const marks = { pending: "🕓", queued: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓ read", failed: "⚠ failed", skipped: "⚠ failed" };
    return status ? (marks[status] || status) : "";
  }

  function turnNode(turn) {
    const li = el("li", null, "turn turn-" + turn.role);
    const bubble = el("div", null, "bubble");
    const text = el("p", turn.text, "text");
    text.dir = "auto";
    bubble.append(text);
    // media.js draws each file through the desk's media proxy (bot/agent_desk/media_proxy.py)
    for (const media of turn.media || []) bubble.append(window.MajlisMedia.node(media));
    const meta = [turn.role === "agent" || turn.role === "note" ? turn.author : turn.role,
      turn.at ? new Date(turn.at).toLocaleTimeString() : ""];
    if (turn.intent) meta.push((labelText(turn.intent.label) || turn.intent.name) + " " + Math.round(turn.intent.confidence * 100) + "%");
    if (turn.entities && turn.entities.length) meta.push(turn.entities.map((e) => e.entity + "=" + e.value).join(", "));
    const footer = el("div", meta.filter(Boolean).join(" · "), "meta");
    footer.dir = "auto";
    bubble.append(footer);
    if (turn.role === "agent") {
      const status = el("span", tick(turn.status), "tick status-" + (turn.status || ""));
      if (turn.id) status.dataset.message = turn.id.slice(1);
      bubble.append(status);
      if (turn.status === "failed" && turn.id) {
        const retry = el("button", "Retry", "secondary small");
        retry.type = "button";
        retry.addEventListener("click", () => act("POST", "/handoffs/" + state.current + "/messages/" + turn.id.slice(1) + "/retry"));
        bubble.append(retry);
      }
    }
    li.append(bubble);
    return li;
  }

  // An intent as agents read it, in both languages ("order status · حالة الطلب"); each part is
  // a bidi isolate so the mixed line keeps its reading order.
  function labelText(label) {
    if (!label) return "";
    return [label.en, label.ar].filter(Boolean).map((t) => "\u2068" + t + "\u2069").join(" · ");
  }

  function showContext(detail) {
    const h = detail.handoff, c = detail.context;
    $("ctx-name").textContent = c.customer.display_name || c.customer.sender_id;
    $("ctx-channel").textContent = c.channel.name;
    $("ctx-window").textContent = c.channel.window_seconds_left == null ? "" :
      "reply window: " + waited(c.channel.window_seconds_left);
    $("ctx-state").textContent = h.state + (h.agent ? " · " + h.agent : "");
    $("ctx-intent").textContent = labelText(c.summary.wants_label) || "—";
    $("ctx-intent").dir = "auto";
    $("ctx-reason").textContent = c.reason + (c.signals.length ? " (" + c.signals.join(", ") + ")" : "");
    $("ctx-priority").textContent = String(c.priority);
    const dialect = c.customer.dialect && c.customer.dialect.region;
    $("ctx-language").textContent = c.customer.language + " · " + c.customer.form +
      (dialect && dialect !== "unknown" ? " · " + dialect + " (" + Math.round(100 * c.customer.dialect.confidence) + "%)" : "");
    $("ctx-entry").textContent = c.entry.kind + (c.entry.headline ? ": " + c.entry.headline : "");
    $("ctx-history").textContent = c.customer.earlier_handoffs.length + " earlier handoff(s), " +
      c.customer.earlier_conversations + " earlier conversation(s)";
    const facts = $("ctx-facts");
    facts.replaceChildren();
    for (const [key, value] of Object.entries(c.summary.facts || {})) {
      const dd = el("dd", value, "fact-" + key);
      dd.dir = "auto";
      facts.append(el("dt", key.replace("_", " ")), dd);
    }
    $("ctx-summary-ar").textContent = c.summary.ar;
    $("ctx-summary-en").textContent = c.summary.en;
    const mine = h.state === "assigned" && h.agent_id === state.me.agent.id;
    $("claim").hidden = h.state !== "queued";
    $("release").hidden = !mine;
    $("close").hidden = !mine;
    $("transfer").hidden = !mine;
    $("transfer-queue").hidden = !mine;
    $("resolution").hidden = !mine;
    $("send").disabled = !mine;
    $("transcript").replaceChildren(...c.transcript.map(turnNode));
    document.dispatchEvent(new CustomEvent("majlis:shown", { detail }));  // media.js fills the card's media
    $("transcript").lastElementChild && $("transcript").lastElementChild.scrollIntoView({ block: "end" });
  }

  async function open(id) {
    state.current = id;
    const detail = await call("GET", "/handoffs/" + encodeURIComponent(id));
    state.detail = detail;
    $("empty").hidden = true;
    $("conversation").hidden = false;
    showContext(detail);
    document.dispatchEvent(new CustomEvent("majlis:opened", { detail: { id, detail } }));  // templates.js listens
    document.querySelectorAll(".queue-item").forEach((n) => n.classList.toggle("selected", n.dataset.id === id));
  }

  async function act(method, path, body) {
    $("composer-status").textContent = "";
    try {
      await call(method, path, body);
      if (state.current) await open(state.current);
      await loadQueue();
    } catch (error) {
      $("composer-status").textContent = error.message;
    }
  }

  function setupComposer() {
    const id = () => "/handoffs/" + encodeURIComponent(state.current);
    $("claim").addEventListener("click", () => act("POST", id() + "/claim"));
    $("release").addEventListener("click", () => act("POST", id() + "/release"));
    $("transfer").addEventListener("click", () => act("POST", id() + "/transfer", { queue: $("transfer-queue").value }));
    $("close").addEventListener("click", () => act("POST", id() + "/close", { resolution: $("resolution").value }));
    $("send").addEventListener("click", async () => {
      const text = $("reply-text").value.trim();
      if (!text) return;
      $("reply-text").value = "";
      await act("POST", id() + "/messages", { text, client_key: newKey() });
    });
    $("add-note").addEventListener("click", async () => {
      const text = $("reply-text").value.trim();
      if (!text) return;
      $("reply-text").value = "";
      await act("POST", id() + "/notes", { text, client_key: newKey() });
    });
    for (const queue of state.me.queues) $("transfer-queue").append(new Option(queue, queue));
    for (const code of state.me.resolutions) $("resolution").append(new Option(code, code));
    for (const canned of state.me.canned_replies) {
      for (const lang of ["ar", "en"]) {
        const button = el("button", canned.id + " (" + lang + ")", "secondary small");
        button.type = "button";
        button.addEventListener("click", () => {
          $("reply-text").value = canned[lang].replace("{agent}", state.me.agent.name);
          $("reply-text").focus();
        });
        $("canned").append(button);
      }
    }
  }

  function listen() {
    const source = new EventSource(api + "/events");
    source.addEventListener("open", () => $("live").classList.add("on"));
    source.addEventListener("error", () => $("live").classList.remove("on"));
    source.addEventListener("signed-out", () => { source.close(); window.location = base + "/login"; });
    source.addEventListener("handoff", async (message) => {
      const event = JSON.parse(message.data);
      document.dispatchEvent(new CustomEvent("majlis:event", { detail: event }));  // assign.js listens
      if (event.type === "handoff.delivery") {
        const node = document.querySelector('.tick[data-message="' + Number(event.data.message_id) + '"]');
        if (node) { node.textContent = tick(event.data.state); node.className = "tick status-" + event.data.state; }
        if (event.data.state !== "failed") return;
      }
      await loadQueue();
      if (state.current && event.handoff_id === state.current) await open(state.current);
    });
  }

  async function main() {
    state.me = await call("GET", "/me");
    $("supervisor-link").hidden = !["supervisor", "admin"].includes(state.me.agent.role);
    $("workbench-link").hidden = !["trainer", "supervisor", "admin"].includes(state.me.agent.role);
    $("reports-link").hidden = !["supervisor", "admin", "trainer"].includes(state.me.agent.role);
    setupComposer();
    setupPager();
    await loadQueue();
    // For assign.js (offers, presence, notifications): the same API helper and views.
    window.MajlisDesk = { call, open, loadQueue, me: state.me, labelText, current: () => state.current,
      owns: (id) => state.handoffs.some((h) => h.id === id && h.agent_id === state.me.agent.id) };
    document.dispatchEvent(new CustomEvent("majlis:ready"));
    listen();
    setInterval(() => loadQueue().catch(() => {}), 30000);
  }

  main().catch((error) => { $("composer-status").textContent = error.message; });
})();
