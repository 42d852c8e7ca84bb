//! # paymesh-billing — invoices and billing schedules
//!
//! The billing service owns the `billing` schema and serves
//! `paymesh.billing.v1` on port 50055:
//!
//! - **Invoices** and their **line items** — what a partner's customer
//!   owes, item by item (charges, credits, and payments the partner
//!   recorded), with `total_due`, `total_paid`, `amount_due` and a status
//!   that follows the items and the clock: `draft`, `pending`,
//!   `partially_paid`, `paid`, `overdue`, or `closed` by the partner.
//! - **Billing schedules** and their **billing charges** — invoices made
//!   on recurring billing dates by a sweep on the service clock, one per
//!   schedule and date however many replicas sweep, for full periods only,
//!   with Payload's defaults and month-end rules
//!   ([`domain::schedule`]).
//!
//! - **Autopay** — customers' enrollments; invoices due are charged to the
//!   enrolled method through the payments service, once per attempt
//!   (an Idempotency-Key per invoice and attempt), declines retried.
//! - **Attachments** — files (PDF, JPEG, PNG) a partner shares with an
//!   invoice's customer, checked by the kit's file rules.
//! - **Payment links** — pages at the gateway's `/pay/{token}` where a
//!   customer pays a processing account, one-time or reusable, for an
//!   amount, an invoice's balance, or what the payer types; sent by email
//!   through the configured SMTP relay (recorded without one) or as the
//!   `payment_link.sent` event, with reminders around a due date. Each
//!   page submission is charged once (`service::pay_page`).
//! - **Allocations** — the parts of payments that pay invoices: reserved
//!   by the payments service before a payment is charged (never more than
//!   is left to pay, under the invoices' row locks), then applied as
//!   payment items, released, or reversed as its notices say.
//!
//! Every change records its event (`invoice.created`, `invoice.paid`,
//! `invoice.overdue`, `billing_schedule.created`, …) in the outbox, in the
//! transaction of the change. Identity is asked whether customers and
//! processing accounts exist, and for a customer's default processing
//! account.
//!
//! Layout, the shape of every service: `domain` holds the rules with no
//! I/O; `store` the SQL; `convert` the one mapping between wire and
//! stored values; `peers` the client of identity, methods and payments;
//! `mail` the SMTP sender; `service` the operations and the sweeps;
//! `grpc` the thin handlers.

mod config;
mod convert;
pub mod domain;
mod grpc;
mod mail;
mod peers;
mod service;
mod store;

use std::{future::Future, sync::Arc, time::Duration};

use paymesh_kit::{
    auth::{CachedAuthenticator, RemoteAuthenticator},
    clock::Clock,
    config::CommonConfig,
    db,
    grpc::{self as kit_grpc, GrpcServer},
    idempotency::IdempotencyKeys,
};
use paymesh_proto::billing::v1::{
    allocation_service_server::AllocationServiceServer,
    autopay_enrollment_service_server::AutopayEnrollmentServiceServer,
    billing_charge_service_server::BillingChargeServiceServer,
    billing_schedule_service_server::BillingScheduleServiceServer,
    invoice_attachment_service_server::InvoiceAttachmentServiceServer,
    invoice_service_server::InvoiceServiceServer, line_item_service_server::LineItemServiceServer,
    pay_page_service_server::PayPageServiceServer, payment_link_service_server::PaymentLinkServiceServer,
};
use sqlx::{PgPool, migrate::Migrator};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{
    Config, ENV_BILLING_ADDR, ENV_BILLING_INTERVAL_MS, ENV_MAIL_FROM, ENV_PUBLIC_URL, ENV_SMTP_URL,
};

/// Where payment links point when neither the public address is set nor a
/// gateway runs in the same process: the gateway's default address.
const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The schema the billing service owns.
pub const SCHEMA: &str = "billing";

static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connects to the billing schema, creating the database and applying
/// migrations as needed.
pub async fn open_database(config: &CommonConfig) -> anyhow::Result<PgPool> {
    db::open(&config.database, SCHEMA, &MIGRATIONS).await
}

/// Serves the billing gRPC API on `listener` until `shutdown` completes.
pub async fn serve(
    common: &CommonConfig,
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = open_database(common).await?;
    serve_with(common, config, pool, Clock::system(), listener, shutdown).await
}

/// Like [`serve`], with the pool and clock given (tests move the clock).
pub async fn serve_with(
    common: &CommonConfig,
    config: &Config,
    pool: PgPool,
    clock: Clock,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let identity = kit_grpc::connect(common.services.get("identity")?, common.request_timeout)?;
    let methods = kit_grpc::connect(common.services.get("methods")?, common.request_timeout)?;
    let payments = kit_grpc::connect(common.services.get("payments")?, common.request_timeout)?;
    let authenticator =
        Arc::new(CachedAuthenticator::new(RemoteAuthenticator::new(identity.clone()), common.auth));
    let billing = service::Billing {
        store: store::Store::new(pool.clone()),
        keys: IdempotencyKeys::new(pool.clone(), common.idempotency),
        clock,
        limits: common.list,
        peers: peers::Peers::new((identity, methods, payments), common.service_keys.token(SCHEMA)),
        max_file_bytes: common.max_document_bytes,
        public_url: config.public_url.as_deref().unwrap_or(DEFAULT_PUBLIC_URL).into(),
        mailer: mail::Mailer::new(config.smtp_url.as_ref(), &config.mail_from)?,
    };
    if config.public_url.is_none() {
        tracing::warn!("{ENV_PUBLIC_URL} is not set: payment links point at {DEFAULT_PUBLIC_URL}");
    }
    // An attachment travels base64-free over gRPC, with room for its
    // metadata.
    let max_message = common.max_document_bytes + 64 * 1024;
    let stop = CancellationToken::new();
    let sweeps = tokio::spawn(sweep_until(billing.clone(), config.sweep_interval, stop.clone()));
    let served = GrpcServer::new(SCHEMA, authenticator, common.service_keys.clone(), common.request_timeout)
        .database(pool)
        .resources(grpc::RESOURCES)
        .add_service(InvoiceServiceServer::new(grpc::InvoiceApi(billing.clone())))
        .add_service(LineItemServiceServer::new(grpc::LineItemApi(billing.clone())))
        .add_service(BillingScheduleServiceServer::new(grpc::ScheduleApi(billing.clone())))
        .add_service(BillingChargeServiceServer::new(grpc::ChargeApi(billing.clone())))
        .add_service(AutopayEnrollmentServiceServer::new(grpc::EnrollmentApi(billing.clone())))
        .add_service(
            InvoiceAttachmentServiceServer::new(grpc::AttachmentApi(billing.clone()))
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message),
        )
        .add_service(PaymentLinkServiceServer::new(grpc::LinkApi(billing.clone())))
        .add_service(PayPageServiceServer::new(grpc::PayPageApi(billing.clone())))
        .add_service(AllocationServiceServer::new(grpc::AllocationApi(billing)))
        .serve(listener, shutdown)
        .await;
    stop.cancel();
    let _ = sweeps.await;
    served
}

/// Bills the schedules whose date has come and marks late invoices
/// overdue every `interval`, until `stop`.
async fn sweep_until(billing: service::Billing, interval: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {
                match billing.bill_due().await {
                    Ok(0) => {}
                    Ok(made) => tracing::info!(made, "billing schedules billed"),
                    Err(e) => tracing::warn!(error = %e, "billing schedules failed; will retry"),
                }
                match billing.mark_overdue().await {
                    Ok(0) => {}
                    Ok(late) => tracing::info!(late, "invoices marked overdue"),
                    Err(e) => tracing::warn!(error = %e, "marking invoices overdue failed; will retry"),
                }
                match billing.charge_due().await {
                    Ok(0) => {}
                    Ok(charged) => tracing::info!(charged, "autopay attempts made"),
                    Err(e) => tracing::warn!(error = %e, "autopay failed; will retry"),
                }
                sweep_links(&billing).await;
            }
        }
    }
}

/// The payment links' sweeps: expiry, reminders, emails to hand over, and
/// page submissions cut short.
async fn sweep_links(billing: &service::Billing) {
    match billing.expire_links().await {
        Ok(0) => {}
        Ok(expired) => tracing::info!(expired, "payment links expired"),
        Err(e) => tracing::warn!(error = %e, "expiring payment links failed; will retry"),
    }
    match billing.send_reminders().await {
        Ok(0) => {}
        Ok(sent) => tracing::info!(sent, "payment link reminders sent"),
        Err(e) => tracing::warn!(error = %e, "payment link reminders failed; will retry"),
    }
    if let Err(e) = billing.deliver_messages().await {
        tracing::warn!(error = %e, "payment-link emails not handed over; will retry");
    }
    match billing.resolve_link_attempts().await {
        Ok(0) => {}
        Ok(resolved) => tracing::info!(resolved, "payment link submissions resolved"),
        Err(e) => tracing::warn!(error = %e, "resolving payment link submissions failed; will retry"),
    }
}
