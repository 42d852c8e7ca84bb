// The merchant portal: one merchant token (in the page's fragment,
// `#token=…`) manages its processing account's payment links through the
// REST API. Every text from the API is set as text, never as HTML.
"use strict";

const state = { token: "", account: "", reads: 0 };

const $ = (id) => document.getElementById(id);

/** Shows `text` in the alert banner (`kind` "error" or "notice"). */
function say(text, kind = "error") {
  const alert = $("alert");
  alert.textContent = text;
  alert.classList.toggle("notice", kind === "notice");
  alert.hidden = !text;
}

/** The claims of a JWT, unverified (the API verifies it). */
function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

/** A REST call with the merchant token; the parsed answer, or throws. */
async function api(method, path, body) {
  const headers = { "x-connectfi-jwtoken": state.token };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await response.json().catch(() => ({}));
  if (response.status === 401) {
    $("app").hidden = true;
    throw new Error("Your session has expired or was revoked: open the portal again from your account.");
  }
  if (!response.ok) {
    const details = answer.details && typeof answer.details === "object"
      ? Object.entries(answer.details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join("; ")
      : "";
    throw new Error([answer.description || `Request failed (${response.status})`, details].filter(Boolean).join(" — "));
  }
  return answer;
}

function money(amount, currency) {
  if (amount === null || amount === undefined) return "Payer enters";
  return currency === "USD" ? `$${Number(amount).toFixed(2)}` : `${Number(amount).toFixed(2)} ${currency}`;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

/** A button that runs `work` (once at a time: see `run`). */
function action(parent, label, work, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  if (className) button.className = className;
  button.addEventListener("click", () => run(work, button));
  parent.appendChild(button);
}

/** Reads the links the filters ask for and shows them. */
async function load() {
  // Only the latest read is shown (an earlier answer may come last).
  const read = ++state.reads;
  const query = new URLSearchParams({ order_by: "desc(created_at)", limit: "100" });
  const search = $("search").value.trim();
  if (search) query.set("description", `?*${search}*`);
  if ($("status").value) query.set("status", $("status").value);
  const list = await api("GET", `/payment_links?${query}`);
  if (read !== state.reads) return;
  const body = $("links").querySelector("tbody");
  body.replaceChildren();
  for (const link of list.values) {
    const row = document.createElement("tr");
    row.dataset.id = link.id;
    cell(row, link.description);
    cell(row, money(link.amount, link.currency), "num");
    cell(row, link.status, `status status-${link.status}`);
    cell(row, new Date(link.created_at).toLocaleDateString());
    const actions = cell(row, "");
    actions.className = "actions";
    const open = document.createElement("a");
    open.href = link.url;
    open.target = "_blank";
    open.rel = "noopener";
    open.textContent = "Open";
    actions.appendChild(open);
    if (link.status === "paid" && link.transaction_id) {
      action(actions, "Refund", async () => {
        const amount = window.prompt("Refund how much?", String(link.amount_paid));
        if (!amount) return;
        await api("POST", "/transactions", {
          type: "refund", amount: Number(amount), ledger: [{ assoc_transaction_id: link.transaction_id }],
        });
        say("The payment was refunded.", "notice");
      }, "secondary");
    }
    if (link.status === "active") {
      action(actions, "Send", async () => {
        const email = link.customer_id ? "" : window.prompt("Send the link to which email address?") || "";
        if (!link.customer_id && !email) return;
        await api("POST", `/payment_links/${link.id}/send`, email ? { email } : {});
        say("The link was sent.", "notice");
      });
      action(actions, "Cancel", async () => {
        await api("PUT", `/payment_links/${link.id}`, { status: "canceled" });
        say("The link was canceled.", "notice");
        await load();
      }, "secondary");
    }
    body.appendChild(row);
  }
  $("empty").hidden = list.values.length > 0;
}

/**
 * Runs `work`, showing its failure. `button`, the one that asked for it,
 * is disabled meanwhile: a double click creates, sends or cancels once.
 */
async function run(work, button) {
  if (button) {
    if (button.disabled) return;
    button.disabled = true;
  }
  try {
    await work();
  } catch (error) {
    say(error.message);
  } finally {
    if (button) button.disabled = false;
  }
}

async function create(event) {
  event.preventDefault();
  const form = event.target;
  const value = (name) => form.elements[name].value.trim();
  const link = { type: value("type"), description: value("description") };
  if (value("amount")) link.amount = Number(value("amount"));
  if (value("due_date")) link.due_date = value("due_date");
  if (value("customer_email")) link.customer = { name: value("customer_name") || value("customer_email"), email: value("customer_email") };
  await run(async () => {
    const made = await api("POST", "/payment_links", link);
    form.reset();
    say(`Created: ${made.url}`, "notice");
    await load();
  }, form.querySelector("button[type=submit]"));
}

document.addEventListener("DOMContentLoaded", () => run(async () => {
  state.token = new URLSearchParams(location.hash.slice(1)).get("token") || "";
  const claimed = state.token && claims(state.token);
  if (!claimed || !claimed.sub) {
    throw new Error("Open the portal with a merchant token: /portal#token=…");
  }
  state.account = claimed.sub;
  const account = await api("GET", `/processing_accounts/${state.account}`);
  $("merchant").textContent = account.name || "Merchant portal";
  $("app").hidden = false;
  $("filters").addEventListener("submit", (event) => { event.preventDefault(); run(load); });
  $("create").addEventListener("submit", create);
  await load();
}));
