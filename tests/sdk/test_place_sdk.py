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
    assert [t.amount for t in large] == [pytest.approx(123.48)]
    assert place.Transaction.get(large[0].id).status == "processed"


def test_errors_carry_the_description(client):
    with pytest.raises(place.exceptions.NotFound) as missing:
        place.Account.get("0190f5b0-0000-7000-8000-000000000000")
    assert "not found" in str(missing.value)
    with pytest.raises(place.exceptions.APIException) as invalid:
        place.Account.create(type="customer", name="No Mail", email="not-an-email")
    assert invalid.value.error_details["details"] == {"email": "Must be a valid email address"}
    assert "email" in str(invalid.value)
