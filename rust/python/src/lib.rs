//! PyO3 bindings of `hftcore-core` as the extension module `hftcore._core`.
//!
//! Thin by design: argument conversion, error mapping and GIL handling only; every trading rule
//! lives in the core crate.

use pyo3::prelude::*;

mod book;
mod errors;
mod events;
mod instrument;
mod matching;
mod replay;
mod risk;
mod venue;
mod wire;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<instrument::Instrument>()?;
    module.add_class::<events::OrderEvent>()?;
    module.add_class::<book::OrderBookL2>()?;
    module.add_class::<book::OrderBookL3>()?;
    module.add_class::<book::ReplayResult>()?;
    let py = module.py();
    module.add("L2_DELTA_DTYPE", book::l2_delta_dtype(py)?)?;
    module.add("L3_MESSAGE_DTYPE", book::l3_message_dtype(py)?)?;
    module.add_function(wrap_pyfunction!(replay::synthetic_l3_messages, module)?)?;
    module.add_function(wrap_pyfunction!(replay::l2_deltas_from_l3, module)?)?;
    module.add_class::<venue::SimulatedVenue>()?;
    module.add_class::<venue::LatencyModel>()?;
    module.add_class::<venue::QueueModel>()?;
    module.add_class::<venue::VenueOrder>()?;
    module.add_class::<venue::VenueReplayResult>()?;
    module.add_class::<venue::L2Stepper>()?;
    module.add("TRADE_DTYPE", venue::trade_dtype(py)?)?;
    module.add_function(wrap_pyfunction!(venue::l2_replay_from_l3, module)?)?;
    module.add_class::<risk::RiskGate>()?;
    module.add_function(wrap_pyfunction!(risk::risk_reject_reasons, module)?)?;
    module.add_class::<matching::MatchingEngine>()?;
    module.add_class::<matching::WorkingOrder>()?;
    module.add_class::<wire::BinanceDepthUpdate>()?;
    module.add_function(wrap_pyfunction!(wire::decode_binance_depth, module)?)?;
    module.add_function(wrap_pyfunction!(wire::kraken_book_checksum, module)?)?;
    Ok(())
}
