//! Pre-trade risk gate: every order is checked here before it may reach a venue.
//!
//! [`RiskGate`] serves one account over several instruments. It checks orders against
//! per-instrument limits ([`InstrumentLimits`]: quantity, notional, price collar, long and short
//! position counting open orders) and account limits ([`AccountLimits`]: gross and net exposure,
//! open orders, order and cancel rate, daily loss), honours the kill switch and the trading state
//! ([`TradingState`]), and follows fills, order closes and prices. A check is O(1), allocates
//! nothing and answers with a one-byte [`RiskDecision`]. Timestamps are caller-supplied
//! nanoseconds, so a backtest reproduces live decisions exactly.

mod gate;
#[cfg(test)]
mod gate_tests;
mod limits;
mod open_orders;
mod position;
mod reason;
mod throttle;

pub use gate::{
    CircuitBreakerTrip, OrderRequest, RiskError, RiskGate, RiskPosition, SetLimitsError,
};
pub use limits::{
    AccountLimits, InstrumentLimits, LimitsError, PriceCollar, ThrottleLimit, BPS_DENOMINATOR,
    MAX_OPEN_ORDERS_CAPACITY, MAX_THROTTLE_CAPACITY,
};
pub use open_orders::OpenOrder;
pub use position::{cost_basis_at, Exposure, PositionState};
pub use reason::{RejectReason, RiskDecision, TradingState};
