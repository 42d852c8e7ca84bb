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
//! - An answer is kept only by whoever holds the key: the request whose
//!   lease it is ([`Claimed::keep_in`]), or a service's completer once no
//!   request holds it ([`keep_answer`]). A request that outlived its lease
//!   and was taken over, or a completer racing a retry, keeps nothing and
//!   rolls its change back, so one key never answers two ways.
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

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use prost::Message;
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool, Row};
use tonic::{Code, Request, Response, Status};

use crate::{
    Error,
    auth::{self, Principal, Scope},
    config::IdempotencySettings,
    faults,
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

/// Who may keep the answer of a key.
#[derive(Clone, Copy, Debug)]
enum Holder {
    /// The request whose lease runs until this instant (as stored).
    Lease(DateTime<Utc>),
    /// A completer, at this instant: only while no request holds the key.
    Nobody(DateTime<Utc>),
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
    /// The end of this request's lease, as stored: the key is still this
    /// request's while the stored lease is this one.
    until: DateTime<Utc>,
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
    /// together, or neither is. A request that outlived its lease and was
    /// taken over by a retry no longer holds the key: it is refused with
    /// `Conflict`, and the caller rolls its change back.
    pub async fn keep_in(
        &self,
        conn: &mut PgConnection,
        answer: Result<&impl Message, &Status>,
    ) -> Result<(), Error> {
        if !record(conn, self.scope, &self.key, &Answer::of(answer), Holder::Lease(self.until)).await? {
            return Err(Error::Conflict(
                "A retry with this Idempotency-Key took the request over; its answer is the retry's"
                    .to_owned(),
            ));
        }
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
        // The request runs to its end in a task of its own, from its claim
        // on, so that a caller who hangs up cuts short neither the claim
        // nor the run, and never leaves its key claimed and unanswered.
        let keys = self.clone();
        let run = tokio::spawn(async move {
            let (principal, message, claimed) = match keys.claim_for(request, now).await? {
                Admission::Run(principal, message, claimed) => (principal, message, claimed),
                Admission::Answered(answer) => return answer,
            };
            let Some(claimed) = claimed else {
                return Ok(Response::new(create(principal, message, None).await?));
            };
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
        // Stored with microseconds, as PostgreSQL keeps it, so that the
        // lease reads back equal.
        let until = (now + self.lease).trunc_subsecs(6);
        let resumed = match self.claim(scope, &key, &hash, (now, until)).await? {
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
        faults::check("idempotency.claimed").await?;
        let claimed = Claimed {
            scope,
            key,
            resumed,
            until,
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
        let holder = Holder::Lease(claimed.until);
        match outcome {
            Ok(response) => {
                if !claimed.answered.load(Ordering::SeqCst) {
                    let mut conn = self.pool.acquire().await.map_err(Error::from)?;
                    let answer = Answer::Response(response.encode_to_vec());
                    if !record(&mut conn, scope, key, &answer, holder).await? {
                        tracing::warn!(
                            "a request outlived its idempotency lease; its retry's answer is kept"
                        );
                    }
                }
                Ok(Response::new(response))
            }
            Err(error @ Error::Refused { .. }) => {
                let status = Status::from(error);
                let mut conn = self.pool.acquire().await.map_err(Error::from)?;
                if !record(&mut conn, scope, key, &Answer::of(Err::<&Resp, _>(&status)), holder).await? {
                    tracing::warn!("a request outlived its idempotency lease; its retry's answer is kept");
                }
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
    async fn claim(
        &self,
        scope: Scope,
        key: &str,
        hash: &[u8],
        (now, until): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<Claim, Error> {
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
        .bind(until)
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
                    .bind(until)
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

/// Keeps `answer` (a response, or a refusal's status) for `key` through
/// `conn`, the open transaction of the change it answers for, when the
/// request that held the key is gone and its work is finished by a
/// completer at `now`: its retry gets this answer. Answers whether it was
/// kept: not when a retry holds the key now (it resumes the work and keeps
/// its own answer) or an answer is kept already; the caller then rolls its
/// change back and leaves the work to the key's holder.
pub async fn keep_answer(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    answer: Result<&impl Message, &Status>,
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    record(conn, scope, key, &Answer::of(answer), Holder::Nobody(now)).await
}

impl Answer {
    /// The answer of a response or a refusal's status.
    fn of(answer: Result<&impl Message, &Status>) -> Self {
        match answer {
            Ok(response) => Self::Response(response.encode_to_vec()),
            Err(status) => Self::Error {
                code: status.code() as i32,
                message: status.message().to_owned(),
                details: status.details().to_vec(),
            },
        }
    }
}

/// Records `answer` for `key` through `conn`, if `holder` holds the key and
/// no answer is kept yet; answers whether it did. The row lock of the
/// update orders it with a retry's claim of the key.
async fn record(
    conn: &mut PgConnection,
    scope: Scope,
    key: &str,
    answer: &Answer,
    holder: Holder,
) -> Result<bool, Error> {
    let (bytes, code, message) = match answer {
        Answer::Response(bytes) => (bytes.as_slice(), None, None),
        Answer::Error { code, message, details } => (details.as_slice(), Some(*code), Some(message.as_str())),
    };
    let (sql, at) = match holder {
        Holder::Lease(until) => (
            "UPDATE idempotency_keys SET response = $4, error_code = $5, error_message = $6 \
             WHERE partner_id = $1 AND livemode = $2 AND key = $3 AND response IS NULL AND locked_until = $7",
            until,
        ),
        Holder::Nobody(now) => (
            "UPDATE idempotency_keys SET response = $4, error_code = $5, error_message = $6 \
             WHERE partner_id = $1 AND livemode = $2 AND key = $3 AND response IS NULL AND locked_until <= $7",
            now,
        ),
    };
    let kept = sqlx::query(sql)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(key)
        .bind(bytes)
        .bind(code)
        .bind(message)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(kept.rows_affected() == 1)
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
