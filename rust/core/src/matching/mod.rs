//! Order types, order events, the price-time matching engine and the simulated venue.

pub mod events;
pub mod order;
pub mod simulated;

pub use events::{CancelReason, Fill, Liquidity, OrderEvent, RejectReason};
pub use order::{OrderId, OrderType, SelfTradePrevention, TimeInForce, TradeId};
