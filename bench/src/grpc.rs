//! The same card payments sent straight to the payments service, exactly
//! as the gateway sends them: over the kit's channel (one HTTP/2
//! connection shared by every request, as the gateway's), with the
//! partner's key forwarded as `authorization: Bearer …`, a request id, the
//! `idempotency-key` metadata and the request's deadline (the gateway's
//! `Caller::grpc`). The difference from the REST figures is the gateway's
//! cost: HTTP/1.1 and JSON, authentication and one more hop.

use std::time::Duration;

use anyhow::Context as _;
use paymesh_kit::{auth::parse_authorization, grpc::Channel, wire::IDEMPOTENCY_KEY};
use paymesh_proto::{
    common::v1::Money,
    payments::v1::{self as pb, transaction_service_client::TransactionServiceClient},
};
use tonic::metadata::{Ascii, MetadataValue};

use crate::{
    load::{Failure, Worker},
    rest::AMOUNT,
};

/// The deadline of one call: the gateway's default request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The payments service, as the gateway reaches it.
pub(crate) struct Grpc {
    client: TransactionServiceClient<Channel>,
    authorization: MetadataValue<Ascii>,
}

impl std::fmt::Debug for Grpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grpc").finish_non_exhaustive()
    }
}

impl Grpc {
    pub(crate) fn new(url: &str, key: &str) -> anyhow::Result<Self> {
        let channel = paymesh_kit::grpc::connect(url, REQUEST_TIMEOUT)?;
        // The key as the gateway forwards it (`ApiKey::bearer`).
        let key = parse_authorization(&format!("Bearer {key}")).context("the key is not a valid API key")?;
        let authorization =
            MetadataValue::try_from(key.bearer()).context("the key cannot travel as gRPC metadata")?;
        Ok(Self { client: TransactionServiceClient::new(channel), authorization })
    }

    /// `n` payment workers sharing the one channel, as the gateway's
    /// handlers do; `prefix` keeps their idempotency keys unique.
    pub(crate) fn payers(&self, n: u32, method_id: &str, prefix: &str) -> Vec<GrpcPayer> {
        (0..n)
            .map(|worker| GrpcPayer {
                client: self.client.clone(),
                authorization: self.authorization.clone(),
                method_id: method_id.to_owned(),
                prefix: format!("bench-{prefix}-w{worker}"),
            })
            .collect()
    }
}

/// One stream of payments over the shared channel.
pub(crate) struct GrpcPayer {
    client: TransactionServiceClient<Channel>,
    authorization: MetadataValue<Ascii>,
    method_id: String,
    prefix: String,
}

impl std::fmt::Debug for GrpcPayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcPayer").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl GrpcPayer {
    /// The request the gateway makes of `POST /transactions` with
    /// `{"type": "payment", "amount": 100, "payment_method_id": …}`.
    fn request(&self, seq: u64) -> Result<tonic::Request<pb::CreateTransactionRequest>, Failure> {
        let transaction = pb::Transaction {
            r#type: pb::TransactionType::Payment as i32,
            amount: Some(Money { amount: AMOUNT.to_string(), currency: "USD".to_owned() }),
            payment_method_id: Some(self.method_id.clone()),
            ..Default::default()
        };
        let mut request =
            tonic::Request::new(pb::CreateTransactionRequest { transaction: Some(transaction) });
        request.set_timeout(REQUEST_TIMEOUT);
        let metadata = request.metadata_mut();
        metadata.insert("authorization", self.authorization.clone());
        let ascii =
            |text: String| MetadataValue::try_from(text).map_err(|_| Failure("bad metadata".to_owned()));
        // The gateway gives every request an id (a UUID) and forwards it.
        metadata.insert("x-request-id", ascii(uuid::Uuid::now_v7().to_string())?);
        metadata.insert(IDEMPOTENCY_KEY, ascii(format!("{}-{seq}", self.prefix))?);
        Ok(request)
    }
}

impl Worker for GrpcPayer {
    async fn call(&mut self, seq: u64) -> Result<(), Failure> {
        let request = self.request(seq)?;
        let response = self
            .client
            .create_transaction(request)
            .await
            .map_err(|status| Failure(format!("gRPC {:?}", status.code())))?;
        check_payment(response.into_inner())
    }
}

/// The answer must hold a `PROCESSED` transaction.
fn check_payment(response: pb::CreateTransactionResponse) -> Result<(), Failure> {
    let Some(transaction) = response.transaction else {
        return Err(Failure("no transaction in the answer".to_owned()));
    };
    match pb::TransactionStatus::try_from(transaction.status) {
        Ok(pb::TransactionStatus::Processed) => Ok(()),
        Ok(other) => Err(Failure(format!("status {}", other.as_str_name()))),
        Err(_) => Err(Failure(format!("unknown status {}", transaction.status))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_processed_transaction_is_a_successful_payment() {
        let answer = |status: pb::TransactionStatus| pb::CreateTransactionResponse {
            transaction: Some(pb::Transaction { status: status as i32, ..Default::default() }),
        };
        assert_eq!(check_payment(answer(pb::TransactionStatus::Processed)), Ok(()));
        assert_eq!(
            check_payment(answer(pb::TransactionStatus::Declined)),
            Err(Failure("status TRANSACTION_STATUS_DECLINED".to_owned()))
        );
        assert!(check_payment(pb::CreateTransactionResponse { transaction: None }).is_err());
    }
}
