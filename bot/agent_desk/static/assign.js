// Majlis agent desk: availability, offers (accept / decline), browser notifications and the chime.
// Offers and their timeouts live on the server (bot/handoff/assignment.py); this page only shows
// them and answers. Everything from a customer goes on the page with textContent.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const $ = (id) => document.getElementById(id);
  const chime = new Audio(base + "/static/offer.wav");
  const seen = new Set();  // offers already announced on this page
  let desk = null, presence = null, offers = [];

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  // Permission is asked once, on the agent's own click (browsers ignore requests without one).
  function askPermission() {
    if (!("Notification" in window) || Notification.permission !== "default") return;
    if (localStorage.getItem("majlis.notifications.asked")) return;
    localStorage.setItem("majlis.notifications.asked", "1");
    Notification.requestPermission().catch(() => {});
  }

  function notify(title, body, tag) {
    chime.currentTime = 0;
    chime.play().catch(() => {});  // a page the agent never clicked may not play sound
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const note = new Notification(title, { body, tag, lang: "ar", dir: "auto" });
    note.onclick = () => { window.focus(); note.close(); };
  }

  function showPresence() {
    const button = $("presence");
    button.textContent = presence.available ? "Available · متاح" : "Away · غير متاح";
    button.classList.toggle("available", presence.available);
    button.setAttribute("aria-pressed", String(presence.available));
    button.disabled = false;
    $("presence-load").textContent = presence.load + " / " + presence.capacity;
    const off = Object.entries(presence.auto_assign || {}).filter(([, on]) => !on).map(([q]) => q);
    $("auto-assign").textContent = off.length ? "Auto-assignment off: " + off.join(", ") : "";
  }

  // Presence is read on every live event and written by the button: an answer to an older
  // request must not overwrite a newer one (a GET sent before a click, answered after it,
  // would show "Away" again although the agent is available).
  let presenceRequests = 0;

  async function presenceCall(method, body) {
    const mine = ++presenceRequests;
    const answer = await desk.call(method, "/me/presence", body);
    if (mine === presenceRequests) {
      presence = answer;
      showPresence();
    }
  }

  function loadPresence() {
    return presenceCall("GET");
  }

  function wants(handoff) {
    return desk.labelText(handoff.wants_label) || handoff.reason;
  }

  function offerRow(offer) {
    const li = el("li", null, "queue-item offer");
    li.dataset.offer = offer.id;
    li.dataset.handoff = offer.handoff.id;
    const head = el("div", wants(offer.handoff), "queue-head");
    head.dir = "auto";
    const facts = el("div", [offer.handoff.language, offer.handoff.queue, offer.handoff.channel].join(" · "), "muted");
    const left = el("span", "", "muted offer-left");
    left.dataset.expires = offer.expires_at;
    const accept = el("button", "Accept · قبول", "small offer-accept");
    const decline = el("button", "Decline · رفض", "secondary small offer-decline");
    accept.type = decline.type = "button";
    accept.addEventListener("click", () => answer(offer, "accept"));
    decline.addEventListener("click", () => answer(offer, "decline"));
    const actions = el("div", null, "offer-actions");
    actions.append(accept, decline, left);
    li.append(head, facts, actions);
    return li;
  }

  function countdown() {
    for (const node of document.querySelectorAll(".offer-left")) {
      const seconds = Math.max(0, Math.round((Date.parse(node.dataset.expires) - Date.now()) / 1000));
      node.textContent = seconds + "s";
    }
  }

  async function loadOffers() {
    offers = (await desk.call("GET", "/offers")).offers;
    $("offers").hidden = offers.length === 0;
    $("offers-list").replaceChildren(...offers.map(offerRow));
    countdown();
    for (const offer of offers) {
      if (seen.has(offer.id)) continue;
      seen.add(offer.id);
      notify("New conversation offered · محادثة جديدة", wants(offer.handoff) + " · " + offer.handoff.queue,
        "offer-" + offer.id);
    }
  }

  async function answer(offer, verb) {
    $("composer-status").textContent = "";
    try {
      await desk.call("POST", "/offers/" + offer.id + "/" + verb);
      if (verb === "accept") await desk.open(offer.handoff.id);
    } catch (error) {
      $("composer-status").textContent = error.message;
    }
    await Promise.all([loadOffers(), loadPresence(), desk.loadQueue()]);
  }

  async function togglePresence() {
    if (!presence) return;  // the button is enabled once presence is known
    askPermission();
    await presenceCall("POST", { available: !presence.available });
  }

  async function onEvent(event) {
    const data = event.data || {};
    if (event.type === "handoff.customer_message" && desk.owns(event.handoff_id)) {
      notify("Customer replied · رد العميل", "A customer you are helping wrote again", "reply-" + event.handoff_id);
    }
    if (event.type === "handoff.window_escalated" && ["supervisor", "admin"].includes(desk.me.agent.role)) {
      notify("Reply window closing · نافذة الرد تنتهي", data.queue + ": " + data.minutes_left + " min", "window-" + event.handoff_id);
    }
    if (event.type && event.type.startsWith("handoff.") && event.type !== "handoff.delivery") {
      await Promise.all([loadOffers(), loadPresence()]);
    }
  }

  async function start() {
    desk = window.MajlisDesk;
    if (desk.me.agent.role === "trainer") { $("presence").hidden = true; return; }
    $("presence").addEventListener("click", () => togglePresence().catch((e) => { $("composer-status").textContent = e.message; }));
    document.addEventListener("majlis:event", (e) => onEvent(e.detail).catch(() => {}));
    await loadPresence();
    await loadOffers();
    setInterval(countdown, 1000);
  }

  if (window.MajlisDesk) start();
  else document.addEventListener("majlis:ready", () => start().catch(() => {}), { once: true });
})();
