//! Identity documents: their records, their contents sealed, their
//! reviews and events, and which of them count for their subject.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    files::{CONTENT_TYPES, ContentType, FileName},
    query::{Column, ColumnType, Resource},
};
use paymesh_proto::common::v1::ListQuery;
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, Row as _, types::Json};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::{Listing, Store, expect_one, record};
use crate::domain::{
    account::Attrs,
    document::{DOCUMENT_STATUSES, DOCUMENT_TYPES, Document, DocumentStatus, DocumentType, Subject},
};

macro_rules! document_columns {
    () => {
        "id, livemode, type, account_id, legal_entity_id, owner_id, file_name, content_type, size_bytes, sha256, \
         status, status_reason, reviewed_at, attrs, created_at, modified_at"
    };
}

/// What callers may query documents by.
pub(crate) static DOCUMENTS: Resource = Resource {
    name: "document",
    table: "documents",
    select: document_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(DOCUMENT_TYPES) },
        Column { name: "account_id", sql: "account_id", ty: ColumnType::Id },
        Column { name: "legal_entity_id", sql: "legal_entity_id", ty: ColumnType::Id },
        Column { name: "owner_id", sql: "owner_id", ty: ColumnType::Id },
        Column { name: "file_name", sql: "file_name", ty: ColumnType::Text },
        Column { name: "content_type", sql: "content_type", ty: ColumnType::Enum(CONTENT_TYPES) },
        Column { name: "size_bytes", sql: "size_bytes", ty: ColumnType::Integer },
        Column { name: "status", sql: "status", ty: ColumnType::Enum(DOCUMENT_STATUSES) },
        Column { name: "reviewed_at", sql: "reviewed_at", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

#[derive(sqlx::FromRow)]
struct DocumentRow {
    id: Uuid,
    livemode: bool,
    #[sqlx(rename = "type")]
    kind: String,
    account_id: Option<Uuid>,
    legal_entity_id: Option<Uuid>,
    owner_id: Option<Uuid>,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    status: String,
    status_reason: Option<String>,
    reviewed_at: Option<DateTime<Utc>>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<DocumentRow> for Document {
    type Error = Error;

    fn try_from(row: DocumentRow) -> Result<Self, Error> {
        let DocumentRow {
            id,
            livemode,
            kind,
            account_id,
            legal_entity_id,
            owner_id,
            file_name,
            content_type,
            size_bytes,
            sha256,
            status,
            status_reason,
            reviewed_at,
            attrs,
            created_at,
            modified_at,
        } = row;
        let corrupt = |what: &str| Error::Internal(anyhow::anyhow!("document {id} has an unreadable {what}"));
        let subject = match (account_id, legal_entity_id, owner_id) {
            (Some(a), None, None) => Subject::Account(a),
            (None, Some(e), None) => Subject::LegalEntity(e),
            (None, None, Some(o)) => Subject::Owner(o),
            _ => return Err(corrupt("subject")),
        };
        Ok(Self {
            id,
            livemode,
            kind: DocumentType::parse(&kind).ok_or_else(|| corrupt("type"))?,
            subject,
            file_name: FileName::from_stored(file_name),
            content_type: ContentType::parse(&content_type).map_err(|_| corrupt("content type"))?,
            size_bytes,
            sha256,
            status: DocumentStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
            status_reason,
            reviewed_at,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

/// Whose a document is.
#[derive(sqlx::FromRow)]
struct ScopeRow {
    partner_id: Uuid,
    livemode: bool,
}

/// Where a document's review stands.
#[derive(sqlx::FromRow)]
struct ReviewRow {
    status: String,
    status_reason: Option<String>,
}

/// A document as its events carry it: never its content.
fn event_data(document: &Document) -> Value {
    let (subject, subject_id) = subject_column(&document.subject);
    json!({
        "id": document.id,
        "type": document.kind.as_str(),
        subject: subject_id,
        "file_name": document.file_name.as_str(),
        "status": document.status.as_str(),
        "status_reason": document.status_reason,
        "livemode": document.livemode,
    })
}

/// The column naming a subject, and its id.
fn subject_column(subject: &Subject) -> (&'static str, Uuid) {
    match subject {
        Subject::Account(id) => ("account_id", *id),
        Subject::LegalEntity(id) => ("legal_entity_id", *id),
        Subject::Owner(id) => ("owner_id", *id),
    }
}

fn content_context(id: Uuid) -> String {
    format!("identity.documents.content:{id}")
}

impl Store {
    // === Reading ===

    /// One document's record.
    pub(crate) async fn document(&self, scope: Scope, id: Uuid) -> Result<Option<Document>, Error> {
        let row: Option<DocumentRow> = sqlx::query_as(concat!(
            "SELECT ",
            document_columns!(),
            " FROM documents WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Document::try_from).transpose()
    }

    /// One document with its content, decrypted.
    pub(crate) async fn document_content(
        &self,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<(Document, Zeroizing<Vec<u8>>)>, Error> {
        let row = sqlx::query(concat!(
            "SELECT content_sealed, ",
            document_columns!(),
            " FROM documents WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Vec<u8> = row.try_get("content_sealed")?;
        let document = Document::try_from(DocumentRow::from_row(&row)?)?;
        let content = self
            .keyring()
            .open(&sealed, &content_context(id))
            .map_err(|e| Error::Internal(anyhow::Error::new(e).context("cannot open a document")))?;
        Ok(Some((document, content)))
    }

    /// Lists documents' records.
    pub(crate) async fn list_documents(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<Document>, Error> {
        super::list(
            &self.pool,
            &DOCUMENTS,
            scope,
            query,
            limits,
            |_| {},
            |row| Document::try_from(DocumentRow::from_row(row)?),
        )
        .await
    }

    /// The partner and mode of the document `id`, for an operator who
    /// names only the document.
    pub(crate) async fn document_scope(&self, id: Uuid) -> Result<Option<Scope>, Error> {
        let row: Option<ScopeRow> =
            sqlx::query_as("SELECT partner_id, livemode FROM documents WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|ScopeRow { partner_id, livemode }| Scope { partner_id, livemode }))
    }

    /// Whether a document's subject exists for this partner and mode (an
    /// account must be a customer); locks it, since its verification is
    /// recomputed from its documents in this transaction, and two uploads
    /// at once must not each miss the other's document.
    pub(crate) async fn lock_subject(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        subject: &Subject,
    ) -> Result<bool, Error> {
        let sql = match subject {
            Subject::Account(_) => {
                "SELECT id FROM accounts WHERE id = $1 AND partner_id = $2 AND livemode = $3 \
                 AND type = 'customer' AND deleted_at IS NULL FOR UPDATE"
            }
            Subject::LegalEntity(_) => {
                "SELECT id FROM legal_entities WHERE id = $1 AND partner_id = $2 AND livemode = $3 \
                 AND deleted_at IS NULL FOR UPDATE"
            }
            Subject::Owner(_) => {
                "SELECT id FROM legal_entity_owners WHERE id = $1 AND partner_id = $2 AND livemode = $3 \
                 AND deleted_at IS NULL FOR UPDATE"
            }
        };
        let found: Option<Uuid> = sqlx::query_scalar(sql)
            .bind(subject_column(subject).1)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(conn)
            .await?;
        Ok(found.is_some())
    }

    /// Locks and reads the document `id`, if it exists.
    pub(crate) async fn lock_document(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<Document>, Error> {
        let row: Option<DocumentRow> = sqlx::query_as(concat!(
            "SELECT ",
            document_columns!(),
            " FROM documents WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *conn)
        .await?;
        row.map(Document::try_from).transpose()
    }

    /// The review statuses (and reasons) of the documents that count for a
    /// subject: those uploaded since its verified details last changed
    /// (its reset time), if they did.
    pub(crate) async fn subject_documents(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        subject: &Subject,
    ) -> Result<Vec<(DocumentStatus, Option<String>)>, Error> {
        let sql = match subject {
            Subject::Account(_) => {
                "SELECT d.status, d.status_reason FROM documents d JOIN accounts s ON s.id = d.account_id \
                 WHERE d.account_id = $1 AND d.partner_id = $2 AND d.livemode = $3 \
                 AND d.created_at > COALESCE(s.kyc_reset_at, '-infinity')"
            }
            Subject::LegalEntity(_) => {
                "SELECT d.status, d.status_reason FROM documents d JOIN legal_entities s ON s.id = d.legal_entity_id \
                 WHERE d.legal_entity_id = $1 AND d.partner_id = $2 AND d.livemode = $3 \
                 AND d.created_at > COALESCE(s.kyb_reset_at, '-infinity')"
            }
            Subject::Owner(_) => {
                "SELECT d.status, d.status_reason FROM documents d JOIN legal_entity_owners s ON s.id = d.owner_id \
                 WHERE d.owner_id = $1 AND d.partner_id = $2 AND d.livemode = $3 \
                 AND d.created_at > COALESCE(s.kyc_reset_at, '-infinity')"
            }
        };
        let rows: Vec<ReviewRow> = sqlx::query_as(sql)
            .bind(subject_column(subject).1)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|ReviewRow { status, status_reason }| {
                Some((DocumentStatus::parse(&status)?, status_reason))
            })
            .collect())
    }

    // === Writing ===

    /// A document's content sealed for storage.
    pub(crate) fn seal_content(
        &self,
        scope: Scope,
        document: &Document,
        content: &[u8],
    ) -> Result<Vec<u8>, Error> {
        Ok(self.keyring().seal_for_mode(scope.livemode, content, &content_context(document.id))?)
    }

    /// Stores a document, its content `sealed` (see
    /// [`Store::seal_content`]), with its `document.created` event.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, document_id = %document.id))]
    pub(crate) async fn insert_document(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        document: &Document,
        sealed: &[u8],
    ) -> Result<(), Error> {
        let (column, subject_id) = subject_column(&document.subject);
        sqlx::query(
            "INSERT INTO documents (id, partner_id, livemode, type, account_id, legal_entity_id, owner_id, file_name, \
             content_type, size_bytes, sha256, content_sealed, status, status_reason, reviewed_at, attrs, \
             created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(document.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(document.kind.as_str())
        .bind((column == "account_id").then_some(subject_id))
        .bind((column == "legal_entity_id").then_some(subject_id))
        .bind((column == "owner_id").then_some(subject_id))
        .bind(document.file_name.as_str())
        .bind(document.content_type.as_str())
        .bind(document.size_bytes)
        .bind(&document.sha256)
        .bind(sealed)
        .bind(document.status.as_str())
        .bind(document.status_reason.as_deref())
        .bind(document.reviewed_at)
        .bind(Json(document.attrs.as_map()))
        .bind(document.created_at)
        .bind(document.modified_at)
        .execute(&mut *conn)
        .await?;
        record(conn, scope, "document", "created", document.id, event_data(document), document.created_at)
            .await
    }

    /// Writes a review of a document, made at `at`, with its
    /// `document.<status>` event.
    pub(crate) async fn write_review(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        reviewed: &Document,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE documents SET status = $4, status_reason = $5, reviewed_at = $6, modified_at = $6 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3",
        )
        .bind(reviewed.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(reviewed.status.as_str())
        .bind(reviewed.status_reason.as_deref())
        .bind(at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "document", reviewed.id)?;
        record(conn, scope, "document", reviewed.status.as_str(), reviewed.id, event_data(reviewed), at).await
    }
}
