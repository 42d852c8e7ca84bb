//! Identity documents: what may be uploaded, for whom, and how test mode
//! reviews them.
//!
//! A document is checked before it is stored: its type must suit its
//! subject (passports identify people, EIN letters businesses), and its
//! file must pass the kit's file rules (`paymesh_kit::files`): a plain
//! name, a content no larger than the configured limit whose first bytes
//! match its declared content type.
//!
//! Test mode reviews at upload by [`test_mode_review`]: a file name that
//! contains "reject" (any case) is rejected, anything else verified. Live
//! documents wait for an operator.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    files::{ContentType, FileName},
    values::Attrs,
};
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
