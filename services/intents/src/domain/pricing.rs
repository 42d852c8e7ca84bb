//! Pricing: the processing settings of an account (rates, fixed costs, the
//! payer's share, expedite fees), their fallbacks (account → partner →
//! platform), and the fee lines they give an amount.
//!
//! For a funding type the processing fee is `round(amount × rate) + cost`.
//! The payer pays `round(fee × conv_fee_alloc)` of it as a convenience fee
//! (Payload's `cust_conv_fee`, the `SERVICE_FEE` line); the processing
//! account bears the rest (Payload's `fee`). Expedite fees are the payer's
//! alone: `round(amount × rate)`, a handling fee and a delivery fee.

use std::collections::BTreeMap;

use paymesh_kit::money::{Money, percent, round_cents};
use rust_decimal::Decimal;

use super::delivery::{DeliveryOption, PayoutMethod};

pub use paymesh_kit::funding::FundingType;

/// One of the three numbers each funding type has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RatePart {
    /// The percentage rate, as a fraction.
    TransRate,
    /// The fixed cost per transaction.
    TransCost,
    /// The payer's share of the fee, 0 to 1.
    ConvFeeAlloc,
}

impl RatePart {
    const ALL: [Self; 3] = [Self::TransRate, Self::TransCost, Self::ConvFeeAlloc];

    const fn suffix(self) -> &'static str {
        match self {
            Self::TransRate => "trans_rate",
            Self::TransCost => "trans_cost",
            Self::ConvFeeAlloc => "conv_fee_alloc",
        }
    }

    /// Checks a value for this part.
    fn check(self, value: Decimal) -> Result<Decimal, String> {
        let (max, places, what) = match self {
            Self::TransRate => (Decimal::new(25, 2), 6, "a fraction from 0 to 0.25 (0.029 is 2.90%)"),
            Self::TransCost => (Decimal::from(100), 2, "an amount from 0 to 100.00"),
            Self::ConvFeeAlloc => {
                (Decimal::ONE, 4, "a share from 0 (the recipient pays) to 1 (the payer pays)")
            }
        };
        if value < Decimal::ZERO || value > max || value.normalize().scale() > places {
            return Err(format!("Must be {what}, with at most {places} decimal places"));
        }
        Ok(value.normalize())
    }
}

/// A settings field: a funding type's part, e.g. `credit_trans_rate`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Field(pub FundingType, pub RatePart);

impl Field {
    /// Every settings field, in the order they are shown.
    pub fn all() -> impl Iterator<Item = Self> {
        FundingType::ALL.into_iter().flat_map(|f| RatePart::ALL.into_iter().map(move |p| Self(f, p)))
    }

    /// The field's name, e.g. `bank_account_conv_fee_alloc`.
    pub fn name(self) -> String {
        format!("{}_{}", self.0.as_str(), self.1.suffix())
    }

    /// The field named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::all().find(|f| f.name() == name)
    }

    /// Checks a value for this field; the error says what is expected.
    pub fn check(self, value: Decimal) -> Result<Decimal, String> {
        self.1.check(value)
    }
}

/// The fees of one expedited speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpediteFee {
    /// The percentage fee, as a fraction of the amount.
    pub rate: Decimal,
    /// The fixed handling fee.
    pub handling_fee: Decimal,
    /// The fixed delivery (courier) fee.
    pub delivery_fee: Decimal,
}

impl ExpediteFee {
    /// No fee at all.
    pub const FREE: Self =
        Self { rate: Decimal::ZERO, handling_fee: Decimal::ZERO, delivery_fee: Decimal::ZERO };

    /// Checks the three numbers; the errors name `rate`, `handling_fee` or
    /// `delivery_fee`.
    pub fn check(self) -> Result<Self, Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut checked = self;
        match RatePart::TransRate.check(self.rate) {
            Ok(v) => checked.rate = v,
            Err(e) => problems.push(("rate".to_owned(), e)),
        }
        for (name, value, slot) in [
            ("handling_fee", self.handling_fee, &mut checked.handling_fee),
            ("delivery_fee", self.delivery_fee, &mut checked.delivery_fee),
        ] {
            match RatePart::TransCost.check(value) {
                Ok(v) => *slot = v,
                Err(e) => problems.push((name.to_owned(), e)),
            }
        }
        if problems.is_empty() { Ok(checked) } else { Err(problems) }
    }
}

/// How a processing account pays its processing fees (Payload's
/// `billing_preference`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BillingPreference {
    /// Fees are withheld from each daily deposit (net deposits).
    #[default]
    NettedDaily,
    /// Deposits are gross; the fees are billed once a month.
    BilledMonthly,
}

impl BillingPreference {
    /// Every preference.
    pub const ALL: [Self; 2] = [Self::NettedDaily, Self::BilledMonthly];

    /// The wire and stored word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NettedDaily => "netted_daily",
            Self::BilledMonthly => "billed_monthly",
        }
    }

    /// The preference named `word`.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == word)
    }
}

/// Settings set at one level (a processing account, or the partner):
/// only what differs from the level below.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Rate fields set at this level.
    pub fields: BTreeMap<Field, Decimal>,
    /// Expedite fees set at this level, by payout method and speed.
    pub expedite: BTreeMap<(PayoutMethod, String), ExpediteFee>,
    /// The billing preference, if set at this level.
    pub billing: Option<BillingPreference>,
}

/// The settings in force: every field has a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Every rate field.
    pub fields: BTreeMap<Field, Decimal>,
    /// The fees of every expedited speed.
    pub expedite: BTreeMap<(PayoutMethod, String), ExpediteFee>,
    /// How the fees are paid.
    pub billing: BillingPreference,
}

impl Settings {
    /// These settings with `overrides` laid over them.
    #[must_use]
    pub fn with(&self, overrides: &Overrides) -> Self {
        let mut settings = self.clone();
        settings.fields.extend(overrides.fields.iter().map(|(k, v)| (*k, *v)));
        settings.expedite.extend(overrides.expedite.iter().map(|(k, v)| (k.clone(), *v)));
        settings.billing = overrides.billing.unwrap_or(settings.billing);
        settings
    }

    fn get(&self, funding: FundingType, part: RatePart) -> Decimal {
        self.fields.get(&Field(funding, part)).copied().unwrap_or_default()
    }

    /// The expedite fee of a speed (none when the speed has none).
    pub fn expedite_fee(&self, payout: PayoutMethod, speed: &str) -> ExpediteFee {
        self.expedite.get(&(payout, speed.to_owned())).copied().unwrap_or(ExpediteFee::FREE)
    }

    /// The expedite fees of delivering by `option` to `payout`: none unless
    /// the option's speed is an expedited one.
    pub fn expedite_for(&self, payout: PayoutMethod, option: &DeliveryOption) -> ExpediteFee {
        if option.expedited { self.expedite_fee(payout, &option.speed) } else { ExpediteFee::FREE }
    }

    /// Prices `amount` funded by `funding`, with `expedite`'s fees.
    pub fn price(&self, amount: Money, funding: FundingType, expedite: ExpediteFee) -> Price {
        let rate = self.get(funding, RatePart::TransRate);
        let alloc = self.get(funding, RatePart::ConvFeeAlloc);
        let total = round_cents(amount.amount * rate) + self.get(funding, RatePart::TransCost);
        let payer_share = round_cents(total * alloc);
        let mut lines = Vec::new();
        if payer_share > Decimal::ZERO {
            let shown = (rate > Decimal::ZERO).then(|| rate * alloc);
            lines.push(FeeLine { kind: FeeKind::ServiceFee, amount: payer_share, rate: shown });
        }
        let processing = round_cents(amount.amount * expedite.rate);
        for (kind, value, rate) in [
            (FeeKind::ExpeditedProcessing, processing, Some(expedite.rate)),
            (FeeKind::ExpeditedHandling, expedite.handling_fee, None),
            (FeeKind::Delivery, expedite.delivery_fee, None),
        ] {
            if value > Decimal::ZERO {
                lines.push(FeeLine { kind, amount: value, rate });
            }
        }
        let source = amount.amount + lines.iter().map(|l| l.amount).sum::<Decimal>();
        Price {
            lines,
            target: amount,
            source: Money::new(source, amount.currency),
            fee: Money::new(total - payer_share, amount.currency),
            cust_conv_fee: Money::new(payer_share, amount.currency),
        }
    }
}

/// What a fee line is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeKind {
    /// The payer's share of the processing fee.
    ServiceFee,
    /// The percentage fee of an expedited delivery.
    ExpeditedProcessing,
    /// The fixed handling fee of an expedited delivery.
    ExpeditedHandling,
    /// The courier's fee.
    Delivery,
}

impl FeeKind {
    /// The wire name, e.g. `SERVICE_FEE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ServiceFee => "SERVICE_FEE",
            Self::ExpeditedProcessing => "EXPEDITED_PROCESSING_FEE",
            Self::ExpeditedHandling => "EXPEDITED_HANDLING_FEE",
            Self::Delivery => "DELIVERY_FEE",
        }
    }

    /// The kind named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::ServiceFee, Self::ExpeditedProcessing, Self::ExpeditedHandling, Self::Delivery]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// One fee line the payer pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    /// What it is for.
    pub kind: FeeKind,
    /// The amount, at the cent.
    pub amount: Decimal,
    /// The percentage behind it, as a fraction; none for fixed fees.
    pub rate: Option<Decimal>,
}

impl FeeLine {
    /// The rate as people read it, e.g. "2.90%"; empty for fixed fees.
    pub fn rate_text(&self) -> String {
        self.rate.map(percent).unwrap_or_default()
    }
}

/// A priced amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price {
    /// The fee lines the payer pays.
    pub lines: Vec<FeeLine>,
    /// What the recipient is paid.
    pub target: Money,
    /// What is withdrawn from the payment method.
    pub source: Money,
    /// The processing account's share of the processing fee.
    pub fee: Money,
    /// The payer's share of the processing fee.
    pub cust_conv_fee: Money,
}

/// The platform's defaults, under every partner's and account's settings.
///
/// | funding      | rate  | cost | payer's share |
/// |--------------|-------|------|---------------|
/// | credit       | 2.90% | 0.00 | 100%          |
/// | debit        | 2.90% | 0.00 | 100%          |
/// | bank_account | 0.00% | 1.25 | 0%            |
///
/// Expedited checks: overnight 0.5% + 29.00 handling + 1.49 delivery;
/// two-day 0.2% + 29.00 + 1.49. Other expedited speeds cost nothing more.
/// Fees are netted from daily deposits.
pub fn platform_defaults() -> Settings {
    let d = |units: i64, scale: u32| Decimal::new(units, scale);
    let mut fields = BTreeMap::new();
    for funding in [FundingType::Credit, FundingType::Debit] {
        fields.insert(Field(funding, RatePart::TransRate), d(29, 3));
        fields.insert(Field(funding, RatePart::TransCost), Decimal::ZERO);
        fields.insert(Field(funding, RatePart::ConvFeeAlloc), Decimal::ONE);
    }
    fields.insert(Field(FundingType::BankAccount, RatePart::TransRate), Decimal::ZERO);
    fields.insert(Field(FundingType::BankAccount, RatePart::TransCost), d(125, 2));
    fields.insert(Field(FundingType::BankAccount, RatePart::ConvFeeAlloc), Decimal::ZERO);
    let check = |rate| ExpediteFee { rate, handling_fee: d(2900, 2), delivery_fee: d(149, 2) };
    let expedite = BTreeMap::from([
        ((PayoutMethod::Check, "overnight".to_owned()), check(d(5, 3))),
        ((PayoutMethod::Check, "two_day".to_owned()), check(d(2, 3))),
    ]);
    Settings { fields, expedite, billing: BillingPreference::NettedDaily }
}

/// The platform's defaults for direct payments (not intents): as
/// [`platform_defaults`], but the payer's share is 0% for every funding
/// type. A direct payment charges its amount; the processing fee is the
/// processing account's, netted from its deposits, and a convenience fee
/// is added only where the account's or partner's settings allocate one.
pub fn direct_payment_defaults() -> Settings {
    let mut settings = platform_defaults();
    for (Field(_, part), value) in &mut settings.fields {
        if *part == RatePart::ConvFeeAlloc {
            *value = Decimal::ZERO;
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use paymesh_kit::money::Currency;

    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn usd(text: &str) -> Money {
        Money::new(dec(text), Currency::Usd)
    }

    #[test]
    fn the_billing_preference_is_netted_unless_a_level_says_otherwise() {
        let platform = platform_defaults();
        assert_eq!(platform.billing, BillingPreference::NettedDaily);
        let partner = Overrides { billing: Some(BillingPreference::BilledMonthly), ..Overrides::default() };
        let account = Overrides::default();
        assert_eq!(platform.with(&partner).with(&account).billing, BillingPreference::BilledMonthly);
        let back = Overrides { billing: Some(BillingPreference::NettedDaily), ..Overrides::default() };
        assert_eq!(platform.with(&partner).with(&back).billing, BillingPreference::NettedDaily);
        for preference in BillingPreference::ALL {
            assert_eq!(BillingPreference::parse(preference.as_str()), Some(preference));
        }
        assert_eq!(BillingPreference::parse("weekly"), None);
    }

    #[test]
    fn a_direct_payment_adds_no_convenience_fee_unless_settings_allocate_one() {
        let price = direct_payment_defaults().price(usd("100"), FundingType::Credit, ExpediteFee::FREE);
        assert_eq!((price.source, price.fee, price.cust_conv_fee), (usd("100"), usd("2.90"), usd("0")));
        assert!(price.lines.is_empty());
        let mut overrides = Overrides::default();
        overrides.fields.insert(Field(FundingType::Credit, RatePart::ConvFeeAlloc), dec("0.5"));
        let price = direct_payment_defaults().with(&overrides).price(
            usd("100"),
            FundingType::Credit,
            ExpediteFee::FREE,
        );
        assert_eq!((price.source, price.fee, price.cust_conv_fee), (usd("101.45"), usd("1.45"), usd("1.45")));
    }

    #[test]
    fn the_seed_quote_is_2_90_on_100() {
        let price = platform_defaults().price(usd("100"), FundingType::Credit, ExpediteFee::FREE);
        assert_eq!(
            price.lines,
            vec![FeeLine { kind: FeeKind::ServiceFee, amount: dec("2.90"), rate: Some(dec("0.029")) }]
        );
        assert_eq!(price.lines[0].rate_text(), "2.90%");
        assert_eq!(price.source, usd("102.90"));
        assert_eq!(price.cust_conv_fee, usd("2.90"));
        assert_eq!(price.fee, usd("0"));
    }

    #[test]
    fn expedited_checks_add_the_seed_fees() {
        let settings = platform_defaults();
        let overnight = settings.expedite_fee(PayoutMethod::Check, "overnight");
        let price = settings.price(usd("100"), FundingType::Credit, overnight);
        let amounts: Vec<_> =
            price.lines.iter().map(|l| (l.kind.as_str(), l.amount, l.rate_text())).collect();
        assert_eq!(
            amounts,
            vec![
                ("SERVICE_FEE", dec("2.90"), "2.90%".to_owned()),
                ("EXPEDITED_PROCESSING_FEE", dec("0.50"), "0.50%".to_owned()),
                ("EXPEDITED_HANDLING_FEE", dec("29.00"), String::new()),
                ("DELIVERY_FEE", dec("1.49"), String::new()),
            ]
        );
        assert_eq!(price.source, usd("133.89"));
        let two_day = settings.price(
            usd("1000"),
            FundingType::Credit,
            settings.expedite_fee(PayoutMethod::Check, "two_day"),
        );
        // 29.00 + 2.00 + 29.00 + 1.49
        assert_eq!(two_day.source, usd("1061.49"));
        assert_eq!(settings.expedite_fee(PayoutMethod::Ach, "same_day"), ExpediteFee::FREE);
    }

    #[test]
    fn the_fee_is_split_between_payer_and_recipient() {
        let mut overrides = Overrides::default();
        overrides.fields.insert(Field(FundingType::Credit, RatePart::ConvFeeAlloc), dec("0.5"));
        overrides.fields.insert(Field(FundingType::Credit, RatePart::TransCost), dec("0.30"));
        let settings = platform_defaults().with(&overrides);
        // 2.90% of 100.01 = 2.90029 → 2.90, + 0.30 = 3.20; half each.
        let price = settings.price(usd("100.01"), FundingType::Credit, ExpediteFee::FREE);
        assert_eq!(price.cust_conv_fee, usd("1.60"));
        assert_eq!(price.fee, usd("1.60"));
        assert_eq!(price.lines[0].rate_text(), "1.45%");
        assert_eq!(price.source, usd("101.61"));
        // An odd cent goes to the payer: 3.21 × 0.5 = 1.605 → 1.61.
        let price = settings.price(usd("100.36"), FundingType::Credit, ExpediteFee::FREE);
        assert_eq!((price.cust_conv_fee, price.fee), (usd("1.61"), usd("1.60")));
    }

    #[test]
    fn bank_accounts_cost_the_recipient_a_fixed_fee_by_default() {
        let price = platform_defaults().price(usd("250"), FundingType::BankAccount, ExpediteFee::FREE);
        assert!(price.lines.is_empty());
        assert_eq!(price.source, usd("250"));
        assert_eq!(price.fee, usd("1.25"));
        assert_eq!(price.cust_conv_fee, usd("0"));
    }

    #[test]
    fn settings_fields_are_named_as_payload_names_them_and_checked() {
        let names: Vec<String> = Field::all().map(Field::name).collect();
        assert_eq!(names[0], "credit_trans_rate");
        assert_eq!(names[8], "bank_account_conv_fee_alloc");
        assert_eq!(Field::parse("debit_trans_cost"), Some(Field(FundingType::Debit, RatePart::TransCost)));
        assert_eq!(Field::parse("credit_rate"), None);
        let rate = Field(FundingType::Credit, RatePart::TransRate);
        assert_eq!(rate.check(dec("0.0275")), Ok(dec("0.0275")));
        assert!(rate.check(dec("2.9")).is_err());
        assert!(rate.check(dec("-0.01")).is_err());
        let alloc = Field(FundingType::Credit, RatePart::ConvFeeAlloc);
        assert!(alloc.check(dec("1.5")).is_err());
        let cost = Field(FundingType::Credit, RatePart::TransCost);
        assert!(cost.check(dec("0.305")).is_err());
        let bad = ExpediteFee { rate: dec("1"), handling_fee: dec("-1"), delivery_fee: dec("1.49") };
        let problems = bad.check().unwrap_err();
        assert_eq!(problems.iter().map(|p| p.0.as_str()).collect::<Vec<_>>(), ["rate", "handling_fee"]);
    }
}
