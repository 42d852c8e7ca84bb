//! Idempotent creation: a `Create…` request that carries an
//! `idempotency-key` (the gateway forwards a POST's `Idempotency-Key`) is
//! carried out once per partner, mode and key.
//!
//! - The first request claims the key with a fingerprint of the request
//!   (SHA-256 of the RPC's request type and its encoding) and a lease
//!   (`PAYMESH_IDEMPOTENCY_LEASE_MS`, default 10 s), runs, and records its
//!   answer: the encoded response, or the error status of a failure that
//!   stored something (a declined payment).
//! - A retry with the same request gets the recorded answer.
//! - The same key with another request is a conflict; so is a retry while
//!   the first request holds its lease ("retry shortly").
//! - A retry after the lease of a request that died unanswered (a crashed
//!   process) takes the key over: the creator is told it
//!   [resumes](Claimed::resumed), so that it finishes what the first
//!   request started instead of starting again (payments do; a creation
//!   that is one database transaction simply runs again).
//! - A request that changed nothing (bad input, a peer unavailable)
//!   releases its key, so the corrected request may use it — unless it
//!   [held](Claimed::hold) the key because it started something a retry
//!   must finish.
//! - Keys are kept for the configured time (`PAYMESH_IDEMPOTENCY_TTL_SECS`,
//!   default 24 h); an expired key is claimed afresh.
//!
//! Each service that creates things keeps the keys in its own schema's
//! `idempotency_keys` table (see the services' migrations).

use std::{
    any::type_name,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use chrono::{DateTime, TimeDelta, Utc};
use prost::Message;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use tonic::{Code, Request, Response, Status};

use crate::{
    Error,
    auth::{self, Principal, Scope},
    config::IdempotencySettings,
    wire::{self, IDEMPOTENCY_KEY},
};

/// What a stored key says about a new request with it.
#[derive(Debug)]
enum Claim {
    /// The key is new (or expired): this request goes ahead.
    Fresh,
    /// The request that held the key died unanswered and its lease ran
    /// out: this request takes over.
    Resume,
    /// The first request with the key was answered: this is its answer.
    Answered(Answer),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with the key is still in flight, for this long
    /// at most.
    InFlight(TimeDelta),
}

/// A recorded answer.
#[derive(Debug)]
enum Answer {
    /// The encoded response.
    Response(Vec<u8>),
    /// An error: gRPC code, message and encoded details.
    Error { code: i32, message: String, details: Vec<u8> },
}

/// What claiming a request's key decided.
enum Admission<Req, Resp> {
    /// Run the request (holding the key, if it carries one).
    Run(Principal, Req, Option<Claimed>),
    /// Answer at once.
    Answered(Result<Response<Resp>, Status>),
}

/// A key this request holds.
#[derive(Clone, Debug)]
pub struct Claimed {
    scope: Scope,
    key: String,
    resumed: bool,
    held: Arc<AtomicBool>,
    answered: Arc<AtomicBool>,
}

impl Claimed {
    /// The key, as the partner sent it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether an earlier request with this key died unanswered: what it
    /// started, if anything, is to be finished rather than started again.
    pub const fn resumed(&self) -> bool {
        self.resumed
    }

    /// Keeps the key if this request fails from now on: it started
    /// something (a payment attempt) that a retry after the lease must
    /// resume, so the key must not be released for a fresh start.
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Undoes [`Claimed::hold`]: what was started was undone, nothing was
    /// done, and a failure releases the key again.
    pub fn let_go(&self) {
        self.held.store(false, Ordering::SeqCst);
    }

    /// Keeps `answer` for the key through `conn`, the open transaction of
    /// the change it answers for: the change and its answer are committed
    /// together, or neither is (see [`keep_answer`]).
    pub async fn keep_in(
        &self,
        conn: &mut PgConnection,
        answer: Result<&impl Message, &Status>,
    ) -> Result<(), Error> {
        keep_answer(conn, self.scope, &self.key, answer).await?;
        self.answered.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// The idempotency keys of one service's schema.
#[derive(Clone, Debug)]
pub struct IdempotencyKeys {
    pool: PgPool,
    ttl: TimeDelta,
    lease: TimeDelta,
}

impl IdempotencyKeys {
    /// The keys in `pool`'s schema, kept and leased as `settings` say.
    pub fn new(pool: PgPool, settings: IdempotencySettings) -> Self {
        Self {
            pool,
            ttl: TimeDelta::from_std(settings.ttl).unwrap_or(TimeDelta::days(1)),
            lease: TimeDelta::from_std(settings.lease).unwrap_or(TimeDelta::seconds(10)),
        }
    }

    /// Answers `request` with `create`, once per idempotency key: a
    /// request without a key simply runs. `now` is the service's clock.
    /// Only `Error::Refused` failures are recorded (they stored a
    /// declined transaction); any other failure releases the key. A
    /// request cut short (its caller hung up, its process died) keeps its
    /// key unanswered until the lease runs out; a retry then runs it again
    /// — right for a creation that is one database transaction.
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
        let (principal, message, claimed) = match self.claim_for(request, now).await? {
            Admission::Run(principal, message, claimed) => (principal, message, claimed),
            Admission::Answered(answer) => return answer,
        };
        let outcome = create(principal, message).await;
        match claimed {
            Some(claimed) => self.settle(&claimed, outcome).await,
            None => Ok(Response::new(outcome?)),
        }
    }

    /// Like [`IdempotencyKeys::once`], and `create` is given the key it
    /// holds, if the request carries one: to know whether it resumes, to
    /// hold the key, and to record its answer in its own transaction. A
    /// request with a key runs to its end even when its caller hangs up:
    /// its answer is recorded (or its key released) all the same.
    pub async fn once_claimed<Req, Resp, Fut>(
        &self,
        request: Request<Req>,
        now: DateTime<Utc>,
        create: impl FnOnce(Principal, Req, Option<Claimed>) -> Fut + Send + 'static,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Message + Send + 'static,
        Resp: Message + Default + Send + 'static,
        Fut: Future<Output = Result<Resp, Error>> + Send + 'static,
    {
        let (principal, message, claimed) = match self.claim_for(request, now).await? {
            Admission::Run(principal, message, claimed) => (principal, message, claimed),
            Admission::Answered(answer) => return answer,
        };
        let Some(claimed) = claimed else {
            return Ok(Response::new(create(principal, message, None).await?));
        };
        // The request runs to its end in a task of its own, so that a
        // caller who hangs up neither cuts it short nor leaves its key
        // unanswered.
        let keys = self.clone();
        let run = tokio::spawn(async move {
            let outcome = create(principal, message, Some(claimed.clone())).await;
            keys.settle(&claimed, outcome).await
        });
        run.await
            .map_err(|e| Status::from(Error::Internal(anyhow::anyhow!("the request's task failed: {e}"))))?
    }

    /// Claims the key `request` carries, if any: the request to run (with
    /// the key it holds), or the answer to give at once (the recorded
    /// answer, or why the key cannot be used now).
    async fn claim_for<Req: Message, Resp: Message + Default>(
        &self,
        request: Request<Req>,
        now: DateTime<Utc>,
    ) -> Result<Admission<Req, Resp>, Status> {
        let principal = auth::principal(&request)?;
        // Metadata that is not even text fails the key's rule below.
        let raw = request
            .metadata()
            .get(IDEMPOTENCY_KEY)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let message = request.into_inner();
        let Some(raw) = raw else { return Ok(Admission::Run(principal, message, None)) };
        let key = wire::idempotency_key(&raw).map_err(Error::BadRequest)?.to_owned();
        let scope = principal.scope();
        let hash = fingerprint(&message);
        let resumed = match self.claim(scope, &key, &hash, now).await? {
            Claim::Fresh => false,
            Claim::Resume => true,
            Claim::Answered(Answer::Response(bytes)) => {
                let decoded = Resp::decode(bytes.as_slice()).map(Response::new).map_err(|e| {
                    Error::Internal(anyhow::anyhow!("unreadable recorded response: {e}")).into()
                });
                return Ok(Admission::Answered(decoded));
            }
            Claim::Answered(Answer::Error { code, message, details }) => {
                return Ok(Admission::Answered(Err(Status::with_details(
                    Code::from(code),
                    message,
                    details.into(),
                ))));
            }
            Claim::Mismatch => {
                return Err(Error::Conflict(
                    "This Idempotency-Key was already used with a different request; use a new key"
                        .to_owned(),
                )
                .into());
            }
            Claim::InFlight(left) => {
                let seconds = ((left.num_milliseconds().max(0) + 999) / 1000).max(1);
                return Err(Error::Conflict(format!(
                    "A request with this Idempotency-Key is still in progress; retry in {seconds} second{}",
                    if seconds > 1 { "s" } else { "" }
                ))
                .into());
            }
        };
        let claimed = Claimed {
            scope,
            key,
            resumed,
            held: Arc::new(AtomicBool::new(false)),
            answered: Arc::new(AtomicBool::new(false)),
        };
        Ok(Admission::Run(principal, message, Some(claimed)))
    }

    /// Records the answer of `outcome` for the key, or releases the key
    /// when the request changed nothing; answers `outcome`.
    async fn settle<Resp: Message>(
        &self,
        claimed: &Claimed,
        outcome: Result<Resp, Error>,
    ) -> Result<Response<Resp>, Status> {
        let (scope, key) = (claimed.scope, claimed.key.as_str());
        match outcome {
            Ok(response) => {
                if !claimed.answered.load(Ordering::SeqCst) {
                    let mut conn = self.pool.acquire().await.map_err(Error::from)?;
                    record(&mut conn, scope, key, &Answer::Response(response.encode_to_vec())).await?;
                }
                Ok(Response::new(response))
            }
            Err(error @ Error::Refused { .. }) => {
                let status = Status::from(error);
                let answer = Answer::Error {
                    code: status.code() as i32,
                    message: status.message().to_owned(),
                    details: status.details().to_vec(),
                };
                let mut conn = self.pool.acquire().await.map_err(Error::from)?;
                record(&mut conn, scope, key, &answer).await?;
                Err(status)
            }
            Err(error) if claimed.held.load(Ordering::SeqCst) => {
                // Something was started: the lease runs out and a retry
                // (or the service's own completer) finishes it.
                Err(error.into())
            }
            Err(error) => {
                if let Err(e) = self.release(scope, key).await {
                    tracing::warn!(error = %e, "could not release an idempotency key");
                }
                Err(error.into())
            }
        }
    }

    /// Claims `key` for a request whose fingerprint is `hash`, leased until
    /// `now` + the lease; an expired claim of the key is forgotten first.
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
            "INSERT INTO idempotency_keys (partner_id, livemode, key, request_hash, created_at, locked_until) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(hash)
        .bind(now)
        .bind(now + self.lease)
        .execute(&mut *tx)
        .await?;
        let claim = if inserted.rows_affected() == 1 {
            Claim::Fresh
        } else {
            let row = sqlx::query(
                "SELECT request_hash, response, error_code, error_message, locked_until FROM idempotency_keys \
                 WHERE partner_id = $1 AND livemode = $2 AND key = $3 FOR UPDATE",
            )
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(key)
            .fetch_one(&mut *tx)
            .await?;
            let stored: Vec<u8> = row.try_get("request_hash")?;
            let response: Option<Vec<u8>> = row.try_get("response")?;
            let code: Option<i32> = row.try_get("error_code")?;
            let locked_until: DateTime<Utc> = row.try_get("locked_until")?;
            match (stored == hash, response, code) {
                (false, ..) => Claim::Mismatch,
                (true, None, _) if locked_until > now => Claim::InFlight(locked_until - now),
                (true, None, _) => {
                    sqlx::query(
                        "UPDATE idempotency_keys SET locked_until = $4 \
                         WHERE partner_id = $1 AND livemode = $2 AND key = $3",
                    )
                    .bind(scope.partner_id)
                    .bind(scope.livemode)
                    .bind(key)
                    .bind(now + self.lease)
                    .execute(&mut *tx)
                    .await?;
                    Claim::Resume
                }
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

/// Keeps `answer` (a response, or a refusal's status) for the request
/// that holds `key` through `conn`, the open transaction of the change it
/// answers for — also when the request itself is gone and its work is
/// finished by someone else (a completer): its retry gets this answer.
pub async fn keep_answer(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    answer: Result<&impl Message, &Status>,
) -> Result<(), Error> {
    let answer = match answer {
        Ok(response) => Answer::Response(response.encode_to_vec()),
        Err(status) => Answer::Error {
            code: status.code() as i32,
            message: status.message().to_owned(),
            details: status.details().to_vec(),
        },
    };
    record(conn, scope, key, &answer).await
}

/// Records `answer` for `key` through `conn`.
async fn record(conn: &mut PgConnection, scope: Scope, key: &str, answer: &Answer) -> Result<(), Error> {
    let (bytes, code, message) = match answer {
        Answer::Response(bytes) => (bytes.as_slice(), None, None),
        Answer::Error { code, message, details } => (details.as_slice(), Some(*code), Some(message.as_str())),
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
    .execute(conn)
    .await?;
    Ok(())
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
