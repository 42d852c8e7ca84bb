// paymesh.js: the browser toolkit partners embed (Payload.js's interface).
//
// - Checkout: a <script src=".../js/paymesh.js" pl-client-key=… pl-amount=…
//   pl-description=…> inside a <form> adds a Pay Now button; it opens the
//   checkout in a frame served by paymesh, which authorizes the payment
//   with the client key; the form then gets a hidden pl_transaction_id and
//   is submitted. `new pl.Checkout({...})` opens the same from script.
// - PlacePay's Pay plugin, the same checkout in PlacePay's words: a script
//   tag with data-key, data-amount, data-description adds the button and
//   submits the form with rs_transaction_id; `Place.pay.open({...})` opens
//   it from script, as a modal or embedded in `embed_container`.
// - Secure Input: `new pl.Form({form})` replaces each secured
//   <div pl-input="card_number|expiry|cvc|account_number|routing_number">
//   with a frame served by paymesh; on submit the frames send the numbers
//   straight to paymesh, and the form gets pl_transaction_id (pl-form
//   "payment", an authorized payment) or pl_payment_method_id (pl-form
//   "payment_method"). The page never holds a card or account number.
//
// Frames and this script talk by postMessage, each checking the other's
// origin. Nothing is loaded from anywhere but paymesh.
(function () {
  "use strict";
  var script = document.currentScript;
  var base = new URL(script.src).origin;
  var SECURED = ["card_number", "expiry", "cvc", "account_number", "routing_number"];
  var counter = 0;

  function emitter(target) {
    var handlers = {};
    target.on = function (name, handler) {
      (handlers[name] = handlers[name] || []).push(handler);
      return target;
    };
    target.emit = function (name, evt) {
      (handlers[name] || []).forEach(function (handler) {
        handler.call(target, evt);
      });
    };
    return target;
  }

  function frameUrl(params) {
    var query = new URLSearchParams(params);
    query.set("origin", window.location.origin);
    return base + "/js/frame#" + query.toString();
  }

  // Messages from paymesh's frames, to whichever object opened them.
  var listeners = {};
  window.addEventListener("message", function (event) {
    if (event.origin !== base || !event.data || typeof event.data.paymesh !== "string") return;
    var listener = listeners[event.data.channel];
    if (listener) listener(event.data);
  });

  function hidden(form, name, value) {
    var input = form.querySelector("input[name=" + name + "]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      form.appendChild(input);
    }
    input.value = value;
  }

  function truthy(value, otherwise) {
    if (value === undefined || value === null || value === "") return otherwise;
    return value === true || value === "true" || value === "1";
  }

  // === Checkout ===

  // options.field: the hidden input a form gets (pl_transaction_id);
  // options.container: an element to embed the checkout in, not a modal.
  function Checkout(key, options) {
    var self = emitter(this);
    var channel = "checkout-" + ++counter;
    var field = options.field || "pl_transaction_id";
    var overlay = document.createElement("div");
    if (options.container) {
      overlay.style.cssText = "display:flex;justify-content:center";
    } else {
      overlay.setAttribute("role", "dialog");
      overlay.setAttribute("aria-modal", "true");
      overlay.setAttribute("aria-label", "Checkout");
      overlay.style.cssText =
        "position:fixed;inset:0;z-index:2147483647;background:rgba(15,23,42,.55);display:flex;" +
        "align-items:center;justify-content:center;padding:1rem";
    }
    var frame = document.createElement("iframe");
    frame.title = "Checkout";
    frame.style.cssText = "border:0;border-radius:10px;background:#fff;width:100%;max-width:420px;height:560px";
    frame.src = frameUrl({
      channel: channel,
      mode: "checkout",
      key: key,
      amount: options.amount || "",
      description: options.description || "",
      amount_editable: truthy(options.amount_editable, false) ? "1" : "",
      card: truthy(options.card_payments, true) ? "1" : "",
      bank: truthy(options.bank_account_payments, false) ? "1" : "",
      billing_address: truthy(options.billing_address, false) ? "1" : "",
      processing_id: options.processing_id || "",
      order_number: options.order_number || "",
      full_name: options.full_name || "",
      attrs: options.attrs ? (typeof options.attrs === "string" ? options.attrs : JSON.stringify(options.attrs)) : "",
    });
    overlay.appendChild(frame);
    function close() {
      delete listeners[channel];
      if (overlay.parentNode) overlay.parentNode.removeChild(overlay);
    }
    listeners[channel] = function (message) {
      if (message.paymesh === "loaded") {
        self.emit("loaded", {});
      } else if (message.paymesh === "processed") {
        close();
        var evt = { transaction_id: message.transaction_id, status: message.status };
        self.emit("processed", evt);
        if (options.form) {
          hidden(options.form, field, message.transaction_id);
          options.form.submit();
        }
      } else if (message.paymesh === "declined") {
        self.emit("declined", { transaction_id: message.transaction_id, message: message.message });
      } else if (message.paymesh === "closed") {
        close();
        self.emit("closed", {});
      }
    };
    (options.container || document.body).appendChild(overlay);
    frame.focus();
    this.close = close;
  }

  // === Secure Input ===

  function SecureForm(key, options) {
    var self = emitter(this);
    var form = options.form;
    var styles = Object.assign({ invalid: "pl-invalid", focus: "pl-focus" }, options.styles || {});
    var autosubmit = options.autosubmit !== false;
    var kind = form.getAttribute("pl-form") === "payment_method" ? "payment_method" : "payment";
    var channel = "form-" + ++counter;
    var frames = {};
    var busy = false;
    var ready = {};
    var pending = null;
    form.querySelectorAll("div[pl-input]").forEach(function (holder) {
      var field = holder.getAttribute("pl-input");
      if (SECURED.indexOf(field) < 0) return;
      var frame = document.createElement("iframe");
      frame.title = field.replace("_", " ");
      frame.setAttribute("scrolling", "no");
      frame.style.cssText = "border:0;width:100%;height:1.6em;display:block;background:transparent";
      frame.src = frameUrl({ channel: channel, mode: "field", field: field, key: key });
      holder.textContent = "";
      holder.appendChild(frame);
      frames[field] = { holder: holder, frame: frame };
    });
    var fields = Object.keys(frames);
    // The frame that sends the request: the card's number, else the first.
    var primary = frames.card_number || frames.account_number || frames[fields[0]];

    function data() {
      var out = {};
      form.querySelectorAll("input[pl-input], select[pl-input], textarea[pl-input]").forEach(function (input) {
        if ((input.type === "radio" || input.type === "checkbox") && !input.checked) return;
        out[input.getAttribute("pl-input")] = input.value;
      });
      return out;
    }

    function clearInvalid() {
      form.querySelectorAll("[pl-input]").forEach(function (el) {
        el.classList.remove(styles.invalid);
      });
    }

    // A submit before the frames have loaded waits for them.
    function submit(message) {
      if (fields.every(function (f) { return ready[f]; })) {
        pending = null;
        primary.frame.contentWindow.postMessage(message, base);
      } else {
        pending = message;
      }
    }

    listeners[channel] = function (message) {
      if (message.paymesh === "ready") {
        ready[message.field] = true;
        if (pending) submit(pending);
        return;
      }
      if (message.paymesh === "focus" || message.paymesh === "blur") {
        var entry = frames[message.field];
        if (entry) entry.holder.classList.toggle(styles.focus, message.paymesh === "focus");
        return;
      }
      if (["processed", "created", "declined", "invalid", "error"].indexOf(message.paymesh) < 0) return;
      busy = false;
      if (message.paymesh === "processed" || message.paymesh === "created") {
        var name = kind === "payment" ? "pl_transaction_id" : "pl_payment_method_id";
        var id = kind === "payment" ? message.transaction_id : message.payment_method_id;
        hidden(form, name, id);
        var evt = kind === "payment" ? { transaction_id: id } : { payment_method_id: id };
        self.emit(message.paymesh, evt);
        if (autosubmit) form.submit();
      } else if (message.paymesh === "invalid") {
        (message.fields || []).forEach(function (field) {
          var el = form.querySelector("[pl-input='" + field + "']");
          if (el) el.classList.add(styles.invalid);
        });
        self.emit("invalid", { fields: message.fields, details: message.details, message: message.message });
      } else if (message.paymesh === "declined") {
        self.emit("declined", { transaction_id: message.transaction_id, message: message.message });
      } else {
        self.emit("error", { message: message.message, error_type: message.error_type });
      }
    };

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy || !primary) return;
      busy = true;
      clearInvalid();
      self.emit("processing", {});
      submit({ paymesh: "submit", channel: channel, kind: kind, fields: fields, data: data() });
    });
  }

  // === The global, as Payload.js names it ===

  function Payload(key) {
    return {
      Checkout: function (options) {
        return new Checkout(key, options || {});
      },
      Form: function (options) {
        var form = options && options.tagName ? { form: options } : options || {};
        return new SecureForm(key, form);
      },
    };
  }

  // Callbacks on Pay Now buttons: Payload.on('.checkout-btn', 'processed', fn).
  var buttonHandlers = [];
  Payload.on = function (target, name, handler) {
    buttonHandlers.push({ target: target, name: name, handler: handler });
  };
  function buttonEmit(button, name, evt) {
    buttonHandlers.forEach(function (entry) {
      var matches =
        entry.name === name &&
        (entry.target === button || (typeof entry.target === "string" && button.matches(entry.target)));
      if (matches) entry.handler.call(button, evt);
    });
  }

  // PlacePay's Pay plugin: Place.pay.open({key, amount, description,
  // bind_to_form, embed, embed_container, on: {processed: fn, …}}).
  var Place = {
    pay: {
      open: function (options) {
        var checkout = new Checkout(options.key, {
          amount: options.amount,
          description: options.description,
          amount_editable: options.amount_editable,
          card_payments: options.card_payments,
          bank_account_payments: options.bank_account_payments,
          processing_id: options.processing_id || options.deposit_account_id,
          form: options.bind_to_form,
          field: "rs_transaction_id",
          container: options.embed ? options.embed_container : null,
        });
        Object.keys(options.on || {}).forEach(function (name) {
          checkout.on(name, options.on[name]);
        });
        return checkout;
      },
    },
  };

  window.Payload = Payload;
  window.paymesh = Payload;
  window.Place = Place;

  // The Pay Now button of a script tag with a client key: Payload's
  // pl-client-key, or PlacePay's data-key.
  var placepay = !script.getAttribute("pl-client-key") && script.getAttribute("data-key");
  var prefix = placepay ? "data-" : "pl-";
  var key = script.getAttribute(placepay ? "data-key" : "pl-client-key");
  if (!key) return;
  var attr = function (name) {
    return script.getAttribute(prefix + name);
  };
  var form = script.closest("form");
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = attr("btn-text") || (placepay ? "Pay" : "Pay Now");
  button.className = attr("btn-class") || "pl-btn";
  script.parentNode.insertBefore(button, script.nextSibling);
  button.addEventListener("click", function () {
    var checkout = new Checkout(key, {
      amount: attr("amount"),
      description: attr("description"),
      amount_editable: attr("amount-editable"),
      card_payments: attr("card-payments"),
      bank_account_payments: attr("bank-account-payments"),
      billing_address: attr("billing-address"),
      processing_id: attr("processing-id"),
      order_number: attr("order-number"),
      full_name: attr("name"),
      attrs: attr("attrs"),
      form: form,
      field: placepay ? "rs_transaction_id" : "pl_transaction_id",
    });
    ["loaded", "processed", "declined", "closed"].forEach(function (name) {
      checkout.on(name, function (evt) {
        buttonEmit(button, name, evt);
      });
    });
  });
})();
