//! The words of a transaction: what kind of movement it is, where it
//! stands, where its money stands, and what was charged. Each is spelled
//! here once; the store, the query whitelist and the wire read them from
//! these declarations.

paymesh_kit::words! {
    /// What kind of movement a transaction is.
    pub enum Kind {
        /// Money taken from a payer.
        Payment = "payment",
        /// Money returned to a payer.
        Refund = "refund",
        /// Money paid out to a processing account.
        Deposit = "deposit",
        /// A deposit taken back.
        Reversal = "reversal",
        /// A disputed card payment.
        Chargeback = "chargeback",
        /// A dispute decided for the processing account.
        ChargebackReversal = "chargeback_reversal",
    }
}

paymesh_kit::words! {
    /// Where a transaction stands.
    pub enum Status {
        /// Being charged: stored before the processor is asked, until the
        /// attempt finishes.
        Pending = "pending",
        /// Approved and held, not captured.
        Authorized = "authorized",
        /// Accepted, not settled (bank payments).
        Processing = "processing",
        /// Done.
        Processed = "processed",
        /// Refused by the processor.
        Declined = "declined",
        /// Canceled before it settled.
        Voided = "voided",
        /// Returned by the bank.
        Rejected = "rejected",
    }
}

paymesh_kit::words! {
    /// Where a payment's money stands for the processing account.
    pub enum FundingStatus {
        /// Not captured.
        Pending = "pending",
        /// Captured, not paid out.
        Captured = "captured",
        /// In a deposit.
        Batched = "batched",
        /// Refunded in full.
        Refunded = "refunded",
        /// Taken back.
        Reversed = "reversed",
    }
}

paymesh_kit::words! {
    /// What a payment method is, for settlement.
    pub enum MethodKind {
        /// A card: processed at capture.
        Card = "card",
        /// A bank account: processing until it settles.
        BankAccount = "bank_account",
    }
}

impl MethodKind {
    /// The status of a payment of this kind once captured.
    pub const fn captured_status(self) -> Status {
        match self {
            Self::Card => Status::Processed,
            Self::BankAccount => Status::Processing,
        }
    }
}

/// A change a caller asks of a payment's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// Capture an authorized payment.
    Capture,
    /// Void a payment that has not settled.
    Void,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_captures_settle_by_kind() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(*kind));
        }
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(*status));
        }
        for funding in FundingStatus::ALL {
            assert_eq!(FundingStatus::parse(funding.as_str()), Some(*funding));
        }
        assert_eq!(MethodKind::parse("bank_account"), Some(MethodKind::BankAccount));
        assert_eq!(MethodKind::Card.captured_status(), Status::Processed);
        assert_eq!(MethodKind::BankAccount.captured_status(), Status::Processing);
    }
}
