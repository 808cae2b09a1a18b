// Report page: fetch /api/v1/reports, draw each figure with Chart.js and as a table (textContent only).
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  const form = document.getElementById("report-filters");
  const status = document.getElementById("report-status");
  const charts = {};
  const DIMENSIONS = [["intent", "Handoff rate by intent (first message)"], ["language", "Handoff rate by language"],
    ["form", "Handoff rate by written form"], ["dialect", "Handoff rate by dialect"],
    ["channel", "Handoff rate by channel"], ["source", "Handoff rate by entry source"]];
  const BLUE = "#2e90fa", ORANGE = "#f79009", GREY = "#98a2b3";

  const percent = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  const seconds = (v) => (v === null || v === undefined ? "—" : Math.round(v) + " s");
  const number = (v) => (v === null || v === undefined ? "—" : String(v));

  function cell(text, numeric) {
    const td = document.createElement("td");
    td.textContent = String(text);
    td.dir = "auto";
    if (numeric) td.className = "num";
    return td;
  }
  function fill(tableId, rows) {  // rows: [[key, ...cells]]; the first cell names the row (data-key)
    const body = document.querySelector("#" + tableId + " tbody");
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.dataset.key = String(cells[0]);
      tr.append(...cells.map((c, i) => cell(c, i > 0)));
      return tr;
    }));
  }
  function draw(id, config) {
    if (charts[id]) charts[id].destroy();
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    charts[id] = new Chart(document.getElementById(id), config);
  }
  const bars = (labels, datasets, extra) => Object.assign({ type: "bar", data: { labels, datasets } }, extra || {});

  function dimensionBlocks() {
    const holder = document.getElementById("by-dimension");
    for (const [name, title] of DIMENSIONS) {
      const section = document.createElement("section");
      section.className = "report-block";
      section.id = "block-" + name;
      const h2 = document.createElement("h2");
      h2.textContent = title;
      const box = document.createElement("div");
      box.className = "chart";
      const canvas = document.createElement("canvas");
      canvas.id = "chart-by-" + name;
      box.append(canvas);
      const table = document.createElement("table");
      table.id = "t-by-" + name;
      const head = document.createElement("thead");
      const tr = document.createElement("tr");
      for (const label of [name, "Conversations", "Handoffs", "Rate"]) {
        const th = document.createElement("th");
        th.textContent = label;
        tr.append(th);
      }
      head.append(tr);
      table.append(head, document.createElement("tbody"));
      section.append(h2, box, table);
      holder.append(section);
    }
  }

  function choices(data) {
    for (const select of form.querySelectorAll("select[data-dimension]")) {
      const current = select.value;
      const values = data.choices[select.dataset.dimension] || [];
      const all = document.createElement("option");
      all.value = "";
      all.textContent = "all";
      select.replaceChildren(all, ...values.map((v) => {
        const option = document.createElement("option");
        option.value = v;
        option.textContent = v;
        return option;
      }));
      select.value = values.includes(current) ? current : "";
    }
  }

  function show(data) {
    const s = data.summary;
    fill("t-summary", [["Conversations", s.conversations], ["Bot only (contained)", s.bot_only],
      ["Containment", percent(s.containment)], ["Handed off", s.handed_off], ["Handoff rate", percent(s.handoff_rate)],
      ["Lost to an expired window", s.lost_window], ["Customer messages", s.messages_in]]);
    draw("chart-summary", { type: "doughnut", data: { labels: ["Bot only", "Handed off"],
      datasets: [{ data: [s.bot_only, s.handed_off], backgroundColor: [BLUE, ORANGE] }] } });

    const csat = [["Bot only", s.csat.bot_only], ["Agent handled", s.csat.agent]];
    fill("t-csat", csat.map(([k, v]) => [k, v.average === null ? "—" : v.average.toFixed(2), v.count]));
    draw("chart-csat", bars(csat.map(([k]) => k), [{ label: "Average rating", data: csat.map(([, v]) => v.average),
      backgroundColor: [BLUE, ORANGE] }], { options: { scales: { y: { min: 0, max: 5 } } } }));

    const times = [["Time to agent", data.times.wait], ["First agent response", data.times.first_response],
      ["Handling time", data.times.handling]];
    fill("t-times", times.map(([k, v]) => [k, seconds(v.p50), seconds(v.p90), v.count]));
    draw("chart-times", bars(times.map(([k]) => k), [
      { label: "p50", data: times.map(([, v]) => v.p50), backgroundColor: BLUE },
      { label: "p90", data: times.map(([, v]) => v.p90), backgroundColor: ORANGE }]));

    fill("t-reasons", data.reasons.map((r) => [r.key, r.handoffs]));
    draw("chart-reasons", bars(data.reasons.map((r) => r.key), [{ label: "Handoffs",
      data: data.reasons.map((r) => r.handoffs), backgroundColor: ORANGE }], { options: { indexAxis: "y" } }));

    for (const [name] of DIMENSIONS) {
      const groups = data.handoff_by[name] || [];
      fill("t-by-" + name, groups.map((g) => [g.key, g.conversations, g.handoffs, percent(g.rate)]));
      draw("chart-by-" + name, bars(groups.map((g) => g.key), [
        { label: "Bot only", data: groups.map((g) => g.conversations - g.handoffs), backgroundColor: BLUE, stack: "c" },
        { label: "Handed off", data: groups.map((g) => g.handoffs), backgroundColor: ORANGE, stack: "c" }],
        { options: { scales: { x: { stacked: true }, y: { stacked: true } } } }));
    }

    fill("t-hours", data.hours.map((h) => [String(h.hour).padStart(2, "0") + ":00", h.conversations]));
    draw("chart-hours", bars(data.hours.map((h) => String(h.hour).padStart(2, "0")), [{ label: "Conversations",
      data: data.hours.map((h) => h.conversations), backgroundColor: GREY }]));

    fill("t-days", data.days.map((d) => [d.day, d.conversations, d.handoffs]));
    draw("chart-days", { type: "line", data: { labels: data.days.map((d) => d.day), datasets: [
      { label: "Conversations", data: data.days.map((d) => d.conversations), borderColor: BLUE },
      { label: "Handoffs", data: data.days.map((d) => d.handoffs), borderColor: ORANGE }] } });

    choices(data);
    status.textContent = data.range.from + " – " + data.range.to + " (" + data.zone + ")" +
      (data.updated_at ? " · events folded at " + data.updated_at : "") + (data.caught_up ? "" : " · still catching up");
    document.body.dataset.loaded = data.range.from + "/" + data.range.to + "/" + JSON.stringify(data.filters);
  }

  function params() {
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) query.set(k, v);
    return query;
  }

  async function load() {
    const query = params();
    document.getElementById("csv").href = base + "/reports.csv?" + query;
    status.textContent = "Loading…";
    const answer = await fetch(base + "/api/v1/reports?" + query, { credentials: "same-origin" });
    const data = await answer.json();
    if (!answer.ok) {
      status.textContent = data.error || "The report could not be loaded";
      return;
    }
    if (!document.getElementById("f-from").value) document.getElementById("f-from").value = data.range.from;
    if (!document.getElementById("f-to").value) document.getElementById("f-to").value = data.range.to;
    show(data);
  }

  dimensionBlocks();
  for (const [k, v] of new URLSearchParams(window.location.search)) {
    const field = form.elements.namedItem(k);
    if (field && !field.options) field.value = v;
    else if (field) { const o = document.createElement("option"); o.value = v; o.textContent = v; field.append(o); field.value = v; }
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  load();
})();
