//! Webhook deliveries under the payment load: a receiver on loopback is
//! registered for the `payment` trigger before the load, and counts what
//! arrives — deliveries per second, and the time from each payment's commit
//! (its event's `created_at`) to its webhook's arrival.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::stats::percentile;

/// What arrived: when, and how long after its payment committed (ms).
#[derive(Debug, Default)]
struct Arrivals {
    at: Vec<Instant>,
    after_commit_ms: Vec<u64>,
}

/// A receiver of webhook deliveries.
#[derive(Clone, Debug, Default)]
pub(crate) struct Receiver {
    arrivals: Arc<Mutex<Arrivals>>,
}

/// Deliveries under the load.
#[derive(Debug, Serialize)]
pub(crate) struct WebhookReport {
    /// Deliveries received.
    pub(crate) delivered: usize,
    /// Deliveries per second, first arrival to last.
    pub(crate) per_second: f64,
    /// From the payment's commit to its webhook's arrival.
    pub(crate) p50_ms: u64,
    /// The same, 99th percentile.
    pub(crate) p99_ms: u64,
}

impl Receiver {
    /// Serves on a free loopback port and registers itself as a webhook of
    /// the partner of `key` at `gateway` for every payment.
    pub(crate) async fn register(&self, gateway: &str, key: &str) -> anyhow::Result<()> {
        let url = self.start().await?;
        let answer = reqwest::Client::new()
            .post(format!("{gateway}/webhooks"))
            .basic_auth(key, Some(""))
            .json(&serde_json::json!({"url": url, "trigger": "payment"}))
            .send()
            .await
            .context("cannot register the bench webhook")?;
        anyhow::ensure!(
            answer.status().is_success(),
            "the bench webhook was refused: {}",
            answer.text().await?
        );
        Ok(())
    }

    /// Serves on a free loopback port; answers its URL.
    async fn start(&self) -> anyhow::Result<String> {
        async fn receive(State(receiver): State<Receiver>, body: Bytes) -> StatusCode {
            let now = Utc::now();
            let committed = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
                v["event"]["created_at"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok())
            });
            if let Ok(mut arrivals) = receiver.arrivals.lock() {
                arrivals.at.push(Instant::now());
                if let Some(committed) = committed {
                    arrivals
                        .after_commit_ms
                        .push(u64::try_from((now - committed).num_milliseconds()).unwrap_or(0));
                }
            }
            StatusCode::NO_CONTENT
        }
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot bind the receiver")?;
        let url = format!("http://{}/bench-hooks", listener.local_addr()?);
        let app = Router::new().route("/bench-hooks", post(receive)).with_state(self.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(url)
    }

    fn count(&self) -> usize {
        self.arrivals.lock().map_or(0, |a| a.at.len())
    }

    /// Waits until deliveries stop arriving (none for `quiet`), then
    /// reports them.
    pub(crate) async fn settle(&self, quiet: Duration) -> WebhookReport {
        let mut seen = self.count();
        loop {
            tokio::time::sleep(quiet).await;
            let now = self.count();
            if now == seen {
                break;
            }
            seen = now;
        }
        let arrivals =
            self.arrivals.lock().map(|a| (a.at.clone(), a.after_commit_ms.clone())).unwrap_or_default();
        let (at, mut after) = arrivals;
        after.sort_unstable();
        let span = match (at.first(), at.last()) {
            (Some(first), Some(last)) => last.duration_since(*first).as_secs_f64(),
            _ => 0.0,
        };
        WebhookReport {
            delivered: at.len(),
            per_second: if span > 0.0 { at.len() as f64 / span } else { 0.0 },
            p50_ms: percentile(&after, 50.0),
            p99_ms: percentile(&after, 99.0),
        }
    }
}
