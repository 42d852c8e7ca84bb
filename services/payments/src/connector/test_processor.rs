//! The built-in test processor: a card network and ACH simulated from
//! documented numbers, so partners can test every path in test mode.
//!
//! | instrument | outcome |
//! |---|---|
//! | card `4111 1111 1111 9900` … `9909` | declined: `card_expired`, `duplicate_attempt`, `exceeded_limit`, `general_decline`, `insufficient_bal`, `invalid_card_code`, `invalid_card_number`, `invalid_zip`, `suspicious_activity`, `too_many_attempts` |
//! | card `5555 5555 5555 4444` | declined: `general_decline` |
//! | a card past its expiry | declined: `card_expired` |
//! | card `4000 0000 0000 0259` | approved; a chargeback 3 days after settlement |
//! | card `4000 0000 0000 2685` | approved; a chargeback 3 days after settlement, overturned 7 days later |
//! | bank account `1000000001` / `…02` / `…03` | approved; returned R01 / R02 / R03 2 business days after settlement |
//! | any other card or bank account | approved |
//!
//! **Risk score** (−1 to 1, deterministic): 0, plus 0.25 above 2,500.00
//! or 0.5 above 10,000.00, plus 0.2 for a card without a billing postal
//! code, plus 0.2 for a prepaid card, minus 0.2 for a bank account; the
//! `…9908` card scores 0.95. Below 0.5 a payment is `allowed`, from 0.5
//! `in_review`, from 0.95 `denied` (declined as `suspicious_activity`).

use paymesh_kit::{faults, future::BoxFuture};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{
    AchReturn, Aftermath, Charge, Connector, ConnectorError, DeclineCode, Instrument, Outcome, Risk, RiskFlag,
};

/// The decline table: card number → decline code.
pub const DECLINE_CARDS: &[(&str, DeclineCode)] = &[
    ("4111111111119900", DeclineCode::CardExpired),
    ("4111111111119901", DeclineCode::DuplicateAttempt),
    ("4111111111119902", DeclineCode::ExceededLimit),
    ("4111111111119903", DeclineCode::GeneralDecline),
    ("4111111111119904", DeclineCode::InsufficientBal),
    ("4111111111119905", DeclineCode::InvalidCardCode),
    ("4111111111119906", DeclineCode::InvalidCardNumber),
    ("4111111111119907", DeclineCode::InvalidZip),
    ("4111111111119908", DeclineCode::SuspiciousActivity),
    ("4111111111119909", DeclineCode::TooManyAttempts),
    ("5555555555554444", DeclineCode::GeneralDecline),
];

/// Cards that draw a chargeback: number → (days after settlement, days
/// until overturned).
pub const CHARGEBACK_CARDS: &[(&str, u32, Option<u32>)] =
    &[("4000000000000259", 3, None), ("4000000000002685", 3, Some(7))];

/// Bank accounts whose debits are returned: number → (return code,
/// business days after settlement).
pub const BANK_REJECTS: &[(&str, AchReturn, u32)] = &[
    ("1000000001", AchReturn::R01, 2),
    ("1000000002", AchReturn::R02, 2),
    ("1000000003", AchReturn::R03, 2),
];

/// The test processor.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestProcessor;

fn dec(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

impl TestProcessor {
    /// The risk of `charge`, by the documented rule.
    pub fn risk(charge: &Charge) -> Risk {
        let suspicious =
            matches!(&charge.instrument, Instrument::Card { number, .. } if number == "4111111111119908");
        let score = if suspicious {
            dec(95, 2)
        } else {
            let amount = charge.amount.amount;
            let mut score = Decimal::ZERO;
            if amount > Decimal::from(10_000) {
                score += dec(5, 1);
            } else if amount > Decimal::from(2_500) {
                score += dec(25, 2);
            }
            match &charge.instrument {
                Instrument::Card { postal_code, prepaid, .. } => {
                    if postal_code.as_deref().is_none_or(|p| p.trim().is_empty()) {
                        score += dec(2, 1);
                    }
                    if *prepaid {
                        score += dec(2, 1);
                    }
                }
                Instrument::BankAccount { .. } => score -= dec(2, 1),
            }
            score.clamp(-Decimal::ONE, Decimal::ONE)
        };
        let flag = if score >= dec(95, 2) {
            RiskFlag::Denied
        } else if score >= dec(5, 1) {
            RiskFlag::InReview
        } else {
            RiskFlag::Allowed
        };
        Risk { score, flag }
    }

    /// The outcome of `charge`, by the documented tables; the authorization
    /// is named after the charge's reference.
    pub fn decide(charge: &Charge) -> Outcome {
        let risk = Self::risk(charge);
        let declined = |code| Outcome::Declined { code, risk };
        if let Instrument::Card { number, expiry, .. } = &charge.instrument {
            if let Some((_, code)) = DECLINE_CARDS.iter().find(|(n, _)| n == number) {
                return declined(*code);
            }
            let today = (chrono::Datelike::year(&charge.today), chrono::Datelike::month(&charge.today));
            if expiry.is_some_and(|expiry| expiry < today) {
                return declined(DeclineCode::CardExpired);
            }
        }
        if risk.flag == RiskFlag::Denied {
            return declined(DeclineCode::SuspiciousActivity);
        }
        Outcome::Approved { authorization: format!("test_{}", charge.reference.simple()), risk }
    }
}

/// The processor unreachable, when a test injects a fault at `point`.
async fn unreachable_if_faulted(point: &str) -> Result<(), ConnectorError> {
    faults::check(point).await.map_err(|e| ConnectorError::Unavailable(e.to_string()))
}

impl Connector for TestProcessor {
    fn name(&self) -> &'static str {
        "test"
    }

    /// The answer is a function of the charge alone, so asking again with
    /// the same reference answers the same. (Tests make it unreachable at
    /// the fault point `payments.connector.authorize`.)
    fn authorize<'a>(&'a self, charge: &'a Charge) -> BoxFuture<'a, Result<Outcome, ConnectorError>> {
        Box::pin(async move {
            unreachable_if_faulted("payments.connector.authorize").await?;
            Ok(Self::decide(charge))
        })
    }

    /// Test authorizations hold no funds: there is nothing to release.
    /// (Tests make it unreachable at `payments.connector.void`.)
    fn void(&self, _reference: Uuid) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async { unreachable_if_faulted("payments.connector.void").await })
    }

    fn aftermath(&self, instrument: &Instrument) -> Aftermath {
        match instrument {
            Instrument::Card { number, .. } => CHARGEBACK_CARDS.iter().find(|(n, ..)| n == number).map_or(
                Aftermath::None,
                |&(_, after_days, reversed_after_days)| Aftermath::Chargeback {
                    after_days,
                    reversed_after_days,
                },
            ),
            Instrument::BankAccount { account_number } => {
                BANK_REJECTS.iter().find(|(n, ..)| n == account_number).map_or(
                    Aftermath::None,
                    |&(_, code, after_business_days)| Aftermath::BankReject { code, after_business_days },
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use paymesh_kit::money::{Currency, Money};

    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn card(number: &str) -> Instrument {
        Instrument::Card {
            number: number.into(),
            expiry: Some((2030, 12)),
            postal_code: Some("10001".into()),
            prepaid: false,
        }
    }

    fn charge(instrument: Instrument, amount: i64) -> Charge {
        Charge {
            reference: Uuid::now_v7(),
            amount: Money::new(Decimal::from(amount), Currency::Usd),
            instrument,
            today: today(),
        }
    }

    fn code_of(outcome: &Outcome) -> Option<&'static str> {
        match outcome {
            Outcome::Declined { code, .. } => Some(code.as_str()),
            Outcome::Approved { .. } => None,
        }
    }

    #[test]
    fn every_decline_of_the_table_is_drawn_by_its_card() {
        let expected = [
            "card_expired",
            "duplicate_attempt",
            "exceeded_limit",
            "general_decline",
            "insufficient_bal",
            "invalid_card_code",
            "invalid_card_number",
            "invalid_zip",
            "suspicious_activity",
            "too_many_attempts",
        ];
        for (i, code) in expected.iter().enumerate() {
            let number = format!("411111111111990{i}");
            assert_eq!(code_of(&TestProcessor::decide(&charge(card(&number), 100))), Some(*code), "{number}");
        }
        assert_eq!(
            code_of(&TestProcessor::decide(&charge(card("5555555555554444"), 100))),
            Some("general_decline")
        );
        assert_eq!(DeclineCode::WORDS, expected);
        assert_eq!(DeclineCode::InvalidZip.message(), "The ZIP Code does not match the card.");
    }

    #[test]
    fn good_cards_and_bank_accounts_are_approved_and_expired_cards_are_not() {
        for number in ["4242424242424242", "4111111111111111", "4444333322221111", "5100290029002909"] {
            let outcome = TestProcessor::decide(&charge(card(number), 100));
            assert!(
                matches!(&outcome, Outcome::Approved { authorization, .. } if authorization.starts_with("test_"))
            );
        }
        let bank = Instrument::BankAccount { account_number: "000123456789".into() };
        assert_eq!(code_of(&TestProcessor::decide(&charge(bank, 100))), None);
        let mut expired = card("4242424242424242");
        if let Instrument::Card { expiry, .. } = &mut expired {
            *expiry = Some((2026, 10));
        }
        assert_eq!(code_of(&TestProcessor::decide(&charge(expired.clone(), 100))), Some("card_expired"));
        if let Instrument::Card { expiry, .. } = &mut expired {
            *expiry = Some((2026, 11));
        }
        assert_eq!(
            code_of(&TestProcessor::decide(&charge(expired.clone(), 100))),
            None,
            "good through its month"
        );
        if let Instrument::Card { expiry, .. } = &mut expired {
            *expiry = None;
        }
        assert_eq!(
            code_of(&TestProcessor::decide(&charge(expired, 100))),
            None,
            "a card given without an expiry"
        );
    }

    #[test]
    fn risk_follows_the_documented_rule() {
        let risk = |instrument, amount| TestProcessor::risk(&charge(instrument, amount));
        assert_eq!(
            risk(card("4242424242424242"), 100),
            Risk { score: Decimal::ZERO, flag: RiskFlag::Allowed }
        );
        assert_eq!(risk(card("4242424242424242"), 2_501).score, dec(25, 2));
        let bare = Instrument::Card {
            number: "4242424242424242".into(),
            expiry: Some((2030, 12)),
            postal_code: None,
            prepaid: true,
        };
        assert_eq!(risk(bare.clone(), 100), Risk { score: dec(4, 1), flag: RiskFlag::Allowed });
        assert_eq!(risk(bare, 20_000), Risk { score: dec(9, 1), flag: RiskFlag::InReview });
        let bank = Instrument::BankAccount { account_number: "000123456789".into() };
        assert_eq!(risk(bank, 100).score, dec(-2, 1));
        assert_eq!(risk(card("4111111111119908"), 100), Risk { score: dec(95, 2), flag: RiskFlag::Denied });
    }

    #[test]
    fn scripted_returns_and_disputes_follow_their_numbers() {
        let processor = TestProcessor;
        assert_eq!(
            processor.aftermath(&card("4000000000000259")),
            Aftermath::Chargeback { after_days: 3, reversed_after_days: None }
        );
        assert_eq!(
            processor.aftermath(&card("4000000000002685")),
            Aftermath::Chargeback { after_days: 3, reversed_after_days: Some(7) }
        );
        assert_eq!(processor.aftermath(&card("4242424242424242")), Aftermath::None);
        for (number, code) in [("1000000001", "R01"), ("1000000002", "R02"), ("1000000003", "R03")] {
            let bank = Instrument::BankAccount { account_number: number.into() };
            assert!(matches!(
                processor.aftermath(&bank),
                Aftermath::BankReject { code: c, after_business_days: 2 } if c.as_str() == code
            ));
        }
    }

    #[test]
    fn numbers_never_show_in_debug_output() {
        let text = format!("{:?}", charge(card("4242424242424242"), 100));
        assert!(text.contains("x-4242") && !text.contains("424242424242"), "{text}");
        let text = format!("{:?}", Instrument::BankAccount { account_number: "000123456789".into() });
        assert_eq!(text, "BankAccount(x-6789)");
    }

    #[tokio::test]
    async fn the_connector_answers_through_the_trait() {
        let connector: &dyn Connector = &TestProcessor;
        assert_eq!(connector.name(), "test");
        let charge = charge(card("4111111111119904"), 100);
        let outcome = connector.authorize(&charge).await.unwrap();
        assert_eq!(code_of(&outcome), Some("insufficient_bal"));
    }
}
