//! Identity documents: what may be uploaded, for whom, and how test mode
//! reviews them.
//!
//! A document is checked before it is stored: its type must suit its
//! subject (passports identify people, EIN letters businesses), its name
//! must be a plain file name, its content must be no larger than the
//! configured limit and its first bytes must match its declared content
//! type (a PDF starts `%PDF-`, a PNG `\x89PNG`, a JPEG `\xFF\xD8\xFF`).
//!
//! Test mode reviews at upload by [`test_mode_review`]: a file name that
//! contains "reject" (any case) is rejected, anything else verified. Live
//! documents wait for an operator.

use chrono::{DateTime, Utc};
use paymesh_kit::values::Attrs;
use uuid::Uuid;

/// An identity document's record (its content is stored apart, sealed).
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Its id.
    pub id: Uuid,
    /// Live or test mode.
    pub livemode: bool,
    /// What it is.
    pub kind: DocumentType,
    /// Whom it identifies.
    pub subject: Subject,
    /// The uploaded file's name.
    pub file_name: FileName,
    /// The content type.
    pub content_type: ContentType,
    /// The content's size in bytes.
    pub size_bytes: i64,
    /// The SHA-256 of the content, hex.
    pub sha256: String,
    /// Where its review stands.
    pub status: DocumentStatus,
    /// Why it was rejected.
    pub status_reason: Option<String>,
    /// When it was reviewed.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Custom attributes.
    pub attrs: Attrs,
    /// When it was uploaded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub modified_at: DateTime<Utc>,
}

impl Document {
    /// Whether an operator may still review the document: only while it is
    /// pending (test-mode documents are reviewed at upload).
    pub fn awaiting_review(&self) -> Result<(), String> {
        match self.status {
            DocumentStatus::Pending => Ok(()),
            done => Err(format!("The document was already {}", done.as_str())),
        }
    }

    /// The document after `decision`, made at `at`.
    pub fn reviewed(&self, decision: Decision, at: DateTime<Utc>) -> Self {
        let (status, status_reason) = match decision {
            Decision::Verify => (DocumentStatus::Verified, None),
            Decision::Reject(reason) => (DocumentStatus::Rejected, Some(reason)),
        };
        Self { status, status_reason, reviewed_at: Some(at), modified_at: at, ..self.clone() }
    }
}

/// What a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentType {
    /// A passport.
    Passport,
    /// A driver's license.
    DriversLicense,
    /// The IRS letter assigning an EIN.
    EinLetter,
    /// Articles of incorporation.
    ArticlesOfIncorporation,
    /// A bank statement.
    BankStatement,
    /// A utility bill.
    UtilityBill,
    /// Anything else.
    Other,
}

/// Every document type, as stored.
pub const DOCUMENT_TYPES: &[&str] = &[
    "passport",
    "drivers_license",
    "ein_letter",
    "articles_of_incorporation",
    "bank_statement",
    "utility_bill",
    "other",
];

impl DocumentType {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::DriversLicense => "drivers_license",
            Self::EinLetter => "ein_letter",
            Self::ArticlesOfIncorporation => "articles_of_incorporation",
            Self::BankStatement => "bank_statement",
            Self::UtilityBill => "utility_bill",
            Self::Other => "other",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "passport" => Some(Self::Passport),
            "drivers_license" => Some(Self::DriversLicense),
            "ein_letter" => Some(Self::EinLetter),
            "articles_of_incorporation" => Some(Self::ArticlesOfIncorporation),
            "bank_statement" => Some(Self::BankStatement),
            "utility_bill" => Some(Self::UtilityBill),
            "other" => Some(Self::Other),
            _ => None,
        }
    }

    /// Whether this type of document can identify `subject`; the message
    /// says why not.
    pub fn suits(self, subject: &Subject) -> Result<(), String> {
        let person = matches!(subject, Subject::Account(_) | Subject::Owner(_));
        match self {
            Self::Passport | Self::DriversLicense if !person => {
                Err(format!("A {} identifies a person: attach it to a customer or an owner", self.label()))
            }
            Self::EinLetter | Self::ArticlesOfIncorporation if person => {
                Err(format!("{} identify a business: attach them to a legal entity", self.label_plural()))
            }
            _ => Ok(()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Passport => "passport",
            Self::DriversLicense => "driver's license",
            Self::EinLetter => "EIN letter",
            Self::ArticlesOfIncorporation => "articles of incorporation",
            Self::BankStatement => "bank statement",
            Self::UtilityBill => "utility bill",
            Self::Other => "document",
        }
    }

    fn label_plural(self) -> &'static str {
        match self {
            Self::EinLetter => "EIN letters",
            Self::ArticlesOfIncorporation => "Articles of incorporation",
            _ => "Such documents",
        }
    }
}

/// Whom a document identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A customer account (KYC).
    Account(Uuid),
    /// A legal entity (KYB).
    LegalEntity(Uuid),
    /// A legal entity owner (KYC of an owner).
    Owner(Uuid),
}

/// Where a document's review stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentStatus {
    /// Under review.
    Pending,
    /// Accepted.
    Verified,
    /// Not accepted.
    Rejected,
}

/// Every document status, as stored.
pub const DOCUMENT_STATUSES: &[&str] = &["pending", "verified", "rejected"];

impl DocumentStatus {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "verified" => Some(Self::Verified),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// The content types paymesh accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    /// `application/pdf`.
    Pdf,
    /// `image/jpeg`.
    Jpeg,
    /// `image/png`.
    Png,
}

/// Every accepted content type.
pub const CONTENT_TYPES: &[&str] = &["application/pdf", "image/jpeg", "image/png"];

impl ContentType {
    /// Parses a content type (parameters such as `; charset` are ignored).
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "application/pdf" => Ok(Self::Pdf),
            "image/jpeg" | "image/jpg" => Ok(Self::Jpeg),
            "image/png" => Ok(Self::Png),
            "" => Err("Required".to_owned()),
            _ => Err(format!("Must be one of: {}", CONTENT_TYPES.join(", "))),
        }
    }

    /// The standard spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }

    /// Whether `content` starts the way files of this type do.
    pub fn matches(self, content: &[u8]) -> bool {
        match self {
            Self::Pdf => content.starts_with(b"%PDF-"),
            Self::Jpeg => content.starts_with(&[0xFF, 0xD8, 0xFF]),
            Self::Png => content.starts_with(b"\x89PNG\r\n\x1a\n"),
        }
    }
}

/// A file name: 1 to 255 characters, no path separators or control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileName(String);

impl FileName {
    /// Parses a file name.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Required".to_owned());
        }
        if name.chars().count() > 255 {
            return Err("Must be at most 255 characters".to_owned());
        }
        if name.contains(['/', '\\']) || name == "." || name == ".." || name.chars().any(char::is_control) {
            return Err("Must be a plain file name, without paths or control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A name read back from storage.
    pub fn from_stored(value: String) -> Self {
        Self(value)
    }
}

/// Checks an upload's content against its declared type and the size
/// limit.
pub fn check_content(content: &[u8], content_type: ContentType, max_bytes: usize) -> Result<(), String> {
    if content.is_empty() {
        return Err("The file is empty".to_owned());
    }
    if content.len() > max_bytes {
        return Err(format!("The file is larger than {max_bytes} bytes"));
    }
    if !content_type.matches(content) {
        return Err(format!("The content is not a {} file", content_type.as_str()));
    }
    Ok(())
}

/// A review's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The document is accepted.
    Verify,
    /// The document is refused, for this reason.
    Reject(String),
}

/// The documented test-mode rule: a file name containing "reject" (any
/// case) is rejected, any other verified.
pub fn test_mode_review(file_name: &FileName) -> Decision {
    if file_name.as_str().to_ascii_lowercase().contains("reject") {
        Decision::Reject(
            "The document could not be verified (test mode: the file name contains \"reject\")".to_owned(),
        )
    } else {
        Decision::Verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_types_suit_people_or_businesses() {
        let person = Subject::Account(Uuid::nil());
        let business = Subject::LegalEntity(Uuid::nil());
        let owner = Subject::Owner(Uuid::nil());
        assert!(DocumentType::Passport.suits(&person).is_ok());
        assert!(DocumentType::DriversLicense.suits(&owner).is_ok());
        assert!(DocumentType::Passport.suits(&business).unwrap_err().contains("identifies a person"));
        assert!(DocumentType::EinLetter.suits(&business).is_ok());
        assert!(DocumentType::EinLetter.suits(&person).unwrap_err().contains("legal entity"));
        for any in [DocumentType::BankStatement, DocumentType::UtilityBill, DocumentType::Other] {
            assert!(any.suits(&person).is_ok() && any.suits(&business).is_ok());
        }
        for s in DOCUMENT_TYPES {
            assert_eq!(DocumentType::parse(s).unwrap().as_str(), *s);
        }
    }

    #[test]
    fn content_must_be_what_it_claims_and_within_the_limit() {
        let pdf = b"%PDF-1.7\n...";
        assert!(check_content(pdf, ContentType::Pdf, 100).is_ok());
        assert_eq!(
            check_content(pdf, ContentType::Png, 100).unwrap_err(),
            "The content is not a image/png file"
        );
        assert!(check_content(b"\xFF\xD8\xFF\xE0", ContentType::Jpeg, 100).is_ok());
        assert!(check_content(b"\x89PNG\r\n\x1a\n", ContentType::Png, 100).is_ok());
        assert!(check_content(b"", ContentType::Pdf, 100).unwrap_err().contains("empty"));
        assert!(check_content(pdf, ContentType::Pdf, 5).unwrap_err().contains("larger than 5 bytes"));
        assert_eq!(ContentType::parse("IMAGE/PNG; x=1").unwrap(), ContentType::Png);
        assert!(ContentType::parse("text/html").unwrap_err().starts_with("Must be one of"));
    }

    #[test]
    fn file_names_are_plain() {
        assert!(FileName::parse("passport.pdf").is_ok());
        for bad in ["", "../etc/passwd", "a/b.pdf", "a\\b.pdf", "a\u{0}.pdf", &"x".repeat(256)] {
            assert!(FileName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_document_is_reviewed_once() {
        let at = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").unwrap().to_utc();
        let pending = Document {
            id: Uuid::nil(),
            livemode: true,
            kind: DocumentType::Passport,
            subject: Subject::Owner(Uuid::nil()),
            file_name: FileName::parse("passport.pdf").unwrap(),
            content_type: ContentType::Pdf,
            size_bytes: 8,
            sha256: String::new(),
            status: DocumentStatus::Pending,
            status_reason: None,
            reviewed_at: None,
            attrs: Attrs::default(),
            created_at: at,
            modified_at: at,
        };
        assert_eq!(pending.awaiting_review(), Ok(()));
        let later = at + chrono::TimeDelta::minutes(5);
        let rejected = pending.reviewed(Decision::Reject("Blurry".to_owned()), later);
        assert_eq!(
            (rejected.status, rejected.status_reason.as_deref(), rejected.reviewed_at, rejected.modified_at),
            (DocumentStatus::Rejected, Some("Blurry"), Some(later), later)
        );
        assert_eq!(rejected.awaiting_review().unwrap_err(), "The document was already rejected");
        let verified = pending.reviewed(Decision::Verify, later);
        assert_eq!((verified.status, verified.status_reason.as_deref()), (DocumentStatus::Verified, None));
        assert_eq!(verified.awaiting_review().unwrap_err(), "The document was already verified");
    }

    #[test]
    fn test_mode_rejects_files_named_reject() {
        assert_eq!(test_mode_review(&FileName::parse("passport.pdf").unwrap()), Decision::Verify);
        assert!(matches!(test_mode_review(&FileName::parse("REJECT-me.png").unwrap()), Decision::Reject(_)));
    }
}
