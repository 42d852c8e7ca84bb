//! `/documents`: identity documents (KYC/KYB).
//!
//! | request                       | gRPC                 |
//! |-------------------------------|----------------------|
//! | `POST /documents`             | `CreateDocument`     |
//! | `GET /documents/{id}`         | `GetDocument`        |
//! | `GET /documents?…`            | `ListDocuments`      |
//! | `GET /documents/{id}/file`    | `GetDocumentContent` |
//!
//! An upload is `multipart/form-data` (a `file` part, whose file name and
//! content type are used unless `file_name` or `content_type` fields say
//! otherwise, beside text fields `type`, `account_id` | `legal_entity_id` |
//! `owner_id`, and `attrs` as JSON) or a JSON or form body whose `content`
//! is the file in base64. Uploads may be as large as the document limit
//! (5 MiB by default), larger than other bodies. Documents are KYC
//! evidence: they cannot be changed or deleted.

use axum::{
    Extension,
    extract::{DefaultBodyLimit, FromRequest as _, Multipart, Path, Request, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine as _;
use http::Method;
use paymesh_proto::{common::v1 as common, identity::v1 as pb};
use serde_json::{Map, Value, json};

use super::accounts::word;
use crate::{
    AppState,
    auth::Caller,
    body::{RequestBody, Shape, content_type},
    error::ApiError,
    fields::Reader,
    openapi::{self, Operation, Routes, schema_ref},
    rest::{
        self, Call, Collection, Listed, Object, Offers, Parsed, Purpose, Reply, attrs_json, fetch, object,
        timestamp,
    },
};

const TYPES: &[(&str, i32)] = &[
    ("passport", pb::DocumentType::Passport as i32),
    ("drivers_license", pb::DocumentType::DriversLicense as i32),
    ("ein_letter", pb::DocumentType::EinLetter as i32),
    ("articles_of_incorporation", pb::DocumentType::ArticlesOfIncorporation as i32),
    ("bank_statement", pb::DocumentType::BankStatement as i32),
    ("utility_bill", pb::DocumentType::UtilityBill as i32),
    ("other", pb::DocumentType::Other as i32),
];

const STATUSES: &[(&str, i32)] = &[
    ("pending", pb::DocumentStatus::Pending as i32),
    ("verified", pb::DocumentStatus::Verified as i32),
    ("rejected", pb::DocumentStatus::Rejected as i32),
];

/// `/documents`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Documents;

impl Collection for Documents {
    type Item = pb::Document;

    fn object(&self) -> &'static str {
        "document"
    }

    fn path(&self) -> &'static str {
        "/documents"
    }

    fn not_found(&self) -> ApiError {
        ApiError::not_found("Document not found")
    }

    fn offers(&self) -> Offers {
        // Uploaded through its own POST (multipart or base64).
        Offers::READ
    }

    fn refusal(&self, _method: &http::Method, _one: bool) -> String {
        "Documents are kept as KYC evidence: they cannot be changed or deleted".to_owned()
    }

    fn render(&self, document: pb::Document) -> Object {
        to_json(document)
    }

    fn parse(&self, object: Object, purpose: Purpose<'_>) -> Result<Parsed<pb::Document>, Object> {
        let mut r = Reader::new(purpose);
        let mut d = pb::Document::default();
        let mut id = String::new();
        let mut custom = None;
        for (key, mut value) in object {
            if r.common(&key, &mut value, &["document"], "document", &mut id, &mut custom) {
                continue;
            }
            match key.as_str() {
                "type" => {
                    if let Some(t) = r.choice("type", value, TYPES) {
                        d.r#type = t;
                    }
                }
                "account_id" | "legal_entity_id" | "owner_id" => {
                    if let Some(text) = r.nullable(&key, value) {
                        match key.as_str() {
                            "account_id" => d.account_id = text,
                            "legal_entity_id" => d.legal_entity_id = text,
                            _ => d.owner_id = text,
                        }
                    }
                }
                "file_name" | "content_type" => {
                    if let Some(text) = r.text(&key, value) {
                        if key == "file_name" {
                            d.file_name = text;
                        } else {
                            d.content_type = text;
                        }
                    }
                }
                "size_bytes" | "sha256" | "status" | "status_reason" | "reviewed_at" => {
                    r.read_only(&key, value)
                }
                _ => r.unknown(&key),
            }
        }
        d.attrs = custom;
        r.finish(d, &id)
    }

    fn get<'a>(&'a self, state: &'a AppState, caller: &'a Caller, id: String) -> Call<'a, pb::Document> {
        Box::pin(async move {
            let request = caller.grpc(pb::GetDocumentRequest { id });
            let document = state.documents.clone().get_document(request).await?.into_inner().document;
            document.ok_or_else(|| tonic::Status::not_found("no document"))
        })
    }

    fn list<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        query: common::ListQuery,
    ) -> Call<'a, Listed<pb::Document>> {
        Box::pin(async move {
            let request = caller.grpc(pb::ListDocumentsRequest { query: Some(query) });
            let pb::ListDocumentsResponse { documents, computed, groups } =
                state.documents.clone().list_documents(request).await?.into_inner();
            Ok(Listed { items: documents, computed, groups })
        })
    }
}

fn to_json(d: pb::Document) -> Object {
    let pb::Document {
        id,
        r#type,
        account_id,
        legal_entity_id,
        owner_id,
        file_name,
        content_type,
        size_bytes,
        sha256,
        status,
        status_reason,
        review_time,
        attrs: custom,
        livemode,
        create_time,
        update_time,
    } = d;
    object(json!({
        "id": id,
        "object": "document",
        "type": word(TYPES, r#type),
        "account_id": account_id,
        "legal_entity_id": legal_entity_id,
        "owner_id": owner_id,
        "file_name": file_name,
        "content_type": content_type,
        "size_bytes": size_bytes,
        "sha256": sha256,
        "status": word(STATUSES, status),
        "status_reason": status_reason,
        "reviewed_at": timestamp(review_time),
        "attrs": attrs_json(custom),
        "livemode": livemode,
        "created_at": timestamp(create_time),
        "modified_at": timestamp(update_time),
    }))
}

/// The routes of documents.
pub(crate) fn routes(max_document_bytes: usize) -> Routes {
    let doc = openapi::Doc::of(&Documents);
    let upload_op = Operation::new(Method::POST, "create_document", "Upload a document")
        .describe(
            "`multipart/form-data` with a `file` part (its file name and content type are used unless \
             `file_name` or `content_type` fields say otherwise) beside `type` and one of `account_id`, \
             `legal_entity_id` or `owner_id`; or JSON whose `content` is the file in base64.",
        )
        .body(
            doc.body(),
            Some(json!({
                "type": "passport", "owner_id": "…", "file_name": "passport.png",
                "content_type": "image/png", "content": "iVBORw0KGgo…",
            })),
        )
        .body_of(
            "multipart/form-data",
            json!({"type": "object", "required": ["file"], "properties": {
                "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                "type": {"type": "string"},
                "account_id": {"type": "string"},
                "legal_entity_id": {"type": "string"},
                "owner_id": {"type": "string"},
            }}),
        )
        .reply(schema_ref("document"));
    let file_op = Operation::new(Method::GET, "get_document_file", "Download a document's file")
        .tag("documents")
        .describe("The content as uploaded, as an attachment of its content type.")
        .reply_of("*/*", json!({"type": "string", "contentMediaType": "application/octet-stream"}));
    rest::routes(Documents)
        .route(
            "/documents",
            // Multipart reads are bounded by axum's body limit.
            post(upload).layer(DefaultBodyLimit::max(upload_limit(max_document_bytes))),
            [upload_op],
        )
        .route("/documents/{id}/file", get(download), [file_op])
}

/// The largest upload body: the document in base64, with room for its
/// fields.
fn upload_limit(max_document_bytes: usize) -> usize {
    max_document_bytes.div_ceil(3) * 4 + 64 * 1024
}

/// `POST /documents`: multipart, or JSON/form with base64 content.
async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> Reply {
    let limit = upload_limit(state.max_document_bytes);
    let (fields, content) = if content_type(&request).as_deref() == Some("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text())))?;
        read_multipart(multipart).await?
    } else {
        let Shape::Object(mut fields) = RequestBody::read(request, limit).await?.shape()? else {
            return Err(ApiError::bad_request("Upload one document at a time"));
        };
        let content = match fields.remove("content") {
            Some(Value::String(text)) => base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| ApiError::invalid_field("content", "Must be the file in base64"))?,
            Some(_) => return Err(ApiError::invalid_field("content", "Must be the file in base64")),
            None => {
                return Err(ApiError::invalid_field(
                    "content",
                    "Required: send the file as multipart/form-data, or in base64 as content",
                ));
            }
        };
        (fields, content)
    };
    let Parsed { message, .. } = Documents.parse(fields, Purpose::Create).map_err(ApiError::invalid)?;
    let request = caller.grpc(pb::CreateDocumentRequest { document: Some(message), content });
    let created =
        state.documents.clone().create_document(request).await.map_err(|e| rest::status(&Documents, &e))?;
    rest::object_reply(&Documents, created.into_inner().document)
}

/// The fields and file of a multipart upload.
async fn read_multipart(mut multipart: Multipart) -> Result<(Object, Vec<u8>), ApiError> {
    let mut fields = Map::new();
    let mut content = None;
    let malformed = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text()))
    };
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if let Some(file_name) = field.file_name() {
                fields.entry("file_name").or_insert_with(|| Value::String(file_name.to_owned()));
            }
            if let Some(kind) = field.content_type() {
                fields.entry("content_type").or_insert_with(|| Value::String(kind.to_owned()));
            }
            if content.is_some() {
                return Err(ApiError::invalid_field("file", "Send one file per document"));
            }
            content = Some(field.bytes().await.map_err(malformed)?.to_vec());
        } else {
            let text = field.text().await.map_err(malformed)?;
            let value = if name == "attrs" {
                serde_json::from_str(&text)
                    .map_err(|_| ApiError::invalid_field("attrs", "Must be a JSON object"))?
            } else {
                Value::String(text)
            };
            // A file name or type given as a field wins over the part's.
            fields.insert(name, value);
        }
    }
    let content = content.ok_or_else(|| ApiError::invalid_field("file", "Required: the document's file"))?;
    Ok((fields, content))
}

/// `GET /documents/{id}/file`: the content, as an attachment.
async fn download(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    fetch(&Documents, &state, &caller, id.clone()).await?;
    let request = caller.grpc(pb::GetDocumentContentRequest { id });
    let pb::GetDocumentContentResponse { document, content } = state
        .documents
        .clone()
        .get_document_content(request)
        .await
        .map_err(|e| rest::status(&Documents, &e))?
        .into_inner();
    let document = document.ok_or_else(ApiError::internal)?;
    let file_name: String = document
        .file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&document.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(response)
}
