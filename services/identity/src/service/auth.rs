//! The authenticator behind every identity call: API keys from the
//! identity tables, merchant tokens by their signature and their record.

use std::sync::Arc;

use paymesh_kit::{
    auth::{ApiKey, AuthError, Authenticator, CachedAuthenticator, KeyKind, Principal},
    clock::Clock,
    config::AuthConfig,
    future::BoxFuture,
};

use crate::{
    domain::token::{MerchantSigner, TokenStatus, looks_like_jwt},
    store::{Store, tokens::MerchantToken},
};

/// Resolves credentials from the identity tables (the other services ask
/// identity over gRPC instead).
#[derive(Debug, Clone)]
pub(crate) struct CredentialAuthenticator {
    store: Store,
    clock: Clock,
    signer: MerchantSigner,
}

/// The cached authenticator identity's server runs; revocations evict
/// from it at once.
pub(crate) type IdentityAuthenticator = CachedAuthenticator<CredentialAuthenticator>;

impl CredentialAuthenticator {
    /// Looks credentials up in `store`, verifying merchant tokens with
    /// `signer`.
    pub(crate) fn new(store: Store, clock: Clock, signer: MerchantSigner) -> Self {
        Self { store, clock, signer }
    }

    async fn merchant(&self, token: &str) -> Result<Principal, AuthError> {
        let now = self.clock.now();
        let claims = self.signer.verify(token, now).map_err(|e| AuthError::Refused(e.to_string()))?;
        let record = self.store.merchant_token(claims.jti).await.map_err(|e| {
            tracing::warn!(error = %e, "merchant token lookup failed");
            AuthError::Unavailable("token lookup failed".to_owned())
        })?;
        let Some(MerchantToken { partner_id, account_open, token: record }) = record else {
            return Err(AuthError::Invalid);
        };
        // The signed claims must agree with what was issued.
        if partner_id != claims.pid || record.account_id != claims.sub || record.livemode != claims.live {
            return Err(AuthError::Refused("Invalid token".to_owned()));
        }
        match record.status(now) {
            TokenStatus::Active => {}
            status => return Err(AuthError::Refused(status.refusal().unwrap_or("Invalid token").to_owned())),
        }
        if !account_open {
            return Err(AuthError::Refused(
                "The processing account of this token was deleted or deactivated".to_owned(),
            ));
        }
        Ok(Principal {
            partner_id,
            livemode: record.livemode,
            key_kind: KeyKind::Merchant,
            key_id: record.id,
            permissions: None,
            account_id: Some(record.account_id),
            expires_at: Some(record.expires_at),
            service: None,
        })
    }
}

impl Authenticator for CredentialAuthenticator {
    fn authenticate<'a>(&'a self, key: &'a ApiKey) -> BoxFuture<'a, Result<Principal, AuthError>> {
        Box::pin(async move {
            if looks_like_jwt(key.expose()) {
                return self.merchant(key.expose()).await;
            }
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

/// The authenticator identity's own server uses, cached.
pub(crate) fn authenticator(
    store: Store,
    clock: Clock,
    signer: MerchantSigner,
    config: AuthConfig,
) -> Arc<IdentityAuthenticator> {
    Arc::new(
        CachedAuthenticator::new(CredentialAuthenticator::new(store, clock.clone(), signer), config)
            .with_clock(clock),
    )
}
