"""Fixtures of the SDK conformance suite.

The suite drives a running paymesh gateway with the official partner SDKs,
unmodified. `tests/sdk_conformance.rs` starts a mesh against a fresh
database and runs it with:

    PAYMESH_URL          the gateway, e.g. http://127.0.0.1:8080
    PAYMESH_KEY          a test secret key of one partner
    PAYMESH_OTHER_KEY    a test secret key of another partner
    PAYMESH_LIVE_KEY     the first partner's live secret key
    PAYMESH_PROCESSING   the first partner's default test processing account
"""

import os
import uuid

import payload
import pytest


def setting(name):
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through `cargo nextest run -p paymesh-tests`")
    return value


@pytest.fixture(scope="session")
def url():
    return setting("PAYMESH_URL")


@pytest.fixture(scope="session")
def key():
    return setting("PAYMESH_KEY")


@pytest.fixture(scope="session")
def pl(url, key):
    """The Payload SDK, configured the way a partner configures it."""
    payload.api_key = key
    payload.api_url = url
    return payload


@pytest.fixture(scope="session")
def other(url):
    """A session of another partner."""
    return payload.Session(api_key=setting("PAYMESH_OTHER_KEY"), api_url=url)


@pytest.fixture(scope="session")
def live(url):
    """A session of the same partner in live mode."""
    return payload.Session(api_key=setting("PAYMESH_LIVE_KEY"), api_url=url)


@pytest.fixture(scope="session")
def processing(pl):
    """The partner's default test processing account, paid by ACH."""
    account = pl.ProcessingAccount.get(setting("PAYMESH_PROCESSING"))
    account.update(
        processing={
            "payout_method": "ach",
            "payout_details": {"routing_number": "011000015", "account_number": "000123456789"},
        }
    )
    return account


@pytest.fixture
def run():
    """A tag unique to one test, to find what it made among the rest."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def customer(pl, run):
    return pl.Customer.create(name="Matt Perez", email=f"matt.{run}@example.com", attrs={"run": run})


@pytest.fixture
def card(pl, customer):
    return pl.Card.create(
        account_id=customer.id,
        card_number="4242 4242 4242 4242",
        expiry="12/40",
        card_code="123",
        billing_address={"postal_code": "10001"},
        default_payment_method=True,
    )
