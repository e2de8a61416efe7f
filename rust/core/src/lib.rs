//! hftcore core: limit order books, matching engine, simulated venue and pre-trade risk gate.
//!
//! Pure Rust with no Python in it; `rust/python` binds it as `hftcore._core`. Prices and
//! quantities are `i64` ticks and lots of the instrument ([`types`]); money is exact `i128`.

pub mod book;
pub mod matching;
pub mod replay;
pub mod risk;
pub mod types;
pub mod wire;

pub use types::{InstrumentSpec, Money, Price, Quantity, Rounding, Side, ValueError};
