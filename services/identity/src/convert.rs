//! Wire ↔ domain: the one place proto messages become domain values and
//! back. Messages are destructured exhaustively, so a new field does not
//! compile until it is handled here.
//!
//! Field violations name the field as in the request message
//! (`account.email`); batch handlers nest them under their item.

pub(crate) mod accounts;
pub(crate) mod documents;
pub(crate) mod keys;
pub(crate) mod kyb;
pub(crate) mod tokens;

pub(crate) use paymesh_kit::wire::{Fields, attrs, id, optional, optional_id, optional_text};
use paymesh_proto::identity::v1 as pb;

use crate::domain::kyc::VerificationStatus;

/// A time on the wire.
pub(crate) use paymesh_kit::json::timestamp;

/// A verification status on the wire.
pub(crate) fn kyc_status(status: VerificationStatus) -> i32 {
    (match status {
        VerificationStatus::Unverified => pb::KycStatus::Unverified,
        VerificationStatus::Pending => pb::KycStatus::Pending,
        VerificationStatus::Verified => pb::KycStatus::Verified,
        VerificationStatus::Rejected => pb::KycStatus::Rejected,
    }) as i32
}
