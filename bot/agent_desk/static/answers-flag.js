// Overdue bot answers flagged on the supervisor page (bot/workbench/answers.py; docs/trainers.md "Answers").
"use strict";
(function () {
  const base = document.querySelector('meta[name="desk-base"]').content;
  fetch(base + "/workbench/api/answers/flags", { credentials: "same-origin" })
    .then((answer) => (answer.ok ? answer.json() : null))
    .then((counts) => {
      if (!counts || !counts.overdue) return;
      const flag = document.getElementById("answers-overdue");
      flag.querySelector(".count").textContent = String(counts.overdue);
      flag.hidden = false;
    });
})();
