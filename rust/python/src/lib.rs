//! PyO3 bindings of `hftcore-core` as the extension module `hftcore._core`.
//!
//! Thin by design: argument conversion, error mapping and GIL handling only; every trading rule
//! lives in the core crate.

use pyo3::prelude::*;

mod errors;
mod events;
mod instrument;
mod matching;

#[pymodule]
fn _core(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<instrument::Instrument>()?;
    module.add_class::<events::OrderEvent>()?;
    module.add_class::<matching::MatchingEngine>()?;
    module.add_class::<matching::WorkingOrder>()?;
    Ok(())
}
