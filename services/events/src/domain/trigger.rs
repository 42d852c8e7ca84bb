//! Which webhooks hear which events: the event types the services record,
//! Payload's webhook triggers, and PlacePay's event names for the same
//! triggers.
//!
//! An event's type is `<resource>.<change>`, as its service passed it to
//! `paymesh_kit::outbox::record_change`. [`EventType`] lists every type
//! recorded today (found in services/*/src); a type not listed still enters
//! the log and the streams (its [`Change`] read from its suffix) but fires
//! no trigger until it is listed here.
//!
//! | event type                         | Payload trigger     | PlacePay event      |
//! |------------------------------------|---------------------|---------------------|
//! | `transaction.payment`              | payment             |                     |
//! | `transaction.authorized`           | payment             |                     |
//! | `transaction.refund`               | refund              | refund              |
//! | `transaction.void`                 | void                | void                |
//! | `transaction.decline`              | decline             |                     |
//! | `transaction.chargeback`           | chargeback          | chargeback          |
//! | `transaction.chargeback_reversal`  | chargeback_reversal | chargeback_reversal |
//! | `transaction.bank_account_reject`  | bank_account_reject | ach_failure         |
//! | `account.processing_status`        | processing_status   |                     |
//! | a payment made by automatic billing | automatic_payment (as well) | automatic_payment |
//!
//! Payment events fire `automatic_payment` as well when automatic billing
//! (billing's autopay) initiated the payment, approved or not, as PlacePay
//! describes it: the payment's event data says so (`"initiator":
//! "automatic_billing"`), read into [`Initiator`].

use serde_json::Value;

paymesh_kit::words! {
    /// Payload's webhook triggers, and `*` for all of them.
    pub enum Trigger {
        /// Any payment initiated.
        Payment = "payment",
        /// Any refund initiated.
        Refund = "refund",
        /// Any payment voided.
        Void = "void",
        /// Any payment initiated by automatic billing.
        AutomaticPayment = "automatic_payment",
        /// Any payment declined.
        Decline = "decline",
        /// Any chargeback issued against the account.
        Chargeback = "chargeback",
        /// Any chargeback overturned.
        ChargebackReversal = "chargeback_reversal",
        /// Any bank payment rejected by the bank.
        BankAccountReject = "bank_account_reject",
        /// Any change to the activation status of a processing account.
        ProcessingStatus = "processing_status",
        /// Every trigger above (a webhook's choice, never an event's).
        Any = "*",
    }
}

impl Trigger {
    /// Whether a webhook registered for `self` hears an event that fired
    /// `fired`.
    pub fn hears(self, fired: Trigger) -> bool {
        self == Self::Any || self == fired
    }
}

paymesh_kit::words! {
    /// How an event changed its object, in the words of Payload's event
    /// model (`insert | update | delete`).
    pub enum Change {
        /// The object came to be.
        Insert = "insert",
        /// The object changed.
        Update = "update",
        /// The object was deleted.
        Delete = "delete",
    }
}

impl Change {
    /// The change an event of type `event_type` made: a listed type's own,
    /// else `.created` inserts, `.deleted` deletes and anything else
    /// updates.
    pub fn of(event_type: &str) -> Self {
        if let Some(known) = EventType::parse(event_type) {
            return known.change();
        }
        if event_type.ends_with(".created") {
            Self::Insert
        } else if event_type.ends_with(".deleted") {
            Self::Delete
        } else {
            Self::Update
        }
    }
}

paymesh_kit::words! {
    /// Every event type a service records today (`<resource>.<change>`).
    pub enum EventType {
        /// identity: a customer or processing account was created.
        AccountCreated = "account.created",
        /// identity: an account changed.
        AccountUpdated = "account.updated",
        /// identity: an account was deleted.
        AccountDeleted = "account.deleted",
        /// identity: a customer's KYC status moved.
        AccountKycStatus = "account.kyc_status",
        /// identity: a processing account's activation status moved.
        AccountProcessingStatus = "account.processing_status",
        /// identity: an identity document was uploaded.
        DocumentCreated = "document.created",
        /// identity: a document was accepted.
        DocumentVerified = "document.verified",
        /// identity: a document was not accepted.
        DocumentRejected = "document.rejected",
        /// identity: an API key was created.
        ApiKeyCreated = "api_key.created",
        /// identity: an API key's name, permissions or attributes changed.
        ApiKeyUpdated = "api_key.updated",
        /// identity: an API key was revoked.
        ApiKeyRevoked = "api_key.revoked",
        /// identity: an API key was rolled (recorded on the old key).
        ApiKeyRolled = "api_key.rolled",
        /// identity: a legal entity was created.
        LegalEntityCreated = "legal_entity.created",
        /// identity: a legal entity changed.
        LegalEntityUpdated = "legal_entity.updated",
        /// identity: a legal entity was deleted.
        LegalEntityDeleted = "legal_entity.deleted",
        /// identity: a legal entity's KYB status moved.
        LegalEntityKybStatus = "legal_entity.kyb_status",
        /// identity: an owner of a legal entity was added.
        LegalEntityOwnerCreated = "legal_entity_owner.created",
        /// identity: an owner changed.
        LegalEntityOwnerUpdated = "legal_entity_owner.updated",
        /// identity: an owner was removed.
        LegalEntityOwnerDeleted = "legal_entity_owner.deleted",
        /// identity: an owner's KYC status moved.
        LegalEntityOwnerKycStatus = "legal_entity_owner.kyc_status",
        /// identity: an access token was issued.
        AccessTokenCreated = "access_token.created",
        /// identity: an access token was revoked.
        AccessTokenRevoked = "access_token.revoked",
        /// identity: a one-time access token was used.
        AccessTokenRedeemed = "access_token.redeemed",
        /// intents: a payment intent was created.
        PaymentIntentCreated = "payment_intent.created",
        /// intents: a payment intent changed.
        PaymentIntentUpdated = "payment_intent.updated",
        /// intents: a payment intent was canceled.
        PaymentIntentCanceled = "payment_intent.canceled",
        /// intents: a payment intent was captured by a payment.
        PaymentIntentCaptured = "payment_intent.captured",
        /// intents: a processing account's pricing settings changed.
        ProcessingSettingsUpdated = "processing_settings.updated",
        /// methods: a card or bank account was tokenized.
        PaymentMethodCreated = "payment_method.created",
        /// methods: a payment method changed.
        PaymentMethodUpdated = "payment_method.updated",
        /// methods: a payment method was deleted.
        PaymentMethodDeleted = "payment_method.deleted",
        /// payments: a payment was charged, or an authorized one captured.
        TransactionPayment = "transaction.payment",
        /// payments: a payment was authorized, to capture later.
        TransactionAuthorized = "transaction.authorized",
        /// payments: a payment was declined.
        TransactionDecline = "transaction.decline",
        /// payments: a payment was voided.
        TransactionVoid = "transaction.void",
        /// payments: a transaction's description, order number or
        /// attributes changed.
        TransactionUpdated = "transaction.updated",
        /// payments: a refund was made.
        TransactionRefund = "transaction.refund",
        /// payments: a bank payment settled.
        TransactionSettled = "transaction.settled",
        /// payments: a card payment was charged back (recorded on the
        /// chargeback).
        TransactionChargeback = "transaction.chargeback",
        /// payments: a chargeback was overturned (recorded on the
        /// reversal).
        TransactionChargebackReversal = "transaction.chargeback_reversal",
        /// payments: the bank returned a bank payment.
        TransactionBankAccountReject = "transaction.bank_account_reject",
        /// payments: a deposit paid a processing account out.
        TransactionDeposit = "transaction.deposit",
        /// payments: a paid-out deposit was taken back.
        TransactionReversal = "transaction.reversal",
    }
}

impl EventType {
    /// The kind of object the event is about: the type's first part.
    pub fn resource(self) -> &'static str {
        let word = self.as_str();
        word.split_once('.').map_or(word, |(resource, _)| resource)
    }

    /// The Payload trigger the event fires by its type, if any.
    pub const fn trigger(self) -> Option<Trigger> {
        match self {
            // A capture records `transaction.payment` too: an authorized
            // payment fires `payment` when authorized and again when
            // captured (a new event id, the same transaction).
            Self::TransactionPayment | Self::TransactionAuthorized => Some(Trigger::Payment),
            Self::TransactionRefund => Some(Trigger::Refund),
            Self::TransactionVoid => Some(Trigger::Void),
            Self::TransactionDecline => Some(Trigger::Decline),
            Self::TransactionChargeback => Some(Trigger::Chargeback),
            Self::TransactionChargebackReversal => Some(Trigger::ChargebackReversal),
            Self::TransactionBankAccountReject => Some(Trigger::BankAccountReject),
            Self::AccountProcessingStatus => Some(Trigger::ProcessingStatus),
            _ => None,
        }
    }

    /// Whether the event is a payment being initiated, approved or not:
    /// what `automatic_payment` fires on when billing initiated it.
    pub const fn initiates_payment(self) -> bool {
        matches!(self, Self::TransactionPayment | Self::TransactionAuthorized | Self::TransactionDecline)
    }

    /// How the event changed its object. The events that create a
    /// transaction insert it (a capture's `transaction.payment`, and a
    /// `transaction.void` of a payment whose processor could not be
    /// reached, are the exceptions this cannot see).
    pub const fn change(self) -> Change {
        match self {
            Self::AccountCreated
            | Self::DocumentCreated
            | Self::ApiKeyCreated
            | Self::LegalEntityCreated
            | Self::LegalEntityOwnerCreated
            | Self::AccessTokenCreated
            | Self::PaymentIntentCreated
            | Self::PaymentMethodCreated
            | Self::TransactionPayment
            | Self::TransactionAuthorized
            | Self::TransactionDecline
            | Self::TransactionRefund
            | Self::TransactionChargeback
            | Self::TransactionChargebackReversal
            | Self::TransactionDeposit
            | Self::TransactionReversal => Change::Insert,
            Self::AccountDeleted
            | Self::LegalEntityDeleted
            | Self::LegalEntityOwnerDeleted
            | Self::PaymentMethodDeleted => Change::Delete,
            _ => Change::Update,
        }
    }
}

/// Who initiated a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Initiator {
    /// The partner (or its payer), through the API or a hosted page.
    Api,
    /// paymesh's automatic billing (autopay, billing schedules).
    AutomaticBilling,
}

/// The triggers an event of type `event_type` fires (never `*`): its
/// type's trigger, and `automatic_payment` for a payment that automatic
/// billing initiated. Unlisted types fire none.
pub fn fired(event_type: &str, initiator: Initiator) -> Vec<Trigger> {
    let Some(known) = EventType::parse(event_type) else { return Vec::new() };
    let mut triggers: Vec<Trigger> = known.trigger().into_iter().collect();
    if initiator == Initiator::AutomaticBilling && known.initiates_payment() {
        triggers.push(Trigger::AutomaticPayment);
    }
    triggers
}

/// What a webhook payload's `triggered_on` says of the event's object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggeredOn {
    /// The object's id.
    pub id: String,
    /// The object's kind as partners know it: "transaction",
    /// "processing_account".
    pub object: String,
    /// The object's own type where it has one ("payment", "refund").
    pub kind: Option<String>,
}

impl TriggeredOn {
    /// The `triggered_on` of an event about `resource_id`: a transaction
    /// with its type from the event's data; a processing account's status
    /// change as the processing account it is about; any other object as
    /// its resource.
    pub fn of(event_type: &str, resource_id: &str, data: &Value) -> Self {
        let resource = event_type.split_once('.').map_or(event_type, |(resource, _)| resource);
        let object = match EventType::parse(event_type) {
            Some(EventType::AccountProcessingStatus) => "processing_account",
            _ => resource,
        };
        let kind = match resource {
            "transaction" | "account" | "document" | "payment_method" => {
                data.get("type").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        };
        Self { id: resource_id.to_owned(), object: object.to_owned(), kind }
    }
}

paymesh_kit::words! {
    /// PlacePay's event names (`POST /events {callback_url, event}`), each
    /// a Payload trigger under another name.
    pub enum PlacePayEvent {
        /// A payment attempt made automatically for an invoice.
        AutomaticPayment = "automatic_payment",
        /// An ACH payment failed at the bank: Payload's
        /// `bank_account_reject`.
        AchFailure = "ach_failure",
        /// A payment was refunded.
        Refund = "refund",
        /// A payment was voided.
        Void = "void",
        /// A card payment was charged back.
        Chargeback = "chargeback",
        /// A chargeback was overturned.
        ChargebackReversal = "chargeback_reversal",
    }
}

impl PlacePayEvent {
    /// The Payload trigger of the same events.
    pub const fn trigger(self) -> Trigger {
        match self {
            Self::AutomaticPayment => Trigger::AutomaticPayment,
            Self::AchFailure => Trigger::BankAccountReject,
            Self::Refund => Trigger::Refund,
            Self::Void => Trigger::Void,
            Self::Chargeback => Trigger::Chargeback,
            Self::ChargebackReversal => Trigger::ChargebackReversal,
        }
    }

    /// The PlacePay name of a webhook's trigger, if PlacePay has one.
    pub fn of(trigger: Trigger) -> Option<Self> {
        Self::ALL.iter().copied().find(|event| event.trigger() == trigger)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn payload_trigger_words_are_the_nine_and_star() {
        assert_eq!(
            Trigger::WORDS,
            &[
                "payment",
                "refund",
                "void",
                "automatic_payment",
                "decline",
                "chargeback",
                "chargeback_reversal",
                "bank_account_reject",
                "processing_status",
                "*",
            ]
        );
        for trigger in Trigger::ALL {
            assert_eq!(Trigger::parse(trigger.as_str()), Some(*trigger));
        }
    }

    #[test]
    fn money_events_fire_their_payload_triggers() {
        let cases = [
            ("transaction.payment", Trigger::Payment),
            ("transaction.authorized", Trigger::Payment),
            ("transaction.refund", Trigger::Refund),
            ("transaction.void", Trigger::Void),
            ("transaction.decline", Trigger::Decline),
            ("transaction.chargeback", Trigger::Chargeback),
            ("transaction.chargeback_reversal", Trigger::ChargebackReversal),
            ("transaction.bank_account_reject", Trigger::BankAccountReject),
            ("account.processing_status", Trigger::ProcessingStatus),
        ];
        for (event_type, trigger) in cases {
            assert_eq!(fired(event_type, Initiator::Api), vec![trigger], "{event_type}");
        }
    }

    #[test]
    fn other_events_fire_nothing_but_still_have_a_change() {
        for event_type in ["transaction.settled", "transaction.deposit", "account.created", "api_key.rolled"]
        {
            assert!(fired(event_type, Initiator::Api).is_empty(), "{event_type}");
        }
        assert!(fired("invoice.paid", Initiator::AutomaticBilling).is_empty(), "unlisted types fire none");
        assert_eq!(Change::of("invoice.created"), Change::Insert);
        assert_eq!(Change::of("invoice.deleted"), Change::Delete);
        assert_eq!(Change::of("invoice.paid"), Change::Update);
        assert_eq!(Change::of("transaction.refund"), Change::Insert);
        assert_eq!(Change::of("transaction.bank_account_reject"), Change::Update);
        assert_eq!(Change::of("payment_method.deleted"), Change::Delete);
    }

    #[test]
    fn payments_of_automatic_billing_also_fire_automatic_payment_approved_or_not() {
        assert_eq!(
            fired("transaction.payment", Initiator::AutomaticBilling),
            vec![Trigger::Payment, Trigger::AutomaticPayment]
        );
        assert_eq!(
            fired("transaction.decline", Initiator::AutomaticBilling),
            vec![Trigger::Decline, Trigger::AutomaticPayment]
        );
        assert_eq!(fired("transaction.refund", Initiator::AutomaticBilling), vec![Trigger::Refund]);
    }

    #[test]
    fn star_hears_every_trigger_and_others_only_their_own() {
        for trigger in Trigger::ALL.iter().copied().filter(|t| *t != Trigger::Any) {
            assert!(Trigger::Any.hears(trigger));
            assert!(trigger.hears(trigger));
        }
        assert!(!Trigger::Payment.hears(Trigger::Refund));
        assert!(!Trigger::AutomaticPayment.hears(Trigger::Payment));
    }

    #[test]
    fn every_event_type_is_well_formed_and_named_after_its_resource() {
        for event_type in EventType::ALL {
            let word = event_type.as_str();
            let (resource, change) = word.split_once('.').unwrap();
            assert_eq!(event_type.resource(), resource);
            assert!(!change.is_empty() && !change.contains('.'), "{word}");
            assert!(word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.'), "{word}");
            assert_eq!(EventType::parse(word), Some(*event_type));
        }
    }

    #[test]
    fn placepay_events_are_payload_triggers_under_other_names() {
        assert_eq!(
            PlacePayEvent::parse("ach_failure").map(PlacePayEvent::trigger),
            Some(Trigger::BankAccountReject)
        );
        for event in PlacePayEvent::ALL {
            assert_eq!(PlacePayEvent::of(event.trigger()), Some(*event));
        }
        assert_eq!(PlacePayEvent::of(Trigger::BankAccountReject), Some(PlacePayEvent::AchFailure));
        assert_eq!(PlacePayEvent::of(Trigger::Decline), None);
        assert_eq!(PlacePayEvent::of(Trigger::ProcessingStatus), None);
        assert_eq!(PlacePayEvent::parse("bank_account_reject"), None);
    }

    #[test]
    fn triggered_on_names_the_object_as_partners_know_it() {
        let payment =
            TriggeredOn::of("transaction.payment", "t1", &json!({"type": "payment", "amount": "10.00"}));
        assert_eq!(
            payment,
            TriggeredOn {
                id: "t1".to_owned(),
                object: "transaction".to_owned(),
                kind: Some("payment".to_owned())
            }
        );
        let status =
            TriggeredOn::of("account.processing_status", "a1", &json!({"account_id": "a1", "to": "active"}));
        assert_eq!(status.object, "processing_account");
        assert_eq!(status.kind, None);
        let other = TriggeredOn::of("invoice.paid", "i1", &json!({"type": "x"}));
        assert_eq!((other.object.as_str(), other.kind), ("invoice", None));
    }
}
