//! The one mapping between stored transactions and the wire.

use paymesh_kit::json::{self, timestamp};
use paymesh_proto::{identity::v1 as id, payments::v1 as pb};

use crate::{
    domain::{FundingStatus, Kind, PayoutMethod, Status},
    store::{LedgerLink, Transaction},
};

const fn kind(k: Kind) -> pb::TransactionType {
    match k {
        Kind::Payment => pb::TransactionType::Payment,
        Kind::Refund => pb::TransactionType::Refund,
        Kind::Deposit => pb::TransactionType::Deposit,
        Kind::Reversal => pb::TransactionType::Reversal,
        Kind::Chargeback => pb::TransactionType::Chargeback,
        Kind::ChargebackReversal => pb::TransactionType::ChargebackReversal,
    }
}

const fn status(s: Status) -> pb::TransactionStatus {
    match s {
        Status::Authorized => pb::TransactionStatus::Authorized,
        Status::Processing => pb::TransactionStatus::Processing,
        Status::Processed => pb::TransactionStatus::Processed,
        Status::Declined => pb::TransactionStatus::Declined,
        Status::Voided => pb::TransactionStatus::Voided,
        Status::Rejected => pb::TransactionStatus::Rejected,
    }
}

const fn funding(f: FundingStatus) -> pb::FundingStatus {
    match f {
        FundingStatus::Pending => pb::FundingStatus::Pending,
        FundingStatus::Captured => pb::FundingStatus::Captured,
        FundingStatus::Batched => pb::FundingStatus::Batched,
        FundingStatus::Refunded => pb::FundingStatus::Refunded,
        FundingStatus::Reversed => pb::FundingStatus::Reversed,
    }
}

fn risk_flag(flag: Option<&str>) -> pb::RiskFlag {
    match flag {
        Some("allowed") => pb::RiskFlag::Allowed,
        Some("in_review") => pb::RiskFlag::InReview,
        Some("denied") => pb::RiskFlag::Denied,
        _ => pb::RiskFlag::Unspecified,
    }
}

/// A ledger link on the wire.
pub(crate) fn link_to_proto(l: &LedgerLink) -> pb::TransactionLedger {
    pb::TransactionLedger {
        id: l.id.to_string(),
        transaction_id: l.transaction_id.to_string(),
        assoc_transaction_id: l.assoc_transaction_id.to_string(),
        amount: Some(l.amount.to_proto()),
        entry_type: l.entry_type.clone(),
        attrs: Some(json::to_struct(l.attrs.clone())),
        livemode: l.livemode,
        create_time: Some(timestamp(l.created_at)),
        update_time: Some(timestamp(l.created_at)),
    }
}

/// A transaction on the wire.
pub(crate) fn to_proto(t: &Transaction) -> pb::Transaction {
    let id = |id: Option<uuid::Uuid>| id.map(|id| id.to_string());
    pb::Transaction {
        id: t.id.to_string(),
        r#type: kind(t.kind) as i32,
        status: status(t.status) as i32,
        status_code: t.status_code.clone(),
        status_message: t.status_message.clone(),
        amount: Some(t.amount.to_proto()),
        fee: Some(t.fee.to_proto()),
        cust_conv_fee: Some(t.cust_conv_fee.to_proto()),
        funding_status: funding(t.funding) as i32,
        risk_score: t.risk_score.map(|s| s.to_string()).unwrap_or_default(),
        risk_flag: risk_flag(t.risk_flag.as_deref()) as i32,
        customer_id: id(t.customer_id),
        payment_method_id: id(t.payment_method_id),
        processing_id: id(t.processing_id),
        description: t.description.clone(),
        order_number: t.order_number.clone(),
        attrs: Some(json::to_struct(t.attrs.clone())),
        payment_intent_id: id(t.payment_intent_id),
        ledger: t.ledger.iter().map(link_to_proto).collect(),
        refunded_amount: Some(paymesh_kit::money::Money::new(t.refunded, t.amount.currency).to_proto()),
        connector: t.connector.clone(),
        livemode: t.livemode,
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.modified_at)),
        payment_method: None,
        prior_attempt_ids: t.prior_attempts.iter().map(ToString::to_string).collect(),
        settle_time: t.settled_at.map(timestamp),
        delivery_fee: Some(t.delivery_fee.to_proto()),
        delivery_date: t.delivery_date.map(|d| d.to_string()),
        payout_method: t.payout_method.map_or(id::PayoutMethod::Unspecified, PayoutMethod::to_proto) as i32,
        rejected_on: t.rejected_on.map(|d| d.to_string()),
    }
}
