//! Synthetic market data from the core's order-flow model, as NumPy record arrays.

use hftcore_core::book::OrderBookL3;
use hftcore_core::replay::synthetic::{l2_from_l3, OrderFlowModel};
use hftcore_core::replay::{L2DeltaRecord, L3MessageRecord};
use numpy::PyArray1;
use pyo3::prelude::*;

use crate::book::{book_error, l2_delta_dtype, l3_message_dtype, record_slice};
use crate::errors::value_error;

/// Copies records into a new NumPy array of the given structured dtype.
pub fn to_array<'py, T: bytemuck::Pod>(
    py: Python<'py>,
    records: &[T],
    dtype: Bound<'py, numpy::PyArrayDescr>,
) -> PyResult<Bound<'py, PyAny>> {
    let bytes = PyArray1::<u8>::from_slice(py, bytemuck::cast_slice(records));
    bytes.call_method1("view", (dtype,))
}

/// Generates at least ``count`` L3 messages (``L3_MESSAGE_DTYPE``) from the seeded
/// zero-intelligence order-flow model documented in ``docs/order-books.md``.
#[pyfunction]
#[pyo3(signature = (count, seed=7, initial_price=100_000, limit_rate=1.0, market_rate=0.12,
    cancel_rate=0.0002, distance_decay=0.25, mean_size=10.0, max_live_orders=20_000,
    mean_interval_ns=50_000.0, start_ts=1_700_000_000_000_000_000))]
#[allow(clippy::too_many_arguments)]
pub fn synthetic_l3_messages<'py>(
    py: Python<'py>,
    count: usize,
    seed: u64,
    initial_price: i64,
    limit_rate: f64,
    market_rate: f64,
    cancel_rate: f64,
    distance_decay: f64,
    mean_size: f64,
    max_live_orders: usize,
    mean_interval_ns: f64,
    start_ts: i64,
) -> PyResult<Bound<'py, PyAny>> {
    let model = OrderFlowModel {
        seed,
        initial_price,
        limit_rate,
        market_rate,
        cancel_rate,
        distance_decay,
        mean_size,
        max_live_orders,
        mean_interval_ns,
        start_ts,
    };
    let messages = py
        .detach(|| model.generate_l3(count))
        .map_err(value_error)?;
    to_array::<L3MessageRecord>(py, &messages, l3_message_dtype(py)?)
}

/// The L2 delta stream (``L2_DELTA_DTYPE``, sequence numbers from 1) implied by an L3 message
/// stream that starts from an empty book.
#[pyfunction]
pub fn l2_deltas_from_l3<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = l3_message_dtype(py)?;
    let messages = record_slice::<L3MessageRecord>(messages, &dtype)?;
    let deltas = py
        .detach(|| l2_from_l3(&mut OrderBookL3::new(), &messages, 1))
        .map_err(book_error)?;
    to_array::<L2DeltaRecord>(py, &deltas, l2_delta_dtype(py)?)
}
