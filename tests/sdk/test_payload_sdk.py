"""The Payload Python SDK (`payload-api`), unmodified, against paymesh.

Each test is one thing a partner's existing Payload code does; the SDK's
own classes, query builder, bulk helpers and exceptions must work as they
do against Payload.
"""

import datetime
import time

import pytest


def ids(objects):
    return sorted(o.id for o in objects)


def test_a_customer_is_created_read_updated_and_deleted(pl, run):
    created = pl.Customer.create(name="Ada Lovelace", email=f"ada.{run}@example.com", attrs={"run": run})
    assert isinstance(created, pl.Customer)
    assert created.object == "customer"
    assert created.email == f"ada.{run}@example.com"
    assert created.attrs == {"run": run}

    read = pl.Customer.get(created.id)
    assert isinstance(read, pl.Customer)
    assert (read.id, read.name) == (created.id, "Ada Lovelace")

    read.update(email=f"ada.king.{run}@example.com")
    assert pl.Customer.get(created.id).email == f"ada.king.{run}@example.com"

    read.delete()
    with pytest.raises(pl.NotFound):
        pl.Customer.get(created.id)


def test_filters_with_attribute_operators_order_and_slices(pl, run):
    names = ["Alma Ortiz", "Bruno Diaz", "Carla Ruiz"]
    made = [
        pl.Customer.create(name=name, email=f"{name.split()[0].lower()}.{run}@example.com", attrs={"run": run})
        for name in names
    ]

    mine = pl.Customer.filter_by(attrs={"run": run}).all()
    assert ids(mine) == ids(made)
    assert all(isinstance(c, pl.Customer) for c in mine)

    by_email = pl.Customer.filter_by(pl.attr.email == f"bruno.{run}@example.com").all()
    assert [c.name for c in by_email] == ["Bruno Diaz"]
    not_bruno = pl.Customer.filter_by(pl.attr.name != "Bruno Diaz", attrs={"run": run}).all()
    assert sorted(c.name for c in not_bruno) == ["Alma Ortiz", "Carla Ruiz"]
    # contains() matches anywhere in the value.
    containing = pl.Customer.filter_by(pl.attr.name.contains("run"), attrs={"run": run}).all()
    assert [c.name for c in containing] == ["Bruno Diaz"]
    either = pl.Customer.filter_by(
        (pl.attr.name == "Alma Ortiz") | (pl.attr.name == "Carla Ruiz"), attrs={"run": run}
    ).all()
    assert sorted(c.name for c in either) == ["Alma Ortiz", "Carla Ruiz"]
    since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    recent = pl.Customer.filter_by(pl.attr.created_at > since, attrs={"run": run}).all()
    assert len(recent) == 3

    ordered = pl.Customer.filter_by(attrs={"run": run}).order_by(pl.attr.name.desc()).all()
    assert [c.name for c in ordered] == ["Carla Ruiz", "Bruno Diaz", "Alma Ortiz"]
    query = pl.Customer.filter_by(attrs={"run": run}).order_by(pl.attr.name)
    assert [c.name for c in query[0:2]] == ["Alma Ortiz", "Bruno Diaz"]
    assert [c.name for c in query[1:3]] == ["Bruno Diaz", "Carla Ruiz"]
    # (Slicing changes the SDK's query object: first() on a fresh one.)
    assert pl.Customer.filter_by(attrs={"run": run}).order_by(pl.attr.name).first().name == "Alma Ortiz"


def test_bulk_create_update_and_delete(pl, run):
    made = pl.create(
        [
            pl.Customer(name="Dora Vega", email=f"dora.{run}@example.com", attrs={"run": run}),
            pl.Customer(name="Emil Sanz", email=f"emil.{run}@example.com", attrs={"run": run}),
        ]
    )
    assert len(made) == 2
    assert all(isinstance(c, pl.Customer) and c.id for c in made)

    pl.update([(made[0], {"name": "Dora V."}), (made[1], {"name": "Emil S."})])
    assert sorted(c.name for c in pl.Customer.filter_by(attrs={"run": run}).all()) == ["Dora V.", "Emil S."]

    pl.delete(made)
    for customer in made:
        with pytest.raises(pl.NotFound):
            pl.Customer.get(customer.id)


def test_updates_and_deletes_by_query(pl, run):
    for name in ["Fay Luna", "Gil Mora"]:
        pl.Customer.create(name=name, email=f"{name.split()[0].lower()}.{run}@example.com", attrs={"run": run})

    pl.Customer.filter_by(attrs={"run": run}).update(attrs={"run": run, "tier": "gold"})
    tiers = [c.attrs.get("tier") for c in pl.Customer.filter_by(attrs={"run": run}).all()]
    assert tiers == ["gold", "gold"]

    pl.Customer.filter_by(attrs={"run": run}).delete()
    assert pl.Customer.filter_by(attrs={"run": run}).all() == []


def test_cards_and_bank_accounts_in_the_sdks_nested_shapes(pl, customer):
    card = pl.Card.create(
        account_id=customer.id,
        card_number="4242 4242 4242 4242",
        expiry="12/40",
        card_code="123",
        billing_address={"postal_code": "10001"},
    )
    assert isinstance(card, pl.Card)
    assert card.type == "card"
    assert card.card["card_number"].endswith("4242")
    assert "4242 4242 4242 4242".replace(" ", "") not in str(card.data)

    bank = pl.BankAccount.create(
        account_id=customer.id,
        account_holder="Matt Perez",
        account_number="000123456789",
        routing_number="011000015",
        account_type="checking",
    )
    assert isinstance(bank, pl.BankAccount)
    assert bank.bank_account["account_number"].endswith("6789")

    cards = pl.Card.filter_by(account_id=customer.id).all()
    assert [c.id for c in cards] == [card.id]
    both = pl.PaymentMethod.filter_by(account_id=customer.id).all()
    assert {type(m) for m in both} == {pl.Card, pl.BankAccount}

    card.update(attrs={"label": "Company card"})
    assert pl.Card.get(card.id).attrs == {"label": "Company card"}
    selected = pl.Card.select(pl.attr.id, pl.attr.description).filter_by(account_id=customer.id).all()
    assert [(type(c), c.description) for c in selected] == [(pl.Card, "Visa x-4242")]


def test_payment_methods_in_bulk_and_by_query(pl, customer):
    made = pl.create(
        [
            pl.Card(
                account_id=customer.id,
                card_number="4242 4242 4242 4242",
                expiry="12/40",
                billing_address={"postal_code": "10001"},
            ),
            pl.Card(
                account_id=customer.id,
                card_number="5555 5555 5555 4444",
                expiry="12/40",
                billing_address={"postal_code": "10001"},
            ),
        ]
    )
    # (The SDK sends one class per list.)
    assert [m.description for m in made] == ["Visa x-4242", "Mastercard x-4444"]

    pl.update([(made[0], {"account_holder": "Matt Perez"}), (made[1], {"account_holder": "Matt Perez"})])
    holders = [m.account_holder for m in pl.PaymentMethod.filter_by(account_id=customer.id).all()]
    assert holders == ["Matt Perez", "Matt Perez"]

    pl.Card.filter_by(account_id=customer.id, card={"card_brand": "visa"}).update(attrs={"wallet": "travel"})
    assert [pl.Card.get(m.id).attrs for m in made] == [{"wallet": "travel"}, {}]

    pl.delete(made)
    assert pl.PaymentMethod.filter_by(account_id=customer.id).all() == []


def test_payments_declines_voids_and_refunds_through_the_ledger(pl, processing, customer, card):
    payment = pl.Payment.create(amount=100, payment_method_id=card.id)
    assert isinstance(payment, pl.Payment)
    assert (payment.status, payment.type) == ("processed", "payment")
    assert payment.processing_id == processing.id

    declining = pl.Card.create(
        account_id=customer.id,
        card_number="4111111111119904",
        expiry="12/40",
        billing_address={"postal_code": "10001"},
    )
    with pytest.raises(pl.TransactionDeclined) as declined:
        pl.Payment.create(amount=10, payment_method_id=declining.id)
    assert isinstance(declined.value.transaction, pl.Payment)
    assert (declined.value.transaction.status, declined.value.transaction.status_code) == (
        "declined",
        "insufficient_bal",
    )
    assert pl.Payment.get(declined.value.transaction.id).status == "declined"

    held = pl.Payment.create(amount=20, payment_method_id=card.id, status="authorized")
    assert held.status == "authorized"
    held.void()
    assert pl.Payment.get(held.id).status == "voided"

    refund = pl.Refund.create(amount=10, ledger=[{"assoc_transaction_id": payment.id}])
    assert isinstance(refund, pl.Refund)
    assert isinstance(refund.ledger[0], pl.Ledger)
    assert refund.ledger[0].assoc_transaction_id == payment.id
    after = pl.Transaction.select("*", pl.attr.ledger).get(payment.id)
    assert isinstance(after, pl.Payment)
    assert after.refunded_amount == 10
    assert [(entry.entry_type, entry.amount) for entry in after.ledger] == [("refund", -10)]
    # The ledger is non-default: plain reads leave it out, selections add it.
    assert "ledger" not in pl.Transaction.get(payment.id).data()
    [listed] = pl.Transaction.select("*", pl.attr.ledger).filter_by(id=payment.id).all()
    assert [entry.assoc_transaction_id for entry in listed.ledger] == [refund.id]
    ledgers = pl.Ledger.filter_by(transaction_id=payment.id).all()
    assert [(entry.entry_type, entry.assoc_transaction_id) for entry in ledgers] == [("refund", refund.id)]


def test_an_inline_card_is_stored_and_charged(pl, processing, customer):
    paid = pl.Payment.create(
        amount=25,
        customer_id=customer.id,
        payment_method=pl.Card(
            card_number="5200 8282 8282 8210", expiry="12/40", billing_address={"postal_code": "10001"}
        ),
    )
    assert paid.status == "processed"
    stored = pl.Card.get(paid.payment_method_id)
    assert stored.account_id == customer.id


def test_aggregates_grouped_by_status(pl, processing, customer, card):
    for amount in [30, 40]:
        pl.Payment.create(amount=amount, payment_method_id=card.id, attrs={"order": customer.attrs["run"]})
    rows = (
        pl.Transaction.select(pl.attr.amount.sum(), pl.attr.status)
        .filter_by(pl.attr.customer_id == customer.id)
        .group_by(pl.attr.status)
        .all()
    )
    totals = {row["status"]: row["sum(amount)"] for row in rows}
    assert list(totals) == ["processed"]
    # 30 + 40: the amount is what is charged (no convenience fee unless the
    # processing settings allocate one).
    assert totals["processed"] == pytest.approx(70)


def test_errors_raise_the_sdks_exceptions(pl, url):
    with pytest.raises(pl.NotFound):
        pl.Customer.get("0190f5b0-0000-7000-8000-000000000000")
    with pytest.raises(pl.InvalidAttributes) as invalid:
        pl.Customer.create(name="No Mail", email="not-an-email")
    assert "email" in invalid.value.details
    with pytest.raises(pl.Unauthorized):
        pl.Session(api_key="test_secret_key_unknown", api_url=url).Customer.all()


def test_another_partner_and_the_other_mode_see_nothing(pl, other, live, customer):
    with pytest.raises(pl.NotFound):
        other.Customer.get(customer.id)
    with pytest.raises(pl.NotFound):
        live.Customer.get(customer.id)
    assert [c.id for c in other.Customer.filter_by(email=customer.email).all()] == []


def test_a_webhook_is_registered_as_the_reference_shows_and_logs_its_deliveries(pl, run, customer, card, other):
    # "Registering a Webhook", as written (the domain need not resolve yet).
    webhook = pl.Webhook.create(trigger="payment", url="https://yourdomain.com/path/to/webhook/handler")
    assert isinstance(webhook, pl.Webhook)
    assert (webhook.trigger, webhook.url, webhook.status) == (
        "payment",
        "https://yourdomain.com/path/to/webhook/handler",
        "enabled",
    )
    assert webhook.secret.startswith("whsec_")
    assert pl.Webhook.get(webhook.id).secret is None
    assert webhook.id in ids(pl.Webhook.filter_by(trigger="payment").all())
    # A payment fires it; the attempt (the domain does not resolve) is logged.
    payment = pl.Payment.create(amount=10.0, payment_method_id=card.id)
    logs = []
    for _ in range(100):
        logs = pl.WebhookLog.filter_by(webhook_id=webhook.id).all()
        if logs:
            break
        time.sleep(0.05)
    assert logs and isinstance(logs[0], pl.WebhookLog)
    assert logs[0].trigger == "payment"
    # The SDK reads `triggered_on` as the object it names: the payment.
    assert isinstance(logs[0].triggered_on, pl.Payment)
    assert logs[0].triggered_on.id == payment.id
    assert logs[0].outcome == "failed" and logs[0].http_status is None
    # Another partner sees none of it; a bad trigger names itself.
    with pytest.raises(pl.NotFound):
        other.Webhook.get(webhook.id)
    with pytest.raises(pl.InvalidAttributes) as bad:
        pl.Webhook.create(trigger="sometimes", url="https://yourdomain.com/hook")
    assert "trigger" in str(bad.value.details)
    pl.Webhook.get(webhook.id).delete()
    with pytest.raises(pl.NotFound):
        pl.Webhook.get(webhook.id)


def test_an_invoice_is_created_and_paid_with_a_payment_item_as_the_reference_writes_them(
    pl, processing, customer, other
):
    # "Create an Invoice": the reference passes `due_date=datetime.date(2019,1,1)`,
    # which the SDK cannot encode as JSON (a TypeError before any request);
    # run with the date as text.
    invoice = pl.Invoice.create(
        type="bill",
        processing_id=processing.id,
        due_date="2019-01-01",
        items=[pl.ChargeItem(type="item1", amount=29.99)],
        customer_id=customer.id,
    )
    assert isinstance(invoice, pl.Invoice)
    assert (invoice.status, invoice.total_due, invoice.amount_due) == ("overdue", 29.99, 29.99)
    assert isinstance(invoice.items[0], pl.ChargeItem)
    assert (invoice.items[0].type, invoice.items[0].total) == ("item1", 29.99)

    # "Automating Billing": items and a customer, nothing else.
    membership = pl.Invoice.create(items=[pl.ChargeItem(amount=100, description="membership")], customer_id=customer.id)
    assert (membership.status, membership.processing_id) == ("pending", processing.id)

    # A payment the partner recorded, as a payment item of the invoice.
    pl.PaymentItem.create(invoice_id=invoice.id, amount=29.99)
    paid = pl.Invoice.get(invoice.id)
    assert (paid.status, paid.amount_due, paid.total_paid) == ("paid", 0, 29.99)
    assert [type(i) for i in paid.items] == [pl.ChargeItem, pl.PaymentItem]
    assert {i.id for i in pl.Invoice.filter_by(customer_id=customer.id, status="paid").all()} == {invoice.id}

    with pytest.raises(pl.NotFound):
        other.Invoice.get(invoice.id)


def test_a_billing_schedule_is_created_and_its_frequency_updated_as_the_reference_writes_them(pl, processing, customer):
    schedule = pl.BillingSchedule.create(
        start_date="2019-01-01",
        end_date="2019-12-31",
        recurring_frequency="monthly",
        type="subscription",
        processing_id=processing.id,
        charges=[pl.BillingCharge(type="option_1", amount=39.99)],
        customer_id=customer.id,
    )
    assert isinstance(schedule, pl.BillingSchedule)
    assert isinstance(schedule.charges[0], pl.BillingCharge)
    assert schedule.charges[0].amount == 39.99
    # Created today: billed on this day of the month, from today on (2019
    # is over, so nothing is left to bill).
    assert schedule.monthly["billing_day"] == datetime.datetime.now(datetime.timezone.utc).day
    assert schedule.next_billing_date is None

    # "Updating a Billing Frequency" (the reference's Python lacks a comma
    # after `recurring_frequency='annually'`; run with it).
    schedule.update(recurring_frequency="annually", annually={"billing_month": 12, "billing_day": 31})
    updated = pl.BillingSchedule.get(schedule.id)
    assert updated.recurring_frequency == "annually"
    assert (updated.annually["billing_month"], updated.annually["billing_day"]) == (12, 31)
    assert updated.monthly is None


def test_an_invoice_is_paid_with_allocations_as_the_reference_writes_it(pl, processing, customer, card):
    made = pl.Invoice.create(items=[pl.ChargeItem(amount=100, description="membership")], customer_id=customer.id)

    # "Pay an Invoice" (the reference's Python closes one parenthesis too
    # many; run without it).
    invoice = pl.Invoice.get(made.id)
    if invoice.status != "paid":
        payment = pl.Payment.create(
            amount=invoice.amount_due,
            customer_id=invoice.customer_id,
            allocations=[pl.PaymentItem(invoice_id=invoice.id)],
        )
    assert isinstance(payment, pl.Payment)
    assert payment.status == "processed"
    assert [(a["invoice_id"], a["amount"]) for a in payment.allocations] == [(invoice.id, 100)]
    paid = pl.Invoice.get(invoice.id)
    assert (paid.status, paid.amount_due) == ("paid", 0)
    assert paid.items[-1].transaction_id == payment.id

    # Nothing is left to pay: a second payment is refused, naming why.
    with pytest.raises(pl.InvalidAttributes):
        pl.Payment.create(amount=1, customer_id=customer.id, allocations=[pl.PaymentItem(invoice_id=invoice.id)])


def test_risky_payments_are_found_by_the_references_or_conditional(pl, processing, customer, card):
    # Above 10,000.00 the test processor scores a payment for review; its
    # ...9908 card is denied (declined as suspicious_activity).
    reviewed = pl.Payment.create(amount=12000, payment_method_id=card.id)
    assert (reviewed.status, reviewed.risk_flag) == ("processed", "in_review")
    risky = pl.Card.create(account_id=customer.id, card_number="4111111111119908", expiry="12/40",
                           billing_address={"postal_code": "10001"})
    with pytest.raises(pl.TransactionDeclined) as denied:
        pl.Payment.create(amount=10, payment_method_id=risky.id)
    pl.Payment.create(amount=15, payment_method_id=card.id)
    # "OR Conditional", as the reference writes it (its customer's only).
    payments = pl.Payment.filter_by(
        (pl.attr.risk_status == 'denied') | (pl.attr.risk_status == 'in_review')
    ).all()
    mine = {p.id for p in payments if p.customer_id == customer.id}
    assert mine == {reviewed.id, denied.value.transaction.id}


def test_payment_links_as_the_reference_writes_them(pl, url, processing, other, live):
    # "Basic One-time Link": an amount is optional.
    payment_link = pl.PaymentLink.create(
        type="one_time",
        description="Payment Request",
        amount=10.00,  # Optional
        processing_id=processing.id,
    )
    assert isinstance(payment_link, pl.PaymentLink)
    assert (payment_link.type, payment_link.status, payment_link.amount) == ("one_time", "active", 10)
    # "Every payment link object includes a url that can be sent to a client."
    assert payment_link.url.startswith(f"{url}/pay/")

    # "Include Additional Data Fields": the page asks for them.
    payment_link = pl.PaymentLink.create(
        type="one_time",
        description="Payment Request",
        amount=10.00,
        processing_id=processing.id,
        additional_datafields=[{"section": "Extra Fields", "fields": [{"title": "Field Name"}]}],
    )
    assert payment_link.additional_datafields[0]["section"] == "Extra Fields"
    assert payment_link.additional_datafields[0]["fields"][0]["title"] == "Field Name"

    # "Reusable Link": no amount, the payer types it.
    reusable = pl.PaymentLink.create(type="reusable", description="Payment Request", processing_id=processing.id)
    assert (reusable.type, reusable.amount, reusable.payment_count) == ("reusable", None, 0)

    # "Customer Link": the customer is created, and the link is emailed to it
    # at once (recorded: the suite's mesh has no SMTP relay).
    payment_link = pl.PaymentLink.create(
        type="one_time",
        description="Payment Request",
        processing_id=processing.id,
        customer=pl.Customer(name="Test Customer", email="testcustomer@gmail.com"),
    )
    customer = pl.Customer.get(payment_link.customer_id)
    assert (customer.name, customer.email) == ("Test Customer", "testcustomer@gmail.com")
    [message] = payment_link.messages
    assert (message["recipient"], message["status"], message["kind"]) == ("testcustomer@gmail.com", "recorded", "link")

    # Found by the query language, canceled by an update, invisible elsewhere.
    assert payment_link.id in {l.id for l in pl.PaymentLink.filter_by(type="one_time", status="active").all()}
    payment_link.update(status="canceled")
    assert pl.PaymentLink.get(payment_link.id).status == "canceled"
    with pytest.raises(pl.InvalidAttributes):
        pl.PaymentLink.create(type="weekly", description="", processing_id=processing.id)
    for session in (other, live):
        with pytest.raises(pl.NotFound):
            session.PaymentLink.get(payment_link.id)
