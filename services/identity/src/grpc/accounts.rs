//! `AccountService`: customers, processing accounts and billers.
//!
//! A restricted key's permissions are written as REST paths; accounts
//! answer to three (`/accounts` for every type, `/customers`,
//! `/processing_accounts`), so handlers narrow each call to the account
//! types the key may touch with its method: others are not found. Merchant
//! tokens may read only their own processing account and its history.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    auth::{self, KeyKind, Principal, Verb},
    batch,
};
use paymesh_proto::{
    common::v1::{Condition, FieldRef, Filter, ListQuery, Operator},
    identity::v1::{self as pb, account_service_server::AccountService},
};
use tonic::{Request, Response, Status};

use super::{object_id, secret, structs};
use crate::{
    convert::accounts as wire,
    domain::{
        account::{Account, AccountPatch, AccountType, Profile},
        lifecycle::{Actor, Change},
    },
    service::{accounts::Accounts, actor},
    store::Listing,
};

/// `AccountService` over the service's accounts.
#[derive(Clone, Debug)]
pub(crate) struct AccountApi(pub(crate) Accounts);

fn not_found() -> Error {
    Error::NotFound { resource: "Account" }
}

/// The account types `principal` may act on with `verb`.
fn allowed_types(principal: &Principal, verb: Verb) -> Vec<AccountType> {
    if principal.permits(verb, "/accounts") {
        return vec![AccountType::Customer, AccountType::Processing];
    }
    let mut types = Vec::new();
    if principal.permits(verb, "/customers") {
        types.push(AccountType::Customer);
    }
    if principal.permits(verb, "/processing_accounts") {
        types.push(AccountType::Processing);
    }
    types
}

/// A payer's recipients are part of what reading the payer shows: a key
/// that may read customers may read them, whatever it may do with
/// processing accounts directly; other keys see no payer.
fn require_customer_reader(principal: &Principal, missing: impl FnOnce() -> Error) -> Result<(), Error> {
    if allowed_types(principal, Verb::Get).contains(&AccountType::Customer) { Ok(()) } else { Err(missing()) }
}

/// A filter keeping only `types`, when they are not all of them.
fn type_filter(types: &[AccountType]) -> Option<Filter> {
    (types.len() < 2).then(|| Filter {
        field: Some(FieldRef { path: vec!["type".to_owned()], function: 0 }),
        any_of: types
            .iter()
            .map(|t| Condition { operator: Operator::Equal as i32, value: t.as_str().to_owned() })
            .collect(),
    })
}

fn restrict(mut query: ListQuery, types: &[AccountType]) -> ListQuery {
    query.filters.extend(type_filter(types));
    query
}

/// Checks `account` is of a type the caller may touch: otherwise it is as
/// if it did not exist.
fn visible(account: &Account, types: &[AccountType], missing: impl FnOnce() -> Error) -> Result<(), Error> {
    if types.contains(&account.kind()) { Ok(()) } else { Err(missing()) }
}

fn updated(
    account: &Account,
    patch: &AccountPatch,
    now: DateTime<Utc>,
    field: &str,
) -> Result<Change, Error> {
    let changed =
        account.apply(patch, now).map_err(|(name, why)| Error::invalid(format!("{field}.{name}"), why))?;
    Ok(Change::Update(changed, patch.processing.status.clone()))
}

fn responses(accounts: Vec<Account>) -> Vec<pb::Account> {
    accounts.into_iter().map(wire::to_proto).collect()
}

fn listing(
    listing: Listing<Account>,
) -> (Vec<pb::Account>, Vec<prost_types::Struct>, Vec<prost_types::Struct>) {
    (responses(listing.items), structs(listing.computed), structs(listing.groups))
}

impl AccountApi {
    /// Accounts as created at now, refusing types the key may not create.
    fn create_all(
        &self,
        principal: &Principal,
        requests: Vec<pb::CreateAccountRequest>,
        field: impl Fn(usize) -> String,
    ) -> Result<Vec<Account>, Error> {
        let types = allowed_types(principal, Verb::Post);
        let now = self.0.clock.now();
        let mut violations = Vec::new();
        let mut accounts = Vec::with_capacity(requests.len());
        for (i, pb::CreateAccountRequest { account }) in requests.into_iter().enumerate() {
            let parsed = wire::new_account(account).and_then(|new| {
                Account::create(new, principal.livemode, now)
                    .map_err(|(name, why)| vec![paymesh_kit::Violation::new(format!("account.{name}"), why)])
            });
            match parsed {
                Ok(account) if !types.contains(&account.kind()) => {
                    return Err(Error::Forbidden(format!(
                        "This key's permissions do not allow creating {} accounts",
                        account.kind().as_str()
                    )));
                }
                Ok(account) => accounts.push(account),
                Err(v) => violations.extend(batch::nested(v, &field(i))),
            }
        }
        if violations.is_empty() { Ok(accounts) } else { Err(Error::InvalidAttributes(violations)) }
    }
}

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let (_, scope) = secret(&request)?;
        self.0
            .keys
            .once(request, self.0.clock.now(), |principal, message| async move {
                let accounts = self.create_all(&principal, vec![message], |_| String::new())?;
                let mut created =
                    self.0.insert(scope, accounts, actor(&principal), |_| "account".to_owned()).await?;
                Ok(pb::CreateAccountResponse { account: created.pop().map(wire::to_proto) })
            })
            .await
    }

    async fn batch_create_accounts(
        &self,
        request: Request<pb::BatchCreateAccountsRequest>,
    ) -> Result<Response<pb::BatchCreateAccountsResponse>, Status> {
        let (_, scope) = secret(&request)?;
        batch::check_size(request.get_ref().requests.len(), "requests")?;
        self.0
            .keys
            .once(request, self.0.clock.now(), |principal, message| async move {
                let accounts = self.create_all(&principal, message.requests, |i| format!("requests[{i}]"))?;
                let created = self
                    .0
                    .insert(scope, accounts, actor(&principal), |i| format!("requests[{i}].account"))
                    .await?;
                Ok(pb::BatchCreateAccountsResponse { accounts: responses(created) })
            })
            .await
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let principal = auth::principal(&request)?;
        let id = object_id(&request.get_ref().id, not_found)?;
        if principal.key_kind == KeyKind::Merchant {
            // A merchant token reads its own processing account, nothing else.
            if principal.account_id != Some(id) {
                return Err(not_found().into());
            }
        } else {
            principal.require_secret_key()?;
        }
        let account = self.0.store.account(principal.scope(), id).await?.ok_or_else(not_found)?;
        if principal.key_kind != KeyKind::Merchant {
            visible(&account, &allowed_types(&principal, Verb::Get), not_found)?;
        }
        Ok(Response::new(pb::GetAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let query =
            restrict(request.into_inner().query.unwrap_or_default(), &allowed_types(&principal, Verb::Get));
        let (accounts, computed, groups) =
            listing(self.0.store.list_accounts(scope, &query, self.0.limits).await?);
        Ok(Response::new(pb::ListAccountsResponse { accounts, computed, groups }))
    }

    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Result<Response<pb::UpdateAccountResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Put);
        let pb::UpdateAccountRequest { account, update_mask } = request.into_inner();
        let (id, patch) = wire::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        let id = id.ok_or_else(not_found)?;
        let account = if patch.is_empty() {
            let account = self.0.store.account(scope, id).await?.ok_or_else(not_found)?;
            visible(&account, &types, not_found)?;
            account
        } else {
            let now = self.0.clock.now();
            let mut changed = self
                .0
                .change(
                    scope,
                    &[id],
                    actor(&principal),
                    |_| not_found(),
                    |_| "account".to_owned(),
                    |_, a| {
                        visible(a, &types, not_found)?;
                        updated(a, &patch, now, "account")
                    },
                )
                .await?;
            changed.pop().ok_or_else(not_found)?
        };
        Ok(Response::new(pb::UpdateAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn batch_update_accounts(
        &self,
        request: Request<pb::BatchUpdateAccountsRequest>,
    ) -> Result<Response<pb::BatchUpdateAccountsResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Put);
        let pb::BatchUpdateAccountsRequest { requests } = request.into_inner();
        batch::check_size(requests.len(), "requests")?;
        let mut violations = Vec::new();
        let mut patches = Vec::with_capacity(requests.len());
        let mut parsed_ids = Vec::with_capacity(requests.len());
        for (i, pb::UpdateAccountRequest { account, update_mask }) in requests.into_iter().enumerate() {
            match wire::patch(account, update_mask) {
                Ok((id, patch)) => {
                    parsed_ids.push(id);
                    patches.push(patch);
                }
                Err(v) => violations.extend(batch::nested(v, &format!("requests[{i}]"))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations).into());
        }
        let field = |i: usize| format!("requests[{i}].account.id");
        let ids = batch::ids(parsed_ids.into_iter().enumerate(), field, "No such account")?;
        let now = self.0.clock.now();
        let accounts = self
            .0
            .change(
                scope,
                &ids,
                actor(&principal),
                |i| Error::invalid(field(i), "No such account"),
                |i| format!("requests[{i}].account"),
                |i, a| {
                    visible(a, &types, || Error::invalid(field(i), "No such account"))?;
                    updated(a, &patches[i], now, &format!("requests[{i}].account"))
                },
            )
            .await?;
        Ok(Response::new(pb::BatchUpdateAccountsResponse { accounts: responses(accounts) }))
    }

    async fn update_accounts_by_query(
        &self,
        request: Request<pb::UpdateAccountsByQueryRequest>,
    ) -> Result<Response<pb::UpdateAccountsByQueryResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Put);
        let pb::UpdateAccountsByQueryRequest { mut filters, account, update_mask } = request.into_inner();
        let (_, patch) = wire::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        if patch.is_empty() {
            return Err(Error::invalid("update_mask", "Name at least one attribute to change").into());
        }
        if !filters.is_empty() {
            filters.extend(type_filter(&types));
        }
        let now = self.0.clock.now();
        let accounts = self
            .0
            .change_matching(scope, &filters, actor(&principal), |a| updated(a, &patch, now, "account"))
            .await?;
        Ok(Response::new(pb::UpdateAccountsByQueryResponse { accounts: responses(accounts) }))
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Delete);
        let id = object_id(&request.get_ref().id, not_found)?;
        let now = self.0.clock.now();
        let mut deleted = self
            .0
            .change(
                scope,
                &[id],
                actor(&principal),
                |_| not_found(),
                |_| "account".to_owned(),
                |_, a| {
                    visible(a, &types, not_found)?;
                    Ok(Change::Delete(a.clone(), now))
                },
            )
            .await?;
        let account = deleted.pop().ok_or_else(not_found)?;
        Ok(Response::new(pb::DeleteAccountResponse { account: Some(wire::to_proto(account)) }))
    }

    async fn batch_delete_accounts(
        &self,
        request: Request<pb::BatchDeleteAccountsRequest>,
    ) -> Result<Response<pb::BatchDeleteAccountsResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Delete);
        let pb::BatchDeleteAccountsRequest { ids } = request.into_inner();
        batch::check_size(ids.len(), "ids")?;
        let field = |i: usize| format!("ids[{i}]");
        let ids = batch::ids(ids.iter().map(|id| id.parse().ok()).enumerate(), field, "No such account")?;
        let now = self.0.clock.now();
        let accounts = self
            .0
            .change(
                scope,
                &ids,
                actor(&principal),
                |i| Error::invalid(field(i), "No such account"),
                field,
                |i, a| {
                    visible(a, &types, || Error::invalid(field(i), "No such account"))?;
                    Ok(Change::Delete(a.clone(), now))
                },
            )
            .await?;
        Ok(Response::new(pb::BatchDeleteAccountsResponse { accounts: responses(accounts) }))
    }

    async fn delete_accounts_by_query(
        &self,
        request: Request<pb::DeleteAccountsByQueryRequest>,
    ) -> Result<Response<pb::DeleteAccountsByQueryResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let types = allowed_types(&principal, Verb::Delete);
        let pb::DeleteAccountsByQueryRequest { mut filters } = request.into_inner();
        if !filters.is_empty() {
            filters.extend(type_filter(&types));
        }
        let now = self.0.clock.now();
        let accounts = self
            .0
            .change_matching(scope, &filters, actor(&principal), |a| Ok(Change::Delete(a.clone(), now)))
            .await?;
        Ok(Response::new(pb::DeleteAccountsByQueryResponse { accounts: responses(accounts) }))
    }

    async fn list_recipients(
        &self,
        request: Request<pb::ListRecipientsRequest>,
    ) -> Result<Response<pb::ListRecipientsResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let pb::ListRecipientsRequest { payer_id, query } = request.into_inner();
        let missing = || Error::NotFound { resource: "Payer" };
        let payer = object_id(&payer_id, missing)?;
        require_customer_reader(&principal, missing)?;
        let query = query.unwrap_or_default();
        let (accounts, computed, groups) = listing(self.0.list_recipients(scope, payer, &query).await?);
        Ok(Response::new(pb::ListRecipientsResponse { accounts, computed, groups }))
    }

    async fn resolve_recipient(
        &self,
        request: Request<pb::ResolveRecipientRequest>,
    ) -> Result<Response<pb::ResolveRecipientResponse>, Status> {
        let (principal, scope) = secret(&request)?;
        let pb::ResolveRecipientRequest { payer_id, recipient_id } = request.into_inner();
        let missing = || Error::NotFound { resource: "Payer" };
        let payer = object_id(&payer_id, missing)?;
        require_customer_reader(&principal, missing)?;
        let recipient = object_id(&recipient_id, || Error::NotFound { resource: "Recipient" })?;
        let (payer, recipient) = self.0.resolve_recipient(scope, payer, recipient).await?;
        Ok(Response::new(pb::ResolveRecipientResponse {
            recipient: Some(wire::to_proto(recipient)),
            payer: Some(wire::to_proto(payer)),
        }))
    }

    async fn list_processing_status_changes(
        &self,
        request: Request<pb::ListProcessingStatusChangesRequest>,
    ) -> Result<Response<pb::ListProcessingStatusChangesResponse>, Status> {
        let principal = auth::principal(&request)?;
        let missing = || Error::NotFound { resource: "Processing account" };
        let id = object_id(&request.get_ref().account_id, missing)?;
        if principal.key_kind == KeyKind::Merchant {
            if principal.account_id != Some(id) {
                return Err(missing().into());
            }
        } else {
            principal.require_secret_key()?;
            if !allowed_types(&principal, Verb::Get).contains(&AccountType::Processing) {
                return Err(missing().into());
            }
        }
        let changes = self.0.status_changes(principal.scope(), id).await?;
        Ok(Response::new(pb::ListProcessingStatusChangesResponse {
            changes: changes.into_iter().map(wire::change_to_proto).collect(),
        }))
    }

    async fn set_default_payment_method(
        &self,
        request: Request<pb::SetDefaultPaymentMethodRequest>,
    ) -> Result<Response<pb::SetDefaultPaymentMethodResponse>, Status> {
        let principal = auth::principal(&request)?;
        principal.require_service("methods")?;
        let scope = principal.scope();
        let pb::SetDefaultPaymentMethodRequest { account_id, payment_method_id } = request.into_inner();
        let id = object_id(&account_id, not_found)?;
        let method = match payment_method_id.trim() {
            "" => None,
            raw => Some(raw.parse().map_err(|_| Error::invalid("payment_method_id", "Must be a valid id"))?),
        };
        let now = self.0.clock.now();
        let mut changed = self
            .0
            .change(
                scope,
                &[id],
                Actor::System,
                |_| not_found(),
                |_| "account".to_owned(),
                |_, a| {
                    let mut account = a.clone();
                    let Profile::Customer(customer) = &mut account.profile else {
                        return Err(Error::invalid(
                            "account_id",
                            "Only customers have a default payment method",
                        ));
                    };
                    customer.default_payment_method_id = method;
                    account.modified_at = now;
                    Ok(Change::Update(account, None))
                },
            )
            .await?;
        let account = changed.pop().ok_or_else(not_found)?;
        Ok(Response::new(pb::SetDefaultPaymentMethodResponse { account: Some(wire::to_proto(account)) }))
    }
}
