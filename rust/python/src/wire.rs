//! Venue wire decoders of the core (`hftcore_core::wire`) for the feeds' hot paths.

use hftcore_core::wire::binance::{decode_depth_update, DepthUpdate, LevelChange};
use hftcore_core::wire::kraken::book_checksum;
use hftcore_core::{Price, Quantity};
use pyo3::prelude::*;
use pyo3::types::{PyIterator, PyList};

use crate::book::{book_error, OrderBookL2};
use crate::errors::{raise, value_error};
use crate::instrument::Instrument;

/// A Binance spot depth update decoded from its combined-stream frame: the update ids, the
/// event time and the changed levels in exact ticks and lots of the instrument, kept in the
/// core until :meth:`apply_to` writes them into a book (no Python object per level).
///
/// Iterating it gives the changes as ``(side, price, quantity)`` tuples. A value that is not on
/// the instrument's grid (or negative, or not a number) does not stop the decode: the ids are
/// still read, so synchronisation can follow the sequence, and :meth:`apply_to`, ``len`` and
/// iteration raise ``InvalidValue`` naming the value.
#[pyclass(module = "hftcore._core", frozen)]
pub struct BinanceDepthUpdate {
    update: DepthUpdate,
}

impl BinanceDepthUpdate {
    fn valid_changes(&self) -> PyResult<&[LevelChange]> {
        match &self.update.changes {
            Ok(changes) => Ok(changes),
            Err(error) => Err(value_error(error.clone())),
        }
    }
}

#[pymethods]
impl BinanceDepthUpdate {
    /// Binance's event time (``E``), ms since the epoch.
    #[getter]
    fn event_time_ms(&self) -> i64 {
        self.update.event_time_ms
    }

    /// ``U``: the first update id in the event.
    #[getter]
    fn first_update_id(&self) -> u64 {
        self.update.first_update_id
    }

    /// ``u``: the final update id in the event.
    #[getter]
    fn final_update_id(&self) -> u64 {
        self.update.final_update_id
    }

    /// The number of changed levels.
    fn __len__(&self) -> PyResult<usize> {
        self.valid_changes().map(<[LevelChange]>::len)
    }

    /// ``(side, price ticks, quantity lots)`` of every changed level, bids first; a quantity
    /// of 0 removes the level. Built only when iterated: a handler that does not look at the
    /// levels costs no Python object per level.
    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyIterator>> {
        let changes: Vec<(u8, Price, Quantity)> = self
            .valid_changes()?
            .iter()
            .map(|&(side, price, quantity)| (side as u8, price, quantity))
            .collect();
        PyList::new(py, changes)?.try_iter()
    }

    /// Writes every change into ``book``, all or none.
    fn apply_to(&self, mut book: PyRefMut<'_, OrderBookL2>) -> PyResult<()> {
        let changes = self.valid_changes()?;
        book.book.apply_changes(changes).map_err(book_error)
    }

    fn __repr__(&self) -> String {
        let levels = match &self.update.changes {
            Ok(changes) => format!("{} levels", changes.len()),
            Err(error) => format!("invalid: {error}"),
        };
        format!(
            "BinanceDepthUpdate(U={}, u={}, E={}, {levels})",
            self.update.first_update_id, self.update.final_update_id, self.update.event_time_ms
        )
    }
}

/// Decodes a Binance combined-stream depth frame (``{"stream": ..., "data": {"e":
/// "depthUpdate", ...}}``) for ``instrument``; a frame without that shape raises
/// ``InvalidValue`` with code ``MALFORMED_FRAME``.
#[pyfunction]
pub fn decode_binance_depth(
    py: Python<'_>,
    frame: &[u8],
    instrument: &Bound<'_, Instrument>,
) -> PyResult<BinanceDepthUpdate> {
    decode_depth_update(frame, &instrument.get().spec)
        .map(|update| BinanceDepthUpdate { update })
        .map_err(|error| raise(py, "InvalidValue", "MALFORMED_FRAME", error.to_string()))
}

/// Kraken's WebSocket v2 checksum of ``book`` (CRC32 over its top 10 asks then top 10 bids,
/// written at the instrument's precision without the point and leading zeros), to compare
/// with the ``checksum`` of a book message.
#[pyfunction]
pub fn kraken_book_checksum(py: Python<'_>, book: PyRef<'_, OrderBookL2>) -> u32 {
    book_checksum(&book.book, &book.instrument.bind(py).get().spec)
}
