"""The PlacePay Python SDK (`place-api`), unmodified, against paymesh, for
the objects the two share: accounts, payment methods and transactions.
"""

import place
import pytest
from place.api_resource import APIField


@pytest.fixture(scope="module")
def client(url, key):
    # A test key with the default URL would go to PlacePay's test host.
    place.api_key = key
    place.api_url = url
    return place


def test_an_account_is_created_read_selected_updated_and_deleted(client, run):
    account = place.Account.create(type="customer", name="Nia Park", email=f"nia.{run}@example.com")
    assert isinstance(account, place.Account)
    assert (account.object, account.type) == ("account", "customer")

    assert place.Account.get(account.id).email == f"nia.{run}@example.com"
    found = place.Account.select(email=f"nia.{run}@example.com")
    assert [a.id for a in found] == [account.id]

    account.update(name="Nia P.")
    assert place.Account.get(account.id).name == "Nia P."
    account.delete()
    with pytest.raises(place.exceptions.NotFound):
        place.Account.get(account.id)


def test_payment_methods_and_transactions_are_read_and_filtered(client, pl, processing, customer, card):
    method = place.PaymentMethod.get(card.id)
    assert method.account_id == customer.id
    assert method.card["card_number"].endswith("4242")

    for amount in [60, 120]:
        pl.Payment.create(amount=amount, payment_method_id=card.id)
    mine = place.Transaction.select(customer_id=customer.id)
    assert len(mine) == 2
    # With fields given, the SDK sends only those: the customer is one too.
    large = place.Transaction.select(APIField("amount") > 100, APIField("customer_id") == customer.id)
    assert [t.amount for t in large] == [pytest.approx(120)]
    assert place.Transaction.get(large[0].id).status == "processed"


def test_errors_carry_the_description(client):
    with pytest.raises(place.exceptions.NotFound) as missing:
        place.Account.get("0190f5b0-0000-7000-8000-000000000000")
    assert "not found" in str(missing.value)
    with pytest.raises(place.exceptions.APIException) as invalid:
        place.Account.create(type="customer", name="No Mail", email="not-an-email")
    assert invalid.value.error_details["details"] == {"email": "Must be a valid email address"}
    assert "email" in str(invalid.value)


def test_a_multipayer_invoice_is_created_and_paid_part_by_part(client, pl, processing, run):
    account1_id = place.Account.create(type="customer", name="Ana One", email=f"ana.{run}@example.com").id
    account2_id = place.Account.create(type="customer", name="Ben Two", email=f"ben.{run}@example.com").id
    # "Create a multi-payer invoice", as the reference writes it (its
    # placeholder deposit account is the partner's processing account).
    invoice = place.Invoice.create(
        type='rent',
        deposit_account_id = processing.id,
        items=[
            place.InvoiceItem(
                type='one_time_fee',
                amount=1000,
                allocations=[
                    place.InvoiceItemAllocation(
                        account_id=account1_id,
                        amount=600
                    ),
                    place.InvoiceItemAllocation(
                        account_id=account2_id,
                        amount=400
                    ),
                ]
            )
        ],
        payers=[
            place.InvoicePayer(
                account_id=account1_id
            ),
            place.InvoicePayer(
                account_id=account2_id
            )
        ]
    )
    assert isinstance(invoice, place.Invoice)
    assert all(isinstance(p, place.InvoicePayer) for p in invoice.payers)
    assert [(p.account_id, p.amount_allocated) for p in invoice.payers] == [(account1_id, 600), (account2_id, 400)]
    # Items come back under Payload's word, `line_item`: a plain dict here.
    parts = invoice.items[0]["allocations"]
    assert [(a.account_id, a.amount, a.type) for a in parts] == [(account1_id, 600, "custom"), (account2_id, 400, "custom")]
    assert (invoice.processing_id, invoice.paid) == (processing.id, False)

    # The second payer pays its part, naming its invoice payer.
    pl.Card.create(account_id=account2_id, card_number="4242 4242 4242 4242", expiry="12/40",
                   billing_address={"postal_code": "10001"}, default_payment_method=True)
    second = invoice.payers[1]
    payment = pl.Payment.create(amount=400, customer_id=account2_id,
                                invoice_payer_allocations=[{"invoice_payer_id": second.id}])
    assert [(a["invoice_id"], a["amount"]) for a in payment.allocations] == [(invoice.id, 400)]
    now = place.Invoice.get(invoice.id)
    assert [p.paid for p in now.payers] == [False, True]
    assert (now.status, now.amount_due, now.paid) == ("partially_paid", 600, False)


def test_an_event_callback_is_registered_as_the_reference_writes_it(client):
    # "Transaction Events", as written (a webhook of bank_account_reject);
    # the handler's URL is a local one here (the suite's mesh lets webhooks
    # reach loopback).
    place.Event.create(
        callback_url = 'http://127.0.0.1:9/ach_failure_handler',
        event = 'ach_failure'
    )
    # Each call answers its registration.
    event = place.Event.create(callback_url='http://127.0.0.1:9/refund_handler', event='refund')
    assert isinstance(event, place.Event)
    assert (event.callback_url, event.event) == ('http://127.0.0.1:9/refund_handler', 'refund')
    with pytest.raises(place.exceptions.APIException) as refused:
        place.Event.create(callback_url='http://127.0.0.1:9/x', event='payment')
    assert "event" in refused.value.error_details["details"]
