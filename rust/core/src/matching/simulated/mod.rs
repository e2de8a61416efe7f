//! Simulated venue for backtests: our orders rest in a book replayed from market data (L2 or
//! L3), with queue position, separate feed / order-entry / response latencies, optional market
//! impact, and fees; deterministic for a given seed and input.
//!
//! See `docs/simulated-venue.md` for the models and their formulas.

pub mod latency;
pub mod queue;
pub mod replay;
pub mod state;
pub mod stepper;
pub mod venue;

#[cfg(test)]
mod venue_tests;

pub use latency::{Latency, LatencyDistribution, LatencyModel, LatencyTable, MAX_LATENCY_NS};
pub use queue::QueueModel;
pub use replay::{
    l2_replay_from_l3, L2FeedColumns, RecordArray, RecordError, TradeRecord, VenueReplaySummary,
};
pub use stepper::{L2Chunk, L2Stepper, Step, StepEnd, StepError, StepLimits};
pub use venue::{NewOrder, OpenOrder, OrderKind, SimulatedVenue};

use thiserror::Error;

use crate::book::BookError;
use crate::matching::order::{OrderId, TimeInForce};
use crate::types::{Price, Quantity};

/// What kind of market data the venue replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataKind {
    /// Price levels (market by price) and trade prints.
    L2,
    /// Order by order (market by order).
    L3,
}

impl DataKind {
    pub fn name(self) -> &'static str {
        match self {
            DataKind::L2 => "L2",
            DataKind::L3 => "L3",
        }
    }
}

/// Everything that shapes a simulation besides the instrument and the data.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueConfig {
    pub data: DataKind,
    /// [`QueueModel::Fifo`] for L3 data; one of the L2 models otherwise.
    pub queue_model: QueueModel,
    /// Exchange timestamp of a market data event to the local time the strategy sees it.
    pub feed_latency: LatencyModel,
    /// Local time an order command is sent to the time it reaches the venue.
    pub order_latency: LatencyModel,
    /// Venue time a response is sent to the local time the strategy sees it.
    pub response_latency: LatencyModel,
    /// When on, our taker fills remove displayed liquidity from the venue's view of a level
    /// until the next market update of that level.
    pub market_impact: bool,
    /// Seed of the queue model's generator.
    pub seed: u64,
}

impl VenueConfig {
    /// L2 data with the given queue model, no latency, no impact, seed 0.
    pub fn l2(queue_model: QueueModel) -> Self {
        VenueConfig {
            data: DataKind::L2,
            queue_model,
            feed_latency: LatencyModel::Constant(0),
            order_latency: LatencyModel::Constant(0),
            response_latency: LatencyModel::Constant(0),
            market_impact: false,
            seed: 0,
        }
    }

    /// L3 data with exact FIFO queue position, no latency, no impact, seed 0.
    pub fn l3() -> Self {
        VenueConfig {
            data: DataKind::L3,
            queue_model: QueueModel::Fifo,
            ..VenueConfig::l2(QueueModel::Fifo)
        }
    }

    pub fn validate(&self) -> Result<(), VenueError> {
        self.queue_model.validate()?;
        match (self.data, self.queue_model) {
            (DataKind::L3, QueueModel::Fifo) => {}
            (DataKind::L3, model) => {
                return Err(VenueError::InvalidQueueModel(format!(
                    "L3 data gives the exact queue, so the queue model must be Fifo, got {model:?}"
                )))
            }
            (DataKind::L2, QueueModel::Fifo) => {
                return Err(VenueError::InvalidQueueModel(
                    "L2 data has no order-by-order queue; use RiskAverse, Power or Log".into(),
                ))
            }
            (DataKind::L2, _) => {}
        }
        for model in [
            &self.feed_latency,
            &self.order_latency,
            &self.response_latency,
        ] {
            model.validate()?;
        }
        Ok(())
    }
}

/// Why the venue refused a call; the venue is unchanged after any of these.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VenueError {
    #[error("invalid latency model: {0}")]
    InvalidLatency(String),
    #[error("invalid queue model: {0}")]
    InvalidQueueModel(String),
    #[error("timestamp {ts} is before the venue time {now}")]
    TimestampBeforeVenueTime { ts: i64, now: i64 },
    #[error("{operation} needs {expected} market data, but this venue replays {actual}")]
    WrongDataKind {
        operation: &'static str,
        expected: &'static str,
        actual: &'static str,
    },
    #[error("price must be positive, got {0} ticks")]
    NonPositivePrice(Price),
    #[error("quantity must be positive, got {0} lots")]
    NonPositiveQuantity(Quantity),
    #[error("{price} ticks x {quantity} lots overflows the notional range")]
    Overflow { price: Price, quantity: Quantity },
    #[error("order id {0} is already working or on its way to the venue")]
    DuplicateOrderId(OrderId),
    #[error("time in force {0:?} is not supported by the simulated venue (GTC, IOC, FOK are)")]
    UnsupportedTimeInForce(TimeInForce),
    #[error("unknown aggressor side code {0}")]
    UnknownSide(u8),
    #[error(transparent)]
    Book(#[from] BookError),
    #[error("invalid venue snapshot: {0}")]
    InvalidSnapshot(String),
}

impl VenueError {
    /// Machine-readable reason code, identical in Rust, Python and the docs.
    pub fn code(&self) -> &'static str {
        match self {
            VenueError::InvalidLatency(_) => "INVALID_LATENCY",
            VenueError::InvalidQueueModel(_) => "INVALID_QUEUE_MODEL",
            VenueError::TimestampBeforeVenueTime { .. } => "TIMESTAMP_BEFORE_VENUE_TIME",
            VenueError::WrongDataKind { .. } => "WRONG_DATA_KIND",
            VenueError::NonPositivePrice(_) => "NON_POSITIVE_PRICE",
            VenueError::NonPositiveQuantity(_) => "NON_POSITIVE_QUANTITY",
            VenueError::Overflow { .. } => "OVERFLOW",
            VenueError::DuplicateOrderId(_) => "DUPLICATE_ORDER_ID",
            VenueError::UnsupportedTimeInForce(_) => "INVALID_TIME_IN_FORCE",
            VenueError::UnknownSide(_) => "UNKNOWN_SIDE",
            VenueError::Book(error) => error.code(),
            VenueError::InvalidSnapshot(_) => "INVALID_SNAPSHOT",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_model_must_match_the_data_kind() {
        assert!(VenueConfig::l3().validate().is_ok());
        assert!(VenueConfig::l2(QueueModel::Log).validate().is_ok());
        assert!(matches!(
            VenueConfig::l2(QueueModel::Fifo).validate(),
            Err(VenueError::InvalidQueueModel(_))
        ));
        let l3_with_l2_model = VenueConfig {
            queue_model: QueueModel::RiskAverse,
            ..VenueConfig::l3()
        };
        assert!(matches!(
            l3_with_l2_model.validate(),
            Err(VenueError::InvalidQueueModel(_))
        ));
        let bad_latency = VenueConfig {
            response_latency: LatencyModel::Constant(-5),
            ..VenueConfig::l3()
        };
        assert_eq!(
            bad_latency.validate().map_err(|error| error.code()),
            Err("INVALID_LATENCY")
        );
    }
}
