//! What payments ask the other services: identity about customers and
//! processing accounts, the methods service for a method and (to charge it) its
//! numbers, intents for pricing and to capture an intent. Calls carry the
//! payments service's token, acting for the caller's partner and mode.

use paymesh_kit::{
    Error, Violation,
    auth::{Scope, ServiceToken},
    funding::FundingType,
    grpc::Channel,
    money::Money,
    query::equal,
    wire::IDEMPOTENCY_KEY,
};
use paymesh_proto::billing::v1::{self as bl, allocation_service_client::AllocationServiceClient};
use paymesh_proto::{
    common::v1 as common,
    identity::v1::{self as id, account_service_client::AccountServiceClient},
    intents::v1::{
        self as pi, payment_intent_service_client::PaymentIntentServiceClient,
        pricing_service_client::PricingServiceClient,
    },
    methods::v1::{
        self as pm, payment_method_service_client::PaymentMethodServiceClient,
        vault_service_client::VaultServiceClient,
    },
};
use sha2::{Digest as _, Sha256};
use tonic::Code;
use tonic_types::StatusExt as _;
use uuid::Uuid;

use crate::{
    connector::Instrument,
    domain::{Allocation, MethodKind, PayoutMethod},
    store::notices::Notice,
};

/// A customer, as a payment needs it.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    pub(crate) primary_processing_id: Option<Uuid>,
}

/// A payment method, as a payment needs it (no numbers).
#[derive(Clone, Debug)]
pub(crate) struct Method {
    /// The account it belongs to; `None` for a method on no account.
    pub(crate) owner: Option<Uuid>,
    pub(crate) kind: MethodKind,
    pub(crate) funding: FundingType,
}

/// The clients of identity, the methods service and intents.
#[derive(Clone)]
pub(crate) struct Peers {
    accounts: AccountServiceClient<Channel>,
    methods: PaymentMethodServiceClient<Channel>,
    vault: VaultServiceClient<Channel>,
    intents: PaymentIntentServiceClient<Channel>,
    pricing: PricingServiceClient<Channel>,
    allocations: AllocationServiceClient<Channel>,
    token: ServiceToken,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

fn id_of(raw: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(raw)
        .map_err(|_| Error::Internal(anyhow::anyhow!("a peer answered a {what} that is not an id")))
}

fn optional_id(raw: Option<&String>) -> Option<Uuid> {
    raw.and_then(|r| Uuid::parse_str(r).ok())
}

impl Peers {
    /// Clients over `identity`, `methods` and `intents`, presenting `token`.
    pub(crate) fn new(
        (identity, methods, intents, billing): (Channel, Channel, Channel, Channel),
        token: ServiceToken,
    ) -> Self {
        Self {
            allocations: AllocationServiceClient::new(billing),
            accounts: AccountServiceClient::new(identity),
            methods: PaymentMethodServiceClient::new(methods.clone()),
            vault: VaultServiceClient::new(methods),
            intents: PaymentIntentServiceClient::new(intents.clone()),
            pricing: PricingServiceClient::new(intents),
            token,
        }
    }

    /// Reserves the allocations of payment `transaction` by `customer`,
    /// paying `amount` toward invoices, in the billing service; answers
    /// them with their amounts, and whether the payment is held from
    /// settlement. Billing's objections are the caller's, under
    /// `transaction.allocations`.
    pub(crate) async fn reserve_allocations(
        &self,
        scope: Scope,
        (transaction, customer): (Uuid, Option<Uuid>),
        amount: Money,
        allocations: &[Allocation],
    ) -> Result<(Vec<Allocation>, bool), Error> {
        let text = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        let request = bl::ReserveAllocationsRequest {
            transaction_id: transaction.to_string(),
            amount: Some(amount.to_proto()),
            allocations: allocations
                .iter()
                .map(|a| bl::Allocation {
                    invoice_id: text(a.invoice_id),
                    amount: a.amount.map(|d| Money::new(d, amount.currency).to_proto()),
                    invoice_payer_id: text(a.payer_id),
                })
                .collect(),
            customer_id: text(customer),
        };
        match self.allocations.clone().reserve_allocations(self.token.request(scope, request)).await {
            Ok(response) => {
                let response = response.into_inner();
                let reserved = response
                    .allocations
                    .into_iter()
                    .map(|a| {
                        let amount = a.amount.and_then(|m| m.amount.parse().ok());
                        let payer_id = match a.invoice_payer_id.as_str() {
                            "" => None,
                            id => Some(id_of(id, "invoice payer id")?),
                        };
                        Ok(Allocation {
                            invoice_id: Some(id_of(&a.invoice_id, "invoice id")?),
                            amount,
                            payer_id,
                        })
                    })
                    .collect::<Result<Vec<_>, Error>>()?;
                Ok((reserved, response.hold_settlement))
            }
            Err(status) if status.code() == Code::InvalidArgument => {
                let violations: Vec<Violation> = status
                    .get_details_bad_request()
                    .map(|bad| bad.field_violations)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| Violation::new(format!("transaction.{}", v.field), v.description))
                    .collect();
                Err(if violations.is_empty() {
                    Error::invalid("transaction.allocations", status.message().to_owned())
                } else {
                    Error::InvalidAttributes(violations)
                })
            }
            Err(status) => Err(Error::from_peer("billing", &status)),
        }
    }

    /// Tells the billing service what became of a payment's allocations.
    pub(crate) async fn settle_allocations(&self, notice: &Notice) -> Result<(), Error> {
        let request = bl::SettleAllocationsRequest {
            notice_id: notice.id.to_string(),
            transaction_id: notice.transaction_id.to_string(),
            settlement: match notice.settlement.as_str() {
                "apply" => bl::Settlement::Apply,
                "release" => bl::Settlement::Release,
                "reapply" => bl::Settlement::Reapply,
                _ => bl::Settlement::Reverse,
            } as i32,
            amount: notice.amount.map(|a| Money::new(a, notice.currency).to_proto()),
            reversing_transaction_id: notice.reversing.map(|id| id.to_string()).unwrap_or_default(),
        };
        self.allocations
            .clone()
            .settle_allocations(self.token.request(notice.scope, request))
            .await
            .map_err(|status| Error::from_peer("billing", &status))?;
        Ok(())
    }

    /// Of `held` payments of `scope`, those the billing service releases
    /// for settlement.
    pub(crate) async fn releasable_settlements(
        &self,
        scope: Scope,
        held: &[Uuid],
    ) -> Result<Vec<Uuid>, Error> {
        let request = bl::ReleasableSettlementsRequest {
            transaction_ids: held.iter().map(ToString::to_string).collect(),
        };
        let response = self
            .allocations
            .clone()
            .releasable_settlements(self.token.request(scope, request))
            .await
            .map_err(|status| Error::from_peer("billing", &status))?;
        response.into_inner().transaction_ids.iter().map(|id| id_of(id, "transaction id")).collect()
    }

    async fn account(&self, scope: Scope, id: Uuid) -> Result<Option<id::Account>, Error> {
        let request = self.token.request(scope, id::GetAccountRequest { id: id.to_string() });
        match self.accounts.clone().get_account(request).await {
            Ok(response) => Ok(response.into_inner().account),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Error::from_peer("identity", &status)),
        }
    }

    /// Customer `id`; `None` if there is no such customer.
    pub(crate) async fn customer(&self, scope: Scope, id: Uuid) -> Result<Option<Customer>, Error> {
        let account = self.account(scope, id).await?;
        Ok(account
            .filter(|a| a.r#type == id::AccountType::Customer as i32)
            .map(|a| Customer { primary_processing_id: optional_id(a.primary_processing_id.as_ref()) }))
    }

    /// Processing account `id`'s payout method; `None` if there is no such
    /// processing account.
    pub(crate) async fn processing_account(&self, scope: Scope, id: Uuid) -> Result<Option<i32>, Error> {
        let account = self.account(scope, id).await?;
        Ok(account
            .filter(|a| a.r#type == id::AccountType::Processing as i32)
            .and_then(|a| a.processing)
            .map(|p| p.payout_method))
    }

    /// The partner's default processing account in this mode, if any.
    pub(crate) async fn default_processing_account(&self, scope: Scope) -> Result<Option<Uuid>, Error> {
        let query = common::ListQuery {
            filters: vec![equal(&["type"], "processing"), equal(&["processing", "default"], "true")],
            limit: 1,
            ..Default::default()
        };
        let request = self.token.request(scope, id::ListAccountsRequest { query: Some(query) });
        let response = self.accounts.clone().list_accounts(request).await;
        let accounts =
            response.map_err(|status| Error::from_peer("identity", &status))?.into_inner().accounts;
        accounts.first().map(|a| id_of(&a.id, "account id")).transpose()
    }

    /// The default payment method of `account`, as the methods service (which owns
    /// the flag) has it now.
    pub(crate) async fn default_method(&self, scope: Scope, account: Uuid) -> Result<Option<Uuid>, Error> {
        let query = common::ListQuery {
            filters: vec![
                equal(&["account_id"], &account.to_string()),
                equal(&["default_payment_method"], "true"),
            ],
            limit: 1,
            ..Default::default()
        };
        let request = self.token.request(scope, pm::ListPaymentMethodsRequest { query: Some(query) });
        let response = self.methods.clone().list_payment_methods(request).await;
        let methods =
            response.map_err(|status| Error::from_peer("methods", &status))?.into_inner().payment_methods;
        methods.first().map(|m| id_of(&m.id, "method id")).transpose()
    }

    /// The payment methods of `account`, the default first, then the
    /// others oldest first (at most 20).
    pub(crate) async fn methods_of(&self, scope: Scope, account: Uuid) -> Result<Vec<Uuid>, Error> {
        let order = |name: &str, descending| common::OrderBy {
            field: Some(common::FieldRef { path: vec![name.to_owned()], function: 0 }),
            descending,
        };
        let query = common::ListQuery {
            filters: vec![equal(&["account_id"], &account.to_string())],
            order_by: vec![order("default_payment_method", true), order("created_at", false)],
            limit: 20,
            ..Default::default()
        };
        let request = self.token.request(scope, pm::ListPaymentMethodsRequest { query: Some(query) });
        let response = self.methods.clone().list_payment_methods(request).await;
        let methods =
            response.map_err(|status| Error::from_peer("methods", &status))?.into_inner().payment_methods;
        methods.iter().map(|m| id_of(&m.id, "method id")).collect()
    }

    /// Stores `method`, given inline with a payment, in the methods service for
    /// `customer`, or with no customer as a single-use method (charged, not
    /// kept on file); answers its id. The methods service's objections are
    /// the caller's, under `transaction.payment_method`. With the payment
    /// request's Idempotency-Key (`key`), the methods service is sent a key
    /// derived from it, so that retries of the payment store the method once.
    pub(crate) async fn store_method(
        &self,
        scope: Scope,
        customer: Option<Uuid>,
        mut method: pm::PaymentMethod,
        key: Option<&str>,
    ) -> Result<Uuid, Error> {
        method.account_id = customer.map(|c| c.to_string());
        let create =
            pm::CreatePaymentMethodRequest { payment_method: Some(method), single_use: customer.is_none() };
        let mut request = self.token.request(scope, create);
        if let Some(key) = key {
            // One key per payment request: its retries store the method once.
            let digest = Sha256::digest(key.as_bytes());
            let derived = Uuid::from_slice(&digest[..16]).map_err(|e| Error::Internal(e.into()))?;
            let derived = format!("transaction.payment_method:{}", derived.simple());
            if let Ok(value) = derived.parse() {
                request.metadata_mut().insert(IDEMPOTENCY_KEY, value);
            }
        }
        match self.methods.clone().create_payment_method(request).await {
            Ok(response) => {
                let method = response.into_inner().payment_method.unwrap_or_default();
                id_of(&method.id, "method id")
            }
            Err(status) if status.code() == Code::InvalidArgument => {
                let violations: Vec<Violation> = status
                    .get_error_details()
                    .bad_request()
                    .map(|bad| {
                        bad.field_violations
                            .iter()
                            .map(|v| match v.field.strip_prefix("payment_method.").unwrap_or(&v.field) {
                                // The method's owner is the payment's customer.
                                "account_id" | "customer_id" => {
                                    Violation::new("transaction.customer_id", v.description.clone())
                                }
                                field => Violation::new(field, v.description.clone())
                                    .nest("transaction.payment_method"),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                if violations.is_empty() {
                    Err(Error::invalid("transaction.payment_method", status.message().to_owned()))
                } else {
                    Err(Error::InvalidAttributes(violations))
                }
            }
            Err(status) => Err(Error::from_peer("methods", &status)),
        }
    }

    /// Deletes single-use method `id` once its payment is finished: the
    /// vault erases its number.
    pub(crate) async fn delete_method(&self, scope: Scope, id: Uuid) -> Result<(), Error> {
        let request = self.token.request(scope, pm::DeletePaymentMethodRequest { id: id.to_string() });
        match self.methods.clone().delete_payment_method(request).await {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::NotFound => Ok(()),
            Err(status) => Err(Error::from_peer("methods", &status)),
        }
    }

    /// Whether `processing`'s fees are netted from its deposits (Payload's
    /// `netted_daily`) rather than billed monthly (gross deposits).
    pub(crate) async fn fees_netted(&self, scope: Scope, processing: Uuid) -> Result<bool, Error> {
        let request = self
            .token
            .request(scope, pi::GetProcessingSettingsRequest { processing_id: processing.to_string() });
        let settings = match self.pricing.clone().get_processing_settings(request).await {
            Ok(response) => response.into_inner().settings.unwrap_or_default(),
            Err(status) => return Err(Error::from_peer("intents", &status)),
        };
        Ok(settings.billing_preference.as_deref() != Some("billed_monthly"))
    }

    /// Payment method `id`; `None` if there is no such method.
    pub(crate) async fn method(&self, scope: Scope, id: Uuid) -> Result<Option<Method>, Error> {
        let request = self.token.request(scope, pm::GetPaymentMethodRequest { id: id.to_string() });
        let method = match self.methods.clone().get_payment_method(request).await {
            Ok(response) => response.into_inner().payment_method,
            Err(status) if status.code() == Code::NotFound => return Ok(None),
            Err(status) => return Err(Error::from_peer("methods", &status)),
        };
        let Some(method) = method else { return Ok(None) };
        let kind = if method.card.is_some() { MethodKind::Card } else { MethodKind::BankAccount };
        let funding = FundingType::of_method(&method);
        let owner = method.account_id.as_deref().map(|a| id_of(a, "method owner")).transpose()?;
        Ok(Some(Method { owner, kind, funding }))
    }

    /// The numbers of method `id`, released by the methods service for `purpose`.
    pub(crate) async fn instrument(
        &self,
        scope: Scope,
        id: Uuid,
        purpose: String,
    ) -> Result<Instrument, Error> {
        let request = self.token.request(scope, pm::DetokenizeRequest { id: id.to_string(), purpose });
        let response = self.vault.clone().detokenize(request).await;
        let response = match response {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::NotFound => {
                return Err(Error::invalid(
                    "transaction.payment_method_id",
                    "The payment method was deleted",
                ));
            }
            Err(status) => return Err(Error::from_peer("methods", &status)),
        };
        let method = response.payment_method.unwrap_or_default();
        match (response.card, response.bank_account) {
            (Some(card), _) => Ok(Instrument::Card {
                number: card.number,
                expiry: i32::try_from(card.expiry_year)
                    .ok()
                    .filter(|year| *year > 0 && card.expiry_month > 0)
                    .map(|year| (year, card.expiry_month)),
                postal_code: method.billing_address.map(|a| a.postal_code).filter(|p| !p.trim().is_empty()),
                prepaid: method.card.is_some_and(|c| c.card_type == pm::CardType::Prepaid as i32),
            }),
            (None, Some(bank)) => Ok(Instrument::BankAccount { account_number: bank.account_number }),
            (None, None) => Err(Error::Internal(anyhow::anyhow!("the methods service released no numbers"))),
        }
    }

    /// Payment intent `id`; `None` if there is no such intent.
    pub(crate) async fn intent(&self, scope: Scope, id: Uuid) -> Result<Option<pi::PaymentIntent>, Error> {
        let request = self.token.request(scope, pi::GetPaymentIntentRequest { id: id.to_string() });
        match self.intents.clone().get_payment_intent(request).await {
            Ok(response) => Ok(response.into_inner().payment_intent),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Error::from_peer("intents", &status)),
        }
    }

    /// Marks intent `id` captured by `transaction`. A refusal (the intent
    /// changed, expired or was captured meanwhile) is the caller's 400.
    pub(crate) async fn capture_intent(
        &self,
        scope: Scope,
        id: Uuid,
        transaction: Uuid,
    ) -> Result<(), Error> {
        let request = self.token.request(
            scope,
            pi::CapturePaymentIntentRequest { id: id.to_string(), transaction_id: transaction.to_string() },
        );
        match self.intents.clone().capture_payment_intent(request).await {
            Ok(_) => Ok(()),
            Err(status) if matches!(status.code(), Code::InvalidArgument | Code::FailedPrecondition) => {
                Err(Error::invalid(
                    "transaction.payment_intent_id",
                    format!("The payment intent cannot be charged: {}", status.message()),
                ))
            }
            Err(status) => Err(Error::from_peer("intents", &status)),
        }
    }

    /// The fees of charging `amount` to a method of `funding` for the
    /// processing account `processing` paid by `payout`: (fee, the payer's
    /// share, what the method is charged).
    pub(crate) async fn price(
        &self,
        scope: Scope,
        processing: Uuid,
        amount: Money,
        funding: FundingType,
        payout: Option<PayoutMethod>,
    ) -> Result<(Money, Money, Money), Error> {
        // A direct payment's price depends on the payout method only
        // through its currency (EFT pays CAD, the others USD). An account
        // with no payout method yet (a partner's default one, say) is
        // priced as one paid in the amount's currency; it is paid out
        // once it has a method.
        let payout = payout.unwrap_or(PayoutMethod::for_currency(amount.currency)).to_proto() as i32;
        let request = self.token.request(
            scope,
            pi::QuoteRequest {
                processing_id: processing.to_string(),
                amount: Some(amount.to_proto()),
                funding_type: funding.to_proto() as i32,
                payout_method: payout,
                speed: String::new(),
                is_expedited: false,
                direct_payment: true,
            },
        );
        let quote = match self.pricing.clone().quote(request).await {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::InvalidArgument => {
                // The amount is refused whole (above the limit with its
                // fees) or for its currency (not one the payout pays).
                let named = |field: &str| {
                    if field == "amount.amount" {
                        "transaction.amount"
                    } else {
                        "transaction.amount.currency"
                    }
                };
                let violations: Vec<Violation> = status
                    .get_details_bad_request()
                    .map(|bad| bad.field_violations)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| Violation::new(named(&v.field), v.description))
                    .collect();
                return Err(if violations.is_empty() {
                    Error::invalid("transaction.amount.currency", status.message().to_owned())
                } else {
                    Error::InvalidAttributes(violations)
                });
            }
            Err(status) => return Err(Error::from_peer("intents", &status)),
        };
        let money =
            |m: Option<common::Money>| {
                m.as_ref().map(Money::from_proto).transpose().ok().flatten().ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("intents answered a quote without amounts"))
                })
            };
        Ok((money(quote.fee)?, money(quote.cust_conv_fee)?, money(quote.source_amount)?))
    }
}
