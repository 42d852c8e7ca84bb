//! Verification status (KYC for people, KYB for businesses), derived from
//! identity documents and nothing else.

use super::document::DocumentStatus;

/// Where a subject's verification stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VerificationStatus {
    /// No document submitted.
    Unverified,
    /// A document is under review (and none verified).
    Pending,
    /// A document was verified.
    Verified,
    /// Every document submitted was rejected.
    Rejected,
}

/// Every status, as stored, for the query whitelist.
pub const VERIFICATION_STATUSES: &[&str] = &["unverified", "pending", "verified", "rejected"];

impl VerificationStatus {
    /// The stored and REST spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unverified => "unverified",
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unverified" => Some(Self::Unverified),
            "pending" => Some(Self::Pending),
            "verified" => Some(Self::Verified),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

/// A verification status with the reasons for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The status.
    pub status: VerificationStatus,
    /// Why, in words a partner can act on; empty when verified.
    pub reasons: Vec<String>,
}

impl Verification {
    /// The verification of a subject with no documents.
    pub fn unverified() -> Self {
        Self {
            status: VerificationStatus::Unverified,
            reasons: vec!["No identity document has been submitted".to_owned()],
        }
    }

    /// The verification of a subject whose verified details changed: the
    /// earlier documents no longer count.
    pub fn reset() -> Self {
        Self {
            status: VerificationStatus::Unverified,
            reasons: vec![
                "Details changed since they were verified: submit a new identity document".to_owned(),
            ],
        }
    }

    /// The verification after what it verified changed: it starts over
    /// ([`Verification::reset`]), unless there is nothing to start over —
    /// `None` when it was unverified anyway, and stays as it is.
    pub fn after_reset(&self) -> Option<Self> {
        (self.status != VerificationStatus::Unverified).then(Self::reset)
    }

    /// The verification that the subject's documents add up to. Any
    /// verified document verifies the subject; otherwise one under review
    /// makes it pending; otherwise only rejections remain.
    pub fn from_documents<'a>(
        documents: impl IntoIterator<Item = (DocumentStatus, Option<&'a str>)>,
    ) -> Self {
        let mut pending = 0usize;
        let mut rejections = Vec::new();
        let mut any = false;
        for (status, reason) in documents {
            any = true;
            match status {
                DocumentStatus::Verified => {
                    return Self { status: VerificationStatus::Verified, reasons: Vec::new() };
                }
                DocumentStatus::Pending => pending += 1,
                DocumentStatus::Rejected => {
                    rejections
                        .push(format!("A document was rejected: {}", reason.unwrap_or("no reason given")));
                }
            }
        }
        if !any {
            return Self::unverified();
        }
        if pending > 0 {
            let noun = if pending == 1 { "document is" } else { "documents are" };
            return Self {
                status: VerificationStatus::Pending,
                reasons: vec![format!("{pending} {noun} under review")],
            };
        }
        Self { status: VerificationStatus::Rejected, reasons: rejections }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_decide_the_status() {
        assert_eq!(Verification::from_documents([]), Verification::unverified());
        let pending = Verification::from_documents([(DocumentStatus::Pending, None)]);
        assert_eq!(pending.status, VerificationStatus::Pending);
        assert_eq!(pending.reasons, ["1 document is under review"]);
        let rejected = Verification::from_documents([(DocumentStatus::Rejected, Some("Blurry"))]);
        assert_eq!(rejected.status, VerificationStatus::Rejected);
        assert_eq!(rejected.reasons, ["A document was rejected: Blurry"]);
        let mixed = Verification::from_documents([
            (DocumentStatus::Rejected, Some("Blurry")),
            (DocumentStatus::Pending, None),
            (DocumentStatus::Pending, None),
        ]);
        assert_eq!(mixed.status, VerificationStatus::Pending);
        assert_eq!(mixed.reasons, ["2 documents are under review"]);
        let verified = Verification::from_documents([
            (DocumentStatus::Rejected, Some("Blurry")),
            (DocumentStatus::Verified, None),
        ]);
        assert_eq!(verified, Verification { status: VerificationStatus::Verified, reasons: vec![] });
    }

    #[test]
    fn a_reset_starts_over_unless_there_is_nothing_to_start_over() {
        assert_eq!(Verification::unverified().after_reset(), None);
        let verified = Verification { status: VerificationStatus::Verified, reasons: vec![] };
        let pending = Verification::from_documents([(DocumentStatus::Pending, None)]);
        let rejected = Verification::from_documents([(DocumentStatus::Rejected, Some("Blurry"))]);
        for before in [verified, pending, rejected] {
            let after = before.after_reset().unwrap();
            assert_eq!(after, Verification::reset());
            assert_eq!(after.status, VerificationStatus::Unverified);
            assert_eq!(
                after.reasons,
                ["Details changed since they were verified: submit a new identity document"]
            );
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in VERIFICATION_STATUSES {
            assert_eq!(VerificationStatus::parse(s).unwrap().as_str(), *s);
        }
    }
}
