// The hosted pay page's script. The page works without it; with it, only
// the chosen way to pay is shown (and required), and a second click does
// not send the form again while the first is on its way.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.pay");
  if (!form) return;
  const sections = Array.from(form.querySelectorAll("fieldset.method"));
  const show = () => {
    const chosen = form.querySelector("input[name=method]:checked");
    const method = chosen ? chosen.value : "card";
    for (const section of sections) {
      const active = section.dataset.method === method;
      section.hidden = !active;
      for (const input of section.querySelectorAll("input, select")) {
        input.disabled = !active;
      }
    }
  };
  for (const radio of form.querySelectorAll("input[name=method]")) {
    radio.addEventListener("change", show);
  }
  show();
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    const button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.textContent = "Processing…";
    }
  });
});
