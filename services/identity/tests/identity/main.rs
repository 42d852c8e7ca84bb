//! The identity service over gRPC, against a fresh PostgreSQL database per
//! test. One test binary; each module covers one service: `accounts`
//! (customers), `processing` (recipients, billers, activation), `kyb`
//! (legal entities and owners), `documents`, `reassessment` (what keeps
//! activation, verification and the default honest afterwards), `keys`
//! (API keys and permissions), `tokens` (access tokens).

// Tests fail by panicking: unwrap and expect are their assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod documents;
mod keys;
mod kyb;
mod processing;
mod reassessment;
mod tokens;

use std::net::SocketAddr;

use paymesh_identity::CreatedPartner;
use paymesh_kit::{
    clock::Clock,
    config::{CommonConfig, ENV_DATABASE_URL, ENV_DB_MAX_CONNECTIONS, ENV_KEKS, Env},
    testing::{TestDatabase, init_test_logging, random_keks},
};
use paymesh_mesh::{Mesh, Service, Settings};
use paymesh_proto::{
    common::v1::{Condition, FieldRef, Filter, ListQuery, Operator},
    identity::v1::{
        self as pb, access_token_service_client::AccessTokenServiceClient,
        account_service_client::AccountServiceClient, api_key_service_client::ApiKeyServiceClient,
        auth_service_client::AuthServiceClient, document_service_client::DocumentServiceClient,
        legal_entity_service_client::LegalEntityServiceClient,
    },
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};
use tonic_types::StatusExt as _;

/// A running identity service with two partners.
struct Identity {
    addr: SocketAddr,
    pool: PgPool,
    common: CommonConfig,
    acme: CreatedPartner,
    globex: CreatedPartner,
    _stop: tokio_util::sync::DropGuard,
    _db: TestDatabase,
}

impl Identity {
    async fn start() -> Self {
        Self::start_with(&[], Clock::system()).await
    }

    /// With extra settings and a clock of the test's choosing.
    async fn start_with(extra: &[(&str, &str)], clock: Clock) -> Self {
        init_test_logging();
        let db = TestDatabase::create().await.unwrap();
        let keks = random_keks();
        let mut pairs = vec![(ENV_DATABASE_URL, db.url()), (ENV_DB_MAX_CONNECTIONS, "4"), (ENV_KEKS, &keks)];
        pairs.extend_from_slice(extra);
        pairs.push((Service::Identity.address_setting(), "127.0.0.1:0"));
        let mut env = Env::from_pairs(pairs);
        let settings = Settings::read(&mut env);
        env.finish().unwrap();
        let common = settings.common.clone();
        let pool = paymesh_identity::open_database(&common).await.unwrap();
        let acme = paymesh_identity::admin::create_partner(&common, &pool, "Acme", "payments@acme.example")
            .await
            .unwrap();
        let globex =
            paymesh_identity::admin::create_partner(&common, &pool, "Globex", "payments@globex.example")
                .await
                .unwrap();
        let mesh = Mesh::bind(settings, &[Service::Identity])
            .await
            .unwrap()
            .with_clock(&[Service::Identity], &clock);
        let addr = mesh.addr(Service::Identity).unwrap();
        let stop = CancellationToken::new();
        tokio::spawn(mesh.run(stop.clone()));
        Self { addr, pool, common, acme, globex, _stop: stop.drop_guard(), _db: db }
    }

    fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr)).unwrap().connect_lazy()
    }

    fn accounts(&self) -> AccountServiceClient<Channel> {
        AccountServiceClient::new(self.channel())
    }

    fn auth(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(self.channel())
    }

    fn legal_entities(&self) -> LegalEntityServiceClient<Channel> {
        LegalEntityServiceClient::new(self.channel())
    }

    fn documents(&self) -> DocumentServiceClient<Channel> {
        DocumentServiceClient::new(self.channel())
    }

    fn api_keys(&self) -> ApiKeyServiceClient<Channel> {
        ApiKeyServiceClient::new(self.channel())
    }

    fn access_tokens(&self) -> AccessTokenServiceClient<Channel> {
        AccessTokenServiceClient::new(self.channel())
    }

    /// The event types recorded about `resource_id`, oldest first.
    async fn outbox_events(&self, resource_id: &str) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT event_type FROM identity.outbox WHERE resource_id = $1::uuid ORDER BY created_at, id",
        )
        .bind(resource_id)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }

    /// How many rows `sql` counts.
    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool).await.unwrap()
    }

    async fn stored_customers(&self) -> i64 {
        self.count("SELECT count(*) FROM identity.accounts WHERE type = 'customer'").await
    }
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

fn customer(name: &str, email: &str) -> pb::Account {
    pb::Account {
        r#type: pb::AccountType::Customer as i32,
        name: name.to_owned(),
        email: email.to_owned(),
        ..pb::Account::default()
    }
}

fn create(name: &str, email: &str) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest { account: Some(customer(name, email)) }
}

fn field(path: &[&str]) -> FieldRef {
    FieldRef { path: path.iter().map(|s| (*s).to_owned()).collect(), function: 0 }
}

fn eq(path: &[&str], values: &[&str]) -> Filter {
    Filter {
        field: Some(field(path)),
        any_of: values
            .iter()
            .map(|v| Condition { operator: Operator::Equal as i32, value: (*v).to_owned() })
            .collect(),
    }
}

/// A query for customers only (lists of accounts also hold the partner's
/// default processing accounts and the billers).
fn customers_query() -> Option<ListQuery> {
    Some(ListQuery { filters: vec![eq(&["type"], &["customer"])], ..ListQuery::default() })
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

/// The reason of an error status's `ErrorInfo`.
fn reason(status: &Status) -> String {
    status.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default()
}
