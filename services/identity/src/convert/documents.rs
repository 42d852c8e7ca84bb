//! Identity documents on the wire.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Violation,
    files::{ContentType, FileName, check_content, sha256_hex},
    json,
};
use paymesh_proto::identity::v1 as pb;
use uuid::Uuid;

use super::{Fields, attrs, optional_id, timestamp};
use crate::domain::{
    account::Attrs,
    document::{Document, DocumentStatus, DocumentType, Subject},
};

fn document_type(value: i32) -> Result<DocumentType, String> {
    let parsed = pb::DocumentType::try_from(value).ok().and_then(|t| match t {
        pb::DocumentType::Unspecified => None,
        other => DocumentType::parse(
            &other.as_str_name().trim_start_matches("DOCUMENT_TYPE_").to_ascii_lowercase(),
        ),
    });
    match parsed {
        Some(kind) => Ok(kind),
        None if value == 0 => Err("Required".to_owned()),
        None => Err(format!("Must be one of: {}", crate::domain::document::DOCUMENT_TYPES.join(", "))),
    }
}

fn document_type_to(kind: DocumentType) -> i32 {
    pb::DocumentType::from_str_name(&format!("DOCUMENT_TYPE_{}", kind.as_str().to_ascii_uppercase()))
        .map_or(0, |t| t as i32)
}

/// The document an upload asks for, its content checked against its type
/// and the size limit.
pub(crate) fn new_document(
    document: Option<pb::Document>,
    content: &[u8],
    max_bytes: usize,
    livemode: bool,
    now: DateTime<Utc>,
) -> Result<Document, Vec<Violation>> {
    let Some(document) = document else { return Err(vec![Violation::new("document", "Required")]) };
    let pb::Document {
        id: _,
        r#type,
        account_id,
        legal_entity_id,
        owner_id,
        file_name,
        content_type,
        size_bytes: _,
        sha256: _,
        status: _,
        status_reason: _,
        review_time: _,
        attrs: custom,
        livemode: _,
        create_time: _,
        update_time: _,
    } = document;
    let mut f = Fields::new("document");
    let kind = f.take("type", document_type(r#type));
    let account = f.take("account_id", optional_id(account_id.as_deref()));
    let entity = f.take("legal_entity_id", optional_id(legal_entity_id.as_deref()));
    let owner = f.take("owner_id", optional_id(owner_id.as_deref()));
    let subject = match (account, entity, owner) {
        (Some(account), Some(entity), Some(owner)) => match (account, entity, owner) {
            (Some(id), None, None) => Some(Subject::Account(id)),
            (None, Some(id), None) => Some(Subject::LegalEntity(id)),
            (None, None, Some(id)) => Some(Subject::Owner(id)),
            (None, None, None) => {
                f.push("account_id", "One of account_id, legal_entity_id or owner_id is required");
                None
            }
            _ => {
                f.push("account_id", "Give only one of account_id, legal_entity_id and owner_id");
                None
            }
        },
        _ => None,
    };
    if let (Some(kind), Some(subject)) = (kind, subject.as_ref())
        && let Err(why) = kind.suits(subject)
    {
        f.push("type", why);
    }
    let file_name = f.take("file_name", FileName::parse(&file_name));
    let content_type = f.take("content_type", ContentType::parse(&content_type));
    if let Some(content_type) = content_type {
        f.take("content", check_content(content, content_type, max_bytes));
    }
    let custom: Option<Attrs> = f.take("attrs", attrs(custom));
    match (kind, subject, file_name, content_type, custom) {
        (Some(kind), Some(subject), Some(file_name), Some(content_type), Some(attrs)) if f.ok() => {
            Ok(Document {
                id: Uuid::now_v7(),
                livemode,
                kind,
                subject,
                file_name,
                content_type,
                size_bytes: i64::try_from(content.len()).unwrap_or(i64::MAX),
                sha256: sha256_hex(content),
                status: DocumentStatus::Pending,
                status_reason: None,
                reviewed_at: None,
                attrs,
                created_at: now,
                modified_at: now,
            })
        }
        _ => Err(f.into_violations()),
    }
}

/// A document's record on the wire.
pub(crate) fn to_proto(document: Document) -> pb::Document {
    let Document {
        id,
        livemode,
        kind,
        subject,
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
    } = document;
    let (account_id, legal_entity_id, owner_id) = match subject {
        Subject::Account(id) => (Some(id.to_string()), None, None),
        Subject::LegalEntity(id) => (None, Some(id.to_string()), None),
        Subject::Owner(id) => (None, None, Some(id.to_string())),
    };
    pb::Document {
        id: id.to_string(),
        r#type: document_type_to(kind),
        account_id,
        legal_entity_id,
        owner_id,
        file_name: file_name.as_str().to_owned(),
        content_type: content_type.as_str().to_owned(),
        size_bytes,
        sha256,
        status: match status {
            DocumentStatus::Pending => pb::DocumentStatus::Pending,
            DocumentStatus::Verified => pb::DocumentStatus::Verified,
            DocumentStatus::Rejected => pb::DocumentStatus::Rejected,
        } as i32,
        status_reason,
        review_time: reviewed_at.map(timestamp),
        attrs: Some(json::to_struct(attrs.into_inner())),
        livemode,
        create_time: Some(timestamp(created_at)),
        update_time: Some(timestamp(modified_at)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(kind: pb::DocumentType) -> pb::Document {
        pb::Document {
            r#type: kind as i32,
            account_id: Some(Uuid::now_v7().to_string()),
            file_name: "passport.pdf".into(),
            content_type: "application/pdf".into(),
            ..pb::Document::default()
        }
    }

    #[test]
    fn an_upload_is_checked_whole() {
        let ok =
            new_document(Some(upload(pb::DocumentType::Passport)), b"%PDF-1.4 x", 100, false, Utc::now())
                .unwrap();
        assert_eq!(ok.kind, DocumentType::Passport);
        assert_eq!(ok.size_bytes, 10);
        assert_eq!(ok.sha256.len(), 64);
        let wire = to_proto(ok);
        assert_eq!(wire.r#type, pb::DocumentType::Passport as i32);

        let wrong =
            new_document(Some(upload(pb::DocumentType::EinLetter)), b"GIF89a", 100, false, Utc::now());
        let fields: Vec<String> = wrong.unwrap_err().into_iter().map(|v| v.field).collect();
        assert_eq!(fields, ["document.type", "document.content"]);

        let two =
            pb::Document { owner_id: Some(Uuid::now_v7().to_string()), ..upload(pb::DocumentType::Passport) };
        assert!(
            new_document(Some(two), b"%PDF-", 100, false, Utc::now()).unwrap_err()[0]
                .description
                .contains("only one")
        );
        let none = pb::Document { account_id: None, ..upload(pb::DocumentType::Passport) };
        assert!(new_document(Some(none), b"%PDF-", 100, false, Utc::now()).is_err());
    }
}
