//! Order types, order events, the price-time matching engine and the simulated venue.

pub mod engine;
pub mod events;
pub mod order;
pub mod simulated;

pub use engine::{
    LevelView, MatchingEngine, ModifyRequest, OrderRequest, OrderView, PostOnly, SnapshotError,
    WorkingState,
};
pub use events::{CancelReason, Fill, Liquidity, OrderEvent, RejectReason};
pub use order::{OrderId, OrderType, SelfTradePrevention, TimeInForce, TradeId};
