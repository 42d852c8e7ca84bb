//! Idempotent creation: a `Create…` request that carries an
//! `idempotency-key` (the gateway forwards a POST's `Idempotency-Key`) is
//! carried out once per partner, mode and key.
//!
//! - The first request claims the key with a fingerprint of the request
//!   (SHA-256 of the RPC's request type and its encoding), runs, and
//!   records its answer: the encoded response, or the error status of a
//!   failure that stored something (a declined payment).
//! - A retry with the same request gets the recorded answer.
//! - The same key with another request is a conflict; so is a retry while
//!   the first request is still in flight ("retry shortly").
//! - A request that changed nothing (bad input, a peer unavailable)
//!   releases its key, so the corrected request may use it.
//! - Keys are kept for the configured time (`PAYMESH_IDEMPOTENCY_TTL_SECS`,
//!   default 24 h); an expired key is claimed afresh.
//!
//! Each service that creates things keeps the keys in its own schema's
//! `idempotency_keys` table (see the services' migrations).

use std::{any::type_name, future::Future, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use prost::Message;
use sha2::{Digest as _, Sha256};
use sqlx::{PgPool, Row};
use tonic::{Code, Request, Response, Status};

use crate::{
    Error,
    auth::{self, Principal, Scope},
    wire::{self, IDEMPOTENCY_KEY},
};

/// What a stored key says about a new request with it.
#[derive(Debug)]
enum Claim {
    /// The key is new (or expired): this request goes ahead.
    Fresh,
    /// The first request with the key was answered: this is its answer.
    Answered(Answer),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with the key is still in flight.
    InFlight,
}

/// A recorded answer.
#[derive(Debug)]
enum Answer {
    /// The encoded response.
    Response(Vec<u8>),
    /// An error: gRPC code, message and encoded details.
    Error { code: i32, message: String, details: Vec<u8> },
}

/// The idempotency keys of one service's schema.
#[derive(Clone, Debug)]
pub struct IdempotencyKeys {
    pool: PgPool,
    ttl: TimeDelta,
}

impl IdempotencyKeys {
    /// The keys in `pool`'s schema, kept for `ttl`.
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self { pool, ttl: TimeDelta::from_std(ttl).unwrap_or(TimeDelta::days(1)) }
    }

    /// Answers `request` with `create`, once per idempotency key: a
    /// request without a key simply runs. `now` is the service's clock.
    /// Only `Error::Refused` failures are recorded (they stored a
    /// declined transaction); any other failure releases the key.
    pub async fn once<Req, Resp, Fut>(
        &self,
        request: Request<Req>,
        now: DateTime<Utc>,
        create: impl FnOnce(Principal, Req) -> Fut,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message,
        Resp: Message + Default,
        Fut: Future<Output = Result<Resp, Error>>,
    {
        let principal = auth::principal(&request)?;
        // Metadata that is not even text fails the key's rule below.
        let raw = request
            .metadata()
            .get(IDEMPOTENCY_KEY)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let message = request.into_inner();
        let Some(raw) = raw else {
            return Ok(Response::new(create(principal, message).await?));
        };
        let key = wire::idempotency_key(&raw).map_err(Error::BadRequest)?;
        let scope = principal.scope();
        let hash = fingerprint(&message);
        match self.claim(scope, key, &hash, now).await? {
            Claim::Fresh => {}
            Claim::Answered(Answer::Response(bytes)) => {
                return Resp::decode(bytes.as_slice()).map(Response::new).map_err(|e| {
                    Error::Internal(anyhow::anyhow!("unreadable recorded response: {e}")).into()
                });
            }
            Claim::Answered(Answer::Error { code, message, details }) => {
                return Err(Status::with_details(Code::from(code), message, details.into()));
            }
            Claim::Mismatch => {
                return Err(Error::Conflict(
                    "This Idempotency-Key was already used with a different request; use a new key"
                        .to_owned(),
                )
                .into());
            }
            Claim::InFlight => {
                return Err(Error::Conflict(
                    "A request with this Idempotency-Key is still in progress; retry shortly".to_owned(),
                )
                .into());
            }
        }
        match create(principal, message).await {
            Ok(response) => {
                self.answer(scope, key, &Answer::Response(response.encode_to_vec())).await?;
                Ok(Response::new(response))
            }
            Err(error @ Error::Refused { .. }) => {
                let status = Status::from(error);
                let answer = Answer::Error {
                    code: status.code() as i32,
                    message: status.message().to_owned(),
                    details: status.details().to_vec(),
                };
                self.answer(scope, key, &answer).await?;
                Err(status)
            }
            Err(error) => {
                if let Err(e) = self.release(scope, key).await {
                    tracing::warn!(error = %e, "could not release an idempotency key");
                }
                Err(error.into())
            }
        }
    }

    /// Claims `key` for a request whose fingerprint is `hash`; an expired
    /// claim of the key is forgotten first.
    async fn claim(&self, scope: Scope, key: &str, hash: &[u8], now: DateTime<Utc>) -> Result<Claim, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE partner_id = $1 AND livemode = $2 AND key = $3 AND created_at < $4",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(now - self.ttl)
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (partner_id, livemode, key, request_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let claim = if inserted.rows_affected() == 1 {
            Claim::Fresh
        } else {
            let row = sqlx::query(
                "SELECT request_hash, response, error_code, error_message FROM idempotency_keys \
                 WHERE partner_id = $1 AND livemode = $2 AND key = $3",
            )
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let stored: Vec<u8> = row.try_get("request_hash")?;
            let response: Option<Vec<u8>> = row.try_get("response")?;
            let code: Option<i32> = row.try_get("error_code")?;
            match (stored == hash, response, code) {
                (false, ..) => Claim::Mismatch,
                (true, None, _) => Claim::InFlight,
                (true, Some(bytes), None) => Claim::Answered(Answer::Response(bytes)),
                (true, Some(details), Some(code)) => Claim::Answered(Answer::Error {
                    code,
                    message: row.try_get::<Option<String>, _>("error_message")?.unwrap_or_default(),
                    details,
                }),
            }
        };
        tx.commit().await?;
        Ok(claim)
    }

    /// Records the answer to the request that claimed `key`.
    async fn answer(&self, scope: Scope, key: &str, answer: &Answer) -> Result<(), Error> {
        let (bytes, code, message) = match answer {
            Answer::Response(bytes) => (bytes.as_slice(), None, None),
            Answer::Error { code, message, details } => {
                (details.as_slice(), Some(*code), Some(message.as_str()))
            }
        };
        sqlx::query(
            "UPDATE idempotency_keys SET response = $4, error_code = $5, error_message = $6 \
             WHERE partner_id = $1 AND livemode = $2 AND key = $3",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(bytes)
        .bind(code)
        .bind(message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets `key` (its request changed nothing, so it may be retried).
    async fn release(&self, scope: Scope, key: &str) -> Result<(), Error> {
        sqlx::query("DELETE FROM idempotency_keys WHERE partner_id = $1 AND livemode = $2 AND key = $3")
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Refuses an `idempotency-key` on a request whose answer must not be
/// kept for a retry (it carries a secret shown once); `why` says so.
pub fn refuse<T>(request: &Request<T>, why: &str) -> Result<(), Error> {
    if request.metadata().contains_key(IDEMPOTENCY_KEY) {
        return Err(Error::BadRequest(format!("Idempotency-Key is not accepted here: {why}")));
    }
    Ok(())
}

/// The fingerprint of a request: its type and encoding, so that one key
/// sent to two different RPCs is two different requests.
fn fingerprint<M: Message>(message: &M) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(type_name::<M>().as_bytes());
    digest.update([0]);
    digest.update(message.encode_to_vec());
    digest.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_requests_and_their_types_apart() {
        let a = prost_types::Duration { seconds: 1, nanos: 0 };
        let b = prost_types::Duration { seconds: 2, nanos: 0 };
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        let same_bytes = prost_types::Timestamp { seconds: 1, nanos: 0 };
        assert_eq!(a.encode_to_vec(), same_bytes.encode_to_vec());
        assert_ne!(fingerprint(&a), fingerprint(&same_bytes));
    }
}
