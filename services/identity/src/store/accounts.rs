//! Accounts: customers and processing accounts, the biller directory and
//! the activation status history — their rows, their events, and the
//! statements that read and write them.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error,
    address::{Address, Country},
    auth::Scope,
    bank::{InstitutionNumber, RoutingNumber, TransitNumber},
    config::ListLimits,
    query::{self, Column, ColumnType, Resource},
};
use paymesh_proto::common::v1::{Filter, ListQuery};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, types::Json};
use uuid::Uuid;

use super::{Listing, Store, expect_one, record};
use crate::domain::{
    Sealed,
    account::{
        ACCOUNT_TYPES, Account, AccountType, Attrs, CustomerProfile, Description, Email, Name, Phone,
        ProcessingProfile, Profile,
    },
    kyc::{VERIFICATION_STATUSES, Verification, VerificationStatus},
    lifecycle::{Actor, StatusChange},
    processing::{
        BankAccountType, CATEGORIES, Category, PROCESSING_STATUSES, Payout, PayoutMethod, ProcessingStatus,
        VISIBILITIES, Visibility,
    },
};

/// The columns an account row is read from, in one place for the query
/// compiler ([`ACCOUNTS`]) and for the statements below (`concat!` needs a
/// literal, hence the macro).
macro_rules! account_columns {
    () => {
        "id, livemode, type, name, email, phone_number, description, attrs, created_at, \
         modified_at, primary_processing_id, default_payment_method_id, kyc_status, kyc_status_reasons, \
         industry, category, visibility, payer_id, payout_method, payout_details, payout_account_sealed, \
         payout_account_last4, processing_status, processing_status_reasons, processing_status_at, \
         legal_entity_id, is_default, kyb_exempt"
    };
}

/// What callers may filter, order, select and group accounts by. Billers
/// (rows of no partner) are shared with every partner.
pub(crate) static ACCOUNTS: Resource = Resource {
    name: "account",
    table: "accounts",
    select: account_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(ACCOUNT_TYPES) },
        Column { name: "name", sql: "name", ty: ColumnType::Text },
        Column { name: "email", sql: "email", ty: ColumnType::Text },
        Column { name: "phone_number", sql: "phone_number", ty: ColumnType::Text },
        Column { name: "description", sql: "description", ty: ColumnType::Text },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
        Column { name: "primary_processing_id", sql: "primary_processing_id", ty: ColumnType::Id },
        Column { name: "default_payment_method_id", sql: "default_payment_method_id", ty: ColumnType::Id },
        Column { name: "kyc_status", sql: "kyc_status", ty: ColumnType::Enum(VERIFICATION_STATUSES) },
        Column { name: "processing.industry", sql: "industry", ty: ColumnType::Text },
        Column { name: "processing.category", sql: "category", ty: ColumnType::Enum(CATEGORIES) },
        Column { name: "processing.visibility", sql: "visibility", ty: ColumnType::Enum(VISIBILITIES) },
        Column { name: "processing.payer_id", sql: "payer_id", ty: ColumnType::Id },
        Column {
            name: "processing.payout_method",
            sql: "payout_method",
            ty: ColumnType::Enum(PayoutMethod::NAMES),
        },
        Column {
            name: "processing.status",
            sql: "processing_status",
            ty: ColumnType::Enum(PROCESSING_STATUSES),
        },
        Column { name: "processing.status_time", sql: "processing_status_at", ty: ColumnType::Timestamp },
        Column { name: "processing.legal_entity_id", sql: "legal_entity_id", ty: ColumnType::Id },
        Column { name: "processing.default", sql: "is_default", ty: ColumnType::Bool },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: true,
};

// === Rows ===

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: Uuid,
    livemode: Option<bool>,
    #[sqlx(rename = "type")]
    kind: String,
    name: String,
    email: String,
    phone_number: Option<String>,
    description: Option<String>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
    primary_processing_id: Option<Uuid>,
    default_payment_method_id: Option<Uuid>,
    kyc_status: Option<String>,
    kyc_status_reasons: Vec<String>,
    industry: Option<String>,
    category: Option<String>,
    visibility: Option<String>,
    payer_id: Option<Uuid>,
    payout_method: Option<String>,
    payout_details: Option<Json<StoredPayout>>,
    payout_account_sealed: Option<Vec<u8>>,
    payout_account_last4: Option<String>,
    processing_status: Option<String>,
    processing_status_reasons: Vec<String>,
    processing_status_at: Option<DateTime<Utc>>,
    legal_entity_id: Option<Uuid>,
    is_default: bool,
    kyb_exempt: bool,
}

/// The payout details kept in clear (everything but the account number).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredPayout {
    account_holder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    routing_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    institution_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    transit_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mailing_address: Option<StoredAddress>,
}

/// An address as stored in JSON.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredAddress {
    street_address: String,
    #[serde(default)]
    unit_number: String,
    city: String,
    state_province: String,
    postal_code: String,
    #[serde(default)]
    country: String,
}

impl StoredAddress {
    fn from_address(address: &Address) -> Self {
        let text = |part: &Option<String>| part.clone().unwrap_or_default();
        Self {
            street_address: text(&address.street_address),
            unit_number: text(&address.unit_number),
            city: text(&address.city),
            state_province: text(&address.state_province),
            postal_code: text(&address.postal_code),
            country: address.country.map(|c| c.code().to_owned()).unwrap_or_default(),
        }
    }

    fn into_address(self) -> Address {
        let part = |s: String| (!s.is_empty()).then_some(s);
        Address {
            street_address: part(self.street_address),
            unit_number: part(self.unit_number),
            city: part(self.city),
            state_province: part(self.state_province),
            postal_code: part(self.postal_code),
            country: Country::parse(&self.country).ok().filter(|_| !self.country.is_empty()),
        }
    }
}

fn corrupt(id: Uuid, what: &str) -> Error {
    Error::Internal(anyhow::anyhow!("account {id} has an unreadable {what}"))
}

impl AccountRow {
    /// The account this row holds, read by a caller in `livemode` (billers
    /// belong to every mode).
    fn into_account(self, livemode: bool) -> Result<Account, Error> {
        let Self {
            id,
            livemode: row_livemode,
            kind,
            name,
            email,
            phone_number,
            description,
            attrs,
            created_at,
            modified_at,
            primary_processing_id,
            default_payment_method_id,
            kyc_status,
            kyc_status_reasons,
            industry,
            category,
            visibility,
            payer_id,
            payout_method,
            payout_details,
            payout_account_sealed,
            payout_account_last4,
            processing_status,
            processing_status_reasons,
            processing_status_at,
            legal_entity_id,
            is_default,
            kyb_exempt,
        } = self;
        let kind =
            AccountType::parse(&kind).with_context(|| format!("account {id} has unknown type {kind:?}"))?;
        let profile = match kind {
            AccountType::Customer => Profile::Customer(CustomerProfile {
                primary_processing_id,
                default_payment_method_id,
                verification: Verification {
                    status: kyc_status
                        .as_deref()
                        .and_then(VerificationStatus::parse)
                        .ok_or_else(|| corrupt(id, "KYC status"))?,
                    reasons: kyc_status_reasons,
                },
            }),
            AccountType::Processing => {
                let payout = match (payout_method.as_deref().and_then(PayoutMethod::parse), payout_details) {
                    (Some(method), Some(Json(details))) => {
                        Some(payout(id, method, details, payout_account_sealed, payout_account_last4)?)
                    }
                    (None, None) => None,
                    _ => return Err(corrupt(id, "payout")),
                };
                let visibility = match (visibility.as_deref(), payer_id) {
                    (Some("payer"), Some(payer)) => Visibility::Payer(payer),
                    (Some("partner"), _) => Visibility::Partner,
                    (Some("biller"), _) => Visibility::Biller,
                    _ => return Err(corrupt(id, "visibility")),
                };
                Profile::Processing(ProcessingProfile {
                    industry: Name::from_stored(industry.ok_or_else(|| corrupt(id, "industry"))?),
                    category: category
                        .as_deref()
                        .and_then(|c| Category::parse(c).ok())
                        .ok_or_else(|| corrupt(id, "category"))?,
                    visibility,
                    payout,
                    status: processing_status
                        .as_deref()
                        .and_then(ProcessingStatus::parse)
                        .ok_or_else(|| corrupt(id, "processing status"))?,
                    status_reasons: processing_status_reasons,
                    status_at: processing_status_at.ok_or_else(|| corrupt(id, "status time"))?,
                    legal_entity_id,
                    is_default,
                    kyb_exempt,
                })
            }
        };
        Ok(Account {
            id,
            livemode: row_livemode.unwrap_or(livemode),
            name: Name::from_stored(name),
            email: Email::from_stored(email),
            phone: phone_number.map(Phone::from_stored),
            description: description.map(Description::from_stored),
            attrs: Attrs::from_stored(attrs.0),
            profile,
            created_at,
            modified_at,
        })
    }
}

fn payout(
    id: Uuid,
    method: PayoutMethod,
    details: StoredPayout,
    sealed: Option<Vec<u8>>,
    last4: Option<String>,
) -> Result<Payout, Error> {
    let holder = Name::from_stored(details.account_holder);
    fn stored<T>(id: Uuid, sealed: Option<Vec<u8>>, last4: Option<String>) -> Result<Sealed<T>, Error> {
        match (sealed, last4) {
            (Some(ciphertext), Some(last4)) => Ok(Sealed::Stored { ciphertext, last4 }),
            _ => Err(corrupt(id, "payout account number")),
        }
    }
    Ok(match method {
        PayoutMethod::Ach | PayoutMethod::Wire => Payout::UsBank {
            method,
            holder,
            routing_number: details
                .routing_number
                .as_deref()
                .and_then(|r| RoutingNumber::parse(r).ok())
                .ok_or_else(|| corrupt(id, "routing number"))?,
            account_number: stored(id, sealed, last4)?,
            account_type: details
                .account_type
                .as_deref()
                .and_then(BankAccountType::parse)
                .unwrap_or(BankAccountType::Checking),
        },
        PayoutMethod::Eft => Payout::Eft {
            holder,
            institution_number: details
                .institution_number
                .as_deref()
                .and_then(|n| InstitutionNumber::parse(n).ok())
                .ok_or_else(|| corrupt(id, "institution number"))?,
            transit_number: details
                .transit_number
                .as_deref()
                .and_then(|n| TransitNumber::parse(n).ok())
                .ok_or_else(|| corrupt(id, "transit number"))?,
            account_number: stored(id, sealed, last4)?,
        },
        PayoutMethod::Check => Payout::Check {
            holder,
            mailing_address: details
                .mailing_address
                .map(StoredAddress::into_address)
                .ok_or_else(|| corrupt(id, "mailing address"))?,
        },
    })
}

/// The clear part of a payout, for storage.
fn stored_payout(payout: &Payout) -> StoredPayout {
    match payout {
        Payout::UsBank { holder, routing_number, account_type, .. } => StoredPayout {
            account_holder: holder.as_str().to_owned(),
            routing_number: Some(routing_number.as_str().to_owned()),
            account_type: Some(account_type.as_str().to_owned()),
            ..StoredPayout::default()
        },
        Payout::Eft { holder, institution_number, transit_number, .. } => StoredPayout {
            account_holder: holder.as_str().to_owned(),
            institution_number: Some(institution_number.as_str().to_owned()),
            transit_number: Some(transit_number.as_str().to_owned()),
            ..StoredPayout::default()
        },
        Payout::Check { holder, mailing_address } => StoredPayout {
            account_holder: holder.as_str().to_owned(),
            mailing_address: Some(StoredAddress::from_address(mailing_address)),
            ..StoredPayout::default()
        },
    }
}

/// An account as its events carry it: never a bank account number (only
/// its last four digits).
pub(crate) fn event_data(account: &Account) -> Value {
    let mut data = json!({
        "id": account.id,
        "type": account.kind().as_str(),
        "name": account.name.as_str(),
        "email": account.email.as_str(),
        "phone_number": account.phone.as_ref().map(Phone::as_str),
        "description": account.description.as_ref().map(Description::as_str),
        "attrs": account.attrs.as_map(),
        "livemode": account.livemode,
        "created_at": account.created_at,
        "modified_at": account.modified_at,
    });
    match &account.profile {
        Profile::Customer(c) => {
            data["primary_processing_id"] = json!(c.primary_processing_id);
            data["default_payment_method_id"] = json!(c.default_payment_method_id);
            data["kyc_status"] = json!(c.verification.status.as_str());
        }
        Profile::Processing(p) => {
            data["processing"] = json!({
                "industry": p.industry.as_str(),
                "category": p.category.as_str(),
                "visibility": p.visibility.as_str(),
                "payer_id": p.visibility.payer_id(),
                "payout_method": p.payout.as_ref().map(|p| p.method().as_str()),
                "payout_account_last4": p.payout.as_ref().and_then(Payout::account_last4),
                "status": p.status.as_str(),
                "status_reasons": p.status_reasons,
                "legal_entity_id": p.legal_entity_id,
                "default": p.is_default,
            });
        }
    }
    data
}

/// Who may see a processing account, as stored.
#[derive(sqlx::FromRow)]
struct VisibilityRow {
    visibility: String,
    payer_id: Option<Uuid>,
}

// === The status history ===

/// One recorded status change.
#[derive(sqlx::FromRow)]
struct StatusChangeRow {
    id: Uuid,
    account_id: Uuid,
    from_status: Option<String>,
    to_status: String,
    reasons: Vec<String>,
    actor_type: String,
    actor_id: Option<Uuid>,
    created_at: DateTime<Utc>,
}

impl TryFrom<StatusChangeRow> for StatusChange {
    type Error = Error;

    fn try_from(row: StatusChangeRow) -> Result<Self, Error> {
        let StatusChangeRow {
            id,
            account_id,
            from_status,
            to_status,
            reasons,
            actor_type,
            actor_id,
            created_at,
        } = row;
        let corrupt =
            |what: &str| Error::Internal(anyhow::anyhow!("status change {id} has an unreadable {what}"));
        let from = match from_status.as_deref() {
            Some(status) => Some(ProcessingStatus::parse(status).ok_or_else(|| corrupt("status"))?),
            None => None,
        };
        Ok(Self {
            id,
            account_id,
            from,
            to: ProcessingStatus::parse(&to_status).ok_or_else(|| corrupt("status"))?,
            reasons,
            actor: Actor::parse(&actor_type, actor_id).ok_or_else(|| corrupt("actor"))?,
            created_at,
        })
    }
}

// === Reading ===

fn read_row(row: &sqlx::postgres::PgRow, livemode: bool) -> Result<Account, Error> {
    AccountRow::from_row(row)?.into_account(livemode)
}

impl Store {
    /// One account (or biller), if this partner and mode may see it.
    #[tracing::instrument(skip(self))]
    pub(crate) async fn account(&self, scope: Scope, id: Uuid) -> Result<Option<Account>, Error> {
        self.account_in(&mut *self.pool.acquire().await?, scope, id).await
    }

    /// One account (or biller) this partner and mode may see, read on `conn`.
    pub(crate) async fn account_in(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<Account>, Error> {
        let row: Option<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = $1 AND ((partner_id = $2 AND livemode = $3) OR partner_id IS NULL) \
             AND deleted_at IS NULL",
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(conn)
        .await?;
        row.map(|r| r.into_account(scope.livemode)).transpose()
    }

    /// Lists accounts (or groups of them) as `query` asks; billers included.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id))]
    pub(crate) async fn list_accounts(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<Account>, Error> {
        super::list(&self.pool, &ACCOUNTS, scope, query, limits, |_| {}, |row| read_row(row, scope.livemode))
            .await
    }

    /// Lists the processing accounts `payer` may see and pay: its own
    /// private ones, the partner's, and the billers.
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id, %payer))]
    pub(crate) async fn list_recipients(
        &self,
        scope: Scope,
        payer: Uuid,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<Account>, Error> {
        super::list(
            &self.pool,
            &ACCOUNTS,
            scope,
            query,
            limits,
            |b| {
                b.push(" AND type = 'processing' AND (visibility IN ('partner', 'biller') OR payer_id = ")
                    .push_bind(payer)
                    .push(")");
            },
            |row| read_row(row, scope.livemode),
        )
        .await
    }

    /// The status history of a processing account, oldest first.
    pub(crate) async fn status_changes(&self, account_id: Uuid) -> Result<Vec<StatusChange>, Error> {
        let rows: Vec<StatusChangeRow> = sqlx::query_as(
            "SELECT id, account_id, from_status, to_status, reasons, actor_type, actor_id, created_at \
             FROM processing_status_changes WHERE account_id = $1 ORDER BY created_at, id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(StatusChange::try_from).collect()
    }

    /// The type of the account `id` of this partner and mode, if it exists.
    pub(crate) async fn account_type(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<AccountType>, Error> {
        let kind: Option<String> = sqlx::query_scalar(
            "SELECT type FROM accounts WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(kind.as_deref().and_then(AccountType::parse))
    }

    /// The visibility of a processing account of this partner and mode
    /// (never a biller's).
    pub(crate) async fn processing_visibility(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<Visibility>, Error> {
        let row: Option<VisibilityRow> = sqlx::query_as(
            "SELECT visibility, payer_id FROM accounts WHERE id = $1 AND type = 'processing' \
             AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(row.and_then(|VisibilityRow { visibility, payer_id }| match (visibility.as_str(), payer_id) {
            ("payer", Some(payer)) => Some(Visibility::Payer(payer)),
            ("partner", _) => Some(Visibility::Partner),
            _ => None,
        }))
    }

    /// Whether any of `ids` is a biller of the curated directory.
    pub(crate) async fn any_biller(&self, conn: &mut PgConnection, ids: &[Uuid]) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ANY($1) AND partner_id IS NULL)",
        )
        .bind(ids)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Whether any of `ids` is a processing account of the partner.
    pub(crate) async fn any_processing(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        ids: &[Uuid],
    ) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE id = ANY($1) AND partner_id = $2 AND livemode = $3 \
             AND type = 'processing')",
        )
        .bind(ids)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Locks the accounts of this partner and mode among `ids`, in id order.
    pub(crate) async fn lock_accounts(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        ids: &[Uuid],
    ) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE id = ANY($1) AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL \
             ORDER BY id FOR UPDATE",
        ))
        .bind(ids)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(|row| row.into_account(scope.livemode)).collect()
    }

    /// Locks the accounts among `ids` that still match `filters`, in id
    /// order (a row may have changed since it was found).
    pub(crate) async fn lock_matching_accounts(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        filters: &[Filter],
        ids: &[Uuid],
    ) -> Result<Vec<Account>, Error> {
        query::lock_matching(conn, &ACCOUNTS, scope, filters, ids, |row| {
            AccountRow::from_row(row)?.into_account(scope.livemode)
        })
        .await
    }

    /// Locks the processing accounts that use the legal entity `entity`
    /// and are assessed (not inactive, not exempt), in id order.
    pub(crate) async fn lock_entity_accounts(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        entity: Uuid,
    ) -> Result<Vec<Account>, Error> {
        let rows: Vec<AccountRow> = sqlx::query_as(concat!(
            "SELECT ",
            account_columns!(),
            " FROM accounts WHERE legal_entity_id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL \
             AND processing_status <> 'inactive' AND NOT kyb_exempt ORDER BY id FOR UPDATE",
        ))
        .bind(entity)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(|row| row.into_account(scope.livemode)).collect()
    }

    /// Whether a processing account that is not inactive uses `entity`.
    pub(crate) async fn entity_in_use(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        entity: Uuid,
    ) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE legal_entity_id = $1 AND partner_id = $2 AND livemode = $3 \
             AND deleted_at IS NULL AND processing_status <> 'inactive')",
        )
        .bind(entity)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_one(conn)
        .await?)
    }

    /// Whether a (locked) account is the default now.
    pub(crate) async fn still_default(&self, conn: &mut PgConnection, id: Uuid) -> Result<bool, Error> {
        Ok(sqlx::query_scalar("SELECT is_default FROM accounts WHERE id = $1")
            .bind(id)
            .fetch_one(conn)
            .await?)
    }

    // === Writing ===

    /// Inserts or updates every column of `account`, sealing a payout
    /// account number given in this request.
    pub(crate) async fn write_account(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: &Account,
        insert: bool,
    ) -> Result<(), Error> {
        let (customer, processing) = match &account.profile {
            Profile::Customer(c) => (Some(c), None),
            Profile::Processing(p) => (None, Some(p)),
        };
        let payout = processing.and_then(|p| p.payout.as_ref());
        let context = format!("identity.accounts.payout_account:{}", account.id);
        let (keyring, livemode) = (self.keyring(), scope.livemode);
        let sealed: Option<(Vec<u8>, String)> = match payout {
            Some(Payout::UsBank { account_number, .. }) => {
                Some(account_number.to_stored(keyring, livemode, &context)?)
            }
            Some(Payout::Eft { account_number, .. }) => {
                Some(account_number.to_stored(keyring, livemode, &context)?)
            }
            Some(Payout::Check { .. }) | None => None,
        };
        let sql = if insert {
            "INSERT INTO accounts (id, partner_id, livemode, type, name, email, phone_number, description, attrs, \
             created_at, modified_at, primary_processing_id, default_payment_method_id, kyc_status, \
             kyc_status_reasons, industry, category, visibility, payer_id, payout_method, payout_details, \
             payout_account_sealed, payout_account_last4, processing_status, processing_status_reasons, \
             processing_status_at, legal_entity_id, is_default, kyb_exempt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25, $26, $27, $28, $29)"
        } else {
            "UPDATE accounts SET type = $4, name = $5, email = $6, phone_number = $7, description = $8, \
             attrs = $9, created_at = $10, modified_at = $11, primary_processing_id = $12, \
             default_payment_method_id = $13, kyc_status = $14, kyc_status_reasons = $15, industry = $16, \
             category = $17, visibility = $18, payer_id = $19, payout_method = $20, payout_details = $21, \
             payout_account_sealed = $22, payout_account_last4 = $23, processing_status = $24, \
             processing_status_reasons = $25, processing_status_at = $26, legal_entity_id = $27, \
             is_default = $28, kyb_exempt = $29 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        };
        let result = sqlx::query(sql)
            .bind(account.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(account.kind().as_str())
            .bind(account.name.as_str())
            .bind(account.email.as_str())
            .bind(account.phone.as_ref().map(Phone::as_str))
            .bind(account.description.as_ref().map(Description::as_str))
            .bind(Json(account.attrs.as_map()))
            .bind(account.created_at)
            .bind(account.modified_at)
            .bind(customer.and_then(|c| c.primary_processing_id))
            .bind(customer.and_then(|c| c.default_payment_method_id))
            .bind(customer.map(|c| c.verification.status.as_str()))
            .bind(customer.map(|c| c.verification.reasons.clone()).unwrap_or_default())
            .bind(processing.map(|p| p.industry.as_str()))
            .bind(processing.map(|p| p.category.as_str()))
            .bind(processing.map(|p| p.visibility.as_str()))
            .bind(processing.and_then(|p| p.visibility.payer_id()))
            .bind(payout.map(|p| p.method().as_str()))
            .bind(payout.map(|p| Json(stored_payout(p))))
            .bind(sealed.as_ref().map(|(ciphertext, _)| ciphertext.as_slice()))
            .bind(sealed.as_ref().map(|(_, last4)| last4.as_str()))
            .bind(processing.map(|p| p.status.as_str()))
            .bind(processing.map(|p| p.status_reasons.clone()).unwrap_or_default())
            .bind(processing.map(|p| p.status_at))
            .bind(processing.and_then(|p| p.legal_entity_id))
            .bind(processing.is_some_and(|p| p.is_default))
            .bind(processing.is_some_and(|p| p.kyb_exempt))
            .execute(&mut *conn)
            .await?;
        expect_one(&result, "account", account.id)
    }

    /// Records an `account.<action>` event (`created`, `updated`) carrying
    /// `account` at `at`.
    pub(crate) async fn record_account(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        action: &str,
        account: &Account,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        record(conn, scope, "account", action, account.id, event_data(account), at).await
    }

    /// Soft-deletes a (locked) account at `at`, with its `account.deleted`
    /// event.
    pub(crate) async fn delete_account(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: &Account,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE accounts SET deleted_at = $4 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(account.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "account", account.id)?;
        record(conn, scope, "account", "deleted", account.id, event_data(account), at).await
    }

    /// Makes `id` the partner's only default processing account in its mode:
    /// the previous default stops being one, with an `account.updated` event.
    pub(crate) async fn move_default(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let previous: Vec<AccountRow> = sqlx::query_as(concat!(
            "UPDATE accounts SET is_default = false, modified_at = $4 \
             WHERE partner_id = $1 AND livemode = $2 AND is_default AND id <> $3 AND type = 'processing' \
             AND deleted_at IS NULL RETURNING ",
            account_columns!(),
        ))
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(id)
        .bind(at)
        .fetch_all(&mut *conn)
        .await?;
        for row in previous {
            let account = row.into_account(scope.livemode)?;
            record(conn, scope, "account", "updated", account.id, event_data(&account), at).await?;
        }
        Ok(())
    }

    /// Marks the time from which a customer's documents count again (its
    /// KYC starts over): `at`, or past every document there is now,
    /// whatever their clocks said.
    pub(crate) async fn mark_kyc_reset(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        sqlx::query(
            "UPDATE accounts SET kyc_reset_at = GREATEST($4, (SELECT max(created_at) + interval '1 microsecond' \
             FROM documents WHERE account_id = $1)) WHERE id = $1 AND partner_id = $2 AND livemode = $3",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Sets a customer's KYC, with an `account.kyc_status` event when the
    /// status moves.
    pub(crate) async fn set_customer_verification(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        verification: &Verification,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let before: Option<String> = sqlx::query_scalar(
            "SELECT kyc_status FROM accounts WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *conn)
        .await?;
        let result = sqlx::query(
            "UPDATE accounts SET kyc_status = $4, kyc_status_reasons = $5, modified_at = $6 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(verification.status.as_str())
        .bind(&verification.reasons)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "account", id)?;
        if before.as_deref() != Some(verification.status.as_str()) {
            let data = json!({
                "account_id": id,
                "from": before,
                "to": verification.status.as_str(),
                "reasons": verification.reasons,
            });
            record(conn, scope, "account", "kyc_status", id, data, at).await?;
        }
        Ok(())
    }

    /// Records one status change in the history, at the account's
    /// modification time.
    pub(crate) async fn insert_status_change(
        &self,
        conn: &mut PgConnection,
        account: &Account,
        from: Option<ProcessingStatus>,
        to: ProcessingStatus,
        reasons: &[String],
        actor: Actor,
    ) -> Result<(), Error> {
        sqlx::query(
            "INSERT INTO processing_status_changes (id, account_id, from_status, to_status, reasons, actor_type, \
             actor_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Uuid::now_v7())
        .bind(account.id)
        .bind(from.map(ProcessingStatus::as_str))
        .bind(to.as_str())
        .bind(reasons)
        .bind(actor.kind())
        .bind(actor.id())
        .bind(account.modified_at)
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Writes a processing account's status, its reasons and their time.
    pub(crate) async fn write_status(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: &Account,
    ) -> Result<(), Error> {
        let Some(p) = account.processing() else { return Ok(()) };
        let result = sqlx::query(
            "UPDATE accounts SET processing_status = $4, processing_status_reasons = $5, processing_status_at = $6, \
             modified_at = $7 WHERE id = $1 AND partner_id = $2 AND livemode = $3",
        )
        .bind(account.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(p.status.as_str())
        .bind(&p.status_reasons)
        .bind(p.status_at)
        .bind(account.modified_at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "account", account.id)
    }

    /// Writes a status move from `from` that `account` made at `at`: its
    /// status, the entry in its history and its
    /// `account.processing_status` event.
    pub(crate) async fn record_transition(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        account: &Account,
        from: ProcessingStatus,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let Some(p) = account.processing() else { return Ok(()) };
        let (to, reasons) = (p.status, &p.status_reasons);
        self.write_status(conn, scope, account).await?;
        self.insert_status_change(conn, account, Some(from), to, reasons, actor).await?;
        let data = json!({
            "account_id": account.id,
            "from": from.as_str(),
            "to": to.as_str(),
            "reasons": reasons,
            "actor_type": actor.kind(),
            "actor_id": actor.id(),
        });
        record(conn, scope, "account", "processing_status", account.id, data, at).await
    }
}
