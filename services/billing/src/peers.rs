//! What billing asks the other services: identity whether a customer and a
//! processing account exist, and which processing account a customer's
//! invoices are paid to by default; the methods service whose a payment
//! method is; the payments service to charge an invoice for autopay.
//! Calls carry the billing service's token, acting for the caller's
//! partner and mode.

use paymesh_kit::{
    Error,
    auth::{Scope, ServiceToken},
    error::Violation,
    grpc::Channel,
};
use paymesh_kit::{money::Money, query::equal, wire::IDEMPOTENCY_KEY};
use paymesh_proto::{
    common::v1 as common,
    identity::v1::{self as id, account_service_client::AccountServiceClient},
    methods::v1::{self as pm, payment_method_service_client::PaymentMethodServiceClient},
    payments::v1::{self as pay, transaction_service_client::TransactionServiceClient},
};
use tonic::Code;
use tonic_types::StatusExt as _;
use uuid::Uuid;

/// The client of identity.
#[derive(Clone)]
pub(crate) struct Peers {
    accounts: AccountServiceClient<Channel>,
    methods: PaymentMethodServiceClient<Channel>,
    payments: TransactionServiceClient<Channel>,
    token: ServiceToken,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peers").finish_non_exhaustive()
    }
}

/// A customer, as billing needs it.
#[derive(Clone, Debug)]
pub(crate) struct Customer {
    /// The processing account its payments go to by default, if any.
    pub(crate) primary_processing_id: Option<Uuid>,
    /// Its email address.
    pub(crate) email: String,
}

impl Peers {
    /// The clients over `identity`, `methods` and `payments`, presenting
    /// `token`.
    pub(crate) fn new(
        (identity, methods, payments): (Channel, Channel, Channel),
        token: ServiceToken,
    ) -> Self {
        Self {
            accounts: AccountServiceClient::new(identity),
            methods: PaymentMethodServiceClient::new(methods),
            payments: TransactionServiceClient::new(payments),
            token,
        }
    }

    /// The owner of payment method `id` (`Some(None)` for a method on no
    /// account); `None` if there is no such method.
    pub(crate) async fn method_owner(&self, scope: Scope, id: Uuid) -> Result<Option<Option<Uuid>>, Error> {
        let request = self.token.request(scope, pm::GetPaymentMethodRequest { id: id.to_string() });
        match self.methods.clone().get_payment_method(request).await {
            Ok(response) => Ok(response
                .into_inner()
                .payment_method
                .map(|m| m.account_id.as_deref().and_then(|a| Uuid::parse_str(a).ok()))),
            Err(status) if status.code() == Code::NotFound => Ok(None),
            Err(status) => Err(Error::from_peer("methods", &status)),
        }
    }

    /// Charges `charge` for autopay with Idempotency-Key `key`: the same
    /// key answers the same, so a charge sent again is made once.
    pub(crate) async fn charge(&self, scope: Scope, charge: Charge, key: &str) -> Charged {
        let transaction = pay::Transaction {
            r#type: pay::TransactionType::Payment as i32,
            amount: Some(charge.amount.to_proto()),
            customer_id: Some(charge.customer_id.to_string()),
            payment_method_id: Some(charge.payment_method_id.to_string()),
            processing_id: Some(charge.processing_id.to_string()),
            description: Some(format!("Autopay of invoice {}", charge.invoice_id)),
            allocations: vec![pay::Allocation {
                invoice_id: charge.invoice_id.to_string(),
                amount: Some(charge.amount.to_proto()),
                entry_type: pay::AllocationEntryType::Payment as i32,
                invoice_payer_id: String::new(),
            }],
            initiator: pay::PaymentInitiator::AutomaticBilling as i32,
            ..Default::default()
        };
        self.create_transaction(scope, transaction, key).await
    }

    async fn create_transaction(&self, scope: Scope, transaction: pay::Transaction, key: &str) -> Charged {
        let mut request =
            self.token.request(scope, pay::CreateTransactionRequest { transaction: Some(transaction) });
        if let Ok(value) = key.parse() {
            request.metadata_mut().insert(IDEMPOTENCY_KEY, value);
        }
        match self.payments.clone().create_transaction(request).await {
            Ok(response) => {
                let transaction = response.into_inner().transaction;
                Charged::Processed(
                    transaction.as_ref().and_then(|t| Uuid::parse_str(&t.id).ok()),
                    transaction.and_then(|t| t.amount).and_then(|m| m.amount.parse().ok()),
                )
            }
            Err(status) if status.code() == Code::FailedPrecondition => {
                let transaction = status
                    .get_details_error_info()
                    .and_then(|info| info.metadata.get("transaction_id").cloned())
                    .and_then(|id| Uuid::parse_str(&id).ok());
                Charged::Declined(transaction, status.message().to_owned())
            }
            Err(status) if status.code() == Code::InvalidArgument => {
                Charged::Refused(status.message().to_owned())
            }
            Err(status) => Charged::NotYet(Error::from_peer("payments", &status)),
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

    /// Customer `id`; `None` if there is no such customer.
    pub(crate) async fn customer(&self, scope: Scope, id: Uuid) -> Result<Option<Customer>, Error> {
        Ok(self.account(scope, id).await?.filter(|a| a.r#type == id::AccountType::Customer as i32).map(|a| {
            Customer {
                primary_processing_id: a.primary_processing_id.and_then(|p| Uuid::parse_str(&p).ok()),
                email: a.email,
            }
        }))
    }

    /// Whether processing account `id` exists.
    pub(crate) async fn processing_account_exists(&self, scope: Scope, id: Uuid) -> Result<bool, Error> {
        Ok(self.processing_account_name(scope, id).await?.is_some())
    }

    /// The name of processing account `id`; `None` if there is no such
    /// account.
    pub(crate) async fn processing_account_name(
        &self,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<String>, Error> {
        Ok(self
            .account(scope, id)
            .await?
            .filter(|a| a.r#type == id::AccountType::Processing as i32)
            .map(|a| a.name))
    }

    /// Creates a customer account named `name` at `email`. Identity's
    /// problems with them come back as `InvalidAttributes` under
    /// `prefix` (`payment_link.customer`).
    pub(crate) async fn create_customer(
        &self,
        scope: Scope,
        (name, email): (&str, &str),
        prefix: &str,
    ) -> Result<Uuid, Error> {
        let account = id::Account {
            r#type: id::AccountType::Customer as i32,
            name: name.to_owned(),
            email: email.to_owned(),
            ..Default::default()
        };
        let request = self.token.request(scope, id::CreateAccountRequest { account: Some(account) });
        match self.accounts.clone().create_account(request).await {
            Ok(response) => {
                response.into_inner().account.and_then(|a| Uuid::parse_str(&a.id).ok()).ok_or_else(|| {
                    Error::Internal(anyhow::anyhow!("identity answered a customer without an id"))
                })
            }
            Err(status) if status.code() == Code::InvalidArgument => {
                let violations = status
                    .get_details_bad_request()
                    .map(|bad| {
                        bad.field_violations
                            .into_iter()
                            .map(|v| {
                                let field = v.field.rsplit('.').next().unwrap_or_default().to_owned();
                                (format!("{prefix}.{field}"), v.description)
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                if violations.is_empty() {
                    Err(Error::invalid(prefix, status.message()))
                } else {
                    Err(Error::InvalidAttributes(
                        violations.into_iter().map(|(field, why)| Violation::new(field, why)).collect(),
                    ))
                }
            }
            Err(status) => Err(Error::from_peer("identity", &status)),
        }
    }

    /// Pays a link's page: `payment` through the payments service, with
    /// Idempotency-Key `key` (the same submission answers the same).
    pub(crate) async fn pay_link(&self, scope: Scope, payment: LinkPayment, key: &str) -> Charged {
        let LinkPayment { customer_id, processing_id, invoice_id, amount, method, description, attrs } =
            payment;
        let transaction = pay::Transaction {
            r#type: pay::TransactionType::Payment as i32,
            amount: Some(amount.to_proto()),
            customer_id: Some(customer_id.to_string()),
            processing_id: Some(processing_id.to_string()),
            description: Some(description),
            payment_method: Some(method),
            attrs: Some(paymesh_kit::json::to_struct(attrs)),
            allocations: invoice_id
                .map(|invoice| pay::Allocation {
                    invoice_id: invoice.to_string(),
                    amount: Some(amount.to_proto()),
                    entry_type: pay::AllocationEntryType::Payment as i32,
                    invoice_payer_id: String::new(),
                })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        self.create_transaction(scope, transaction, key).await
    }

    /// The payment a link's submission `attempt` made, if one was made:
    /// found by the attempt's id in its attrs.
    pub(crate) async fn link_payment(
        &self,
        scope: Scope,
        attempt: Uuid,
    ) -> Result<Option<pay::Transaction>, Error> {
        let query = common::ListQuery {
            filters: vec![equal(&["attrs", LINK_ATTEMPT_ATTR], &attempt.to_string())],
            limit: 1,
            ..Default::default()
        };
        let request = self
            .token
            .request(scope, pay::ListTransactionsRequest { query: Some(query), ..Default::default() });
        let found = self
            .payments
            .clone()
            .list_transactions(request)
            .await
            .map_err(|status| Error::from_peer("payments", &status))?
            .into_inner()
            .transactions;
        Ok(found.into_iter().next())
    }

    /// The partner's default processing account in this mode, if any.
    pub(crate) async fn default_processing_account(&self, scope: Scope) -> Result<Option<Uuid>, Error> {
        let query = common::ListQuery {
            filters: vec![equal(&["type"], "processing"), equal(&["processing", "default"], "true")],
            limit: 1,
            ..Default::default()
        };
        let request = self.token.request(scope, id::ListAccountsRequest { query: Some(query) });
        let accounts = self
            .accounts
            .clone()
            .list_accounts(request)
            .await
            .map_err(|status| Error::from_peer("identity", &status))?
            .into_inner()
            .accounts;
        Ok(accounts.first().and_then(|a| Uuid::parse_str(&a.id).ok()))
    }
}

/// The attribute of a link's payment that names the page submission
/// (attempt) that made it.
pub(crate) const LINK_ATTEMPT_ATTR: &str = "payment_link_attempt_id";

/// A payment through a link's page.
#[derive(Clone, Debug)]
pub(crate) struct LinkPayment {
    pub(crate) customer_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) invoice_id: Option<Uuid>,
    pub(crate) amount: Money,
    pub(crate) method: pm::PaymentMethod,
    pub(crate) description: String,
    /// The payment's attrs: the answers, the link and the attempt.
    pub(crate) attrs: serde_json::Map<String, serde_json::Value>,
}

/// An autopay charge.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Charge {
    pub(crate) invoice_id: Uuid,
    pub(crate) customer_id: Uuid,
    pub(crate) payment_method_id: Uuid,
    pub(crate) processing_id: Uuid,
    pub(crate) amount: Money,
}

/// How a charge (autopay, or a link's page) ended.
#[derive(Debug)]
pub(crate) enum Charged {
    /// Approved: the payment, and the amount it charged (with any
    /// convenience fee).
    Processed(Option<Uuid>, Option<rust_decimal::Decimal>),
    /// Declined: the payment, and why.
    Declined(Option<Uuid>, String),
    /// Refused before the processor was asked (the method was deleted, the
    /// invoice was paid meanwhile, …): why.
    Refused(String),
    /// No answer (payments away, the key still held): send it again later.
    NotYet(Error),
}
