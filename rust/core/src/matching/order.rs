//! Order vocabulary shared by the matching engine and the simulated venue.

use crate::types::ValueError;

/// Client order id, unique per engine or venue.
pub type OrderId = u64;
/// Trade id, assigned by the engine or venue in increasing order.
pub type TradeId = u64;

/// How an order is priced and when it becomes active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OrderType {
    Market = 0,
    Limit = 1,
    /// Becomes a market order when the last trade reaches the trigger price.
    Stop = 2,
    /// Becomes a limit order when the last trade reaches the trigger price.
    StopLimit = 3,
    /// Executes as a market order; any remainder rests as a limit at the first fill's price.
    MarketToLimit = 4,
}

impl OrderType {
    pub fn from_code(code: u8) -> Result<Self, ValueError> {
        Ok(match code {
            0 => OrderType::Market,
            1 => OrderType::Limit,
            2 => OrderType::Stop,
            3 => OrderType::StopLimit,
            4 => OrderType::MarketToLimit,
            other => {
                return Err(ValueError::InvalidSpec(format!(
                    "order type code {other} is not 0..=4"
                )))
            }
        })
    }
}

/// How long an order stays working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till canceled.
    Gtc = 0,
    /// Immediate or cancel: the unfilled remainder is canceled.
    Ioc = 1,
    /// Fill or kill: fills completely at once or not at all.
    Fok = 2,
    /// Expires at the session end given by the caller.
    Day = 3,
    /// Good till the order's expiry timestamp.
    Gtd = 4,
}

impl TimeInForce {
    pub fn from_code(code: u8) -> Result<Self, ValueError> {
        Ok(match code {
            0 => TimeInForce::Gtc,
            1 => TimeInForce::Ioc,
            2 => TimeInForce::Fok,
            3 => TimeInForce::Day,
            4 => TimeInForce::Gtd,
            other => {
                return Err(ValueError::InvalidSpec(format!(
                    "time in force code {other} is not 0..=4"
                )))
            }
        })
    }
}

/// What happens when an order would trade with a resting order of the same owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SelfTradePrevention {
    /// Self trades are allowed.
    None = 0,
    /// The incoming (newest) order's remainder is canceled.
    CancelNewest = 1,
    /// The resting (oldest) order is canceled and matching goes on.
    CancelOldest = 2,
    /// Both orders are canceled.
    CancelBoth = 3,
    /// Both are reduced by the smaller quantity without a trade; one reaching zero is canceled.
    Decrement = 4,
}

impl SelfTradePrevention {
    pub fn from_code(code: u8) -> Result<Self, ValueError> {
        Ok(match code {
            0 => SelfTradePrevention::None,
            1 => SelfTradePrevention::CancelNewest,
            2 => SelfTradePrevention::CancelOldest,
            3 => SelfTradePrevention::CancelBoth,
            4 => SelfTradePrevention::Decrement,
            other => {
                return Err(ValueError::InvalidSpec(format!(
                    "self-trade prevention code {other} is not 0..=4"
                )))
            }
        })
    }
}
