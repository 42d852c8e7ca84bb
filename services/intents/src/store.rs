//! The SQL of the intents schema: payment intents and processing settings.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    auth::Scope,
    config::ListLimits,
    money::{Currency, Money},
    outbox,
    query::{self, Column, ColumnType, Listing, Resource, list},
};
use paymesh_proto::common::v1::{Filter, ListQuery};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row, postgres::PgRow};
use uuid::Uuid;

use crate::domain::{
    delivery::{DeliveryOption, PayoutMethod},
    intent::{Reason, Status},
    pricing::{BillingPreference, ExpediteFee, FeeKind, FeeLine, Field, FundingType, Overrides},
};

/// A payment intent as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Intent {
    pub(crate) id: Uuid,
    pub(crate) livemode: bool,
    pub(crate) payer_id: Option<Uuid>,
    pub(crate) recipient_id: Option<Uuid>,
    pub(crate) payment_method_id: Option<Uuid>,
    pub(crate) target: Option<Money>,
    pub(crate) source: Option<Money>,
    pub(crate) fee: Option<Money>,
    pub(crate) cust_conv_fee: Option<Money>,
    pub(crate) fees: Vec<FeeLine>,
    pub(crate) details: Details,
    pub(crate) requested_date: Option<NaiveDate>,
    pub(crate) delivery_date: Option<NaiveDate>,
    pub(crate) speed: Option<String>,
    pub(crate) is_expedited: bool,
    pub(crate) options: Vec<PricedOption>,
    pub(crate) funding: Option<FundingType>,
    pub(crate) payout: Option<PayoutMethod>,
    /// As stored: never `Expired` (see [`Status::at`]).
    pub(crate) status: Status,
    pub(crate) reasons: Vec<Reason>,
    pub(crate) transaction_id: Option<Uuid>,
    pub(crate) attrs: serde_json::Map<String, serde_json::Value>,
    /// The stored version; every write adds one.
    pub(crate) version: i64,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) modified_at: DateTime<Utc>,
}

/// Remittance details.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Details {
    /// As given.
    pub(crate) account_name: Option<String>,
    /// The payer's name, shown when no account name was given.
    pub(crate) payer_name: Option<String>,
    pub(crate) account_number: Option<String>,
    pub(crate) memo: Option<String>,
}

impl Details {
    /// The account name sent with the payment.
    pub(crate) fn effective_account_name(&self) -> Option<&str> {
        self.account_name.as_deref().or(self.payer_name.as_deref())
    }
}

/// A delivery option with its price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PricedOption {
    pub(crate) option: DeliveryOption,
    pub(crate) fees: Vec<FeeLine>,
    pub(crate) source: Option<Money>,
}

#[derive(Serialize, Deserialize)]
struct StoredFee {
    #[serde(rename = "type")]
    kind: String,
    amount: Decimal,
    rate: Option<Decimal>,
}

#[derive(Serialize, Deserialize)]
struct StoredOption {
    delivery_date: NaiveDate,
    cutoff_time: DateTime<Utc>,
    speed: String,
    expedited: bool,
    fees: Vec<StoredFee>,
    source_amount: Option<Decimal>,
}

fn fees_json(lines: &[FeeLine]) -> Vec<StoredFee> {
    lines
        .iter()
        .map(|l| StoredFee { kind: l.kind.as_str().to_owned(), amount: l.amount, rate: l.rate })
        .collect()
}

fn fees_from(stored: Vec<StoredFee>) -> Result<Vec<FeeLine>, Error> {
    stored
        .into_iter()
        .map(|f| {
            let kind = FeeKind::parse(&f.kind)
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("unknown fee type {:?} stored", f.kind)))?;
            Ok(FeeLine { kind, amount: f.amount, rate: f.rate })
        })
        .collect()
}

/// What callers may filter, order, select and group intents by.
static PAYMENT_INTENTS: Resource = Resource {
    name: "payment_intent",
    table: "payment_intents",
    select: INTENT_COLUMNS,
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column {
            name: "status",
            // The service's clock, not the database's: `list` sets
            // `paymesh.now` for the transaction it reads in.
            sql: "CASE WHEN status IN ('INCOMPLETE', 'CAPTURABLE') \
                  AND expires_at < current_setting('paymesh.now')::timestamptz THEN 'EXPIRED' ELSE status END",
            ty: ColumnType::Enum(&["INCOMPLETE", "CAPTURABLE", "EXPIRED", "CAPTURED", "CANCELED"]),
        },
        Column { name: "payer_id", sql: "payer_id", ty: ColumnType::Id },
        Column { name: "recipient_id", sql: "recipient_id", ty: ColumnType::Id },
        Column { name: "payment_method_id", sql: "payment_method_id", ty: ColumnType::Id },
        Column { name: "target_amount", sql: "target_amount", ty: ColumnType::Decimal },
        Column { name: "source_amount", sql: "source_amount", ty: ColumnType::Decimal },
        Column { name: "currency", sql: "currency", ty: ColumnType::Enum(Currency::CODES) },
        Column { name: "delivery_date", sql: "delivery_date", ty: ColumnType::Date },
        Column { name: "is_expedited", sql: "is_expedited", ty: ColumnType::Bool },
        Column { name: "speed", sql: "speed", ty: ColumnType::Text },
        Column { name: "transaction_id", sql: "transaction_id", ty: ColumnType::Id },
        Column { name: "expires_at", sql: "expires_at", ty: ColumnType::Timestamp },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: false,
    shared_rows: false,
};

const INTENT_COLUMNS: &str = "id, livemode, payer_id, recipient_id, payment_method_id, currency, target_amount, \
     source_amount, fee, cust_conv_fee, fees, account_name, payer_name, account_number, memo, \
     requested_delivery_date, delivery_date, speed, is_expedited, delivery_options, funding_type, payout_method, \
     status, status_reasons, transaction_id, attrs, version, expires_at, created_at, modified_at";

fn corrupt(what: &str) -> Error {
    Error::Internal(anyhow::anyhow!("unreadable {what} stored in payment_intents"))
}

fn read_intent(row: &PgRow) -> Result<Intent, Error> {
    let currency: Option<String> = row.try_get("currency")?;
    let currency = currency.map(|c| Currency::parse(&c).map_err(|_| corrupt("currency"))).transpose()?;
    let money = |column: &str| -> Result<Option<Money>, Error> {
        let amount: Option<Decimal> = row.try_get(column)?;
        Ok(amount.zip(currency).map(|(a, c)| Money::new(a, c)))
    };
    let fees: sqlx::types::Json<Vec<StoredFee>> = row.try_get("fees")?;
    let options: sqlx::types::Json<Vec<StoredOption>> = row.try_get("delivery_options")?;
    let options = options
        .0
        .into_iter()
        .map(|o| {
            Ok(PricedOption {
                option: DeliveryOption {
                    date: o.delivery_date,
                    cutoff: o.cutoff_time,
                    speed: o.speed,
                    expedited: o.expedited,
                },
                fees: fees_from(o.fees)?,
                source: o.source_amount.zip(currency).map(|(a, c)| Money::new(a, c)),
            })
        })
        .collect::<Result<_, Error>>()?;
    let reasons: sqlx::types::Json<Vec<Reason>> = row.try_get("status_reasons")?;
    let attrs: sqlx::types::Json<serde_json::Map<String, serde_json::Value>> = row.try_get("attrs")?;
    let status: String = row.try_get("status")?;
    let funding: Option<String> = row.try_get("funding_type")?;
    let payout: Option<String> = row.try_get("payout_method")?;
    Ok(Intent {
        id: row.try_get("id")?,
        livemode: row.try_get("livemode")?,
        payer_id: row.try_get("payer_id")?,
        recipient_id: row.try_get("recipient_id")?,
        payment_method_id: row.try_get("payment_method_id")?,
        target: money("target_amount")?,
        source: money("source_amount")?,
        fee: money("fee")?,
        cust_conv_fee: money("cust_conv_fee")?,
        fees: fees_from(fees.0)?,
        details: Details {
            account_name: row.try_get("account_name")?,
            payer_name: row.try_get("payer_name")?,
            account_number: row.try_get("account_number")?,
            memo: row.try_get("memo")?,
        },
        requested_date: row.try_get("requested_delivery_date")?,
        delivery_date: row.try_get("delivery_date")?,
        speed: row.try_get("speed")?,
        is_expedited: row.try_get("is_expedited")?,
        options,
        funding: funding
            .map(|f| FundingType::parse(&f).ok_or_else(|| corrupt("funding_type")))
            .transpose()?,
        payout: payout
            .map(|p| PayoutMethod::parse(&p).ok_or_else(|| corrupt("payout_method")))
            .transpose()?,
        status: Status::parse(&status).ok_or_else(|| corrupt("status"))?,
        reasons: reasons.0,
        transaction_id: row.try_get("transaction_id")?,
        attrs: attrs.0,
        version: row.try_get("version")?,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        modified_at: row.try_get("modified_at")?,
    })
}

/// The event data of an intent: what a webhook receiver needs to follow
/// it, nothing of the payer's remittance details.
fn event_data(intent: &Intent) -> serde_json::Value {
    serde_json::json!({
        "id": intent.id,
        "status": intent.status.as_str(),
        "payer_id": intent.payer_id,
        "recipient_id": intent.recipient_id,
        "payment_method_id": intent.payment_method_id,
        "target_amount": intent.target.map(|m| m.to_proto().amount),
        "source_amount": intent.source.map(|m| m.to_proto().amount),
        "currency": intent.target.map(|m| m.currency.code()),
        "delivery_date": intent.delivery_date,
        "expires_at": intent.expires_at,
        "transaction_id": intent.transaction_id,
    })
}

/// The intents schema.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    pub(crate) const fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Intent `id` of the partner and mode.
    pub(crate) async fn get(&self, scope: Scope, id: Uuid) -> Result<Intent, Error> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1 AND partner_id = $2 AND livemode = $3"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_intent).transpose()?.ok_or(Error::NotFound { resource: "PaymentIntent" })
    }

    /// The intents among `ids` of the partner and mode, keyed by id.
    pub(crate) async fn get_many(&self, scope: Scope, ids: &[Uuid]) -> Result<HashMap<Uuid, Intent>, Error> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = ANY($1) AND partner_id = $2 AND livemode = $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(ids)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| read_intent(row).map(|intent| (intent.id, intent))).collect()
    }

    /// Intents matching `query`, their status (and status filters) read
    /// at `now`.
    pub(crate) async fn list(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
        now: DateTime<Utc>,
    ) -> Result<Listing<Intent>, Error> {
        let mut tx = self.pool.begin().await?;
        set_now(&mut tx, now).await?;
        let listing = list(&mut *tx, &PAYMENT_INTENTS, scope, query, limits, |_| {}, read_intent).await?;
        tx.commit().await?;
        Ok(listing)
    }

    /// Stores new intents, each with its `payment_intent.created` event,
    /// in one transaction.
    pub(crate) async fn insert(&self, scope: Scope, intents: &[Intent]) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let sql = "INSERT INTO payment_intents (partner_id, id, livemode, payer_id, recipient_id, payment_method_id, \
             currency, target_amount, source_amount, fee, cust_conv_fee, fees, account_name, payer_name, \
             account_number, memo, requested_delivery_date, delivery_date, speed, is_expedited, delivery_options, \
             funding_type, payout_method, status, status_reasons, transaction_id, attrs, expires_at, created_at, \
             modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, \
             $22, $23, $24, $25, $26, $27, $28, $29, $30)";
        for intent in intents {
            bind_intent(sqlx::query(sql).bind(scope.partner_id), intent).execute(&mut *tx).await?;
            outbox::record_change(
                &mut tx,
                scope,
                "payment_intent",
                "created",
                intent.id,
                event_data(intent),
                intent.modified_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Replaces each intent read at `intent.version` with `intent`, with
    /// its event (`payment_intent.<change>`), all in one transaction. A
    /// concurrent change in between (even within one clock tick) is a
    /// conflict and nothing is written: the caller retries with what it
    /// reads then.
    pub(crate) async fn replace(&self, scope: Scope, intents: &[Intent], change: &str) -> Result<(), Error> {
        let mut tx = self.pool.begin().await?;
        let sql = "UPDATE payment_intents SET livemode = $3, payer_id = $4, recipient_id = $5, \
             payment_method_id = $6, currency = $7, target_amount = $8, source_amount = $9, fee = $10, \
             cust_conv_fee = $11, fees = $12, account_name = $13, payer_name = $14, account_number = $15, memo = $16, \
             requested_delivery_date = $17, delivery_date = $18, speed = $19, is_expedited = $20, \
             delivery_options = $21, funding_type = $22, payout_method = $23, status = $24, status_reasons = $25, \
             transaction_id = $26, attrs = $27, expires_at = $28, created_at = $29, modified_at = $30, \
             version = version + 1 \
             WHERE partner_id = $1 AND id = $2 AND livemode = $3 AND version = $31";
        for intent in intents {
            let done = bind_intent(sqlx::query(sql).bind(scope.partner_id), intent)
                .bind(intent.version)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                return Err(Error::Conflict(
                    "The payment intent changed meanwhile; read it again and retry".to_owned(),
                ));
            }
            outbox::record_change(
                &mut tx,
                scope,
                "payment_intent",
                change,
                intent.id,
                event_data(intent),
                intent.modified_at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The ids of the intents matching `filters` (status as it reads at
    /// `now`), by id, at most `max` of them.
    pub(crate) async fn matching(
        &self,
        scope: Scope,
        filters: &[Filter],
        max: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Uuid>, Error> {
        let mut tx = self.pool.begin().await?;
        set_now(&mut tx, now).await?;
        let ids = query::matching_ids(&mut tx, &PAYMENT_INTENTS, scope, filters, max).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// What is set at one level: a processing account's, or the partner's
    /// (`None`).
    pub(crate) async fn overrides(
        &self,
        scope: Scope,
        processing_id: Option<Uuid>,
    ) -> Result<Overrides, Error> {
        let row: Option<SettingsRow> = sqlx::query_as(
            "SELECT fields, expedite_fees, billing_preference FROM processing_settings \
                 WHERE partner_id = $1 AND livemode = $2 AND processing_id IS NOT DISTINCT FROM $3",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(processing_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map_or_else(|| Ok(Overrides::default()), overrides_from)
    }

    /// Changes what is set at one level with `change`, under a row lock:
    /// concurrent changes of one level apply one after the other. Answers
    /// what is set after the change.
    pub(crate) async fn update_overrides(
        &self,
        scope: Scope,
        processing_id: Option<Uuid>,
        at: DateTime<Utc>,
        change: impl FnOnce(Overrides) -> Result<Overrides, Error>,
    ) -> Result<Overrides, Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO processing_settings (partner_id, livemode, processing_id, modified_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (partner_id, livemode, coalesce(processing_id, '00000000-0000-0000-0000-000000000000')) \
             DO NOTHING",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(processing_id)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        let row: SettingsRow = sqlx::query_as(
            "SELECT fields, expedite_fees, billing_preference FROM processing_settings \
             WHERE partner_id = $1 AND livemode = $2 AND processing_id IS NOT DISTINCT FROM $3 FOR UPDATE",
        )
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(processing_id)
        .fetch_one(&mut *tx)
        .await?;
        let overrides = change(overrides_from(row)?)?;
        write_overrides(&mut tx, scope, processing_id, &overrides, at).await?;
        tx.commit().await?;
        Ok(overrides)
    }
}

/// Writes what is set at one level, with its event, in `tx`.
/// Sets the time status reads at (`paymesh.now`) for the rest of the
/// transaction.
async fn set_now(conn: &mut sqlx::PgConnection, now: DateTime<Utc>) -> Result<(), Error> {
    sqlx::query("SELECT set_config('paymesh.now', $1, true)").bind(now.to_rfc3339()).execute(conn).await?;
    Ok(())
}

async fn write_overrides(
    tx: &mut sqlx::PgConnection,
    scope: Scope,
    processing_id: Option<Uuid>,
    overrides: &Overrides,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let fields: BTreeMap<String, Decimal> = overrides.fields.iter().map(|(f, v)| (f.name(), *v)).collect();
    let expedite: BTreeMap<String, StoredExpedite> = overrides
        .expedite
        .iter()
        .map(|((payout, speed), fee)| (format!("{}.{speed}", payout.as_str()), StoredExpedite::from(*fee)))
        .collect();
    let billing = overrides.billing.map(BillingPreference::as_str);
    sqlx::query(
        "UPDATE processing_settings SET fields = $4, expedite_fees = $5, billing_preference = $6, \
         modified_at = $7 WHERE partner_id = $1 AND livemode = $2 AND processing_id IS NOT DISTINCT FROM $3",
    )
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(processing_id)
    .bind(sqlx::types::Json(&fields))
    .bind(sqlx::types::Json(&expedite))
    .bind(billing)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    let data = serde_json::json!({
        "processing_id": processing_id,
        "fields": fields,
        "expedite_fees": expedite,
        "billing_preference": billing,
    });
    let id = processing_id.unwrap_or(scope.partner_id);
    outbox::record_change(tx, scope, "processing_settings", "updated", id, data, at).await?;
    Ok(())
}

/// A processing settings row: the fields, the expedite fees and the
/// billing preference.
type SettingsRow = (
    sqlx::types::Json<BTreeMap<String, Decimal>>,
    sqlx::types::Json<BTreeMap<String, StoredExpedite>>,
    Option<String>,
);

/// The overrides of a settings row.
fn overrides_from((fields, expedite, billing): SettingsRow) -> Result<Overrides, Error> {
    let billing = billing
        .map(|word| BillingPreference::parse(&word).ok_or_else(|| corrupt_settings(&word)))
        .transpose()?;
    let fields = fields
        .0
        .into_iter()
        .map(|(name, value)| Field::parse(&name).map(|f| (f, value)).ok_or_else(|| corrupt_settings(&name)))
        .collect::<Result<_, Error>>()?;
    let expedite = expedite
        .0
        .into_iter()
        .map(|(key, fee)| {
            let (payout, speed) = key.split_once('.').ok_or_else(|| corrupt_settings(&key))?;
            let payout = PayoutMethod::parse(payout).ok_or_else(|| corrupt_settings(&key))?;
            Ok(((payout, speed.to_owned()), fee.into()))
        })
        .collect::<Result<_, Error>>()?;
    Ok(Overrides { fields, expedite, billing })
}

fn corrupt_settings(name: &str) -> Error {
    Error::Internal(anyhow::anyhow!("unknown processing setting {name:?} stored"))
}

/// An expedite fee as stored.
#[derive(Clone, Copy, Serialize, Deserialize)]
pub(crate) struct StoredExpedite {
    rate: Decimal,
    handling_fee: Decimal,
    delivery_fee: Decimal,
}

impl From<ExpediteFee> for StoredExpedite {
    fn from(fee: ExpediteFee) -> Self {
        Self { rate: fee.rate, handling_fee: fee.handling_fee, delivery_fee: fee.delivery_fee }
    }
}

impl From<StoredExpedite> for ExpediteFee {
    fn from(fee: StoredExpedite) -> Self {
        Self { rate: fee.rate, handling_fee: fee.handling_fee, delivery_fee: fee.delivery_fee }
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds every column of `intent` after the partner, in the order of the
/// insert and update statements ($2 … $30).
fn bind_intent<'q>(query: Query<'q>, intent: &Intent) -> Query<'q> {
    let amount = |m: Option<Money>| m.map(|m| m.amount);
    let options: Vec<StoredOption> = intent
        .options
        .iter()
        .map(|o| StoredOption {
            delivery_date: o.option.date,
            cutoff_time: o.option.cutoff,
            speed: o.option.speed.clone(),
            expedited: o.option.expedited,
            fees: fees_json(&o.fees),
            source_amount: amount(o.source),
        })
        .collect();
    query
        .bind(intent.id)
        .bind(intent.livemode)
        .bind(intent.payer_id)
        .bind(intent.recipient_id)
        .bind(intent.payment_method_id)
        .bind(intent.target.map(|m| m.currency.code()))
        .bind(amount(intent.target))
        .bind(amount(intent.source))
        .bind(amount(intent.fee))
        .bind(amount(intent.cust_conv_fee))
        .bind(sqlx::types::Json(fees_json(&intent.fees)))
        .bind(intent.details.account_name.clone())
        .bind(intent.details.payer_name.clone())
        .bind(intent.details.account_number.clone())
        .bind(intent.details.memo.clone())
        .bind(intent.requested_date)
        .bind(intent.delivery_date)
        .bind(intent.speed.clone())
        .bind(intent.is_expedited)
        .bind(sqlx::types::Json(options))
        .bind(intent.funding.map(FundingType::as_str))
        .bind(intent.payout.map(PayoutMethod::as_str))
        .bind(intent.status.as_str())
        .bind(sqlx::types::Json(intent.reasons.clone()))
        .bind(intent.transaction_id)
        .bind(sqlx::types::Json(intent.attrs.clone()))
        .bind(intent.expires_at)
        .bind(intent.created_at)
        .bind(intent.modified_at)
}
