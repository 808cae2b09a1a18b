// The trainer's workbench (bot/workbench/routes.py). Everything customers wrote is set with textContent.
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const api = base + "/workbench/api";  // session only: not part of the integrations API (openapi.yaml)
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  };
  const state = { group: null, intent: null, entities: [], intents: {}, polling: null };

  async function get(path) {
    const answer = await fetch(api + path, { credentials: "same-origin" });
    if (answer.status === 401) { window.location = base + "/login"; throw new Error("signed out"); }
    return answer.json();
  }
  async function post(path, body) {
    const answer = await fetch(api + path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body || {}),
    });
    return { ok: answer.ok, status: answer.status, data: await answer.json() };
  }

  // -- tabs -------------------------------------------------------------------
  document.querySelectorAll(".wb-tabs .tab").forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll(".wb-tabs .tab").forEach((t) => t.setAttribute("aria-pressed", String(t === tab)));
    document.querySelectorAll(".wb-section").forEach((s) => { s.hidden = s.id !== "tab-" + tab.dataset.tab; });
    ({ inbox: loadInbox, coverage: loadCoverage, answers: loadAnswers, models: loadModels, audit: loadAudit })[tab.dataset.tab]();
  }));

  // -- inbox ------------------------------------------------------------------
  async function loadFilters() {
    const values = await get("/filters");
    for (const [name, options] of Object.entries(values)) {
      const select = document.querySelector(`#filters select[name="${name}"]`);
      if (!select) continue;
      const current = select.value;
      select.replaceChildren(el("option", "all"), ...options.map((v) => { const o = el("option", v); o.value = v; return o; }));
      select.firstChild.value = "";
      select.value = current;
    }
  }

  function intentChips(intents) {
    const span = el("span");
    intents.slice(0, 3).forEach((i) => span.append(el("span", `${i.name} ${Math.round(i.confidence * 100)}%`, "badge wb-intent-chip")));
    return span;
  }

  function groupItem(g) {
    const li = el("li", null, "wb-group");
    li.dataset.group = g.group;
    const head = el("div", null, "wb-group-head");
    head.append(el("span", "×" + g.count, "badge wb-count"),
      el("span", [g.language, g.form, g.dialect].filter(Boolean).join(" · "), "badge wb-lang"),
      el("span", g.channel, "badge"));
    g.reasons.forEach((r) => head.append(el("span", r, "badge wb-reason")));
    const text = el("p", g.text, "wb-text");
    text.dir = "auto";
    if (g.language === "ar" && g.form === "arabic") { text.lang = "ar"; text.dir = "rtl"; }
    li.append(head, text);
    if (g.transliteration) {
      const t = el("p", "→ " + g.transliteration, "wb-translit");
      t.dir = "rtl"; t.lang = "ar";
      li.append(t);
    }
    li.append(intentChips(g.intents));
    const actions = el("div", null, "actions");
    const conv = el("button", "Conversation · المحادثة", "secondary small wb-conversation");
    conv.type = "button";
    const variants = el("button", "Variants · الصيغ", "secondary small wb-show-variants");
    variants.type = "button";
    const label = el("button", "Label · تصنيف", "small wb-label");
    label.type = "button";
    actions.append(conv, variants, label);
    li.append(actions);
    const extra = el("div");
    li.append(extra);
    conv.addEventListener("click", async () => {
      const data = await get(`/messages/${g.id}/conversation`);
      const ol = el("ol", null, "wb-turns");
      data.turns.forEach((turn) => {
        const item = el("li", null, turn.this ? "this" : "");
        item.append(el("span", turn.who + (turn.intent ? " · " + turn.intent : ""), "who"));
        const t = el("span", turn.text); t.dir = "auto";
        item.append(t);
        ol.append(item);
      });
      extra.replaceChildren(ol);
    });
    variants.addEventListener("click", async () => {
      const data = await get(`/groups/${g.group}/members`);
      const ol = el("ol", null, "wb-variants");
      data.members.forEach((m) => { const item = el("li", `×${m.count}  ${m.text}`); item.dir = "auto"; ol.append(item); });
      extra.replaceChildren(ol);
    });
    label.addEventListener("click", () => openLabel(g, li));
    return li;
  }

  async function loadInbox() {
    const form = new FormData($("filters"));
    const query = new URLSearchParams();
    for (const [k, v] of form.entries()) if (v) query.set(k, v);
    const data = await get("/inbox?" + query.toString());
    $("inbox-total").textContent = `${data.total} groups · مجموعات`;
    $("groups").replaceChildren(...data.groups.map(groupItem));
    loadFilters();
  }
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); loadInbox(); });

  // -- labelling --------------------------------------------------------------
  function openLabel(g, li) {
    document.querySelectorAll(".wb-group.selected").forEach((n) => n.classList.remove("selected"));
    li.classList.add("selected");
    state.group = g; state.entities = []; state.intent = null;
    $("label-panel").hidden = false;
    $("label-text").textContent = g.training_text;
    $("chosen-intent").textContent = "—";
    $("accept").disabled = true;
    $("label-result").textContent = "";
    $("label-result").className = "wb-result";
    renderEntities();
    renderIntents();
  }

  function renderEntities() {
    $("entity-list").replaceChildren(...state.entities.map((e) => {
      const li = el("li", `${e.entity}: ${state.group.training_text.slice(e.start, e.end)}`);
      li.dir = "auto";
      return li;
    }));
  }

  $("mark-entity").addEventListener("click", () => {
    const selection = window.getSelection();
    const node = $("label-text").firstChild;
    if (!selection.rangeCount || !node) return;
    const range = selection.getRangeAt(0);
    if (range.startContainer !== node || range.endContainer !== node || range.collapsed) return;
    state.entities.push({ start: range.startOffset, end: range.endOffset, entity: $("entity-type").value });
    selection.removeAllRanges();
    renderEntities();
  });
  $("clear-entities").addEventListener("click", () => { state.entities = []; renderEntities(); });

  function renderIntents() {
    const term = $("intent-search").value.trim().toLowerCase();
    const items = Object.entries(state.intents).filter(([name, examples]) => !term || name.includes(term)
      || Object.values(examples).some((list) => list.some((x) => x.toLowerCase().includes(term))));
    $("intent-list").replaceChildren(...items.map(([name, examples]) => {
      const li = el("li", null, name === state.intent ? "chosen" : "");
      li.dataset.intent = name;
      li.append(el("div", name, "name"));
      for (const folder of ["en", "ar", "arabizi"]) {
        const line = el("div", (examples[folder] || []).slice(0, 2).join(" · "), "examples");
        line.dir = "auto";
        li.append(line);
      }
      li.addEventListener("click", () => {
        state.intent = name;
        $("chosen-intent").textContent = name;
        $("accept").disabled = false;
        renderIntents();
      });
      return li;
    }));
  }
  $("intent-search").addEventListener("input", renderIntents);

  async function decide(action) {
    if (!state.group) return;
    const result = await post(`/groups/${state.group.group}/label`, {
      action, intent: state.intent, entities: state.entities, message_id: state.group.id,
    });
    const out = $("label-result");
    if (!result.ok) { out.textContent = result.data.error || "failed"; return; }
    const d = result.data;
    const parts = [`${d.messages} messages · ${d.written.length} examples written`];
    if (d.written.length) parts.push(d.written.map((w) => w.path).filter((v, i, a) => a.indexOf(v) === i).join(", "));
    if (d.duplicates.length) parts.push(`${d.duplicates.length} already there`);
    if (d.conflicts.length) parts.push("conflict: " + d.conflicts.map((c) => `"${c.text}" is already ${c.other_intent}`).join("; "));
    out.textContent = parts.join(" · ");
    out.className = "wb-result" + (d.conflicts.length ? " conflict" : " done");
    if (!d.conflicts.length) { await loadInbox(); }
  }
  $("accept").addEventListener("click", () => decide("label"));
  $("out-of-scope").addEventListener("click", () => decide("out_of_scope"));
  $("ignore").addEventListener("click", () => decide("ignore"));

  // -- coverage ---------------------------------------------------------------
  async function loadCoverage() {
    const data = await get("/coverage");
    $("weak-below").textContent = String(data.weak_below);
    const head = el("tr");
    ["intent", ...data.columns, "accuracy (active → candidate)"].forEach((c) => head.append(el("th", c)));
    document.querySelector("#coverage thead").replaceChildren(head);
    document.querySelector("#coverage tbody").replaceChildren(...data.rows.map((row) => {
      const tr = el("tr");
      tr.append(el("td", row.intent));
      data.columns.forEach((c) => tr.append(el("td", row.counts[c], row.weak.includes(c) ? "weak" : "")));
      const acc = row.accuracy && row.accuracy.n ? `${Math.round(row.accuracy.active * 100)}% → ${Math.round(row.accuracy.candidate * 100)}% (${row.accuracy.n})` : "";
      tr.append(el("td", acc));
      return tr;
    }));
  }

  // -- models -----------------------------------------------------------------
  function bars(rows) {
    const box = el("div", null, "wb-bars");
    rows.forEach((r) => {
      for (const which of ["active", "candidate"]) {
        const row = el("div", null, "wb-bar-row");
        const bar = el("div", null, "wb-bar " + which);
        bar.style.width = Math.round(r[which] * 100) + "%";  // CSSOM: allowed by the CSP
        row.append(el("span", `${r.name} · ${which}`), bar, el("span", Math.round(r[which] * 100) + "%"));
        box.append(row);
      }
    });
    return box;
  }

  function comparisonView(comparison) {
    const box = el("div");
    for (const [set, result] of Object.entries(comparison)) {
      const title = set === "labelled" ? "Labelled messages (regression set)" : "Sample of the training data";
      box.append(el("h3", `${title}: ${result.n} · active ${Math.round(result.active * 100)}% → candidate ${Math.round(result.candidate * 100)}%`));
      const table = el("table", null, "wb-table comparison-" + set);
      const head = el("tr");
      ["language/form", "n", "active", "candidate"].forEach((c) => head.append(el("th", c)));
      table.append(head);
      result.by_form.forEach((r) => {
        const tr = el("tr");
        const cls = r.candidate > r.active ? "better" : r.candidate < r.active ? "worse" : "";
        tr.append(el("td", r.name), el("td", r.n), el("td", Math.round(r.active * 100) + "%"),
          el("td", Math.round(r.candidate * 100) + "%", cls));
        table.append(tr);
      });
      box.append(table, bars(result.by_form));
      if (result.changed.length) {
        box.append(el("h4", "Predictions that changed · تغيّرت"));
        const changed = el("table", null, "wb-table changed-" + set);
        const h = el("tr");
        ["text", "expected", "active", "candidate"].forEach((c) => h.append(el("th", c)));
        changed.append(h);
        result.changed.forEach((c) => {
          const tr = el("tr");
          const t = el("td", c.text); t.dir = "auto";
          tr.append(t, el("td", c.expected), el("td", c.active, c.active === c.expected ? "better" : "worse"),
            el("td", c.candidate, c.candidate === c.expected ? "better" : "worse"));
          changed.append(tr);
        });
        box.append(changed);
      }
    }
    return box;
  }

  const BUSY = ["validating", "training", "comparing"];

  // The checks run before training (bot/workbench/checks.py): errors block the candidate.
  function checksView(checks) {
    if (!checks) return [];
    const title = el("h3", checks.ok ? "Data checks passed · الفحص سليم" : "Data checks failed: nothing was trained · فشل الفحص",
      checks.ok ? "better" : "worse");
    const list = el("ul", null, "wb-checks");
    checks.errors.forEach((e) => { const li = el("li", e, "worse"); li.dir = "auto"; list.append(li); });
    if (checks.more) list.append(el("li", `… ${checks.more} more`));
    checks.warnings.forEach((w) => { const li = el("li", "warning: " + w); li.dir = "auto"; list.append(li); });
    return [title, list];
  }

  async function loadModels() {
    const data = await get("/models");
    $("active-model").textContent = "Active · النموذج الحالي: " + (data.active || "—") + (data.activating ? ` (switching to ${data.activating})` : "");
    document.querySelector("#models tbody").replaceChildren(...data.models.map((m) => {
      const tr = el("tr", null, m.active ? "active-model" : "");
      tr.dataset.model = m.name;
      const button = el("button", m.active ? "Active" : "Activate · تفعيل", "small activate");
      button.type = "button";
      button.disabled = m.active;
      button.addEventListener("click", async () => {
        button.disabled = true;
        $("activate-result").textContent = "Switching · جاري التبديل…";
        const result = await post("/models/activate", { model: m.name });
        $("activate-result").textContent = result.ok ? `Active: ${result.data.active} (was ${result.data.previous})` : (result.data.error || "failed");
        loadModels();
      });
      tr.append(el("td", m.name), el("td", m.trained_at), el("td", m.size_mb + " MB"), el("td"));
      tr.lastChild.append(button);
      return tr;
    }));
    const run = data.training;
    $("training").hidden = !run;
    if (run) {
      $("training-state").textContent = run.state + (run.error ? ": " + run.error : "");
      $("training-elapsed").textContent = String(run.elapsed);
      $("training-components").textContent = String(run.components_done);
      $("training-progress").value = run.components_done;
      $("training-line").textContent = run.last_line;
      $("comparison").replaceChildren(run.comparison ? comparisonView(run.comparison) : el("span"));
      $("checks").replaceChildren(...checksView(run.checks));
      const busy = BUSY.includes(run.state);
      $("train").disabled = busy;
      if (busy && !state.polling) {
        state.polling = setInterval(async () => {
          const fresh = await get("/models");
          if (!fresh.training || !BUSY.includes(fresh.training.state)) {
            clearInterval(state.polling); state.polling = null;
          }
          loadModels();
        }, 2000);
      }
    }
  }
  $("train").addEventListener("click", async () => {
    $("train").disabled = true;
    const result = await post("/models/train");
    if (!result.ok) $("training-line").textContent = result.data.error || "failed";
    loadModels();
  });

  // -- answers (bot/workbench/answers.py) -----------------------------------------
  async function loadFlag() {
    const counts = await get("/answers/flags");
    const flag = $("answers-flag");
    flag.hidden = !counts.overdue;
    flag.textContent = String(counts.overdue);
    flag.title = `${counts.overdue} overdue · ${counts.due} due for review`;
  }

  function textBoxes(box, texts, lang) {
    box.replaceChildren(...texts.map((text, i) => {
      const area = el("textarea", text);
      area.value = text;
      area.dataset.lang = lang;
      area.setAttribute("aria-label", `${lang} variation ${i + 1}`);
      area.dir = lang === "ar" ? "rtl" : "ltr";
      area.addEventListener("input", () => { $("answer-result").textContent = ""; });
      return area;
    }));
  }

  function openAnswer(a, tr) {
    document.querySelectorAll("#answers tr.selected").forEach((n) => n.classList.remove("selected"));
    tr.classList.add("selected");
    state.answer = a;
    $("answer-panel").hidden = false;
    $("answer-name").textContent = a.name;
    $("answer-owner").textContent = a.owner;
    $("answer-due").textContent = a.review_by;
    textBoxes($("answer-en"), a.texts.en, "en");
    textBoxes($("answer-ar"), a.texts.ar, "ar");
    $("answer-result").textContent = "";
    $("answer-result").className = "wb-result";
  }

  async function loadAnswers() {
    const chosen = new FormData($("answer-filter")).get("state");
    const data = await get("/answers" + (chosen ? "?state=" + encodeURIComponent(chosen) : ""));
    $("answers-summary").textContent = `${data.counts.overdue} overdue · ${data.counts.due} due · ${data.counts.current} current`
      + (data.policy === "withhold" ? " · overdue answers are not served" : " · overdue answers are still served");
    document.querySelector("#answers tbody").replaceChildren(...data.answers.map((a) => {
      const tr = el("tr", null, a.state);
      tr.dataset.answer = a.name;
      const when = a.state === "overdue" ? `${-a.days} days overdue` : a.state === "due" ? `due in ${a.days} days` : "current";
      tr.append(el("td", a.name), el("td", a.owner), el("td", a.review_by),
        el("td", when + (a.withheld ? " · withheld" : ""), "state"),
        el("td", a.reviewed_by ? `${a.reviewed_by} · ${a.reviewed_at}` : ""), el("td"));
      const button = el("button", "Review · مراجعة", "small review");
      button.type = "button";
      button.disabled = !a.may_review;
      if (!a.may_review) button.title = "only the owner, a supervisor or an admin";
      button.addEventListener("click", () => openAnswer(a, tr));
      tr.lastChild.append(button);
      return tr;
    }));
    loadFlag();
  }
  $("answer-filter").addEventListener("change", loadAnswers);
  $("answer-filter").addEventListener("submit", (event) => { event.preventDefault(); loadAnswers(); });

  async function reviewAnswer(action) {
    if (!state.answer) return;
    const texts = { en: [], ar: [] };
    document.querySelectorAll("#answer-panel textarea").forEach((t) => texts[t.dataset.lang].push(t.value));
    const result = await post(`/answers/${encodeURIComponent(state.answer.name)}/${action}`, action === "edit" ? { texts } : {});
    const out = $("answer-result");
    if (!result.ok) { out.textContent = result.data.error || "failed"; out.className = "wb-result conflict"; return; }
    out.textContent = (action === "edit" ? "Saved in domain.yml and served now · " : "Confirmed · ")
      + `next review ${result.data.review_by} · ${result.data.reviewed_by}`;
    out.className = "wb-result done";
    const name = state.answer.name;
    await loadAnswers();
    const row = document.querySelector(`#answers tr[data-answer="${CSS.escape(name)}"]`);
    if (row) row.classList.add("selected");
  }
  $("answer-confirm").addEventListener("click", () => reviewAnswer("confirm"));
  $("answer-save").addEventListener("click", () => reviewAnswer("edit"));

  // -- audit ------------------------------------------------------------------
  async function loadAudit() {
    const data = await get("/audit");
    document.querySelector("#audit tbody").replaceChildren(...data.entries.map((e) => {
      const tr = el("tr");
      const text = el("td", e.text || ""); text.dir = "auto";
      tr.append(el("td", e.at), el("td", e.author), el("td", e.action), el("td", e.intent || ""), text, el("td", e.path || ""));
      return tr;
    }));
  }

  get("/intents").then((data) => { state.intents = data.intents; });
  const opening = document.querySelector(`.wb-tabs .tab[data-tab="${window.location.hash.slice(1)}"]`);
  if (opening) opening.click(); else loadInbox();  // the supervisor page's flag links to #answers
  loadFlag();
})();
