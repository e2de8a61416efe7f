//! Risk limits: per instrument ([`InstrumentLimits`]) and per account ([`AccountLimits`]), with
//! validation that names the offending field. `None` means "no limit".

use thiserror::Error;

use super::reason::TradingState;
use crate::types::{Money, Price, Quantity};

/// Most open orders an account may be configured for; the open-order table is sized from it up
/// front so that checking never allocates.
pub const MAX_OPEN_ORDERS_CAPACITY: u32 = 1 << 20;
/// Largest throttle capacity in tokens.
pub const MAX_THROTTLE_CAPACITY: u32 = 1_000_000;
/// One basis point is 1/10,000 of the reference price.
pub const BPS_DENOMINATOR: i128 = 10_000;

/// A configuration value that cannot be used; `field` names it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid risk limit {field}: {problem}")]
pub struct LimitsError {
    pub field: &'static str,
    pub problem: String,
}

fn invalid(field: &'static str, problem: impl Into<String>) -> LimitsError {
    LimitsError {
        field,
        problem: problem.into(),
    }
}

/// How far an order price may lie from the instrument's reference price, either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PriceCollar {
    #[default]
    Disabled,
    /// `|price - reference| * 10_000 <= bps * reference`.
    Bps(u32),
    /// `|price - reference| <= ticks`.
    Ticks(Price),
}

impl PriceCollar {
    /// Whether `price` lies within the collar around `reference` (both in ticks, positive).
    pub fn admits(self, price: Price, reference: Price) -> bool {
        let distance = (i128::from(price) - i128::from(reference)).abs();
        match self {
            PriceCollar::Disabled => true,
            PriceCollar::Bps(bps) => {
                distance * BPS_DENOMINATOR <= i128::from(bps) * i128::from(reference)
            }
            PriceCollar::Ticks(ticks) => distance <= i128::from(ticks),
        }
    }
}

/// Limits of one instrument. Quantities are lots, money in [`Money`] units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstrumentLimits {
    /// Largest quantity of one order.
    pub max_order_quantity: Option<Quantity>,
    /// Largest notional of one order at its limit price.
    pub max_order_notional: Option<Money>,
    pub price_collar: PriceCollar,
    /// Largest long position, counting open buys: `position + open buys + order <= this`.
    pub max_long_position: Option<Quantity>,
    /// Largest short position as a magnitude: `position - open sells - order >= -this`.
    pub max_short_position: Option<Quantity>,
}

impl InstrumentLimits {
    pub fn validate(&self) -> Result<(), LimitsError> {
        if let Some(quantity) = self.max_order_quantity {
            if quantity <= 0 {
                return Err(invalid(
                    "max_order_quantity",
                    format!("must be positive, got {quantity} lots"),
                ));
            }
        }
        if let Some(notional) = self.max_order_notional {
            if notional <= 0 {
                return Err(invalid("max_order_notional", "must be positive"));
            }
        }
        match self.price_collar {
            PriceCollar::Bps(0) => return Err(invalid("collar_bps", "must be positive")),
            PriceCollar::Ticks(ticks) if ticks <= 0 => {
                return Err(invalid(
                    "collar_ticks",
                    format!("must be positive, got {ticks}"),
                ))
            }
            _ => {}
        }
        for (field, limit) in [
            ("max_long_position", self.max_long_position),
            ("max_short_position", self.max_short_position),
        ] {
            if let Some(quantity) = limit {
                if quantity < 0 {
                    return Err(invalid(
                        field,
                        format!("must not be negative, got {quantity} lots"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A token bucket: `capacity` orders at once, refilled continuously at a rate given in
/// millionths of a token per second (so 0.5 per second is expressible exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimit {
    pub capacity: u32,
    pub refill_microtokens_per_second: u64,
}

impl ThrottleLimit {
    /// A bucket of `capacity` tokens refilled at a whole number of tokens per second.
    pub fn per_second(capacity: u32, tokens_per_second: u32) -> Self {
        ThrottleLimit {
            capacity,
            refill_microtokens_per_second: u64::from(tokens_per_second) * 1_000_000,
        }
    }

    fn validate(&self, field: &'static str) -> Result<(), LimitsError> {
        if self.capacity == 0 || self.capacity > MAX_THROTTLE_CAPACITY {
            return Err(invalid(
                field,
                format!(
                    "capacity must be 1..={MAX_THROTTLE_CAPACITY}, got {}",
                    self.capacity
                ),
            ));
        }
        if self.refill_microtokens_per_second == 0 {
            return Err(invalid(field, "refill rate must be positive"));
        }
        Ok(())
    }
}

/// Limits of the whole account (all instruments of one gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimits {
    /// Most orders open at once (approved or restored and not yet filled or closed).
    pub max_open_orders: u32,
    /// Largest sum over instruments of worst-case absolute exposure at the reference price.
    pub max_gross_exposure: Option<Money>,
    /// Largest absolute worst-case net exposure at the reference price.
    pub max_net_exposure: Option<Money>,
    pub order_rate: Option<ThrottleLimit>,
    pub cancel_rate: Option<ThrottleLimit>,
    /// Loss (realized + unrealized, net of fees, since `start_day`) at which the circuit
    /// breaker trips.
    pub daily_loss_limit: Option<Money>,
    /// The state the circuit breaker imposes: [`TradingState::Reducing`] or
    /// [`TradingState::Halted`].
    pub circuit_breaker_state: TradingState,
}

impl Default for AccountLimits {
    fn default() -> Self {
        AccountLimits {
            max_open_orders: 1_000,
            max_gross_exposure: None,
            max_net_exposure: None,
            order_rate: None,
            cancel_rate: None,
            daily_loss_limit: None,
            circuit_breaker_state: TradingState::Halted,
        }
    }
}

impl AccountLimits {
    pub fn validate(&self) -> Result<(), LimitsError> {
        if self.max_open_orders == 0 || self.max_open_orders > MAX_OPEN_ORDERS_CAPACITY {
            return Err(invalid(
                "max_open_orders",
                format!(
                    "must be 1..={MAX_OPEN_ORDERS_CAPACITY}, got {}",
                    self.max_open_orders
                ),
            ));
        }
        for (field, limit) in [
            ("max_gross_exposure", self.max_gross_exposure),
            ("max_net_exposure", self.max_net_exposure),
        ] {
            if limit.is_some_and(|money| money < 0) {
                return Err(invalid(field, "must not be negative"));
            }
        }
        if let Some(throttle) = &self.order_rate {
            throttle.validate("order_rate")?;
        }
        if let Some(throttle) = &self.cancel_rate {
            throttle.validate("cancel_rate")?;
        }
        if self.daily_loss_limit.is_some_and(|money| money <= 0) {
            return Err(invalid("daily_loss_limit", "must be positive"));
        }
        if self.circuit_breaker_state == TradingState::Active {
            return Err(invalid(
                "circuit_breaker_state",
                "must be REDUCING or HALTED",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collar_in_bps_is_exact_at_the_edge() {
        let collar = PriceCollar::Bps(50);
        // 0.5% of 10_000 ticks is 50 ticks.
        assert!(collar.admits(10_050, 10_000));
        assert!(collar.admits(9_950, 10_000));
        assert!(!collar.admits(10_051, 10_000));
        assert!(!collar.admits(9_949, 10_000));
        assert!(PriceCollar::Disabled.admits(1, i64::MAX));
    }

    #[test]
    fn collar_in_ticks_is_symmetric() {
        let collar = PriceCollar::Ticks(3);
        assert!(collar.admits(103, 100));
        assert!(collar.admits(97, 100));
        assert!(!collar.admits(104, 100));
        assert!(!collar.admits(96, 100));
    }

    #[test]
    fn invalid_instrument_limits_name_their_field() {
        let cases = [
            (
                InstrumentLimits {
                    max_order_quantity: Some(0),
                    ..Default::default()
                },
                "max_order_quantity",
            ),
            (
                InstrumentLimits {
                    max_order_notional: Some(-1),
                    ..Default::default()
                },
                "max_order_notional",
            ),
            (
                InstrumentLimits {
                    price_collar: PriceCollar::Bps(0),
                    ..Default::default()
                },
                "collar_bps",
            ),
            (
                InstrumentLimits {
                    price_collar: PriceCollar::Ticks(-2),
                    ..Default::default()
                },
                "collar_ticks",
            ),
            (
                InstrumentLimits {
                    max_long_position: Some(-1),
                    ..Default::default()
                },
                "max_long_position",
            ),
            (
                InstrumentLimits {
                    max_short_position: Some(-1),
                    ..Default::default()
                },
                "max_short_position",
            ),
        ];
        for (limits, field) in cases {
            assert_eq!(limits.validate().map_err(|e| e.field), Err(field));
        }
        let zero_positions = InstrumentLimits {
            max_long_position: Some(0),
            max_short_position: Some(0),
            ..Default::default()
        };
        assert_eq!(zero_positions.validate(), Ok(()));
    }

    #[test]
    fn invalid_account_limits_name_their_field() {
        let cases = [
            (
                AccountLimits {
                    max_open_orders: 0,
                    ..Default::default()
                },
                "max_open_orders",
            ),
            (
                AccountLimits {
                    max_open_orders: MAX_OPEN_ORDERS_CAPACITY + 1,
                    ..Default::default()
                },
                "max_open_orders",
            ),
            (
                AccountLimits {
                    max_gross_exposure: Some(-1),
                    ..Default::default()
                },
                "max_gross_exposure",
            ),
            (
                AccountLimits {
                    max_net_exposure: Some(-1),
                    ..Default::default()
                },
                "max_net_exposure",
            ),
            (
                AccountLimits {
                    order_rate: Some(ThrottleLimit::per_second(0, 1)),
                    ..Default::default()
                },
                "order_rate",
            ),
            (
                AccountLimits {
                    cancel_rate: Some(ThrottleLimit::per_second(1, 0)),
                    ..Default::default()
                },
                "cancel_rate",
            ),
            (
                AccountLimits {
                    daily_loss_limit: Some(0),
                    ..Default::default()
                },
                "daily_loss_limit",
            ),
            (
                AccountLimits {
                    circuit_breaker_state: TradingState::Active,
                    ..Default::default()
                },
                "circuit_breaker_state",
            ),
        ];
        for (limits, field) in cases {
            assert_eq!(limits.validate().map_err(|e| e.field), Err(field));
        }
        assert_eq!(AccountLimits::default().validate(), Ok(()));
    }
}
