//! Order events: every state change of an order is one of these, emitted in order.

use crate::matching::order::{OrderId, TradeId};
use crate::types::{Money, Price, Quantity, Side};

/// Whether a fill added liquidity (resting order) or took it (incoming order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Liquidity {
    Maker = 0,
    Taker = 1,
}

/// Why an order was refused on entry or a modification refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum RejectReason {
    DuplicateOrderId = 1,
    UnknownOrder = 2,
    UnknownInstrument = 3,
    InvalidQuantity = 4,
    InvalidPrice = 5,
    QuantityBelowMinimum = 6,
    QuantityAboveMaximum = 7,
    NotionalBelowMinimum = 8,
    PostOnlyWouldCross = 9,
    ReduceOnlyWouldIncrease = 10,
    InvalidTimeInForce = 11,
    InvalidDisplayQuantity = 12,
    InvalidExpiry = 13,
    OrderNotModifiable = 14,
    NoLiquidity = 15,
    InvalidTriggerPrice = 16,
    /// Post-only on an order that is not a resting limit order (market, stop, IOC, FOK).
    PostOnlyNotAllowed = 17,
    /// Price x quantity beyond what fee arithmetic can hold exactly.
    NotionalTooLarge = 18,
}

impl RejectReason {
    /// Machine-readable name, identical in Rust, Python and the docs.
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::DuplicateOrderId => "DUPLICATE_ORDER_ID",
            RejectReason::UnknownOrder => "UNKNOWN_ORDER",
            RejectReason::UnknownInstrument => "UNKNOWN_INSTRUMENT",
            RejectReason::InvalidQuantity => "INVALID_QUANTITY",
            RejectReason::InvalidPrice => "INVALID_PRICE",
            RejectReason::QuantityBelowMinimum => "QUANTITY_BELOW_MINIMUM",
            RejectReason::QuantityAboveMaximum => "QUANTITY_ABOVE_MAXIMUM",
            RejectReason::NotionalBelowMinimum => "NOTIONAL_BELOW_MINIMUM",
            RejectReason::PostOnlyWouldCross => "POST_ONLY_WOULD_CROSS",
            RejectReason::ReduceOnlyWouldIncrease => "REDUCE_ONLY_WOULD_INCREASE",
            RejectReason::InvalidTimeInForce => "INVALID_TIME_IN_FORCE",
            RejectReason::InvalidDisplayQuantity => "INVALID_DISPLAY_QUANTITY",
            RejectReason::InvalidExpiry => "INVALID_EXPIRY",
            RejectReason::OrderNotModifiable => "ORDER_NOT_MODIFIABLE",
            RejectReason::NoLiquidity => "NO_LIQUIDITY",
            RejectReason::InvalidTriggerPrice => "INVALID_TRIGGER_PRICE",
            RejectReason::PostOnlyNotAllowed => "POST_ONLY_NOT_ALLOWED",
            RejectReason::NotionalTooLarge => "NOTIONAL_TOO_LARGE",
        }
    }
}

/// Why a working order stopped working without being filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CancelReason {
    /// The owner asked (cancel, cancel-all, or a modify down to nothing).
    Requested = 0,
    /// Remainder of an IOC or market order.
    ImmediateOrCancel = 1,
    /// A fill-or-kill order that could not fill completely.
    FillOrKill = 2,
    /// Self-trade prevention.
    SelfTrade = 3,
    /// A reduce-only order trimmed away because the position it reduced is gone.
    ReduceOnly = 4,
    /// A market order found no (more) liquidity.
    NoLiquidity = 5,
}

impl CancelReason {
    pub fn code(self) -> &'static str {
        match self {
            CancelReason::Requested => "REQUESTED",
            CancelReason::ImmediateOrCancel => "IMMEDIATE_OR_CANCEL",
            CancelReason::FillOrKill => "FILL_OR_KILL",
            CancelReason::SelfTrade => "SELF_TRADE",
            CancelReason::ReduceOnly => "REDUCE_ONLY",
            CancelReason::NoLiquidity => "NO_LIQUIDITY",
        }
    }
}

/// One execution of one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub trade_id: TradeId,
    pub order_id: OrderId,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
    /// Quantity still working after this fill.
    pub leaves: Quantity,
    pub liquidity: Liquidity,
    /// Fee in money units; negative is a rebate.
    pub fee: Money,
    pub ts: i64,
}

/// A state change of an order. Timestamps are ns since the epoch at the engine or venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    Accepted {
        order_id: OrderId,
        ts: i64,
    },
    Rejected {
        order_id: OrderId,
        reason: RejectReason,
        ts: i64,
    },
    /// A stop or stop-limit order's trigger was reached; it is now working.
    Triggered {
        order_id: OrderId,
        ts: i64,
    },
    /// A modify took effect: new price and quantity (total, including filled).
    Replaced {
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
        leaves: Quantity,
        ts: i64,
    },
    Filled(Fill),
    Canceled {
        order_id: OrderId,
        reason: CancelReason,
        leaves: Quantity,
        ts: i64,
    },
    /// DAY order at session end, or GTD order at its expiry.
    Expired {
        order_id: OrderId,
        leaves: Quantity,
        ts: i64,
    },
}

impl OrderEvent {
    /// When the event happened (for a simulated venue: when the node sees it).
    pub fn ts(&self) -> i64 {
        match self {
            OrderEvent::Accepted { ts, .. }
            | OrderEvent::Rejected { ts, .. }
            | OrderEvent::Triggered { ts, .. }
            | OrderEvent::Replaced { ts, .. }
            | OrderEvent::Canceled { ts, .. }
            | OrderEvent::Expired { ts, .. } => *ts,
            OrderEvent::Filled(fill) => fill.ts,
        }
    }

    pub fn order_id(&self) -> OrderId {
        match self {
            OrderEvent::Accepted { order_id, .. }
            | OrderEvent::Rejected { order_id, .. }
            | OrderEvent::Triggered { order_id, .. }
            | OrderEvent::Replaced { order_id, .. }
            | OrderEvent::Canceled { order_id, .. }
            | OrderEvent::Expired { order_id, .. } => *order_id,
            OrderEvent::Filled(fill) => fill.order_id,
        }
    }
}
