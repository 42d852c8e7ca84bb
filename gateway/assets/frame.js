// The frames of paymesh.js, served by paymesh: a secured input of Secure
// Input (mode=field), or the whole Checkout (mode=checkout). Numbers typed
// here go from this frame straight to paymesh's REST API with the
// partner's client key; the partner's page only ever hears ids, events
// and field names. Settings come in the fragment (never sent to a server):
// channel, mode, field, key, origin (the partner page's, the only one
// messages go to and are taken from), and Checkout's options.
"use strict";
(function () {
  var params = new URLSearchParams(window.location.hash.slice(1));
  var channel = params.get("channel") || "";
  var parentOrigin = params.get("origin") || "";
  var key = params.get("key") || "";
  var root = document.getElementById("root");

  function tell(kind, extra) {
    var message = Object.assign({ paymesh: kind, channel: channel }, extra || {});
    window.parent.postMessage(message, parentOrigin);
  }

  function element(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") el.textContent = attrs[name];
      else el.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) {
      el.appendChild(child);
    });
    return el;
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return String(Date.now()) + Math.random().toString(16).slice(2);
  }

  // `a[b][c]` names as nested objects.
  function nest(flat) {
    var out = {};
    Object.keys(flat).forEach(function (name) {
      var value = flat[name];
      if (value === undefined || value === null || value === "") return;
      var path = name.replace(/\]/g, "").split("[");
      var at = out;
      path.slice(0, -1).forEach(function (part) {
        at = at[part] = at[part] || {};
      });
      at[path[path.length - 1]] = value;
    });
    return out;
  }

  var INPUTS = {
    card_number: { label: "Card number", autocomplete: "cc-number", inputmode: "numeric", placeholder: "1234 1234 1234 1234" },
    expiry: { label: "Expiry (MM/YY)", autocomplete: "cc-exp", inputmode: "numeric", placeholder: "MM/YY" },
    cvc: { label: "Security code", autocomplete: "cc-csc", inputmode: "numeric", placeholder: "CVC" },
    account_number: { label: "Account number", autocomplete: "off", inputmode: "numeric", placeholder: "Account number" },
    routing_number: { label: "Routing number", autocomplete: "off", inputmode: "numeric", placeholder: "Routing number" },
  };

  // Where paymesh's per-field problems are shown: the pl-input names.
  var FIELD_OF = {
    card_number: "card_number",
    expiry: "expiry",
    card_code: "cvc",
    account_number: "account_number",
    routing_number: "routing_number",
    amount: "amount",
    account_holder: "account_holder",
    account_type: "account_type",
    postal_code: "billing_address[postal_code]",
  };

  function problems(details, path, out) {
    if (typeof details === "string") {
      var last = path[path.length - 1];
      out.push({ field: FIELD_OF[last] || path.join("."), message: details });
    } else if (details && typeof details === "object") {
      Object.keys(details).forEach(function (name) {
        problems(details[name], path.concat(name), out);
      });
    }
    return out;
  }

  // Sends what was typed (`values`, pl-input names) with the page's data
  // inputs as a payment (authorized) or a payment method; answers the
  // outcome as a message for the page.
  function send(kind, values, submissionKey) {
    var data = Object.assign({}, values);
    var card = data.card_number !== undefined;
    var method = nest({
      type: card ? "card" : "bank_account",
      account_holder: data.account_holder,
      account_id: kind === "payment_method" ? data.account_id : undefined,
      "billing_address[street_address]": data["billing_address[street_address]"],
      "billing_address[unit_number]": data["billing_address[unit_number]"],
      "billing_address[city]": data["billing_address[city]"],
      "billing_address[state_province]": data["billing_address[state_province]"],
      "billing_address[postal_code]": data["billing_address[postal_code]"],
    });
    if (card) {
      method.card = nest({ card_number: data.card_number, expiry: data.expiry, card_code: data.cvc });
    } else {
      method.bank_account = nest({
        account_number: data.account_number,
        routing_number: data.routing_number,
        account_type: data.account_type,
        account_class: data.account_class,
      });
    }
    var body = method;
    var path = "/payment_methods";
    if (kind === "payment") {
      path = "/transactions";
      body = nest({
        type: "payment",
        status: "authorized",
        // JSON takes numbers as numbers; what is not one is sent as typed,
        // for paymesh to say why.
        amount: data.amount && isFinite(Number(data.amount)) ? Number(data.amount) : data.amount,
        description: data.description,
        order_number: data.order_number,
        processing_id: data.processing_id,
      });
      if (data.attrs) {
        try {
          body.attrs = JSON.parse(data.attrs);
        } catch (e) {
          body.attrs = data.attrs;
        }
      }
      body.payment_method = method;
    }
    return fetch(path, {
      method: "POST",
      headers: {
        Authorization: "Basic " + btoa(key + ":"),
        "Content-Type": "application/json",
        "Idempotency-Key": submissionKey,
      },
      body: JSON.stringify(body),
    })
      .then(function (response) {
        return response.json().then(function (json) {
          return { ok: response.ok, json: json };
        });
      })
      .then(function (answer) {
        var json = answer.json || {};
        if (answer.ok && kind === "payment") {
          return { paymesh: "processed", transaction_id: json.id, status: json.status };
        }
        if (answer.ok) return { paymesh: "created", payment_method_id: json.id };
        if (json.error_type === "TransactionDeclined") {
          var declined = json.details || {};
          return { paymesh: "declined", transaction_id: declined.id, message: json.description };
        }
        if (json.error_type === "InvalidAttributes") {
          var found = problems(json.details, [], []);
          return {
            paymesh: "invalid",
            fields: found.map(function (p) {
              return p.field;
            }),
            details: found,
            message: json.description,
          };
        }
        return { paymesh: "error", error_type: json.error_type, message: json.description || "The request failed" };
      })
      .catch(function () {
        return { paymesh: "error", error_type: "NetworkError", message: "paymesh could not be reached" };
      });
  }

  // === One secured input ===

  function field(name) {
    var spec = INPUTS[name];
    if (!spec) return;
    document.body.className = "field";
    var input = element("input", {
      id: "value",
      "aria-label": spec.label,
      autocomplete: spec.autocomplete,
      inputmode: spec.inputmode,
      placeholder: spec.placeholder,
      spellcheck: "false",
    });
    root.appendChild(input);
    tell("ready", { field: name });
    input.addEventListener("focus", function () {
      tell("focus", { field: name });
    });
    input.addEventListener("blur", function () {
      tell("blur", { field: name });
    });
    var bus = new BroadcastChannel("paymesh-" + channel);
    bus.onmessage = function (event) {
      var message = event.data || {};
      if (message.type === "collect") {
        bus.postMessage({ type: "value", field: name, value: input.value });
      } else if (message.type === "invalid") {
        input.classList.toggle("invalid", message.fields.indexOf(name) >= 0);
      }
    };
    // The frame the page asks to submit gathers every secured value.
    window.addEventListener("message", function (event) {
      var message = event.data || {};
      if (event.origin !== parentOrigin || message.paymesh !== "submit") return;
      var values = { [name]: input.value };
      var wanted = message.fields || [];
      var collector = new BroadcastChannel("paymesh-" + channel);
      var finish = function () {
        collector.close();
        var all = Object.assign({}, message.data || {}, values);
        send(message.kind, all, newKey()).then(function (outcome) {
          if (outcome.paymesh === "invalid") {
            bus.postMessage({ type: "invalid", fields: outcome.fields });
            input.classList.toggle("invalid", outcome.fields.indexOf(name) >= 0);
          }
          tell(outcome.paymesh, outcome);
        });
      };
      var timer = setTimeout(finish, 1000);
      collector.onmessage = function (reply) {
        var answer = reply.data || {};
        if (answer.type !== "value") return;
        values[answer.field] = answer.value;
        if (wanted.every(function (f) { return f in values; })) {
          clearTimeout(timer);
          finish();
        }
      };
      collector.postMessage({ type: "collect" });
      if (wanted.every(function (f) { return f in values; })) {
        clearTimeout(timer);
        finish();
      }
    });
  }

  // === Checkout ===

  function labelled(text, input) {
    return element("label", {}, [element("span", { text: text }), input]);
  }

  function checkout() {
    document.body.className = "checkout";
    var amount = params.get("amount") || "";
    var editable = params.get("amount_editable") === "1" || !amount;
    var card = params.get("card") === "1";
    var bank = params.get("bank") === "1";
    var form = element("form", { novalidate: "" });
    var close = element("button", { type: "button", class: "close", "aria-label": "Close", text: "×" });
    form.appendChild(close);
    form.appendChild(element("h1", { text: params.get("description") || "Payment" }));
    var amountInput = element("input", { name: "amount", inputmode: "decimal", value: amount, required: "" });
    if (editable) form.appendChild(labelled("Amount (USD)", amountInput));
    else form.appendChild(element("p", { class: "amount", text: "$" + Number(amount).toFixed(2) }));
    var name = element("input", { name: "account_holder", autocomplete: "cc-name", value: params.get("full_name") || "" });
    form.appendChild(labelled("Name", name));
    var inputs = {};
    var method = card ? "card" : "bank";
    if (card && bank) {
      var choice = element("fieldset", { class: "choice" }, [element("legend", { text: "Pay by" })]);
      [["card", "Card"], ["bank", "Bank account"]].forEach(function (option) {
        var radio = element("input", { type: "radio", name: "method", value: option[0] });
        if (option[0] === method) radio.checked = true;
        radio.addEventListener("change", function () {
          method = option[0];
          show();
        });
        choice.appendChild(element("label", { class: "inline" }, [radio, document.createTextNode(" " + option[1])]));
      });
      form.appendChild(choice);
    }
    var cardSection = element("div", { class: "method" });
    ["card_number", "expiry", "cvc"].forEach(function (f) {
      inputs[f] = element("input", { name: f, autocomplete: INPUTS[f].autocomplete, inputmode: "numeric", placeholder: INPUTS[f].placeholder });
      cardSection.appendChild(labelled(INPUTS[f].label, inputs[f]));
    });
    if (params.get("billing_address") === "1") {
      inputs["billing_address[postal_code]"] = element("input", { name: "postal_code", autocomplete: "postal-code" });
      cardSection.appendChild(labelled("Postal code", inputs["billing_address[postal_code]"]));
    }
    var bankSection = element("div", { class: "method" });
    ["routing_number", "account_number"].forEach(function (f) {
      inputs[f] = element("input", { name: f, inputmode: "numeric", autocomplete: "off" });
      bankSection.appendChild(labelled(INPUTS[f].label, inputs[f]));
    });
    if (card) form.appendChild(cardSection);
    if (bank) form.appendChild(bankSection);
    var alert = element("p", { class: "alert", role: "alert" });
    form.appendChild(alert);
    var pay = element("button", { type: "submit", class: "pay", text: "Pay" });
    form.appendChild(pay);
    root.appendChild(form);
    function show() {
      cardSection.hidden = method !== "card";
      bankSection.hidden = method !== "bank";
    }
    show();
    close.addEventListener("click", function () {
      tell("closed");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") tell("closed");
    });
    var submission = null;
    var busy = false;
    form.addEventListener("input", function () {
      submission = null;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      busy = true;
      pay.disabled = true;
      pay.textContent = "Processing…";
      alert.textContent = "";
      // One key per submission of the same values: a second click, or a
      // retry after a lost answer, authorizes once.
      submission = submission || newKey();
      var values = {
        amount: amountInput.value,
        account_holder: name.value,
        description: params.get("description") || "",
        order_number: params.get("order_number") || "",
        processing_id: params.get("processing_id") || "",
        attrs: params.get("attrs") || "",
      };
      var fields = method === "card" ? ["card_number", "expiry", "cvc", "billing_address[postal_code]"] : ["routing_number", "account_number"];
      fields.forEach(function (f) {
        if (inputs[f]) values[f] = inputs[f].value;
      });
      Object.keys(inputs).forEach(function (f) {
        inputs[f].classList.remove("invalid");
      });
      amountInput.classList.remove("invalid");
      send("payment", values, submission).then(function (outcome) {
        busy = false;
        pay.disabled = false;
        pay.textContent = "Pay";
        if (outcome.paymesh === "processed") {
          tell("processed", outcome);
          return;
        }
        // A new attempt after a refusal is a new submission.
        submission = null;
        if (outcome.paymesh === "declined") {
          alert.textContent = outcome.message || "The payment was declined.";
          tell("declined", outcome);
        } else if (outcome.paymesh === "invalid") {
          alert.textContent = outcome.details.map(function (p) { return p.message; }).join(" ");
          outcome.fields.forEach(function (f) {
            if (inputs[f]) inputs[f].classList.add("invalid");
            if (f === "amount") amountInput.classList.add("invalid");
          });
        } else {
          alert.textContent = outcome.message;
        }
      });
    });
    tell("loaded");
    (editable ? amountInput : card ? inputs.card_number : inputs.routing_number).focus();
  }

  if (!key || !parentOrigin) {
    root.textContent = "This frame is opened by paymesh.js.";
  } else if (params.get("mode") === "checkout") {
    checkout();
  } else {
    field(params.get("field") || "");
  }
})();
