//! The REST resources, one module each; each builds on the shared
//! operations of `rest`.

pub(crate) mod access_tokens;
pub(crate) mod accounts;
pub(crate) mod api_keys;
pub(crate) mod documents;
pub(crate) mod legal_entities;
pub(crate) mod payment_intents;
pub(crate) mod payment_methods;
pub(crate) mod transactions;

use crate::openapi::Routes;

/// Every resource route (all of them need a credential).
pub(crate) fn routes(max_document_bytes: usize) -> Routes {
    accounts::routes()
        .merge(legal_entities::routes())
        .merge(documents::routes(max_document_bytes))
        .merge(api_keys::routes())
        .merge(access_tokens::routes())
        .merge(payment_methods::routes())
        .merge(payment_intents::routes())
        .merge(transactions::routes())
}
