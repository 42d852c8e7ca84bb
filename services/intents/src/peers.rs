//! What intents ask identity and the methods service about the pieces an intent
//! names: the payer (name, KYC), the recipient (status, payout method,
//! whether the payer may pay it) and the payment method (owner, funding
//! type, expiry). Calls carry the intents service's token, acting for the
//! caller's partner and mode; the partner's own key never travels on.

use chrono::{DateTime, Datelike, Utc};
use paymesh_kit::{
    Error,
    auth::{Scope, ServiceToken},
    grpc::Channel,
};
use paymesh_proto::{
    identity::v1::{self as id, account_service_client::AccountServiceClient},
    methods::v1::{self as pm, payment_method_service_client::PaymentMethodServiceClient},
};
use tonic::Code;
use uuid::Uuid;

use crate::domain::{
    intent::{Method, Payer, Recipient},
    pricing::FundingType,
};

/// Why a named piece cannot be used at all (a bad request, not a status
/// reason).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// No such object for this partner and mode.
    Missing,
    /// An account of the other type (a processing account as payer, a
    /// customer as recipient).
    WrongType,
}

/// The clients of identity and the methods service.
#[derive(Clone)]
pub(crate) struct Peers {
    accounts: AccountServiceClient<Channel>,
    methods: PaymentMethodServiceClient<Channel>,
    token: ServiceToken,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

impl Peers {
    /// Clients over `identity` and `methods`, presenting `token`.
    pub(crate) fn new(identity: Channel, methods: Channel, token: ServiceToken) -> Self {
        Self {
            accounts: AccountServiceClient::new(identity),
            methods: PaymentMethodServiceClient::new(methods),
            token,
        }
    }

    async fn account(&self, scope: Scope, id: Uuid) -> Result<Option<id::Account>, Error> {
        let request = self.token.request(scope, id::GetAccountRequest { id: id.to_string() });
        match self.accounts.clone().get_account(request).await {
            Ok(response) => Ok(response.into_inner().account),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Error::from_peer("identity", &status)),
        }
    }

    /// The payer `id`: a customer account.
    pub(crate) async fn payer(&self, scope: Scope, id: Uuid) -> Result<Result<Payer, Unusable>, Error> {
        let Some(account) = self.account(scope, id).await? else { return Ok(Err(Unusable::Missing)) };
        if account.r#type != id::AccountType::Customer as i32 {
            return Ok(Err(Unusable::WrongType));
        }
        Ok(Ok(Payer {
            id,
            name: account.name,
            kyc_verified: account.kyc_status == id::KycStatus::Verified as i32,
            deleted: false,
        }))
    }

    /// The recipient `id` (a processing account), as `payer` sees it.
    pub(crate) async fn recipient(
        &self,
        scope: Scope,
        id: Uuid,
        payer: Option<Uuid>,
    ) -> Result<Result<Recipient, Unusable>, Error> {
        let Some(account) = self.account(scope, id).await? else { return Ok(Err(Unusable::Missing)) };
        let Some(processing) =
            account.processing.filter(|_| account.r#type == id::AccountType::Processing as i32)
        else {
            return Ok(Err(Unusable::WrongType));
        };
        let visible = match payer {
            None => true,
            Some(payer) => {
                let request = self.token.request(
                    scope,
                    id::ResolveRecipientRequest { payer_id: payer.to_string(), recipient_id: id.to_string() },
                );
                match self.accounts.clone().resolve_recipient(request).await {
                    Ok(_) => true,
                    Err(status) if status.code() == Code::NotFound => false,
                    Err(status) => return Err(Error::from_peer("identity", &status)),
                }
            }
        };
        let payout = paymesh_kit::payout::PayoutMethod::from_proto(processing.payout_method);
        Ok(Ok(Recipient {
            id,
            visible,
            active: processing.status == id::ProcessingStatus::Active as i32,
            payout,
            deleted: false,
        }))
    }

    /// Whether `id` is a processing account of the partner (or a biller).
    pub(crate) async fn processing_account(
        &self,
        scope: Scope,
        id: Uuid,
    ) -> Result<Result<(), Unusable>, Error> {
        Ok(self.recipient(scope, id, None).await?.map(|_| ()))
    }

    /// The payment method `id`, its expiry judged at `now`.
    pub(crate) async fn method(
        &self,
        scope: Scope,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Result<Method, Unusable>, Error> {
        let request = self.token.request(scope, pm::GetPaymentMethodRequest { id: id.to_string() });
        let method = match self.methods.clone().get_payment_method(request).await {
            Ok(response) => response.into_inner().payment_method,
            Err(status) if status.code() == Code::NotFound => return Ok(Err(Unusable::Missing)),
            Err(status) => return Err(Error::from_peer("methods", &status)),
        };
        let Some(method) = method else { return Ok(Err(Unusable::Missing)) };
        let owner = match method.account_id.as_deref() {
            Some(owner) => Some(Uuid::parse_str(owner).map_err(|_| {
                Error::Internal(anyhow::anyhow!("the methods service answered an unreadable owner"))
            })?),
            None => None,
        };
        let expired = method.card.as_ref().is_some_and(|card| card_expired(&card.expiry, now));
        let funding = FundingType::of_method(&method);
        Ok(Ok(Method { owner, funding, expired, deleted: false }))
    }
}

/// Whether a card expiring `MM/YYYY` has expired at `now` (a card is good
/// through its month).
fn card_expired(expiry: &str, now: DateTime<Utc>) -> bool {
    let Some((month, year)) = expiry.split_once('/') else { return false };
    match (month.parse::<u32>(), year.parse::<i32>()) {
        (Ok(month), Ok(year)) => (year, month) < (now.year(), now.month()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_good_through_its_month() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T23:59:59Z").unwrap().with_timezone(&Utc);
        assert!(!card_expired("11/2026", now));
        assert!(card_expired("10/2026", now));
        assert!(card_expired("12/2025", now));
        assert!(!card_expired("01/2027", now));
    }
}
