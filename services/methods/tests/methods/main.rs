//! The methods service over gRPC, beside a real identity service, against a fresh
//! PostgreSQL database per test. One test binary; each module covers one
//! concern: `cards`, `banks`, `batches` (all or none, and by query),
//! `ownership` (accounts, keys, tenancy,
//! defaults), `detokenize`, `rotation` (key-encryption keys), `canary`
//! (no number anywhere it should not be).

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod banks;
mod batches;
mod canary;
mod cards;
mod detokenize;
mod no_account;
mod ownership;
mod rotation;

use std::net::SocketAddr;

use paymesh_identity::CreatedPartner;
use paymesh_kit::{
    auth::Scope,
    clock::Clock,
    config::{CommonConfig, ENV_DATABASE_URL, ENV_DB_MAX_CONNECTIONS, ENV_KEKS, Env},
    testing::{TestDatabase, init_test_logging, random_keks},
};
use paymesh_mesh::{Mesh, Service, Settings};
use paymesh_proto::{
    identity::v1::{self as identity, account_service_client::AccountServiceClient},
    methods::v1::{
        self as pb, payment_method_service_client::PaymentMethodServiceClient,
        vault_service_client::VaultServiceClient,
    },
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};
use tonic_types::StatusExt as _;

/// Identity and the methods service, running, with two partners.
struct Methods {
    identity: SocketAddr,
    methods: SocketAddr,
    pool: PgPool,
    common: CommonConfig,
    acme: CreatedPartner,
    globex: CreatedPartner,
    _stop: tokio_util::sync::DropGuard,
    _db: TestDatabase,
}

impl Methods {
    async fn start() -> Self {
        Self::start_with(&[], Clock::system()).await
    }

    /// With extra settings and a clock of the test's choosing.
    async fn start_with(extra: &[(&str, &str)], clock: Clock) -> Self {
        init_test_logging();
        let db = TestDatabase::create().await.unwrap();
        let keks = random_keks();
        let fingerprint_key = random_keks().split_once(':').unwrap().1.to_owned();
        let mut pairs: Vec<(&str, &str)> = vec![
            (ENV_DATABASE_URL, db.url()),
            (ENV_DB_MAX_CONNECTIONS, "4"),
            (ENV_KEKS, keks.as_str()),
            (paymesh_methods::ENV_FINGERPRINT_KEY, fingerprint_key.as_str()),
        ];
        pairs.extend_from_slice(extra);
        for service in [Service::Identity, Service::Methods] {
            pairs.push((service.address_setting(), "127.0.0.1:0"));
        }
        let mut env = Env::from_pairs(pairs);
        let settings = Settings::read(&mut env);
        env.finish().unwrap();
        let common = settings.common.clone();
        let identity_pool = paymesh_identity::open_database(&common).await.unwrap();
        let acme =
            paymesh_identity::admin::create_partner(&common, &identity_pool, "Acme", "payments@acme.example")
                .await
                .unwrap();
        let globex = paymesh_identity::admin::create_partner(
            &common,
            &identity_pool,
            "Globex",
            "payments@globex.example",
        )
        .await
        .unwrap();
        let pool = paymesh_methods::open_database(&common).await.unwrap();
        let mesh = Mesh::bind(settings, &[Service::Identity, Service::Methods])
            .await
            .unwrap()
            .with_clock(&[Service::Methods], &clock);
        let (identity, methods) =
            (mesh.addr(Service::Identity).unwrap(), mesh.addr(Service::Methods).unwrap());
        let common = mesh.settings().common.clone();
        let stop = CancellationToken::new();
        tokio::spawn(mesh.run(stop.clone()));
        Self { identity, methods, pool, common, acme, globex, _stop: stop.drop_guard(), _db: db }
    }

    fn methods(&self) -> PaymentMethodServiceClient<Channel> {
        PaymentMethodServiceClient::new(channel(self.methods))
    }

    fn vault(&self) -> VaultServiceClient<Channel> {
        VaultServiceClient::new(channel(self.methods))
    }

    fn accounts(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::new(channel(self.identity))
    }

    /// A customer of `key`'s partner and mode.
    async fn customer(&self, key: &str, name: &str) -> identity::Account {
        let account = identity::Account {
            r#type: identity::AccountType::Customer as i32,
            name: name.to_owned(),
            email: format!("{}@example.com", name.to_lowercase().replace(' ', ".")),
            ..Default::default()
        };
        self.create_account(key, account).await
    }

    /// A partner-visible processing account of `key`'s partner and mode.
    async fn recipient(&self, key: &str, name: &str) -> identity::Account {
        let account = identity::Account {
            r#type: identity::AccountType::Processing as i32,
            name: name.to_owned(),
            email: "billing@recipient.example".to_owned(),
            processing: Some(identity::Processing {
                industry: "Property management".to_owned(),
                category: identity::RecipientCategory::Rent as i32,
                visibility: identity::Visibility::Partner as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.create_account(key, account).await
    }

    async fn create_account(&self, key: &str, account: identity::Account) -> identity::Account {
        let request = identity::CreateAccountRequest { account: Some(account) };
        self.accounts().create_account(with_key(key, request)).await.unwrap().into_inner().account.unwrap()
    }

    /// An account as identity shows it now.
    async fn account(&self, key: &str, id: &str) -> identity::Account {
        let request = identity::GetAccountRequest { id: id.to_owned() };
        self.accounts().get_account(with_key(key, request)).await.unwrap().into_inner().account.unwrap()
    }

    /// Creates a method.
    async fn create(&self, key: &str, method: pb::PaymentMethod) -> Result<pb::PaymentMethod, Status> {
        let request = pb::CreatePaymentMethodRequest { payment_method: Some(method), single_use: false };
        self.methods()
            .create_payment_method(with_key(key, request))
            .await
            .map(|r| r.into_inner().payment_method.unwrap())
    }

    /// Reads a method.
    async fn get(&self, key: &str, id: &str) -> Result<pb::PaymentMethod, Status> {
        let request = pb::GetPaymentMethodRequest { id: id.to_owned() };
        self.methods()
            .get_payment_method(with_key(key, request))
            .await
            .map(|r| r.into_inner().payment_method.unwrap())
    }

    /// Updates a method's `paths`.
    async fn update(
        &self,
        key: &str,
        method: pb::PaymentMethod,
        paths: &[&str],
    ) -> Result<pb::PaymentMethod, Status> {
        let request = pb::UpdatePaymentMethodRequest {
            payment_method: Some(method),
            update_mask: Some(prost_types::FieldMask {
                paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            }),
        };
        self.methods()
            .update_payment_method(with_key(key, request))
            .await
            .map(|r| r.into_inner().payment_method.unwrap())
    }

    /// Deletes a method.
    async fn delete(&self, key: &str, id: &str) -> Result<pb::PaymentMethod, Status> {
        let request = pb::DeletePaymentMethodRequest { id: id.to_owned() };
        self.methods()
            .delete_payment_method(with_key(key, request))
            .await
            .map(|r| r.into_inner().payment_method.unwrap())
    }

    /// How many rows `sql` counts.
    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool).await.unwrap()
    }

    /// The scope of `partner` in a mode.
    fn scope(partner: &CreatedPartner, livemode: bool) -> Scope {
        Scope { partner_id: partner.id, livemode }
    }
}

fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect_lazy()
}

/// The key of `partner` with `prefix`.
fn key<'a>(partner: &'a CreatedPartner, prefix: &str) -> &'a str {
    &partner.keys.iter().find(|k| k.class.prefix() == prefix).unwrap().key
}

fn test_key(partner: &CreatedPartner) -> &str {
    key(partner, "test_secret_key_")
}

fn with_key<T>(key: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// A card method for `account`.
fn card(account: &str, number: &str, expiry: &str) -> pb::PaymentMethod {
    pb::PaymentMethod {
        r#type: pb::PaymentMethodType::Card as i32,
        account_id: Some(account.to_owned()),
        account_holder: "Matt Perez".to_owned(),
        card: Some(pb::Card {
            card_number: number.to_owned(),
            expiry: expiry.to_owned(),
            ..Default::default()
        }),
        billing_address: Some(paymesh_proto::common::v1::Address {
            postal_code: "10001".to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A US bank account method for `account`.
fn bank(account: &str, routing: &str, number: &str) -> pb::PaymentMethod {
    pb::PaymentMethod {
        r#type: pb::PaymentMethodType::BankAccount as i32,
        account_id: Some(account.to_owned()),
        account_holder: "Acme Rentals LLC".to_owned(),
        bank_account: Some(pb::BankAccount {
            account_number: number.to_owned(),
            routing_number: routing.to_owned(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `(field, description)` of every violation in an INVALID_ARGUMENT status.
fn violations(status: &Status) -> Vec<(String, String)> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    assert_eq!(details.error_info().unwrap().reason, "INVALID_ATTRIBUTES");
    details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| (v.field.clone(), v.description.clone()))
        .collect()
}

/// The fields of every violation.
fn fields(status: &Status) -> Vec<String> {
    violations(status).into_iter().map(|(f, _)| f).collect()
}
