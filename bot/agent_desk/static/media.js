// Majlis agent desk: customers' photos, voice notes, videos and files, and sending a file.
// Every file comes from the desk's own media proxy (api/v1/media/<id>, signed-in agents only),
// so the page's CSP stays img-src/media-src 'self' and no provider URL or token reaches the browser.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = base + "/api/v1";
  const $ = (id) => document.getElementById(id);
  const LABELS = { image: "photo · صورة", audio: "voice note · رسالة صوتية", video: "video · فيديو" };

  function text(tag, value, cls) {
    const node = document.createElement(tag);
    node.textContent = value;
    if (cls) node.className = cls;
    return node;
  }

  function label(media) {
    if (media.kind === "audio" && !media.voice) return "audio · صوت";
    return LABELS[media.kind] || (media.filename || "file · ملف");
  }

  // One file as the agent sees it: a picture, a player, or a download link (documents never open inline).
  function node(media) {
    if (!media.media_id) return text("span", "[" + label(media) + " — not available · غير متاح]", "muted media-missing");
    const src = api + "/media/" + encodeURIComponent(media.media_id);
    let shown;
    if (media.kind === "image") {
      shown = document.createElement("img");
      shown.alt = media.caption || label(media);
      shown.loading = "lazy";
    } else if (media.kind === "audio" || media.kind === "video") {
      shown = document.createElement(media.kind);
      shown.controls = true;
      shown.preload = "metadata";
    } else {
      shown = text("a", "📎 " + label(media), "media-file");
      shown.href = src;
      shown.download = media.filename || "";
      shown.dir = "auto";
      return shown;
    }
    shown.src = src;
    shown.className = "media media-" + media.kind + (media.voice ? " voice-note" : "");
    shown.dataset.mediaId = media.media_id;
    return shown;
  }

  // The context card lists the customer's media (a voice note is playable right there).
  function fillCard(detail) {
    const list = $("ctx-media");
    const found = [];
    for (const turn of detail.context.transcript) {
      if (turn.role !== "customer") continue;
      for (const media of turn.media || []) found.push(media);
    }
    list.replaceChildren(...(found.length ? found.map((media) => {
      const item = document.createElement("span");
      item.className = "card-media";
      item.append(text("span", label(media), "muted"), node(media));
      return item;
    }) : [text("span", "—")]));
    $("attach-send").disabled = $("send").disabled;
  }

  async function sendFile() {
    const file = $("attach-file").files[0];
    const id = window.MajlisDesk && window.MajlisDesk.current();
    if (!file || !id) return;
    const caption = $("reply-text").value.trim();
    const query = new URLSearchParams({ filename: file.name, caption,
      client_key: window.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) });
    $("composer-status").textContent = "";
    const answer = await fetch(api + "/handoffs/" + encodeURIComponent(id) + "/attachments?" + query, {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "X-CSRF-Token": csrf, "Content-Type": file.type || "application/octet-stream" } });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) { $("composer-status").textContent = data.error || ("HTTP " + answer.status); return; }
    $("attach-file").value = "";
    $("reply-text").value = "";
    await window.MajlisDesk.open(id);
  }

  window.MajlisMedia = { node };
  document.addEventListener("majlis:shown", (event) => fillCard(event.detail));
  document.addEventListener("DOMContentLoaded", () => {
    $("attach-send").disabled = true;
    $("attach-send").addEventListener("click", () => sendFile().catch((error) => {
      $("composer-status").textContent = error.message;
    }));
  });
})();
