//! The REST side: the bench's customer and card, card payments through the
//! gateway, and the timed list query. Requests are exactly a partner's:
//! the key as HTTP Basic user name, JSON bodies, an `Idempotency-Key` on
//! every payment.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use paymesh_kit::wire::IDEMPOTENCY_KEY;
use reqwest::{Client, StatusCode, Url, header::HeaderValue};
use serde_json::{Value, json};

use crate::{
    load::{Failure, Worker},
    stats::{Latencies, Summary},
};

/// The deadline of one request (the gateway's own default is 10 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The amount of every bench payment; the platform's credit pricing adds
/// 2.90% for the payer, so 102.90 is charged (scripts/bench-payment.sql
/// writes the same figures).
pub(crate) const AMOUNT: u32 = 100;

/// The card every payment charges: the processor's always-approved test
/// Visa. Never printed.
const TEST_CARD: &str = "4242 4242 4242 4242";

/// The gateway, as the bench partner.
#[derive(Clone)]
pub(crate) struct Rest {
    base: Url,
    key: String,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rest").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

/// Who pays: created once, before any load.
#[derive(Debug)]
pub(crate) struct Parties {
    pub(crate) method_id: String,
    /// The id of a first payment, through which the database tells the
    /// partner's and the processing account's ids.
    pub(crate) first_payment: String,
}

/// What the list query measured.
#[derive(Debug)]
pub(crate) struct ListTiming {
    pub(crate) requests: u32,
    pub(crate) errors: u32,
    pub(crate) latency: Summary,
}

impl Rest {
    pub(crate) fn new(base: &str, key: &str) -> anyhow::Result<Self> {
        let base = Url::parse(base).with_context(|| format!("invalid gateway URL {base}"))?;
        Ok(Self { base, key: key.to_owned() })
    }

    /// A client with one connection of its own (a worker's).
    fn client() -> anyhow::Result<Client> {
        Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .build()
            .context("cannot build an HTTP client")
    }

    fn url(&self, path_and_query: &str) -> anyhow::Result<Url> {
        self.base.join(path_and_query).with_context(|| format!("invalid path {path_and_query}"))
    }

    /// POSTs `body` to `path`; the JSON answer, which must be a 200.
    async fn create(&self, client: &Client, path: &str, body: Value) -> anyhow::Result<Value> {
        let response =
            client.post(self.url(path)?).basic_auth(&self.key, Some("")).json(&body).send().await?;
        let status = response.status();
        let answer: Value = response.json().await.with_context(|| format!("POST {path}: not JSON"))?;
        if status != StatusCode::OK {
            let error = answer.get("error_type").and_then(Value::as_str).unwrap_or("?");
            let description = answer.get("description").and_then(Value::as_str).unwrap_or("");
            anyhow::bail!("POST {path} answered {status}: {error} {description}");
        }
        Ok(answer)
    }

    /// Creates the customer and the card every payment uses (as the tests'
    /// `parties` helper does), and makes one payment.
    pub(crate) async fn setup(&self) -> anyhow::Result<Parties> {
        let client = Self::client()?;
        let customer = self
            .create(&client, "/customers", json!({"name": "Bench Payer", "email": "payer@bench.example"}))
            .await?;
        let customer_id = id_of(&customer)?;
        let card = self
            .create(
                &client,
                "/payment_methods",
                json!({"type": "card", "account_id": customer_id, "account_holder": "Bench Payer",
                       "card": {"card_number": TEST_CARD, "expiry": "12/40"},
                       "billing_address": {"postal_code": "10001"}, "default_payment_method": true}),
            )
            .await?;
        let method_id = id_of(&card)?;
        let mut payer = self.payers(1, &method_id, "setup")?.into_iter().next().context("no payer")?;
        let payment = payer.pay(0).await.map_err(|f| anyhow::anyhow!("the first payment failed: {}", f.0))?;
        Ok(Parties { method_id, first_payment: payment })
    }

    /// `n` payment workers charging `method_id`, each on its own
    /// connection; `prefix` keeps their idempotency keys unique.
    pub(crate) fn payers(&self, n: u32, method_id: &str, prefix: &str) -> anyhow::Result<Vec<RestPayer>> {
        let url = self.url("/transactions")?;
        // Every payment sends the same body; only its Idempotency-Key differs.
        let body = serde_json::to_vec(&json!({
            "type": "payment", "amount": AMOUNT, "payment_method_id": method_id,
        }))?;
        (0..n)
            .map(|worker| {
                Ok(RestPayer {
                    client: Self::client()?,
                    url: url.clone(),
                    key: self.key.clone(),
                    body: body.clone(),
                    prefix: format!("bench-{prefix}-w{worker}"),
                })
            })
            .collect()
    }

    /// Times `path_and_query`, one request after another on one
    /// connection, after ten unrecorded ones; each answer must list
    /// `limit` transactions, all `processed`.
    pub(crate) async fn list_timing(
        &self,
        path_and_query: &str,
        limit: usize,
        requests: u32,
    ) -> anyhow::Result<ListTiming> {
        let client = Self::client()?;
        let url = self.url(path_and_query)?;
        let fetch = |client: &Client| {
            let request = client.get(url.clone()).basic_auth(&self.key, Some(""));
            async move {
                let response = request.send().await.map_err(|e| failure_of(&e))?;
                let status = response.status();
                let body: Value =
                    response.json().await.map_err(|_| Failure("answer is not JSON".to_owned()))?;
                check_list(status, &body, limit)
            }
        };
        for _ in 0..10 {
            if let Err(failure) = fetch(&client).await {
                anyhow::bail!("GET {path_and_query} failed: {}", failure.0);
            }
        }
        let mut latencies = Latencies::with_capacity(requests as usize);
        let mut errors = 0;
        for _ in 0..requests {
            let sent = Instant::now();
            match fetch(&client).await {
                Ok(()) => latencies.record(sent.elapsed()),
                Err(_) => errors += 1,
            }
        }
        Ok(ListTiming { requests, errors, latency: latencies.summary() })
    }
}

/// One connection sending card payments through the gateway.
pub(crate) struct RestPayer {
    client: Client,
    url: Url,
    key: String,
    body: Vec<u8>,
    prefix: String,
}

impl std::fmt::Debug for RestPayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestPayer").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl RestPayer {
    /// Pays once with Idempotency-Key `<prefix>-<seq>`; the payment's id.
    async fn pay(&mut self, seq: u64) -> Result<String, Failure> {
        let key = HeaderValue::try_from(format!("{}-{seq}", self.prefix))
            .map_err(|_| Failure("bad idempotency key".to_owned()))?;
        let response = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.key, Some(""))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_KEY, key)
            .body(self.body.clone())
            .send()
            .await
            .map_err(|e| failure_of(&e))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|_| Failure(format!("HTTP {status}, not JSON")))?;
        check_payment(status, &body)
    }
}

impl Worker for RestPayer {
    async fn call(&mut self, seq: u64) -> Result<(), Failure> {
        self.pay(seq).await.map(drop)
    }
}

/// A payment's answer must be 200 with a `processed` transaction; its id.
fn check_payment(status: StatusCode, body: &Value) -> Result<String, Failure> {
    if status != StatusCode::OK {
        let error = body.get("error_type").and_then(Value::as_str).unwrap_or("no error_type");
        return Err(Failure(format!("HTTP {} {error}", status.as_u16())));
    }
    if body.get("object").and_then(Value::as_str) != Some("transaction") {
        return Err(Failure("answer is not a transaction".to_owned()));
    }
    match body.get("status").and_then(Value::as_str) {
        Some("processed") => {}
        other => return Err(Failure(format!("status {}", other.unwrap_or("missing")))),
    }
    body.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Failure("no id".to_owned()))
}

/// A list answer must be 200 with `limit` processed transactions.
fn check_list(status: StatusCode, body: &Value, limit: usize) -> Result<(), Failure> {
    if status != StatusCode::OK {
        return Err(Failure(format!("HTTP {}", status.as_u16())));
    }
    let values =
        body.get("values").and_then(Value::as_array).ok_or_else(|| Failure("no values".to_owned()))?;
    if values.len() != limit {
        return Err(Failure(format!("{} values, not {limit}", values.len())));
    }
    if !values.iter().all(|v| v.get("status").and_then(Value::as_str) == Some("processed")) {
        return Err(Failure("a listed transaction is not processed".to_owned()));
    }
    Ok(())
}

fn id_of(object: &Value) -> anyhow::Result<String> {
    object.get("id").and_then(Value::as_str).map(str::to_owned).context("the answer has no id")
}

/// A transport failure in a few words (never the URL's credentials: the
/// key travels in a header, not in the URL).
fn failure_of(error: &reqwest::Error) -> Failure {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "broken answer"
    } else {
        "transport error"
    };
    Failure(kind.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_processed_transaction_is_a_successful_payment() {
        let paid = json!({"object": "transaction", "id": "t1", "status": "processed"});
        assert_eq!(check_payment(StatusCode::OK, &paid), Ok("t1".to_owned()));
        let declined = json!({"object": "transaction", "id": "t2", "status": "declined"});
        assert_eq!(check_payment(StatusCode::OK, &declined), Err(Failure("status declined".to_owned())));
        let busy = json!({"object": "error", "error_type": "ServiceUnavailable"});
        assert_eq!(
            check_payment(StatusCode::SERVICE_UNAVAILABLE, &busy),
            Err(Failure("HTTP 503 ServiceUnavailable".to_owned()))
        );
    }

    #[test]
    fn a_short_list_is_a_failure() {
        let one = json!({"object": "list", "values": [{"status": "processed"}]});
        assert!(check_list(StatusCode::OK, &one, 1).is_ok());
        assert_eq!(check_list(StatusCode::OK, &one, 100), Err(Failure("1 values, not 100".to_owned())));
    }
}
