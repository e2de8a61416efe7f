//! Venue wire messages decoded in the core: only those on a feed's hot path, where building a
//! Python object per book level (principle 3 of the design) would cost more than the whole
//! update. Each decoder reads the frame's bytes once and yields exact ticks and lots.

pub mod binance;
pub mod kraken;

use thiserror::Error;

/// Why a frame could not be decoded: its JSON does not have the message's shape.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("malformed {message}: {detail}")]
pub struct MalformedFrame {
    pub message: &'static str,
    pub detail: String,
}
