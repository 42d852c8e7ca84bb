#!/usr/bin/env python3
"""Records the examples of the OpenAPI description from a running mesh.

Walks the API as a partner would (a customer and a business, KYB, cards and
a bank account, a quote, payments, a refund, keys and tokens) and writes
what the gateway answered to gateway/openapi-examples.json: the objects
of each collection, the body that created each kind, and the samples of the
shapes no collection renders. Keys and tokens are replaced by placeholders.

    make openapi-examples        (starts a scratch mesh and runs this)

or, against a mesh already running:

    PAYMESH_URL=http://127.0.0.1:8080 PAYMESH_KEY=test_secret_key_… scripts/openapi-examples.py
"""

import base64
import json
import os
import pathlib
import urllib.error
import urllib.request

URL = os.environ["PAYMESH_URL"].rstrip("/")
KEY = os.environ["PAYMESH_KEY"]
OUT = pathlib.Path(__file__).resolve().parent.parent / "gateway/openapi-examples.json"
AUTH = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()

objects = {}
creates = {}
schemas = {}


def call(method, path, body=None, expect=200):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(URL + path, data=data, method=method)
    request.add_header("Authorization", AUTH)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            status, answer = response.status, json.load(response)
    except urllib.error.HTTPError as error:
        status, answer = error.code, json.load(error)
    if status != expect:
        raise SystemExit(f"{method} {path}: {status} {answer}")
    return answer


def keep(path, obj):
    objects.setdefault(path, []).append(obj)
    return obj


def create(path, body, record=True):
    obj = call("POST", path, body)
    if record:
        creates.setdefault(path, body)
        keep(path, obj)
    return obj


# The partner's default processing account: no payout method yet.
default = call("GET", "/processing_accounts?processing[default]=true&limit=1")["values"][0]
keep("/processing_accounts", default)
keep("/accounts", call("GET", f"/accounts/{default['id']}"))
payer = create("/customers", {
    "name": "Matt Perez", "email": "matt.perez@example.com", "phone_number": "(212) 555-0142",
    "attrs": {"plan": "gold"},
})
keep("/accounts", payer)
business = create("/processing_accounts", {
    "name": "Acme Rentals", "email": "billing@acme.example",
    "processing": {
        "industry": "Property management", "category": "rent", "visibility": "partner",
        "payout_method": "ach",
        "payout_details": {"routing_number": "011000015", "account_number": "000123456789"},
    },
})
keep("/accounts", business)
entity = create("/legal_entities", {
    "legal_name": "Acme Rentals LLC", "type": "LIMITED_LIABILITY_COMPANY", "ein": "12-3456789",
    "street_address": "1 Main St", "city": "Albany", "state_province": "NY", "postal_code": "12207",
    "phone_number": "(518) 555-0199", "start_date": "2015-06-01", "state_incorporated": "DE",
    "contact_name": "Jane Doe", "contact_email": "jane@acme.example", "contact_title": "CEO",
    "owners": [{
        "full_name": "Jane Doe", "title": "CEO", "ownership": 100, "birth_date": "1980-04-01",
        "ssn": "123-45-6789", "street_address": "2 Elm St", "city": "Albany", "state_province": "NY",
        "postal_code": "12208", "email": "jane@acme.example", "phone_number": "(518) 555-0100",
    }],
})
owner_id = entity["owners"][0]["id"]
keep("/legal_entity_owners", call("GET", f"/legal_entity_owners/{owner_id}"))
creates["/legal_entity_owners"] = {
    "legal_entity_id": entity["id"], "full_name": "John Roe", "title": "CFO", "ownership": 20,
    "birth_date": "1982-09-12", "ssn": "987-65-4321", "email": "john@acme.example",
}
call("PUT", f"/processing_accounts/{business['id']}", {"processing": {"legal_entity_id": entity["id"]}})
pdf = base64.b64encode(b"%PDF-1.4\n% paymesh example\n").decode()
for kind, owner in [("ein_letter", {"legal_entity_id": entity["id"]}), ("passport", {"owner_id": owner_id})]:
    create("/documents", {"type": kind, **owner, "file_name": f"{kind}.pdf", "content_type": "application/pdf",
                          "content": pdf}, record=kind == "passport")
keep("/processing_accounts", call("GET", f"/processing_accounts/{business['id']}"))
schemas["processing_status_change"] = call(
    "GET", f"/processing_accounts/{business['id']}/status_history")["values"]

card = create("/payment_methods", {
    "type": "card", "account_id": payer["id"], "account_holder": "Matt Perez",
    "card": {"card_number": "4242 4242 4242 4242", "expiry": "12/2035", "card_code": "123"},
    "billing_address": {"postal_code": "10001"}, "default_payment_method": True,
})
keep("/payment_methods", call("POST", "/payment_methods", {
    "type": "bank_account", "account_id": payer["id"], "account_holder": "Matt Perez",
    "bank_account": {"account_number": "1234567890", "routing_number": "021000021", "account_type": "checking"},
}))

intent = create("/payment_intents", {
    "target_amount": {"value": 100, "currency": "USD"},
    "payer": {"id": payer["id"]}, "recipient": {"id": business["id"]}, "payment_method": {"id": card["id"]},
})
# A draft that names nobody yet.
keep("/payment_intents", call("POST", "/payment_intents", {"target_amount": {"value": 50, "currency": "USD"}}))
payment = create("/transactions", {
    "type": "payment", "amount": 100, "payment_method_id": card["id"], "order_number": "1001",
    "description": "May rent",
})
call("POST", "/transactions", {"type": "refund", "amount": 40,
                               "ledger": [{"assoc_transaction_id": payment["id"]}]})
keep("/transactions", call("GET", f"/transactions/{payment['id']}"))
keep("/transactions", call("GET", f"/transactions?type=refund&limit=1")["values"][0])
keep("/transactions", call("POST", "/transactions", {"type": "payment", "payment_intent_id": intent["id"]}))
keep("/payment_intents", call("GET", f"/payment_intents/{intent['id']}"))
for entry in call("GET", f"/transaction_ledgers?transaction_id={payment['id']}")["values"]:
    keep("/transaction_ledgers", entry)

schemas["processing_settings"] = [call("GET", "/processing_settings"),
                                  call("GET", f"/processing_accounts/{business['id']}/processing_settings")]

key = create("/api_keys", {"type": "secret", "name": "Reporting",
                           "permissions": [{"method": "GET", "resource": "/transactions"}]})
key["key"] = "test_secret_key_…"
keep("/api_keys", call("GET", f"/api_keys/{key['id']}"))
token = create("/access_tokens", {"type": "session_access", "account_id": payer["id"]})
token["access_token"] = "session_access_…"
keep("/access_tokens", call("GET", f"/access_tokens/{token['id']}"))

OUT.write_text(json.dumps({"objects": objects, "creates": creates, "schemas": schemas}, indent=1) + "\n")
print(f"wrote {OUT.relative_to(OUT.parents[3])}: "
      f"{sum(len(v) for v in objects.values())} objects of {len(objects)} collections")
