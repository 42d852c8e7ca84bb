//! Identity documents: stored sealed, reviewed (at upload in test mode, by
//! an operator in live mode), and the verification of their subject
//! recomputed in the same transaction as every upload and review — which,
//! for a legal entity or an owner, weighs again the processing accounts of
//! the entity.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, auth::Scope, clock::Clock, config::ListLimits, idempotency::IdempotencyKeys, query::Listing,
    wire::object_id,
};
use paymesh_proto::common::v1::ListQuery;
use sqlx::PgConnection;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::lifecycle::reassess_entity_accounts;
use crate::{
    domain::{
        document::{Decision, Document, Subject, test_mode_review},
        kyc::Verification,
    },
    store::Store,
};

/// The documents of the identity service.
#[derive(Debug, Clone)]
pub(crate) struct Documents {
    pub(crate) store: Store,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// The largest document accepted, in bytes.
    pub(crate) max_bytes: usize,
    /// The idempotency keys of document uploads.
    pub(crate) keys: IdempotencyKeys,
}

fn not_found() -> Error {
    Error::NotFound { resource: "Document" }
}

/// The field naming a subject in an upload, and what is said when there
/// is no such subject.
fn missing_subject(subject: &Subject) -> Error {
    let (field, what) = match subject {
        Subject::Account(_) => ("document.account_id", "No such customer"),
        Subject::LegalEntity(_) => ("document.legal_entity_id", "No such legal entity"),
        Subject::Owner(_) => ("document.owner_id", "No such owner"),
    };
    Error::invalid(field, what)
}

impl Documents {
    /// Stores an uploaded document. Test mode reviews it at once by the
    /// documented rule (see [`test_mode_review`]); live documents wait for
    /// an operator.
    pub(crate) async fn upload(
        &self,
        scope: Scope,
        document: Document,
        content: &[u8],
    ) -> Result<Document, Error> {
        let decision = (!scope.livemode).then(|| test_mode_review(&document.file_name));
        self.insert(scope, document, content, decision).await
    }

    /// Document `id`'s record.
    pub(crate) async fn document(&self, scope: Scope, id: &str) -> Result<Document, Error> {
        let id = object_id(id, not_found)?;
        self.store.document(scope, id).await?.ok_or_else(not_found)
    }

    /// The records of the documents matching `query`.
    pub(crate) async fn list(&self, scope: Scope, query: &ListQuery) -> Result<Listing<Document>, Error> {
        self.store.list_documents(scope, query, self.limits).await
    }

    /// Document `id` with its content.
    pub(crate) async fn content(
        &self,
        scope: Scope,
        id: &str,
    ) -> Result<(Document, Zeroizing<Vec<u8>>), Error> {
        let id = object_id(id, not_found)?;
        self.store.document_content(scope, id).await?.ok_or_else(not_found)
    }

    /// Stores a document (its content sealed) and, when a decision is
    /// given (test mode), reviews it at once. The subject is locked (and,
    /// for KYB, the partner's KYB lock taken first), so two uploads at
    /// once never each miss the other's document.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, document_id = %document.id))]
    async fn insert(
        &self,
        scope: Scope,
        document: Document,
        content: &[u8],
        decision: Option<Decision>,
    ) -> Result<Document, Error> {
        let store = &self.store;
        let sealed = store.seal_content(scope, &document, content)?;
        let mut tx = store.begin().await?;
        if !matches!(document.subject, Subject::Account(_)) {
            store.kyb_lock(&mut tx, scope).await?;
        }
        if !store.lock_subject(&mut tx, scope, &document.subject).await? {
            return Err(missing_subject(&document.subject));
        }
        store.insert_document(&mut tx, scope, &document, &sealed).await?;
        let document = match decision {
            Some(decision) => review(store, &mut tx, scope, &document, decision, document.created_at).await?,
            None => {
                refresh_subject(store, &mut tx, scope, &document.subject, document.created_at).await?;
                document
            }
        };
        tx.commit().await?;
        Ok(document)
    }
}

/// Records an operator's review of a pending document.
pub(crate) async fn review_document(
    store: &Store,
    scope: Scope,
    id: Uuid,
    decision: Decision,
    at: DateTime<Utc>,
) -> Result<Document, Error> {
    let mut tx = store.begin().await?;
    store.kyb_lock(&mut tx, scope).await?;
    let document = store.lock_document(&mut tx, scope, id).await?.ok_or_else(not_found)?;
    document.awaiting_review().map_err(Error::Conflict)?;
    let document = review(store, &mut tx, scope, &document, decision, at).await?;
    tx.commit().await?;
    Ok(document)
}

/// Applies a review decision to a stored document, with its event, and
/// recomputes its subject.
async fn review(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    document: &Document,
    decision: Decision,
    at: DateTime<Utc>,
) -> Result<Document, Error> {
    let reviewed = document.reviewed(decision, at);
    store.write_review(conn, scope, &reviewed, at).await?;
    refresh_subject(store, conn, scope, &reviewed.subject, at).await?;
    Ok(reviewed)
}

/// Recomputes a subject's verification from the documents that count for
/// it, with its event when it moves; a legal entity's accounts (or an
/// owner's entity's) are weighed again.
async fn refresh_subject(
    store: &Store,
    conn: &mut PgConnection,
    scope: Scope,
    subject: &Subject,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let documents = store.subject_documents(conn, scope, subject).await?;
    let verification =
        Verification::from_documents(documents.iter().map(|(status, reason)| (*status, reason.as_deref())));
    match *subject {
        Subject::Account(id) => store.set_customer_verification(conn, scope, id, &verification, at).await,
        Subject::LegalEntity(id) => {
            store.set_entity_verification(conn, scope, id, &verification, at).await?;
            reassess_entity_accounts(store, conn, scope, id, at).await
        }
        Subject::Owner(id) => {
            if let Some(entity) = store.set_owner_verification(conn, scope, id, &verification, at).await? {
                reassess_entity_accounts(store, conn, scope, entity, at).await?;
            }
            Ok(())
        }
    }
}
