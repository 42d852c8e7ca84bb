//! Where files cross REST, the two hooks beside the transcoder: a document
//! uploaded as `multipart/form-data` (a `file` part beside text fields),
//! and a file downloaded as itself (`paymesh.rest.v1.method.download`).

use axum::{
    extract::{FromRequest as _, Multipart, Request},
    http::{HeaderValue, header},
    response::IntoResponse,
};
use base64::Engine as _;
use prost_reflect::{DynamicMessage, Kind};
use serde_json::{Map, Value};

use super::ctx::{Ctx, Reply};
use crate::{body::RequestBody, error::ApiError, state::AppState};

/// The largest upload body: the file in base64, with room for its fields.
pub(crate) fn upload_limit(max_file_bytes: usize) -> usize {
    max_file_bytes.div_ceil(3) * 4 + 64 * 1024
}

/// A multipart upload as the JSON body it stands for: the `file` part's
/// bytes as `content` (base64), its name and type as `file_name` and
/// `content_type` unless fields give them, `attrs` as JSON.
pub(crate) async fn multipart(request: Request, state: &AppState) -> Result<RequestBody, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text()))
    };
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {}", e.body_text())))?;
    let mut fields = Map::new();
    let mut content = None;
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
            content = Some(field.bytes().await.map_err(malformed)?);
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
    fields.insert(
        "content".to_owned(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(content)),
    );
    Ok(RequestBody(Some(Value::Object(fields))))
}

/// The response's bytes as the answer, typed and named by the object it
/// carries (`content_type`, `file_name`), as an attachment.
pub(crate) fn download(ctx: &Ctx<'_>, response: &DynamicMessage) -> Reply {
    let bytes = response
        .fields()
        .find_map(|(f, v)| matches!(f.kind(), Kind::Bytes).then(|| v.as_bytes().cloned()).flatten())
        .ok_or_else(ApiError::internal)?;
    let object = ctx.primary(response).ok_or_else(ApiError::internal)?;
    let text = |name: &str| {
        object.get_field_by_name(name).and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    };
    let file_name: String = text("file_name")
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' })
        .collect();
    let mut answer = bytes.into_response();
    let headers = answer.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&text("content_type"))
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(answer)
}
