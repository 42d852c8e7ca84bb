//! The identity gRPC handlers: authorize, convert, call the store, convert
//! back. The rules live in `domain`; the SQL in `store`.

use std::{collections::HashSet, sync::Arc};

use paymesh_kit::{
    Error, MAX_BATCH, Violation,
    auth::{self, ApiKey, AuthError, Authenticator, BoxFuture, Principal, Scope},
    clock::Clock,
    config::ListLimits,
};
use paymesh_proto::identity::v1::{
    self as pb, account_service_server::AccountService, auth_service_server::AuthService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    convert,
    domain::account::{Account, AccountPatch},
    store::{Change, Store},
};

// === AuthService ===

/// `AuthService`: the auth layer has already resolved the caller's key;
/// this hands the principal back.
#[derive(Debug, Default)]
pub(crate) struct AuthApi;

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn authenticate(
        &self,
        request: Request<pb::AuthenticateRequest>,
    ) -> Result<Response<pb::AuthenticateResponse>, Status> {
        let principal = auth::principal(&request)?;
        Ok(Response::new(pb::AuthenticateResponse { principal: Some(principal.into()) }))
    }
}

/// Resolves keys from the identity tables (the other services ask identity
/// over gRPC instead).
#[derive(Debug, Clone)]
pub(crate) struct KeyAuthenticator {
    store: Store,
    clock: Clock,
}

impl KeyAuthenticator {
    /// Looks keys up in `store`.
    pub(crate) fn new(store: Store, clock: Clock) -> Self {
        Self { store, clock }
    }
}

impl Authenticator for KeyAuthenticator {
    fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            match self.store.principal_for_key(key.expose(), self.clock.now()).await {
                Ok(Some(principal)) => Ok(principal),
                Ok(None) => Err(AuthError::Invalid),
                Err(e) => {
                    tracing::warn!(error = %e, "key lookup failed");
                    Err(AuthError::Unavailable("key lookup failed".to_owned()))
                }
            }
        })
    }
}

// === AccountService ===

/// `AccountService` over the identity store.
#[derive(Debug, Clone)]
pub(crate) struct AccountApi {
    store: Store,
    clock: Clock,
    limits: ListLimits,
}

impl AccountApi {
    /// Serves accounts from `store`.
    pub(crate) fn new(store: Store, clock: Clock, limits: ListLimits) -> Self {
        Self { store, clock, limits }
    }
}

/// The caller's scope; accounts need a secret key.
fn scope<T>(request: &Request<T>) -> Result<Scope, Status> {
    let principal = auth::principal(request)?;
    principal.require_secret_key()?;
    Ok(principal.scope())
}

fn not_found() -> Error {
    Error::NotFound { resource: "Account" }
}

fn nested(violations: Vec<Violation>, parent: &str) -> Vec<Violation> {
    violations.into_iter().map(|v| v.nest(parent)).collect()
}

fn check_batch_size(len: usize, field: &str) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::invalid(field, "At least one item is required"));
    }
    if len > MAX_BATCH {
        return Err(Error::invalid(field, format!("At most {MAX_BATCH} items per request")));
    }
    Ok(())
}

/// Checks batch ids, already parsed (`None` when malformed): every one must
/// be well formed and listed once.
fn batch_ids(
    ids: impl Iterator<Item = (usize, Option<Uuid>)>,
    field: impl Fn(usize) -> String,
) -> Result<Vec<Uuid>, Error> {
    let mut violations = Vec::new();
    let mut seen = HashSet::new();
    let mut checked = Vec::new();
    for (i, id) in ids {
        match id {
            Some(id) if seen.insert(id) => checked.push(id),
            Some(_) => violations.push(Violation::new(field(i), "Listed more than once")),
            None => violations.push(Violation::new(field(i), "No such account")),
        }
    }
    if violations.is_empty() { Ok(checked) } else { Err(Error::InvalidAttributes(violations)) }
}

fn updated(
    account: &Account,
    patch: &AccountPatch,
    now: chrono::DateTime<chrono::Utc>,
    field: &str,
) -> Result<Change, Error> {
    account
        .apply(patch, now)
        .map(Change::Update)
        .map_err(|(name, why)| Error::invalid(format!("{field}.{name}"), why))
}

fn responses(accounts: Vec<Account>) -> Vec<pb::Account> {
    accounts.into_iter().map(convert::to_proto).collect()
}

#[tonic::async_trait]
impl AccountService for AccountApi {
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        let scope = scope(&request)?;
        let pb::CreateAccountRequest { account } = request.into_inner();
        let new = convert::new_account(account).map_err(Error::InvalidAttributes)?;
        let account = Account::create(new, scope.livemode, self.clock.now());
        self.store.insert_accounts(scope, std::slice::from_ref(&account)).await?;
        Ok(Response::new(pb::CreateAccountResponse { account: Some(convert::to_proto(account)) }))
    }

    async fn batch_create_accounts(
        &self,
        request: Request<pb::BatchCreateAccountsRequest>,
    ) -> Result<Response<pb::BatchCreateAccountsResponse>, Status> {
        let scope = scope(&request)?;
        let pb::BatchCreateAccountsRequest { requests } = request.into_inner();
        check_batch_size(requests.len(), "requests")?;
        let now = self.clock.now();
        let mut violations = Vec::new();
        let mut accounts = Vec::with_capacity(requests.len());
        for (i, pb::CreateAccountRequest { account }) in requests.into_iter().enumerate() {
            match convert::new_account(account) {
                Ok(new) => accounts.push(Account::create(new, scope.livemode, now)),
                Err(v) => violations.extend(nested(v, &format!("requests[{i}]"))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations).into());
        }
        self.store.insert_accounts(scope, &accounts).await?;
        Ok(Response::new(pb::BatchCreateAccountsResponse { accounts: responses(accounts) }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let scope = scope(&request)?;
        let id: Uuid = request.get_ref().id.parse().map_err(|_| not_found())?;
        let account = self.store.account(scope, id).await?.ok_or_else(not_found)?;
        Ok(Response::new(pb::GetAccountResponse { account: Some(convert::to_proto(account)) }))
    }

    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        let scope = scope(&request)?;
        let query = request.into_inner().query.unwrap_or_default();
        let listing = self.store.list_accounts(scope, &query, self.limits).await?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: responses(listing.accounts),
            computed: listing.computed.into_iter().map(paymesh_kit::json::to_struct).collect(),
            groups: listing.groups.into_iter().map(paymesh_kit::json::to_struct).collect(),
        }))
    }

    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Result<Response<pb::UpdateAccountResponse>, Status> {
        let scope = scope(&request)?;
        let pb::UpdateAccountRequest { account, update_mask } = request.into_inner();
        let (id, patch) = convert::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        let id = id.ok_or_else(not_found)?;
        let account = if patch.is_empty() {
            self.store.account(scope, id).await?.ok_or_else(not_found)?
        } else {
            let now = self.clock.now();
            let mut changed = self
                .store
                .change_accounts(scope, &[id], |_| not_found(), |_, a| updated(a, &patch, now, "account"))
                .await?;
            changed.pop().ok_or_else(not_found)?
        };
        Ok(Response::new(pb::UpdateAccountResponse { account: Some(convert::to_proto(account)) }))
    }

    async fn batch_update_accounts(
        &self,
        request: Request<pb::BatchUpdateAccountsRequest>,
    ) -> Result<Response<pb::BatchUpdateAccountsResponse>, Status> {
        let scope = scope(&request)?;
        let pb::BatchUpdateAccountsRequest { requests } = request.into_inner();
        check_batch_size(requests.len(), "requests")?;
        let mut violations = Vec::new();
        let mut patches = Vec::with_capacity(requests.len());
        let mut parsed_ids = Vec::with_capacity(requests.len());
        for (i, pb::UpdateAccountRequest { account, update_mask }) in requests.into_iter().enumerate() {
            match convert::patch(account, update_mask) {
                Ok((id, patch)) => {
                    parsed_ids.push(id);
                    patches.push(patch);
                }
                Err(v) => violations.extend(nested(v, &format!("requests[{i}]"))),
            }
        }
        if !violations.is_empty() {
            return Err(Error::InvalidAttributes(violations).into());
        }
        let field = |i: usize| format!("requests[{i}].account.id");
        let ids = batch_ids(parsed_ids.into_iter().enumerate(), field)?;
        let now = self.clock.now();
        let accounts = self
            .store
            .change_accounts(
                scope,
                &ids,
                |i| Error::invalid(field(i), "No such account"),
                |i, a| updated(a, &patches[i], now, &format!("requests[{i}].account")),
            )
            .await?;
        Ok(Response::new(pb::BatchUpdateAccountsResponse { accounts: responses(accounts) }))
    }

    async fn update_accounts_by_query(
        &self,
        request: Request<pb::UpdateAccountsByQueryRequest>,
    ) -> Result<Response<pb::UpdateAccountsByQueryResponse>, Status> {
        let scope = scope(&request)?;
        let pb::UpdateAccountsByQueryRequest { filters, account, update_mask } = request.into_inner();
        let (_, patch) = convert::patch(account, update_mask).map_err(Error::InvalidAttributes)?;
        if patch.is_empty() {
            return Err(Error::invalid("update_mask", "Name at least one attribute to change").into());
        }
        let now = self.clock.now();
        let accounts = self
            .store
            .change_accounts_matching(scope, &filters, self.limits.max_limit, |a| {
                updated(a, &patch, now, "account")
            })
            .await?;
        Ok(Response::new(pb::UpdateAccountsByQueryResponse { accounts: responses(accounts) }))
    }

    async fn delete_account(
        &self,
        request: Request<pb::DeleteAccountRequest>,
    ) -> Result<Response<pb::DeleteAccountResponse>, Status> {
        let scope = scope(&request)?;
        let id: Uuid = request.get_ref().id.parse().map_err(|_| not_found())?;
        let now = self.clock.now();
        let mut deleted = self
            .store
            .change_accounts(scope, &[id], |_| not_found(), |_, a| Ok(Change::Delete(a.clone(), now)))
            .await?;
        let account = deleted.pop().ok_or_else(not_found)?;
        Ok(Response::new(pb::DeleteAccountResponse { account: Some(convert::to_proto(account)) }))
    }

    async fn batch_delete_accounts(
        &self,
        request: Request<pb::BatchDeleteAccountsRequest>,
    ) -> Result<Response<pb::BatchDeleteAccountsResponse>, Status> {
        let scope = scope(&request)?;
        let pb::BatchDeleteAccountsRequest { ids } = request.into_inner();
        check_batch_size(ids.len(), "ids")?;
        let field = |i: usize| format!("ids[{i}]");
        let ids = batch_ids(ids.iter().map(|id| id.parse().ok()).enumerate(), field)?;
        let now = self.clock.now();
        let accounts = self
            .store
            .change_accounts(
                scope,
                &ids,
                |i| Error::invalid(field(i), "No such account"),
                |_, a| Ok(Change::Delete(a.clone(), now)),
            )
            .await?;
        Ok(Response::new(pb::BatchDeleteAccountsResponse { accounts: responses(accounts) }))
    }

    async fn delete_accounts_by_query(
        &self,
        request: Request<pb::DeleteAccountsByQueryRequest>,
    ) -> Result<Response<pb::DeleteAccountsByQueryResponse>, Status> {
        let scope = scope(&request)?;
        let pb::DeleteAccountsByQueryRequest { filters } = request.into_inner();
        let now = self.clock.now();
        let accounts = self
            .store
            .change_accounts_matching(scope, &filters, self.limits.max_limit, |a| {
                Ok(Change::Delete(a.clone(), now))
            })
            .await?;
        Ok(Response::new(pb::DeleteAccountsByQueryResponse { accounts: responses(accounts) }))
    }
}

/// The authenticator identity's own server uses, cached.
pub(crate) fn authenticator(
    store: Store,
    clock: Clock,
    config: paymesh_kit::config::AuthConfig,
) -> Arc<dyn Authenticator> {
    Arc::new(auth::CachedAuthenticator::new(KeyAuthenticator::new(store, clock), config))
}
