//! Queue-position models: where our resting order stands in the queue at its price.
//!
//! On L3 data the queue is known order by order and the venue keeps our place exactly (FIFO).
//! On L2 data only the total quantity at a price is known, so a decrease of that quantity that
//! no trade explains (a cancel somewhere in the queue) must be split between the part ahead of
//! us and the part behind. The models here decide that split:
//!
//! - [`QueueModel::RiskAverse`]: no cancel is ever ahead of us; only trades at our price advance
//!   us (and the queue ahead can never exceed what is displayed).
//! - [`QueueModel::Power`] and [`QueueModel::Log`]: each canceled lot is ahead of us with
//!   probability `f(ahead) / (f(ahead) + f(behind))`, with `f(x) = x^n` or `f(x) = ln(1 + x)`,
//!   the probabilistic queue models of Rigtorp ("Estimating order queue position", 2013) as
//!   implemented by hftbacktest (`PowerProbQueueFunc`, `LogProbQueueFunc`). The number of lots
//!   ahead is drawn from a binomial distribution with that probability from the venue's seeded
//!   generator, so quantities stay whole lots and the expected advance equals those models'.

use rand_distr::{Binomial, Distribution};
use rand_pcg::Pcg64;

use crate::matching::simulated::VenueError;
use crate::types::Quantity;

/// How our place in the queue at our price is tracked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    /// Exact price-time priority from order-by-order (L3) data.
    Fifo,
    /// L2: only trades at our price advance us; cancels are all assumed behind us.
    RiskAverse,
    /// L2: cancels are ahead of us with probability `a^n / (a^n + b^n)` (`a` ahead, `b` behind).
    Power(f64),
    /// L2: cancels are ahead of us with probability `ln(1+a) / (ln(1+a) + ln(1+b))`.
    Log,
}

impl QueueModel {
    pub fn validate(&self) -> Result<(), VenueError> {
        match *self {
            QueueModel::Power(exponent) if !(exponent.is_finite() && exponent > 0.0) => {
                Err(VenueError::InvalidQueueModel(format!(
                    "the power model's exponent must be finite and positive, got {exponent}"
                )))
            }
            _ => Ok(()),
        }
    }

    /// Probability that one canceled lot was ahead of us, given the quantity ahead and behind.
    pub fn cancel_ahead_probability(&self, ahead: Quantity, behind: Quantity) -> f64 {
        if ahead <= 0 {
            return 0.0;
        }
        if behind <= 0 {
            return 1.0;
        }
        match *self {
            QueueModel::Fifo | QueueModel::RiskAverse => 0.0,
            // 1 / (1 + (b/a)^n) equals a^n / (a^n + b^n) without overflowing for large a, b, n.
            QueueModel::Power(exponent) => {
                1.0 / (1.0 + (behind as f64 / ahead as f64).powf(exponent))
            }
            QueueModel::Log => {
                let weight_ahead = (ahead as f64).ln_1p();
                weight_ahead / (weight_ahead + (behind as f64).ln_1p())
            }
        }
    }

    /// How many of `canceled` lots, removed from a queue with `ahead` lots in front of us and
    /// `behind` lots after us, were ahead of us. Never more than `ahead`; when more than
    /// `behind` lots are drawn behind, the excess must have been ahead.
    pub fn canceled_ahead(
        &self,
        canceled: Quantity,
        ahead: Quantity,
        behind: Quantity,
        rng: &mut Pcg64,
    ) -> Quantity {
        if canceled <= 0 || ahead <= 0 {
            return 0;
        }
        let drawn = match self {
            QueueModel::Fifo | QueueModel::RiskAverse => 0,
            QueueModel::Power(_) | QueueModel::Log => {
                let probability = self.cancel_ahead_probability(ahead, behind);
                // The probability lies in [0, 1] by construction, which is all Binomial checks.
                Binomial::new(canceled as u64, probability)
                    .map_or(0, |binomial| binomial.sample(rng) as Quantity)
            }
        };
        let excess_behind = (canceled - drawn - behind.max(0)).max(0);
        (drawn + excess_behind).min(ahead)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn probabilities_follow_the_published_formulas() {
        let power = QueueModel::Power(2.0);
        assert!((power.cancel_ahead_probability(3, 4) - 9.0 / 25.0).abs() < 1e-12);
        assert!((QueueModel::Power(1.0).cancel_ahead_probability(1, 3) - 0.25).abs() < 1e-12);
        let log = QueueModel::Log.cancel_ahead_probability(10, 100);
        assert!((log - 11f64.ln() / (11f64.ln() + 101f64.ln())).abs() < 1e-12);
        assert_eq!(power.cancel_ahead_probability(0, 10), 0.0);
        assert_eq!(power.cancel_ahead_probability(10, 0), 1.0);
        assert_eq!(QueueModel::RiskAverse.cancel_ahead_probability(10, 10), 0.0);
        // Huge queues and exponents stay finite.
        let extreme = QueueModel::Power(50.0).cancel_ahead_probability(1, i64::MAX / 2);
        assert!((0.0..=1.0).contains(&extreme));
        let extreme = QueueModel::Power(50.0).cancel_ahead_probability(i64::MAX / 2, 1);
        assert!((extreme - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_exponents_are_refused() {
        for exponent in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                QueueModel::Power(exponent).validate(),
                Err(VenueError::InvalidQueueModel(_))
            ));
        }
        assert!(QueueModel::Power(0.5).validate().is_ok());
        assert!(QueueModel::Log.validate().is_ok());
    }

    #[test]
    fn risk_averse_puts_no_cancel_ahead_unless_forced() {
        let mut rng = Pcg64::seed_from_u64(1);
        assert_eq!(
            QueueModel::RiskAverse.canceled_ahead(5, 10, 10, &mut rng),
            0
        );
        // 5 canceled but only 2 behind: 3 must have been ahead.
        assert_eq!(QueueModel::RiskAverse.canceled_ahead(5, 10, 2, &mut rng), 3);
        assert_eq!(
            QueueModel::RiskAverse.canceled_ahead(50, 10, 2, &mut rng),
            10
        );
    }

    #[test]
    fn probabilistic_split_has_the_model_expectation_and_bounds() {
        let mut rng = Pcg64::seed_from_u64(42);
        let model = QueueModel::Power(2.0);
        let (ahead, behind, canceled) = (30, 70, 10);
        let trials = 20_000;
        let mut total = 0;
        for _ in 0..trials {
            let drawn = model.canceled_ahead(canceled, ahead, behind, &mut rng);
            assert!((0..=canceled).contains(&drawn));
            total += drawn;
        }
        let expected = canceled as f64 * model.cancel_ahead_probability(ahead, behind);
        let mean = total as f64 / trials as f64;
        assert!(
            (mean - expected).abs() < 0.05,
            "mean {mean} expected {expected}"
        );
        // Nothing ahead: nothing can be canceled ahead.
        assert_eq!(model.canceled_ahead(10, 0, 70, &mut rng), 0);
        // Nothing behind: all of it is ahead, up to what is there.
        assert_eq!(QueueModel::Log.canceled_ahead(10, 30, 0, &mut rng), 10);
        assert_eq!(QueueModel::Log.canceled_ahead(40, 30, 0, &mut rng), 30);
    }
}
