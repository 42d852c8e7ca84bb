//! Legal entities and their owners: their rows, their events, and the
//! statements that read and write them. EINs and SSNs are sealed on their
//! way in.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use paymesh_kit::{
    Error,
    address::{Address, BindAddress as _},
    auth::Scope,
    config::ListLimits,
    query::{Column, ColumnType, Resource},
};
use paymesh_proto::common::v1::ListQuery;
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::{FromRow as _, PgConnection, Postgres, Transaction, types::Json};
use uuid::Uuid;

use super::{Listing, Store, expect_one, record};
use crate::domain::{
    Sealed, SensitiveNumber,
    account::{Attrs, Email, Name, Phone},
    kyc::{VERIFICATION_STATUSES, Verification, VerificationStatus},
    legal_entity::{
        Ein, EntityWithOwners, LEGAL_ENTITY_TYPES, LegalEntity, LegalEntityType, OWNER_TYPES, Owner,
        OwnerType, Ownership, Ssn, mask_ein, mask_ssn,
    },
};

macro_rules! entity_columns {
    () => {
        "id, livemode, legal_name, type, ein_sealed, ein_last4, street_address, unit_number, city, \
         state_province, postal_code, country, phone_number, website, start_date, state_incorporated, \
         contact_name, contact_email, contact_title, kyb_status, kyb_status_reasons, attrs, created_at, modified_at"
    };
}

macro_rules! owner_columns {
    () => {
        "id, livemode, legal_entity_id, full_name, title, ownership, birth_date, ssn_sealed, ssn_last4, \
         street_address, unit_number, city, state_province, postal_code, country, email, phone_number, type, \
         kyc_status, kyc_status_reasons, attrs, created_at, modified_at"
    };
}

/// What callers may query legal entities by.
pub(crate) static LEGAL_ENTITIES: Resource = Resource {
    name: "legal_entity",
    table: "legal_entities",
    select: entity_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "legal_name", sql: "legal_name", ty: ColumnType::Text },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(LEGAL_ENTITY_TYPES) },
        Column { name: "kyb_status", sql: "kyb_status", ty: ColumnType::Enum(VERIFICATION_STATUSES) },
        Column { name: "state_incorporated", sql: "state_incorporated", ty: ColumnType::Text },
        Column { name: "city", sql: "city", ty: ColumnType::Text },
        Column { name: "state_province", sql: "state_province", ty: ColumnType::Text },
        Column { name: "postal_code", sql: "postal_code", ty: ColumnType::Text },
        Column { name: "contact_email", sql: "contact_email", ty: ColumnType::Text },
        Column { name: "start_date", sql: "start_date", ty: ColumnType::Date },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: false,
};

/// What callers may query owners by.
pub(crate) static OWNERS: Resource = Resource {
    name: "legal_entity_owner",
    table: "legal_entity_owners",
    select: owner_columns!(),
    columns: &[
        Column { name: "id", sql: "id", ty: ColumnType::Id },
        Column { name: "legal_entity_id", sql: "legal_entity_id", ty: ColumnType::Id },
        Column { name: "full_name", sql: "full_name", ty: ColumnType::Text },
        Column { name: "title", sql: "title", ty: ColumnType::Text },
        Column { name: "ownership", sql: "ownership", ty: ColumnType::Decimal },
        Column { name: "type", sql: "type", ty: ColumnType::Enum(OWNER_TYPES) },
        Column { name: "kyc_status", sql: "kyc_status", ty: ColumnType::Enum(VERIFICATION_STATUSES) },
        Column { name: "email", sql: "email", ty: ColumnType::Text },
        Column { name: "created_at", sql: "created_at", ty: ColumnType::Timestamp },
        Column { name: "modified_at", sql: "modified_at", ty: ColumnType::Timestamp },
    ],
    attrs_column: Some("attrs"),
    soft_delete: true,
    shared_rows: false,
};

// === Rows ===

fn sealed<T>(ciphertext: Option<Vec<u8>>, last4: Option<String>) -> Option<Sealed<T>> {
    match (ciphertext, last4) {
        (Some(ciphertext), Some(last4)) => Some(Sealed::Stored { ciphertext, last4 }),
        _ => None,
    }
}

fn verification(id: Uuid, status: &str, reasons: Vec<String>) -> Result<Verification, Error> {
    let status = VerificationStatus::parse(status).ok_or_else(|| {
        Error::Internal(anyhow::anyhow!("{id} has an unknown verification status {status:?}"))
    })?;
    Ok(Verification { status, reasons })
}

#[derive(sqlx::FromRow)]
struct EntityRow {
    id: Uuid,
    livemode: bool,
    legal_name: String,
    #[sqlx(rename = "type")]
    kind: String,
    ein_sealed: Option<Vec<u8>>,
    ein_last4: Option<String>,
    street_address: Option<String>,
    unit_number: Option<String>,
    city: Option<String>,
    state_province: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone_number: Option<String>,
    website: Option<String>,
    start_date: Option<NaiveDate>,
    state_incorporated: Option<String>,
    contact_name: Option<String>,
    contact_email: Option<String>,
    contact_title: Option<String>,
    kyb_status: String,
    kyb_status_reasons: Vec<String>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<EntityRow> for LegalEntity {
    type Error = Error;

    fn try_from(row: EntityRow) -> Result<Self, Error> {
        let EntityRow {
            id,
            livemode,
            legal_name,
            kind,
            ein_sealed,
            ein_last4,
            street_address,
            unit_number,
            city,
            state_province,
            postal_code,
            country,
            phone_number,
            website,
            start_date,
            state_incorporated,
            contact_name,
            contact_email,
            contact_title,
            kyb_status,
            kyb_status_reasons,
            attrs,
            created_at,
            modified_at,
        } = row;
        Ok(Self {
            id,
            livemode,
            legal_name: Name::from_stored(legal_name),
            kind: LegalEntityType::parse(&kind).ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("legal entity {id} has unknown type {kind:?}"))
            })?,
            ein: sealed(ein_sealed, ein_last4),
            address: Address::from_columns(
                street_address,
                unit_number,
                city,
                state_province,
                postal_code,
                country,
            ),
            phone: phone_number.map(Phone::from_stored),
            website,
            start_date,
            state_incorporated,
            contact_name: contact_name.map(Name::from_stored),
            contact_email: contact_email.map(Email::from_stored),
            contact_title: contact_title.map(Name::from_stored),
            verification: verification(id, &kyb_status, kyb_status_reasons)?,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    id: Uuid,
    livemode: bool,
    legal_entity_id: Uuid,
    full_name: String,
    title: Option<String>,
    ownership: Option<Decimal>,
    birth_date: Option<NaiveDate>,
    ssn_sealed: Option<Vec<u8>>,
    ssn_last4: Option<String>,
    street_address: Option<String>,
    unit_number: Option<String>,
    city: Option<String>,
    state_province: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    email: Option<String>,
    phone_number: Option<String>,
    #[sqlx(rename = "type")]
    kind: String,
    kyc_status: String,
    kyc_status_reasons: Vec<String>,
    attrs: Json<Map<String, Value>>,
    created_at: DateTime<Utc>,
    modified_at: DateTime<Utc>,
}

impl TryFrom<OwnerRow> for Owner {
    type Error = Error;

    fn try_from(row: OwnerRow) -> Result<Self, Error> {
        let OwnerRow {
            id,
            livemode,
            legal_entity_id,
            full_name,
            title,
            ownership,
            birth_date,
            ssn_sealed,
            ssn_last4,
            street_address,
            unit_number,
            city,
            state_province,
            postal_code,
            country,
            email,
            phone_number,
            kind,
            kyc_status,
            kyc_status_reasons,
            attrs,
            created_at,
            modified_at,
        } = row;
        Ok(Self {
            id,
            livemode,
            legal_entity_id,
            full_name: Name::from_stored(full_name),
            title: title.map(Name::from_stored),
            ownership: ownership.map(Ownership::from_stored),
            birth_date,
            ssn: sealed(ssn_sealed, ssn_last4),
            address: Address::from_columns(
                street_address,
                unit_number,
                city,
                state_province,
                postal_code,
                country,
            ),
            email: email.map(Email::from_stored),
            phone: phone_number.map(Phone::from_stored),
            kind: OwnerType::parse(&kind)
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("owner {id} has unknown type {kind:?}")))?,
            verification: verification(id, &kyc_status, kyc_status_reasons)?,
            attrs: Attrs::from_stored(attrs.0),
            created_at,
            modified_at,
        })
    }
}

/// A legal entity as its events carry it: the EIN masked.
fn entity_event(entity: &LegalEntity) -> Value {
    json!({
        "id": entity.id,
        "legal_name": entity.legal_name.as_str(),
        "type": entity.kind.as_str(),
        "ein": entity.ein.as_ref().map(|e| mask_ein(e.last4())),
        "kyb_status": entity.verification.status.as_str(),
        "livemode": entity.livemode,
        "modified_at": entity.modified_at,
    })
}

/// An owner as its events carry it: the SSN masked, no birth date.
fn owner_event(owner: &Owner) -> Value {
    json!({
        "id": owner.id,
        "legal_entity_id": owner.legal_entity_id,
        "full_name": owner.full_name.as_str(),
        "ssn": owner.ssn.as_ref().map(|s| mask_ssn(s.last4())),
        "ownership": owner.ownership.map(|o| o.value().to_string()),
        "kyc_status": owner.verification.status.as_str(),
        "livemode": owner.livemode,
        "modified_at": owner.modified_at,
    })
}

/// The context an entity's EIN is sealed for.
fn ein_context(id: Uuid) -> String {
    format!("identity.legal_entities.ein:{id}")
}

/// The context an owner's SSN is sealed for.
fn ssn_context(id: Uuid) -> String {
    format!("identity.legal_entity_owners.ssn:{id}")
}

/// Whose verification a statement writes: `(table, status column, event
/// resource)`, this module's constants, never caller text.
type Verified = (&'static str, &'static str, &'static str);

const ENTITY: Verified = ("legal_entities", "kyb_status", "legal_entity");
const OWNER: Verified = ("legal_entity_owners", "kyc_status", "legal_entity_owner");

impl Store {
    /// A transaction holding the partner's KYB lock, for one change or a
    /// batch of them: every KYB change of a partner and mode takes it
    /// first, so changes never interleave and never deadlock.
    pub(crate) async fn kyb_transaction(
        &self,
        scope: Scope,
    ) -> Result<Transaction<'static, Postgres>, Error> {
        let mut tx = self.pool.begin().await?;
        self.kyb_lock(&mut tx, scope).await?;
        Ok(tx)
    }

    // === Reading ===

    /// Whether the legal entity `id` exists for this partner and mode.
    pub(crate) async fn entity_exists(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<bool, Error> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM legal_entities WHERE id = $1 AND partner_id = $2 AND livemode = $3 \
             AND deleted_at IS NULL)",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_one(conn)
        .await?)
    }

    /// The legal entity `id` and its owners, if it exists.
    pub(crate) async fn entity_with_owners(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<EntityWithOwners>, Error> {
        let row: Option<EntityRow> = sqlx::query_as(concat!(
            "SELECT ",
            entity_columns!(),
            " FROM legal_entities WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let owners = owners_of(conn, scope, &[id]).await?.remove(&id).unwrap_or_default();
        Ok(Some((row.try_into()?, owners)))
    }

    /// One legal entity with its owners.
    pub(crate) async fn legal_entity(
        &self,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<EntityWithOwners>, Error> {
        let mut conn = self.pool.acquire().await?;
        self.entity_with_owners(&mut conn, scope, id).await
    }

    /// Lists legal entities, each with its owners (read in one query).
    #[tracing::instrument(skip_all, fields(partner_id = %scope.partner_id))]
    pub(crate) async fn list_legal_entities(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<EntityWithOwners>, Error> {
        let listing = super::list(
            &self.pool,
            &LEGAL_ENTITIES,
            scope,
            query,
            limits,
            |_| {},
            |row| LegalEntity::try_from(EntityRow::from_row(row)?),
        )
        .await?;
        let ids: Vec<Uuid> = listing.items.iter().map(|e| e.id).collect();
        let mut owners = if ids.is_empty() {
            HashMap::new()
        } else {
            let mut conn = self.pool.acquire().await?;
            owners_of(&mut conn, scope, &ids).await?
        };
        Ok(Listing {
            items: listing
                .items
                .into_iter()
                .map(|entity| {
                    let its_owners = owners.remove(&entity.id).unwrap_or_default();
                    (entity, its_owners)
                })
                .collect(),
            computed: listing.computed,
            groups: listing.groups,
        })
    }

    /// One owner.
    pub(crate) async fn owner(&self, scope: Scope, id: Uuid) -> Result<Option<Owner>, Error> {
        let row: Option<OwnerRow> = sqlx::query_as(concat!(
            "SELECT ",
            owner_columns!(),
            " FROM legal_entity_owners WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Owner::try_from).transpose()
    }

    /// Lists owners.
    pub(crate) async fn list_owners(
        &self,
        scope: Scope,
        query: &ListQuery,
        limits: ListLimits,
    ) -> Result<Listing<Owner>, Error> {
        super::list(
            &self.pool,
            &OWNERS,
            scope,
            query,
            limits,
            |_| {},
            |row| Owner::try_from(OwnerRow::from_row(row)?),
        )
        .await
    }

    // === Locking ===

    /// Locks the legal entity `id`'s row (whether or not it exists).
    pub(crate) async fn lock_entity(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<(), Error> {
        sqlx::query(
            "SELECT 1 FROM legal_entities WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE",
        )
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Locks and reads the owner `id`, if they exist.
    pub(crate) async fn lock_owner(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
    ) -> Result<Option<Owner>, Error> {
        let row: Option<OwnerRow> = sqlx::query_as(concat!(
            "SELECT ",
            owner_columns!(),
            " FROM legal_entity_owners WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL \
             FOR UPDATE"
        ))
        .bind(id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .fetch_optional(conn)
        .await?;
        row.map(Owner::try_from).transpose()
    }

    // === Sealed numbers ===

    /// The EIN to store for entity `id`: the stored one when `given` is
    /// the same number again (not sealed anew, and not taken for new
    /// details), otherwise `given`.
    pub(crate) fn keep_same_ein(
        &self,
        stored: &Option<Sealed<Ein>>,
        given: Option<Sealed<Ein>>,
        id: Uuid,
    ) -> Result<Option<Sealed<Ein>>, Error> {
        self.unless_same(stored, given, &ein_context(id))
    }

    /// The SSN to store for owner `id`, as [`Store::keep_same_ein`].
    pub(crate) fn keep_same_ssn(
        &self,
        stored: &Option<Sealed<Ssn>>,
        given: Option<Sealed<Ssn>>,
        id: Uuid,
    ) -> Result<Option<Sealed<Ssn>>, Error> {
        self.unless_same(stored, given, &ssn_context(id))
    }

    /// A number given again as it is stored is no change: the stored one
    /// is kept (not sealed anew, and not taken for new details).
    fn unless_same<T: SensitiveNumber + Clone>(
        &self,
        stored: &Option<Sealed<T>>,
        given: Option<Sealed<T>>,
        context: &str,
    ) -> Result<Option<Sealed<T>>, Error> {
        if let (Some(Sealed::Stored { ciphertext, .. }), Some(Sealed::Given(new))) = (stored, &given)
            && self.keyring().open_text(ciphertext, context)?.as_str() == new.digits()
        {
            return Ok(stored.clone());
        }
        Ok(given)
    }

    // === Writing ===

    /// Records a `legal_entity.<action>` event carrying `entity` at `at`.
    pub(crate) async fn record_entity(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        action: &str,
        entity: &LegalEntity,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        record(conn, scope, "legal_entity", action, entity.id, entity_event(entity), at).await
    }

    /// Records a `legal_entity_owner.<action>` event carrying `owner` at
    /// `at`.
    pub(crate) async fn record_owner(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        action: &str,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        record(conn, scope, "legal_entity_owner", action, owner.id, owner_event(owner), at).await
    }

    /// Soft-deletes a legal entity and its owners at `at`, with a
    /// `legal_entity_owner.deleted` event per owner, then the entity's
    /// `legal_entity.deleted`.
    pub(crate) async fn delete_entity(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        (entity, owners): &EntityWithOwners,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        for statement in [
            "UPDATE legal_entity_owners SET deleted_at = $4 \
             WHERE legal_entity_id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
            "UPDATE legal_entities SET deleted_at = $4 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        ] {
            sqlx::query(statement)
                .bind(entity.id)
                .bind(scope.partner_id)
                .bind(scope.livemode)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        for owner in owners {
            self.record_owner(conn, scope, "deleted", owner, at).await?;
        }
        self.record_entity(conn, scope, "deleted", entity, at).await
    }

    /// Soft-deletes an owner at `at`, with a `legal_entity_owner.deleted`
    /// event.
    pub(crate) async fn delete_owner(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        owner: &Owner,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        let result = sqlx::query(
            "UPDATE legal_entity_owners SET deleted_at = $4 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL",
        )
        .bind(owner.id)
        .bind(scope.partner_id)
        .bind(scope.livemode)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        expect_one(&result, "owner", owner.id)?;
        self.record_owner(conn, scope, "deleted", owner, at).await
    }

    /// Sets a legal entity's KYB, with a `legal_entity.kyb_status` event
    /// when it moves.
    pub(crate) async fn set_entity_verification(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        verification: &Verification,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        set_verification(conn, scope, ENTITY, id, verification, at).await?;
        Ok(())
    }

    /// Sets an owner's KYC, with a `legal_entity_owner.kyc_status` event
    /// when it moves; answers their entity.
    pub(crate) async fn set_owner_verification(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        verification: &Verification,
        at: DateTime<Utc>,
    ) -> Result<Option<Uuid>, Error> {
        set_verification(conn, scope, OWNER, id, verification, at).await
    }

    /// Marks the time from which a legal entity's documents count again
    /// (its KYB starts over).
    pub(crate) async fn mark_entity_reset(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        mark_reset(conn, scope, ENTITY, id, at).await
    }

    /// Marks the time from which an owner's documents count again (their
    /// KYC starts over).
    pub(crate) async fn mark_owner_reset(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), Error> {
        mark_reset(conn, scope, OWNER, id, at).await
    }

    pub(crate) async fn write_entity(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        e: &LegalEntity,
        insert: bool,
    ) -> Result<(), Error> {
        let context = ein_context(e.id);
        let ein =
            e.ein.as_ref().map(|ein| ein.to_stored(self.keyring(), scope.livemode, &context)).transpose()?;
        let sql = if insert {
            "INSERT INTO legal_entities (id, partner_id, livemode, legal_name, type, ein_sealed, ein_last4, \
             street_address, unit_number, city, state_province, postal_code, country, phone_number, website, \
             start_date, state_incorporated, contact_name, contact_email, contact_title, kyb_status, \
             kyb_status_reasons, attrs, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24, $25)"
        } else {
            "UPDATE legal_entities SET legal_name = $4, type = $5, ein_sealed = $6, ein_last4 = $7, \
             street_address = $8, unit_number = $9, city = $10, state_province = $11, postal_code = $12, \
             country = $13, phone_number = $14, website = $15, start_date = $16, state_incorporated = $17, \
             contact_name = $18, contact_email = $19, contact_title = $20, kyb_status = $21, \
             kyb_status_reasons = $22, attrs = $23, created_at = $24, modified_at = $25 \
             WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        };
        let a = &e.address;
        let result = sqlx::query(sql)
            .bind(e.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(e.legal_name.as_str())
            .bind(e.kind.as_str())
            .bind(ein.as_ref().map(|(c, _)| c.as_slice()))
            .bind(ein.as_ref().map(|(_, l)| l.as_str()))
            .bind_address(a)
            .bind(e.phone.as_ref().map(Phone::as_str))
            .bind(e.website.as_deref())
            .bind(e.start_date)
            .bind(e.state_incorporated.as_deref())
            .bind(e.contact_name.as_ref().map(Name::as_str))
            .bind(e.contact_email.as_ref().map(Email::as_str))
            .bind(e.contact_title.as_ref().map(Name::as_str))
            .bind(e.verification.status.as_str())
            .bind(&e.verification.reasons)
            .bind(Json(e.attrs.as_map()))
            .bind(e.created_at)
            .bind(e.modified_at)
            .execute(&mut *conn)
            .await?;
        expect_one(&result, "legal entity", e.id)
    }

    pub(crate) async fn write_owner(
        &self,
        conn: &mut PgConnection,
        scope: Scope,
        o: &Owner,
        insert: bool,
    ) -> Result<(), Error> {
        let context = ssn_context(o.id);
        let ssn =
            o.ssn.as_ref().map(|ssn| ssn.to_stored(self.keyring(), scope.livemode, &context)).transpose()?;
        let sql = if insert {
            "INSERT INTO legal_entity_owners (id, partner_id, livemode, legal_entity_id, full_name, title, ownership, \
             birth_date, ssn_sealed, ssn_last4, street_address, unit_number, city, state_province, postal_code, \
             country, email, phone_number, type, kyc_status, kyc_status_reasons, attrs, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
             $21, $22, $23, $24)"
        } else {
            "UPDATE legal_entity_owners SET legal_entity_id = $4, full_name = $5, title = $6, ownership = $7, \
             birth_date = $8, ssn_sealed = $9, ssn_last4 = $10, street_address = $11, unit_number = $12, \
             city = $13, state_province = $14, postal_code = $15, country = $16, email = $17, phone_number = $18, \
             type = $19, kyc_status = $20, kyc_status_reasons = $21, attrs = $22, created_at = $23, \
             modified_at = $24 WHERE id = $1 AND partner_id = $2 AND livemode = $3 AND deleted_at IS NULL"
        };
        let a = &o.address;
        let result = sqlx::query(sql)
            .bind(o.id)
            .bind(scope.partner_id)
            .bind(scope.livemode)
            .bind(o.legal_entity_id)
            .bind(o.full_name.as_str())
            .bind(o.title.as_ref().map(Name::as_str))
            .bind(o.ownership.map(Ownership::value))
            .bind(o.birth_date)
            .bind(ssn.as_ref().map(|(c, _)| c.as_slice()))
            .bind(ssn.as_ref().map(|(_, l)| l.as_str()))
            .bind_address(a)
            .bind(o.email.as_ref().map(Email::as_str))
            .bind(o.phone.as_ref().map(Phone::as_str))
            .bind(o.kind.as_str())
            .bind(o.verification.status.as_str())
            .bind(&o.verification.reasons)
            .bind(Json(o.attrs.as_map()))
            .bind(o.created_at)
            .bind(o.modified_at)
            .execute(&mut *conn)
            .await?;
        expect_one(&result, "owner", o.id)
    }
}

/// The owners of `entities`, oldest first, by entity.
async fn owners_of(
    conn: &mut PgConnection,
    scope: Scope,
    entities: &[Uuid],
) -> Result<HashMap<Uuid, Vec<Owner>>, Error> {
    let rows: Vec<OwnerRow> = sqlx::query_as(concat!(
        "SELECT ",
        owner_columns!(),
        " FROM legal_entity_owners WHERE legal_entity_id = ANY($1) AND partner_id = $2 AND livemode = $3 \
         AND deleted_at IS NULL ORDER BY created_at, id"
    ))
    .bind(entities)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .fetch_all(conn)
    .await?;
    let mut by_entity: HashMap<Uuid, Vec<Owner>> = HashMap::new();
    for row in rows {
        let owner = Owner::try_from(row)?;
        by_entity.entry(owner.legal_entity_id).or_default().push(owner);
    }
    Ok(by_entity)
}

/// A subject's verification status as stored, and an owner's entity (by
/// position: the status column's name depends on the subject).
#[derive(sqlx::FromRow)]
struct VerificationRow(String, Option<Uuid>);

/// Writes a verification of `subject`, with its event when the status
/// moves; answers the owner's entity (owners only).
async fn set_verification(
    conn: &mut PgConnection,
    scope: Scope,
    (table, column, resource): Verified,
    id: Uuid,
    verification: &Verification,
    at: DateTime<Utc>,
) -> Result<Option<Uuid>, Error> {
    // `table` and `column` are this module's constants, never caller text.
    let entity_column = if table == "legal_entity_owners" { "legal_entity_id" } else { "NULL::uuid" };
    let VerificationRow(before, entity) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {column}, {entity_column} FROM {table} WHERE id = $1 AND partner_id = $2 AND livemode = $3 FOR UPDATE"
    )))
    .bind(id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .fetch_one(&mut *conn)
    .await?;
    let result = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET {column} = $4, {column}_reasons = $5, modified_at = $6 \
         WHERE id = $1 AND partner_id = $2 AND livemode = $3"
    )))
    .bind(id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(verification.status.as_str())
    .bind(&verification.reasons)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    expect_one(&result, resource, id)?;
    if before != verification.status.as_str() {
        let data = json!({"id": id, "from": before, "to": verification.status.as_str(), "reasons": verification.reasons});
        record(conn, scope, resource, column, id, data, at).await?;
    }
    Ok(entity)
}

/// Marks the time from which a subject's documents count again: `at`, or
/// past every document there is now, whatever their clocks said.
async fn mark_reset(
    conn: &mut PgConnection,
    scope: Scope,
    (table, _, _): Verified,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    // `table` is this module's constant, never caller text.
    let (reset_column, document_column) = if table == "legal_entities" {
        ("kyb_reset_at", "legal_entity_id")
    } else {
        ("kyc_reset_at", "owner_id")
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET {reset_column} = GREATEST($4, (SELECT max(created_at) + interval '1 microsecond' \
         FROM documents WHERE {document_column} = $1)) WHERE id = $1 AND partner_id = $2 AND livemode = $3"
    )))
    .bind(id)
    .bind(scope.partner_id)
    .bind(scope.livemode)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
