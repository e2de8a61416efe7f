//! `OrderEvent`: the Python view of a core order event (one flat, frozen class so that a list of
//! events costs one small object each).

use hftcore_core::matching::{Liquidity, OrderEvent as CoreEvent};
use hftcore_core::Money;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

use crate::instrument::money_text;

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// One state change of an order, in the order the engine or venue produced it.
///
/// ``kind`` is one of ``"ACCEPTED"``, ``"REJECTED"``, ``"TRIGGERED"``, ``"REPLACED"``,
/// ``"FILLED"``, ``"CANCELED"``, ``"EXPIRED"``. Fields that do not apply to a kind are 0 or
/// empty. Prices are ticks, quantities lots; ``fee_raw`` is money in 1e-12 units (``fee`` gives
/// it as an exact ``Decimal``); ``reason`` is the reject or cancel reason code.
#[pyclass(module = "hftcore._core", frozen, get_all)]
#[derive(Clone)]
pub struct OrderEvent {
    pub kind: &'static str,
    pub order_id: u64,
    pub ts: i64,
    pub trade_id: u64,
    /// 0 buy, 1 sell (fills only).
    pub side: u8,
    pub price: i64,
    pub quantity: i64,
    pub leaves: i64,
    /// "MAKER" or "TAKER" for fills, "" otherwise.
    pub liquidity: &'static str,
    pub fee_raw: Money,
    pub reason: &'static str,
}

impl OrderEvent {
    fn blank(kind: &'static str, order_id: u64, ts: i64) -> Self {
        OrderEvent {
            kind,
            order_id,
            ts,
            trade_id: 0,
            side: 0,
            price: 0,
            quantity: 0,
            leaves: 0,
            liquidity: "",
            fee_raw: 0,
            reason: "",
        }
    }
}

impl From<&CoreEvent> for OrderEvent {
    fn from(event: &CoreEvent) -> Self {
        match *event {
            CoreEvent::Accepted { order_id, ts } => OrderEvent::blank("ACCEPTED", order_id, ts),
            CoreEvent::Rejected {
                order_id,
                reason,
                ts,
            } => OrderEvent {
                reason: reason.code(),
                ..OrderEvent::blank("REJECTED", order_id, ts)
            },
            CoreEvent::Triggered { order_id, ts } => OrderEvent::blank("TRIGGERED", order_id, ts),
            CoreEvent::Replaced {
                order_id,
                price,
                quantity,
                leaves,
                ts,
            } => OrderEvent {
                price,
                quantity,
                leaves,
                ..OrderEvent::blank("REPLACED", order_id, ts)
            },
            CoreEvent::Filled(fill) => OrderEvent {
                trade_id: fill.trade_id,
                side: fill.side as u8,
                price: fill.price,
                quantity: fill.quantity,
                leaves: fill.leaves,
                liquidity: match fill.liquidity {
                    Liquidity::Maker => "MAKER",
                    Liquidity::Taker => "TAKER",
                },
                fee_raw: fill.fee,
                ..OrderEvent::blank("FILLED", fill.order_id, fill.ts)
            },
            CoreEvent::Canceled {
                order_id,
                reason,
                leaves,
                ts,
            } => OrderEvent {
                reason: reason.code(),
                leaves,
                ..OrderEvent::blank("CANCELED", order_id, ts)
            },
            CoreEvent::Expired {
                order_id,
                leaves,
                ts,
            } => OrderEvent {
                leaves,
                ..OrderEvent::blank("EXPIRED", order_id, ts)
            },
        }
    }
}

/// Converts core events into a Python list of `OrderEvent`.
pub fn to_python(py: Python<'_>, events: &[CoreEvent]) -> PyResult<Vec<Py<OrderEvent>>> {
    events
        .iter()
        .map(|event| Py::new(py, OrderEvent::from(event)))
        .collect()
}

#[pymethods]
impl OrderEvent {
    /// The fee as an exact ``decimal.Decimal`` (negative is a rebate).
    #[getter]
    fn fee<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let decimal = DECIMAL.import(py, "decimal", "Decimal")?;
        decimal.call1((money_text(self.fee_raw),))
    }

    fn __repr__(&self) -> String {
        match self.kind {
            "FILLED" => format!(
                "OrderEvent(FILLED order_id={} trade_id={} side={} price={} quantity={} leaves={} {} fee_raw={})",
                self.order_id, self.trade_id, self.side, self.price, self.quantity, self.leaves,
                self.liquidity, self.fee_raw
            ),
            kind => format!(
                "OrderEvent({kind} order_id={} price={} quantity={} leaves={} reason={:?})",
                self.order_id, self.price, self.quantity, self.leaves, self.reason
            ),
        }
    }

    fn __eq__(&self, other: &Self) -> bool {
        (
            self.kind,
            self.order_id,
            self.ts,
            self.trade_id,
            self.side,
            self.price,
        ) == (
            other.kind,
            other.order_id,
            other.ts,
            other.trade_id,
            other.side,
            other.price,
        ) && (
            self.quantity,
            self.leaves,
            self.liquidity,
            self.fee_raw,
            self.reason,
        ) == (
            other.quantity,
            other.leaves,
            other.liquidity,
            other.fee_raw,
            other.reason,
        )
    }
}
