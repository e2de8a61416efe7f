//! Limit order books: price-level (L2) and order-by-order (L3), with the features both share.

pub mod features;
pub mod l2;
pub mod l3;
pub mod ladder;

pub use features::{BookView, Crossing, Walk};
pub use l2::OrderBookL2;
pub use l3::{BookOrder, OrderBookL3};

use crate::matching::OrderId;
use crate::types::{Price, Quantity};
use thiserror::Error;

/// Why a book operation was refused; the book is unchanged after any of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("price must be positive, got {0} ticks")]
    InvalidPrice(Price),
    #[error("quantity must not be negative, got {0} lots")]
    InvalidQuantity(Quantity),
    #[error("order quantity must be positive, got {0} lots")]
    NonPositiveOrderQuantity(Quantity),
    #[error("price {0} appears twice on one side of the snapshot")]
    DuplicateLevel(Price),
    #[error("unknown order id {0}")]
    UnknownOrder(OrderId),
    #[error("order id {0} is already in the book")]
    DuplicateOrderId(OrderId),
    #[error("order {order_id} has {available} lots, cannot take {requested}")]
    QuantityExceedsOrder {
        order_id: OrderId,
        available: Quantity,
        requested: Quantity,
    },
    #[error("sequence gap: expected {expected}, received {received}")]
    SequenceGap { expected: u64, received: u64 },
    #[error("stale sequence: last applied {last}, received {received}")]
    StaleSequence { last: u64, received: u64 },
    #[error("unknown action code {0}")]
    UnknownAction(u8),
}

impl BookError {
    /// Machine-readable reason code, identical in Rust, Python and docs.
    pub fn code(&self) -> &'static str {
        match self {
            BookError::InvalidPrice(_) => "INVALID_PRICE",
            BookError::InvalidQuantity(_) | BookError::NonPositiveOrderQuantity(_) => {
                "INVALID_QUANTITY"
            }
            BookError::DuplicateLevel(_) => "DUPLICATE_LEVEL",
            BookError::UnknownOrder(_) => "UNKNOWN_ORDER",
            BookError::DuplicateOrderId(_) => "DUPLICATE_ORDER_ID",
            BookError::QuantityExceedsOrder { .. } => "QUANTITY_EXCEEDS_ORDER",
            BookError::SequenceGap { .. } => "SEQUENCE_GAP",
            BookError::StaleSequence { .. } => "STALE_SEQUENCE",
            BookError::UnknownAction(_) => "UNKNOWN_ACTION",
        }
    }
}

/// Venue sequence numbers: each update must carry the last one plus one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SequenceTracker {
    last: Option<u64>,
}

impl SequenceTracker {
    pub fn check(&self, sequence: u64) -> Result<(), BookError> {
        match self.last {
            None => Ok(()),
            Some(last) if sequence <= last => Err(BookError::StaleSequence {
                last,
                received: sequence,
            }),
            Some(last) if sequence != last + 1 => Err(BookError::SequenceGap {
                expected: last + 1,
                received: sequence,
            }),
            Some(_) => Ok(()),
        }
    }

    pub fn accept(&mut self, sequence: u64) {
        self.last = Some(sequence);
    }

    pub fn reset(&mut self, sequence: Option<u64>) {
        self.last = sequence;
    }

    pub fn last(&self) -> Option<u64> {
        self.last
    }
}
