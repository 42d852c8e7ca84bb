//! The intents service's operations: who may, what is looked up, how an
//! intent is priced and judged, what is stored.

use chrono::{DateTime, Utc};
use paymesh_kit::{
    Error, Violation,
    auth::{Principal, Scope},
    batch,
    clock::Clock,
    config::ListLimits,
    idempotency::IdempotencyKeys,
    money::Money,
    query::Listing,
    wire::object_id,
};
use paymesh_proto::{
    common::v1::{Filter, ListQuery},
    intents::v1 as pb,
};
use prost_types::FieldMask;
use uuid::Uuid;

use crate::{
    config::Config,
    convert::{self, Draft},
    domain::{
        delivery::{self, DeliveryOption, PayoutMethod},
        intent::{self, Pieces, Status},
        pricing::{
            ExpediteFee, FundingType, Overrides, Price, Settings, direct_payment_defaults, platform_defaults,
        },
    },
    peers::{Peers, Unusable},
    store::{Intent, PricedOption, Store},
};

/// The intents service.
#[derive(Clone, Debug)]
pub(crate) struct Intents {
    pub(crate) store: Store,
    pub(crate) peers: Peers,
    pub(crate) config: Config,
    pub(crate) clock: Clock,
    pub(crate) limits: ListLimits,
    /// The idempotency keys of intent creation.
    pub(crate) keys: IdempotencyKeys,
}

fn not_found() -> Error {
    Error::NotFound { resource: "PaymentIntent" }
}

/// The refusal of a named piece that cannot be used at all.
fn unusable(field: &str, kind: &str, why: Unusable) -> Violation {
    match why {
        Unusable::Missing => {
            Violation::new(format!("payment_intent.{field}"), format!("No {kind} with this id"))
        }
        Unusable::WrongType => {
            Violation::new(format!("payment_intent.{field}"), format!("Must be the id of a {kind}"))
        }
    }
}

/// Which intents a change acts on.
#[derive(Clone, Copy)]
enum Targets<'a> {
    /// One, by id: unknown is not found.
    One(&'a str),
    /// A batch, by id: unknown is an invalid item at `field(i)`.
    Ids { ids: &'a [String], field: &'a (dyn Fn(usize) -> String + Sync) },
    /// Every match of the filters.
    Query(&'a [Filter]),
}

/// Where the `i`-th item's problems go: under `requests[i]` in a batch.
fn item(many: bool, i: usize) -> String {
    if many { format!("requests[{i}]") } else { String::new() }
}

/// An intent that may still change at `now`; otherwise why not, on the
/// attribute that says so.
fn still_open(intent: Intent, now: DateTime<Utc>) -> Result<Intent, Error> {
    match intent.status.at(now, intent.expires_at) {
        Status::Expired => Err(Error::invalid(
            "payment_intent.expires_at",
            format!(
                "The payment intent expired at {}; create a new one",
                intent.expires_at.format("%Y-%m-%dT%H:%M:%SZ")
            ),
        )),
        Status::Captured => Err(Error::invalid("payment_intent.status", "The payment intent was captured")),
        Status::Canceled => Err(Error::invalid("payment_intent.status", "The payment intent was canceled")),
        Status::Incomplete | Status::Capturable => Ok(intent),
    }
}

/// A match of a query the change cannot apply to: its problems, each
/// naming the intent (the filters chose it, not the caller).
fn for_match(error: Error, id: Uuid) -> Result<Vec<Violation>, Error> {
    match error {
        Error::InvalidAttributes(v) => Ok(v
            .into_iter()
            .map(|v| Violation::new(v.field, format!("Payment intent {id}: {}", v.description)))
            .collect()),
        other => Err(other),
    }
}

impl Intents {
    /// Now, at the microsecond PostgreSQL keeps.
    fn now(&self) -> DateTime<Utc> {
        chrono::SubsecRound::trunc_subsecs(self.clock.now(), 6)
    }

    /// The settings in force for a processing account (or the partner's)
    /// over the platform's `base` (see `pricing`).
    async fn settings(
        &self,
        scope: Scope,
        processing_id: Option<Uuid>,
        base: fn() -> Settings,
    ) -> Result<Settings, Error> {
        let here = self.store.overrides(scope, processing_id).await?;
        self.settings_at(scope, processing_id, &here, base).await
    }

    /// The settings in force at a level (an account's, or the partner's
    /// with `None`), given what is set at that level (`here`), over the
    /// platform's `base`.
    async fn settings_at(
        &self,
        scope: Scope,
        level: Option<Uuid>,
        here: &Overrides,
        base: fn() -> Settings,
    ) -> Result<Settings, Error> {
        let below = match level {
            None => base(),
            Some(_) => base().with(&self.store.overrides(scope, None).await?),
        };
        Ok(below.with(here))
    }

    /// Looks up the pieces `draft` names; ids naming nothing usable are
    /// bad input.
    ///
    /// `stored`: the intent as it was, whose pieces may have been deleted
    /// since (a status reason, not bad input).
    async fn pieces(
        &self,
        scope: Scope,
        draft: &Draft,
        stored: Option<&Draft>,
        now: DateTime<Utc>,
    ) -> Result<Pieces, Error> {
        let mut problems = Vec::new();
        let was = |id: Uuid, of: fn(&Draft) -> Option<Uuid>| stored.is_some_and(|s| of(s) == Some(id));
        let payer = match draft.payer_id {
            None => None,
            Some(id) => match self.peers.payer(scope, id).await? {
                Ok(payer) => Some(payer),
                Err(Unusable::Missing) if was(id, |d| d.payer_id) => Some(intent::Payer::deleted(id)),
                Err(why) => {
                    problems.push(unusable("payer.id", "customer account", why));
                    None
                }
            },
        };
        let seen_by = payer.as_ref().filter(|p| !p.deleted).map(|p| p.id);
        let recipient = match draft.recipient_id {
            None => None,
            Some(id) => match self.peers.recipient(scope, id, seen_by).await? {
                Ok(recipient) => Some(recipient),
                Err(Unusable::Missing) if was(id, |d| d.recipient_id) => Some(intent::Recipient::deleted(id)),
                Err(why) => {
                    problems.push(unusable("recipient.id", "processing account", why));
                    None
                }
            },
        };
        let method = match draft.payment_method_id {
            None => None,
            Some(id) => match self.peers.method(scope, id, now).await? {
                Ok(method) => Some(method),
                Err(Unusable::Missing) if was(id, |d| d.payment_method_id) => {
                    Some(intent::Method::deleted(draft.payer_id))
                }
                Err(why) => {
                    problems.push(unusable("payment_method.id", "payment method", why));
                    None
                }
            },
        };
        if !problems.is_empty() {
            return Err(Error::InvalidAttributes(problems));
        }
        Ok(Pieces { payer, recipient, method, amount: draft.target })
    }

    /// Prices and judges `draft` at `now`. `date_named`: the caller chose
    /// the delivery date in this request, so it must be one of the options.
    async fn evaluate(
        &self,
        scope: Scope,
        draft: Draft,
        stored: Option<&Draft>,
        date_named: bool,
        now: DateTime<Utc>,
    ) -> Result<Evaluated, Error> {
        let pieces = self.pieces(scope, &draft, stored, now).await?;
        let reasons = intent::reasons(&pieces, self.config.limits);
        let payout = pieces.recipient.as_ref().and_then(|r| r.payout);
        let funding = pieces.method.as_ref().map(|m| m.funding);
        let settings = self.settings(scope, draft.recipient_id, platform_defaults).await?;
        let options = payout.map(|p| self.config.speeds.options(p, now)).unwrap_or_default();
        let mut draft = draft;
        let chosen = match draft.requested_date {
            None => delivery::choose(&options, None, draft.is_expedited),
            Some(date) => match delivery::choose(&options, Some(date), false) {
                Some(option) => Some(option),
                None if date_named && options.is_empty() => {
                    return Err(Error::invalid(
                        "payment_intent.delivery_date",
                        "Delivery dates are offered once the recipient and its payout method are known",
                    ));
                }
                None if date_named => {
                    let offered: Vec<String> = options.iter().map(|o| o.date.to_string()).collect();
                    return Err(Error::invalid(
                        "payment_intent.delivery_date",
                        format!("Must be one of the delivery options: {}", offered.join(", ")),
                    ));
                }
                // A date chosen earlier and no longer offered: back to
                // the automatic choice.
                None => {
                    draft.requested_date = None;
                    delivery::choose(&options, None, draft.is_expedited)
                }
            },
        }
        .cloned();
        let price_for = |option: Option<&DeliveryOption>| {
            let expedite = match (payout, option) {
                (Some(p), Some(o)) => settings.expedite_for(p, o),
                _ => ExpediteFee::FREE,
            };
            draft
                .target
                .map(|amount| settings.price(amount, funding.unwrap_or(FundingType::Credit), expedite))
        };
        let priced: Vec<PricedOption> = options
            .iter()
            .map(|o| {
                let price = price_for(Some(o));
                PricedOption {
                    option: o.clone(),
                    fees: price.as_ref().map(|p| p.lines.clone()).unwrap_or_default(),
                    source: price.map(|p| p.source),
                }
            })
            .collect();
        let price = price_for(chosen.as_ref());
        if let Some(price) = &price {
            price
                .source
                .charge_within_limit()
                .map_err(|why| Error::invalid("payment_intent.target_amount.value", why))?;
        }
        let expires_at = match &chosen {
            Some(option) => option.cutoff,
            None => {
                now + chrono::Duration::from_std(self.config.draft_lifetime)
                    .unwrap_or(chrono::Duration::days(1))
            }
        };
        draft.details.payer_name = pieces.payer.as_ref().map(|p| p.name.clone());
        Ok(Evaluated {
            status: if reasons.is_empty() { Status::Capturable } else { Status::Incomplete },
            reasons,
            payout,
            funding,
            options: priced,
            chosen,
            price,
            expires_at,
            draft,
        })
    }

    /// Drafts an intent.
    pub(crate) async fn create(
        &self,
        principal: &Principal,
        request: pb::CreatePaymentIntentRequest,
    ) -> Result<Intent, Error> {
        let mut created = self.create_many(principal, vec![request], false).await?;
        created.pop().ok_or_else(|| Error::Internal(anyhow::anyhow!("a create of one made no intent")))
    }

    /// Drafts intents, all or none. In a batch (`many`) an item's problems
    /// are reported under `requests[i]`.
    pub(crate) async fn create_many(
        &self,
        principal: &Principal,
        requests: Vec<pb::CreatePaymentIntentRequest>,
        many: bool,
    ) -> Result<Vec<Intent>, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let now = self.now();
        let mut violations = Vec::new();
        let mut created = Vec::with_capacity(requests.len());
        for (i, request) in requests.into_iter().enumerate() {
            let evaluated = match convert::draft(request.payment_intent) {
                Ok(draft) => self.evaluate(scope, draft, None, true, now).await,
                Err(e) => Err(e),
            };
            match evaluated {
                Ok(e) => created.push(e.into_intent(Uuid::now_v7(), scope.livemode, 0, now, now)),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let created = batch::finish(created, violations)?;
        self.store.insert(scope, &created).await?;
        for intent in &created {
            tracing::info!(intent = %intent.id, status = intent.status.as_str(), "payment intent created");
        }
        Ok(created)
    }

    /// One intent.
    pub(crate) async fn get(&self, principal: &Principal, id: &str) -> Result<Intent, Error> {
        principal.require_secret_key()?;
        self.store.get(principal.scope(), object_id(id, not_found)?).await
    }

    /// Intents matching `query`.
    pub(crate) async fn list(
        &self,
        principal: &Principal,
        query: &ListQuery,
    ) -> Result<Listing<Intent>, Error> {
        principal.require_secret_key()?;
        self.store.list(principal.scope(), query, self.limits, self.now()).await
    }

    /// Reads an intent that may still change at `now`.
    async fn open(&self, scope: Scope, id: &str, now: DateTime<Utc>) -> Result<Intent, Error> {
        still_open(self.store.get(scope, object_id(id, not_found)?).await?, now)
    }

    /// The intents a change acts on, still open at `now`: those `ids`
    /// name, or those `filters` match. In a batch an unknown id is an
    /// invalid item (`requests[i].payment_intent.id`, or `ids[i]`), in a
    /// request of one it is not found; a match of `filters` that can no
    /// longer change refuses the request.
    async fn targets(
        &self,
        scope: Scope,
        targets: Targets<'_>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Intent>, Error> {
        let mut violations = Vec::new();
        let mut found = Vec::new();
        match targets {
            Targets::One(id) => found.push(self.open(scope, id, now).await?),
            Targets::Ids { ids, field } => {
                let parsed = ids.iter().map(|id| id.trim().parse().ok()).enumerate();
                let ids = batch::ids(parsed, field, "No such payment intent")?;
                let mut stored = self.store.get_many(scope, &ids).await?;
                for (i, id) in ids.iter().enumerate() {
                    match stored.remove(id).map(|intent| still_open(intent, now)) {
                        Some(Ok(intent)) => found.push(intent),
                        // Said of the id: the item names an intent that
                        // can no longer change.
                        Some(Err(Error::InvalidAttributes(v))) => {
                            violations.extend(v.into_iter().map(|v| Violation::new(field(i), v.description)));
                        }
                        Some(Err(e)) => return Err(e),
                        None => violations.push(Violation::new(field(i), "No such payment intent")),
                    }
                }
            }
            Targets::Query(filters) => {
                let ids = self.store.matching(scope, filters, self.limits.max_limit, now).await?;
                let mut stored = self.store.get_many(scope, &ids).await?;
                // Intents are never deleted: every match is read back.
                for id in ids {
                    let Some(intent) = stored.remove(&id) else { continue };
                    match still_open(intent, now) {
                        Ok(intent) => found.push(intent),
                        Err(e) => violations.extend(for_match(e, id)?),
                    }
                }
            }
        }
        batch::finish(found, violations)
    }

    /// Changes an intent and prices it again now.
    pub(crate) async fn update(
        &self,
        principal: &Principal,
        request: pb::UpdatePaymentIntentRequest,
    ) -> Result<Intent, Error> {
        let mut updated = self.update_many(principal, vec![request], false).await?;
        updated.pop().ok_or_else(not_found)
    }

    /// Changes intents by id and prices them again now, all or none; in a
    /// batch (`many`) an item's problems are reported under `requests[i]`.
    pub(crate) async fn update_many(
        &self,
        principal: &Principal,
        requests: Vec<pb::UpdatePaymentIntentRequest>,
        many: bool,
    ) -> Result<Vec<Intent>, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let now = self.now();
        let ids: Vec<String> = requests
            .iter()
            .map(|r| r.payment_intent.as_ref().map(|p| p.id.clone()).unwrap_or_default())
            .collect();
        let field = |i: usize| format!("requests[{i}].payment_intent.id");
        let targets = if many { Targets::Ids { ids: &ids, field: &field } } else { Targets::One(&ids[0]) };
        let current = self.targets(scope, targets, now).await?;
        let mut violations = Vec::new();
        let mut updated = Vec::with_capacity(current.len());
        for (i, (current, request)) in current.into_iter().zip(requests).enumerate() {
            let pb::UpdatePaymentIntentRequest { payment_intent, update_mask } = request;
            match self.changed(scope, current, payment_intent.unwrap_or_default(), update_mask, now).await {
                Ok(intent) => updated.push(intent),
                Err(e) => batch::gather(&mut violations, e, &item(many, i))?,
            }
        }
        let updated = batch::finish(updated, violations)?;
        self.store.replace(scope, &updated, "updated").await?;
        Ok(updated)
    }

    /// Applies one change to every intent matching `filters`, all or none.
    pub(crate) async fn update_by_query(
        &self,
        principal: &Principal,
        filters: &[Filter],
        change: pb::PaymentIntent,
        mask: Option<FieldMask>,
    ) -> Result<Vec<Intent>, Error> {
        principal.require_secret_key()?;
        if mask.as_ref().is_none_or(|m| m.paths.is_empty()) {
            // Refused even when nothing matches: the request is wrong.
            return Err(Error::invalid("update_mask", "Name at least one attribute to change"));
        }
        let scope = principal.scope();
        let now = self.now();
        let current = self.targets(scope, Targets::Query(filters), now).await?;
        let mut violations = Vec::new();
        let mut updated = Vec::with_capacity(current.len());
        for current in current {
            let id = current.id;
            match self.changed(scope, current, change.clone(), mask.clone(), now).await {
                Ok(intent) => updated.push(intent),
                Err(e) => violations.extend(for_match(e, id)?),
            }
        }
        let updated = batch::finish(updated, violations)?;
        self.store.replace(scope, &updated, "updated").await?;
        Ok(updated)
    }

    /// `current` after `change` to the fields of `mask`, priced again now.
    async fn changed(
        &self,
        scope: Scope,
        current: Intent,
        change: pb::PaymentIntent,
        mask: Option<FieldMask>,
        now: DateTime<Utc>,
    ) -> Result<Intent, Error> {
        let stored = Draft::of(&current);
        let (draft, date_named) = convert::updated(stored.clone(), change, mask)?;
        let evaluated = self.evaluate(scope, draft, Some(&stored), date_named, now).await?;
        Ok(evaluated.into_intent(current.id, current.livemode, current.version, current.created_at, now))
    }

    /// Cancels an intent.
    pub(crate) async fn cancel(&self, principal: &Principal, id: &str) -> Result<Intent, Error> {
        let mut canceled = self.cancel_all(principal, Targets::One(id)).await?;
        canceled.pop().ok_or_else(not_found)
    }

    /// Cancels intents by id, all or none.
    pub(crate) async fn cancel_many(
        &self,
        principal: &Principal,
        ids: &[String],
    ) -> Result<Vec<Intent>, Error> {
        self.cancel_all(principal, Targets::Ids { ids, field: &|i| format!("ids[{i}]") }).await
    }

    /// Cancels every intent matching `filters`, all or none.
    pub(crate) async fn cancel_by_query(
        &self,
        principal: &Principal,
        filters: &[Filter],
    ) -> Result<Vec<Intent>, Error> {
        self.cancel_all(principal, Targets::Query(filters)).await
    }

    /// Cancels `targets`: neither a captured, a canceled nor an expired
    /// intent changes.
    async fn cancel_all(&self, principal: &Principal, targets: Targets<'_>) -> Result<Vec<Intent>, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let now = self.now();
        let canceled: Vec<Intent> = self
            .targets(scope, targets, now)
            .await?
            .into_iter()
            .map(|current| Intent { status: Status::Canceled, modified_at: now, ..current })
            .collect();
        self.store.replace(scope, &canceled, "canceled").await?;
        Ok(canceled)
    }

    /// Marks an intent captured by the payments service's transaction;
    /// capturing it again for the same transaction answers the capture made.
    pub(crate) async fn capture(
        &self,
        principal: &Principal,
        request: &pb::CapturePaymentIntentRequest,
    ) -> Result<Intent, Error> {
        principal.require_service("payments")?;
        let scope = principal.scope();
        let transaction = paymesh_kit::wire::id(&request.transaction_id)
            .map_err(|why| Error::invalid("transaction_id", why))?;
        let now = self.now();
        let stored = self.store.get(scope, object_id(&request.id, not_found)?).await?;
        // Capturing for the same payment again (a payment finished after a
        // crash asks again) answers the capture already made.
        if stored.status == Status::Captured && stored.transaction_id == Some(transaction) {
            return Ok(stored);
        }
        let current = still_open(stored, now)?;
        // Every piece is judged again: a method may have expired, a
        // recipient been deactivated since the intent was priced.
        let stored = Draft::of(&current);
        let pieces = self.pieces(scope, &stored, Some(&stored), now).await?;
        let reasons = intent::reasons(&pieces, self.config.limits);
        if !reasons.is_empty() {
            return Err(Error::InvalidAttributes(
                reasons
                    .into_iter()
                    .map(|r| Violation::new(format!("payment_intent.{}", r.field), r.message))
                    .collect(),
            ));
        }
        let intent = Intent {
            status: Status::Captured,
            transaction_id: Some(transaction),
            modified_at: now,
            ..current.clone()
        };
        self.store.replace(scope, std::slice::from_ref(&intent), "captured").await?;
        tracing::info!(intent = %intent.id, transaction = %transaction, "payment intent captured");
        Ok(intent)
    }

    /// The processing account named in a settings request (none: the
    /// partner's own level), checked to exist.
    async fn level(&self, scope: Scope, raw: &str) -> Result<Option<Uuid>, Error> {
        if raw.trim().is_empty() {
            return Ok(None);
        }
        let missing = || Error::NotFound { resource: "ProcessingAccount" };
        let id = object_id(raw, missing)?;
        match self.peers.processing_account(scope, id).await? {
            Ok(()) => Ok(Some(id)),
            Err(_) => Err(missing()),
        }
    }

    /// The settings in force at a level, and what is set there.
    pub(crate) async fn get_settings(
        &self,
        principal: &Principal,
        processing_id: &str,
    ) -> Result<pb::ProcessingSettings, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let level = self.level(scope, processing_id).await?;
        let here = self.store.overrides(scope, level).await?;
        Ok(convert::settings_to_proto(
            level,
            &self.settings_at(scope, level, &here, platform_defaults).await?,
            &here,
        ))
    }

    /// Changes the settings set at a level.
    pub(crate) async fn update_settings(
        &self,
        principal: &Principal,
        request: pb::UpdateProcessingSettingsRequest,
    ) -> Result<pb::ProcessingSettings, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let given = request.settings.unwrap_or_default();
        let level = self.level(scope, &given.processing_id).await?;
        let speeds = &self.config.speeds;
        let overrides = self
            .store
            .update_overrides(scope, level, self.now(), |current| {
                convert::settings_updated(current, &given, request.update_mask, speeds)
            })
            .await?;
        Ok(convert::settings_to_proto(
            level,
            &self.settings_at(scope, level, &overrides, platform_defaults).await?,
            &overrides,
        ))
    }

    /// Prices an amount for a funding type and payout method now.
    pub(crate) async fn quote(
        &self,
        principal: &Principal,
        request: &pb::QuoteRequest,
    ) -> Result<pb::QuoteResponse, Error> {
        principal.require_secret_key()?;
        let scope = principal.scope();
        let pb::QuoteRequest {
            processing_id,
            amount,
            funding_type,
            payout_method,
            speed,
            is_expedited,
            direct_payment,
        } = request;
        let mut problems = Vec::new();
        let amount = match amount.as_ref().map(Money::from_proto) {
            None => {
                problems.push(Violation::new("amount", "Required"));
                None
            }
            Some(Err((part, why))) => {
                problems.push(Violation::new(format!("amount.{part}"), why));
                None
            }
            Some(Ok(money)) => match Money::positive(money.amount, money.currency) {
                Ok(money) => Some(money),
                Err(why) => {
                    problems.push(Violation::new("amount.amount", why));
                    None
                }
            },
        };
        let funding = FundingType::from_proto(*funding_type);
        if funding.is_none() {
            problems.push(Violation::new("funding_type", "Must be CREDIT, DEBIT or BANK_ACCOUNT"));
        }
        let payout = PayoutMethod::from_proto(*payout_method);
        if payout.is_none() {
            problems.push(Violation::new("payout_method", "Must be ACH, WIRE, CHECK or EFT"));
        }
        // The rule intents hold payments to: EFT pays CAD, and only EFT does.
        if let (Some(amount), Some(payout)) = (amount, payout)
            && payout.currency() != amount.currency
        {
            problems.push(Violation::new(
                "amount.currency",
                format!("{} payouts are paid in {}", payout.as_str(), payout.currency()),
            ));
        }
        let (Some(amount), Some(funding), Some(payout), true) =
            (amount, funding, payout, problems.is_empty())
        else {
            return Err(Error::InvalidAttributes(problems));
        };
        let level = self.level(scope, processing_id).await?;
        let base = if *direct_payment { direct_payment_defaults } else { platform_defaults };
        let settings = self.settings(scope, level, base).await?;
        let options = self.config.speeds.options(payout, self.now());
        let chosen = if speed.trim().is_empty() {
            delivery::choose(&options, None, *is_expedited)
        } else {
            options.iter().find(|o| o.speed == speed.trim())
        };
        let Some(chosen) = chosen else {
            let names: Vec<&str> = options.iter().map(|o| o.speed.as_str()).collect();
            return Err(Error::invalid(
                "speed",
                format!("Must be one of the speeds offered now: {}", names.join(", ")),
            ));
        };
        let price_of = |o: &DeliveryOption| settings.price(amount, funding, settings.expedite_for(payout, o));
        let price = price_of(chosen);
        price.source.charge_within_limit().map_err(|why| Error::invalid("amount.amount", why))?;
        let currency = amount.currency;
        Ok(pb::QuoteResponse {
            fees: price.lines.iter().map(|l| convert::fee(l, currency)).collect(),
            source_amount: Some(price.source.to_proto()),
            target_amount: Some(price.target.to_proto()),
            fee: Some(price.fee.to_proto()),
            cust_conv_fee: Some(price.cust_conv_fee.to_proto()),
            delivery_options: options
                .iter()
                .map(|o| {
                    let p = price_of(o);
                    convert::option(o, &p.lines, Some(p.source), currency)
                })
                .collect(),
            delivery_date: chosen.date.to_string(),
            speed: chosen.speed.clone(),
            cutoff_time: Some(paymesh_kit::json::timestamp(chosen.cutoff)),
        })
    }
}

/// An intent's draft, priced and judged.
struct Evaluated {
    draft: Draft,
    status: Status,
    reasons: Vec<intent::Reason>,
    payout: Option<PayoutMethod>,
    funding: Option<FundingType>,
    options: Vec<PricedOption>,
    chosen: Option<DeliveryOption>,
    price: Option<Price>,
    expires_at: DateTime<Utc>,
}

impl Evaluated {
    fn into_intent(
        self,
        id: Uuid,
        livemode: bool,
        version: i64,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Intent {
        let Self { draft, status, reasons, payout, funding, options, chosen, price, expires_at } = self;
        Intent {
            id,
            livemode,
            payer_id: draft.payer_id,
            recipient_id: draft.recipient_id,
            payment_method_id: draft.payment_method_id,
            target: draft.target,
            source: price.as_ref().map(|p| p.source),
            fee: price.as_ref().map(|p| p.fee),
            cust_conv_fee: price.as_ref().map(|p| p.cust_conv_fee),
            fees: price.map(|p| p.lines).unwrap_or_default(),
            details: draft.details,
            requested_date: draft.requested_date,
            delivery_date: chosen.as_ref().map(|o| o.date),
            speed: chosen.map(|o| o.speed),
            is_expedited: draft.is_expedited,
            options,
            funding,
            payout,
            status,
            reasons,
            transaction_id: None,
            attrs: draft.attrs.into_inner(),
            version,
            expires_at,
            created_at,
            modified_at: now,
        }
    }
}
