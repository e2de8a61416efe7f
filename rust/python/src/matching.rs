//! `MatchingEngine`: the Python face of the core's price-time matching engine.
//!
//! Arguments are integer ticks, lots, ids and enum codes (the `IntEnum`s of
//! `hftcore.model.orders` are ints too). A value that is not an int, or does not fit its type,
//! raises `hftcore.errors.InvalidValue`; an order or request the engine refuses raises
//! `hftcore.errors.OrderRejected` whose `code` is the reject reason, and leaves the engine
//! unchanged. Everything else returns the list of `OrderEvent`s the call produced, in order.

use hftcore_core::matching::{
    MatchingEngine as CoreEngine, ModifyRequest, OrderEvent as CoreEvent, OrderRequest, OrderType,
    OrderView, PostOnly, RejectReason, SelfTradePrevention, TimeInForce, WorkingState,
};
use hftcore_core::{Side, ValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyInt};

use crate::errors::{raise, value_error};
use crate::events::{to_python, OrderEvent};
use crate::instrument::{parse_side, Instrument};

fn invalid(code: &str, message: String) -> PyErr {
    Python::attach(|py| raise(py, "InvalidValue", code, message))
}

/// An integer argument (an `int`, or any object with `__index__` such as a NumPy integer, but
/// not a `bool`) as `T`; otherwise `InvalidValue` (NOT_AN_INTEGER, NEGATIVE, OVERFLOW).
fn integer<T>(value: &Bound<'_, PyAny>, name: &str) -> PyResult<T>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    let is_bool = value.is_instance_of::<PyBool>();
    if !is_bool {
        let converted = match value.extract::<i64>() {
            Ok(small) => T::try_from(small).ok(),
            Err(_) => value
                .extract::<u64>()
                .ok()
                .and_then(|large| T::try_from(large).ok()),
        };
        if let Some(converted) = converted {
            return Ok(converted);
        }
    }
    let integral = !is_bool
        && (value.is_instance_of::<PyInt>() || value.hasattr("__index__").unwrap_or(false));
    if !integral {
        let type_name = value.get_type().name()?.to_string();
        return Err(invalid(
            "NOT_AN_INTEGER",
            format!("{name} must be an int, got {type_name}"),
        ));
    }
    let unsigned_target = T::try_from(-1i64).is_err();
    if unsigned_target && value.lt(0).unwrap_or(false) {
        return Err(invalid(
            "NEGATIVE",
            format!("{name} must not be negative, got {value}"),
        ));
    }
    Err(invalid(
        "OVERFLOW",
        format!("{name} {value} is out of range"),
    ))
}

fn code<E>(
    value: &Bound<'_, PyAny>,
    name: &str,
    reason: &str,
    parse: fn(u8) -> Result<E, ValueError>,
) -> PyResult<E> {
    let raw: u8 = integer(value, name)?;
    parse(raw).map_err(|error| invalid(reason, error.to_string()))
}

/// An optional enum code (None or absent gives `default`).
fn optional_code<E>(
    value: Option<&Bound<'_, PyAny>>,
    name: &str,
    reason: &str,
    parse: fn(u8) -> Result<E, ValueError>,
    default: E,
) -> PyResult<E> {
    value
        .filter(|value| !value.is_none())
        .map_or(Ok(default), |value| code(value, name, reason, parse))
}

fn optional<T>(value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<T>>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    value
        .filter(|value| !value.is_none())
        .map(|value| integer(value, name))
        .transpose()
}

fn reject_sentence(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::DuplicateOrderId => "an order with this id is already working",
        RejectReason::UnknownOrder => "no working order has this id",
        RejectReason::UnknownInstrument => "no instrument has this index",
        RejectReason::InvalidQuantity => "quantity must be positive",
        RejectReason::InvalidPrice => {
            "limit price must be positive for limit and stop-limit orders and 0 otherwise"
        }
        RejectReason::QuantityBelowMinimum => "quantity is below the instrument's minimum",
        RejectReason::QuantityAboveMaximum => {
            "quantity is above the instrument's maximum or its working total"
        }
        RejectReason::NotionalBelowMinimum => "notional is below the instrument's minimum",
        RejectReason::PostOnlyWouldCross => "a post-only order would take liquidity",
        RejectReason::ReduceOnlyWouldIncrease => "a reduce-only order would increase the position",
        RejectReason::InvalidTimeInForce => "time in force does not fit the order type",
        RejectReason::InvalidDisplayQuantity => {
            "display quantity must be 0, or within min quantity and quantity on an order that rests"
        }
        RejectReason::InvalidExpiry => {
            "GTD orders need an expiry after ts; other orders must have expiry 0"
        }
        RejectReason::OrderNotModifiable => {
            "only orders resting in the book can be modified (cancel and resubmit a stop)"
        }
        RejectReason::NoLiquidity => "no liquidity",
        RejectReason::InvalidTriggerPrice => {
            "trigger price must be positive for stops and 0 otherwise"
        }
        RejectReason::PostOnlyNotAllowed => {
            "post-only applies to GTC, DAY or GTD limit orders only"
        }
        RejectReason::NotionalTooLarge => "price x quantity is too large",
    }
}

/// The call's events, or `OrderRejected` if the engine refused it (then the only event).
fn outcome(py: Python<'_>, events: &[CoreEvent]) -> PyResult<Vec<Py<OrderEvent>>> {
    if let [CoreEvent::Rejected {
        order_id, reason, ..
    }] = events
    {
        return Err(raise(
            py,
            "OrderRejected",
            reason.code(),
            format!("order {order_id}: {}", reject_sentence(*reason)),
        ));
    }
    to_python(py, events)
}

/// A working order as the engine sees it (finished orders are forgotten).
///
/// Enum fields are codes: ``side`` 0 buy / 1 sell, ``order_type`` see ``OrderType``,
/// ``time_in_force`` see ``TimeInForce``, ``post_only`` see ``PostOnly``,
/// ``self_trade_prevention`` see ``SelfTradePrevention``. ``state`` is ``"RESTING"`` or
/// ``"AWAITING_TRIGGER"``; ``visible`` is the shown part of a resting order (0 for a stop).
#[pyclass(module = "hftcore._core", frozen, get_all)]
pub struct WorkingOrder {
    order_id: u64,
    owner: u32,
    instrument: u32,
    side: u8,
    order_type: u8,
    time_in_force: u8,
    price: i64,
    trigger_price: i64,
    quantity: i64,
    leaves: i64,
    filled: i64,
    visible: i64,
    display_quantity: i64,
    post_only: u8,
    reduce_only: bool,
    self_trade_prevention: u8,
    expire_ts: i64,
    state: &'static str,
}

impl From<OrderView> for WorkingOrder {
    fn from(view: OrderView) -> Self {
        WorkingOrder {
            order_id: view.order_id,
            owner: view.owner,
            instrument: view.instrument,
            side: view.side as u8,
            order_type: view.order_type as u8,
            time_in_force: view.time_in_force as u8,
            price: view.price,
            trigger_price: view.trigger_price,
            quantity: view.quantity,
            leaves: view.leaves,
            filled: view.filled,
            visible: view.visible,
            display_quantity: view.display_quantity,
            post_only: view.post_only as u8,
            reduce_only: view.reduce_only,
            self_trade_prevention: view.self_trade_prevention as u8,
            expire_ts: view.expire_ts,
            state: match view.state {
                WorkingState::Resting => "RESTING",
                WorkingState::AwaitingTrigger => "AWAITING_TRIGGER",
            },
        }
    }
}

#[pymethods]
impl WorkingOrder {
    fn __repr__(&self) -> String {
        format!(
            "WorkingOrder(order_id={} owner={} side={} price={} quantity={} leaves={} {})",
            self.order_id,
            self.owner,
            self.side,
            self.price,
            self.quantity,
            self.leaves,
            self.state
        )
    }
}

/// Continuous price-time matching engine over several instruments (exchange semantics).
///
/// Prices are integer ticks and quantities integer lots of each instrument (convert with
/// ``Instrument.price_to_ticks`` / ``quantity_to_lots``); timestamps are ns since the epoch,
/// supplied by the caller. Deterministic: the same calls give the same events, bit for bit.
/// Supports ``pickle`` and ``copy`` (the snapshot is exact).
#[pyclass(module = "hftcore._core")]
pub struct MatchingEngine {
    engine: CoreEngine,
    instruments: Vec<Instrument>,
}

impl MatchingEngine {
    fn instrument_index(&self, instrument: &Bound<'_, PyAny>) -> PyResult<u32> {
        let index: u32 = integer(instrument, "instrument")?;
        if index as usize >= self.instruments.len() {
            return Err(invalid(
                "UNKNOWN_INSTRUMENT",
                format!("no instrument has index {index}"),
            ));
        }
        Ok(index)
    }

    fn side_of(side: &Bound<'_, PyAny>) -> PyResult<Side> {
        parse_side(integer(side, "side")?)
    }
}

#[pymethods]
impl MatchingEngine {
    #[new]
    fn new() -> Self {
        MatchingEngine {
            engine: CoreEngine::new(),
            instruments: Vec::new(),
        }
    }

    /// Adds an instrument; returns its index (0, 1, 2, ...), used by every other call.
    fn add_instrument(&mut self, instrument: &Instrument) -> PyResult<u32> {
        let index = self
            .engine
            .add_instrument(instrument.spec.clone())
            .map_err(value_error)?;
        self.instruments.push(instrument.clone());
        Ok(index)
    }

    /// The instruments, in index order.
    #[getter]
    fn instruments(&self) -> Vec<Instrument> {
        self.instruments.clone()
    }

    /// Submits an order and returns its events (and those of the orders it traded with).
    ///
    /// ``order_type`` defaults to LIMIT and ``time_in_force`` to GTC. ``price`` is the limit in
    /// ticks (0 for MARKET, STOP and MARKET_TO_LIMIT); ``trigger_price`` is for STOP and
    /// STOP_LIMIT only; ``display_quantity`` > 0 makes an iceberg; ``expire_ts`` is for GTD
    /// only. Raises ``OrderRejected`` (engine unchanged) if the order is refused.
    #[pyo3(signature = (order_id, owner, instrument, side, price, quantity, ts, order_type=None,
        time_in_force=None, trigger_price=None, display_quantity=None, post_only=None,
        reduce_only=false, self_trade_prevention=None, expire_ts=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        owner: &Bound<'_, PyAny>,
        instrument: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        ts: &Bound<'_, PyAny>,
        order_type: Option<&Bound<'_, PyAny>>,
        time_in_force: Option<&Bound<'_, PyAny>>,
        trigger_price: Option<&Bound<'_, PyAny>>,
        display_quantity: Option<&Bound<'_, PyAny>>,
        post_only: Option<&Bound<'_, PyAny>>,
        reduce_only: bool,
        self_trade_prevention: Option<&Bound<'_, PyAny>>,
        expire_ts: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let request = OrderRequest {
            order_id: integer(order_id, "order_id")?,
            owner: integer(owner, "owner")?,
            instrument: integer(instrument, "instrument")?,
            side: Self::side_of(side)?,
            order_type: optional_code(
                order_type,
                "order_type",
                "UNKNOWN_ORDER_TYPE",
                OrderType::from_code,
                OrderType::Limit,
            )?,
            time_in_force: optional_code(
                time_in_force,
                "time_in_force",
                "UNKNOWN_TIME_IN_FORCE",
                TimeInForce::from_code,
                TimeInForce::Gtc,
            )?,
            price: integer(price, "price")?,
            trigger_price: optional(trigger_price, "trigger_price")?.unwrap_or(0),
            quantity: integer(quantity, "quantity")?,
            display_quantity: optional(display_quantity, "display_quantity")?.unwrap_or(0),
            post_only: optional_code(
                post_only,
                "post_only",
                "UNKNOWN_POST_ONLY",
                PostOnly::from_code,
                PostOnly::None,
            )?,
            reduce_only,
            self_trade_prevention: optional_code(
                self_trade_prevention,
                "self_trade_prevention",
                "UNKNOWN_SELF_TRADE_PREVENTION",
                SelfTradePrevention::from_code,
                SelfTradePrevention::None,
            )?,
            expire_ts: optional(expire_ts, "expire_ts")?.unwrap_or(0),
            ts: integer(ts, "ts")?,
        };
        outcome(py, self.engine.submit(&request))
    }

    /// Cancel/replace of a resting order: new limit ``price`` and new TOTAL ``quantity``
    /// (filled part included). A new price or a larger quantity loses time priority; a smaller
    /// quantity keeps it; a quantity at or below the filled quantity cancels the order; a price
    /// that crosses trades at once. Raises ``OrderRejected`` (engine unchanged) if refused.
    fn modify(
        &mut self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        ts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let request = ModifyRequest {
            order_id: integer(order_id, "order_id")?,
            price: integer(price, "price")?,
            quantity: integer(quantity, "quantity")?,
            ts: integer(ts, "ts")?,
        };
        outcome(py, self.engine.modify(&request))
    }

    /// Cancels a working order. Raises ``OrderRejected`` with ``UNKNOWN_ORDER`` if no working
    /// order has this id.
    fn cancel(
        &mut self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        ts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let (order_id, ts) = (integer(order_id, "order_id")?, integer(ts, "ts")?);
        outcome(py, self.engine.cancel(order_id, ts))
    }

    /// Cancels every working order of an instrument (optionally one side and/or one owner),
    /// in arrival order.
    #[pyo3(signature = (instrument, ts, side=None, owner=None))]
    fn cancel_all(
        &mut self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        ts: &Bound<'_, PyAny>,
        side: Option<&Bound<'_, PyAny>>,
        owner: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let instrument = integer(instrument, "instrument")?;
        let ts = integer(ts, "ts")?;
        let side = side
            .filter(|side| !side.is_none())
            .map(Self::side_of)
            .transpose()?;
        let owner = optional(owner, "owner")?;
        outcome(py, self.engine.cancel_all(instrument, side, owner, ts))
    }

    /// Moves the clock to ``ts``: GTD orders whose expiry is at or before ``ts`` expire.
    fn advance_time(
        &mut self,
        py: Python<'_>,
        ts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let ts = integer(ts, "ts")?;
        outcome(py, self.engine.advance_time(ts))
    }

    /// Ends the session: every DAY order expires, in arrival order.
    fn end_session(
        &mut self,
        py: Python<'_>,
        ts: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let ts = integer(ts, "ts")?;
        outcome(py, self.engine.end_session(ts))
    }

    /// ``(price, quantity, order_count)`` of the best bid, or None.
    fn best_bid(&self, instrument: &Bound<'_, PyAny>) -> PyResult<Option<(i64, i64, u32)>> {
        let index = self.instrument_index(instrument)?;
        Ok(self
            .engine
            .best_bid(index)
            .map(|level| (level.price, level.quantity, level.order_count)))
    }

    /// ``(price, quantity, order_count)`` of the best ask, or None.
    fn best_ask(&self, instrument: &Bound<'_, PyAny>) -> PyResult<Option<(i64, i64, u32)>> {
        let index = self.instrument_index(instrument)?;
        Ok(self
            .engine
            .best_ask(index)
            .map(|level| (level.price, level.quantity, level.order_count)))
    }

    /// Up to ``depth`` levels (all if None) of one side, best first, as
    /// ``(price, visible quantity, order_count)``.
    #[pyo3(signature = (instrument, side, depth=None))]
    fn levels(
        &self,
        instrument: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        depth: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<(i64, i64, u32)>> {
        let index = self.instrument_index(instrument)?;
        let side = Self::side_of(side)?;
        let depth: usize = optional(depth, "depth")?.unwrap_or(usize::MAX);
        Ok(self
            .engine
            .levels(index, side, depth)
            .iter()
            .map(|level| (level.price, level.quantity, level.order_count))
            .collect())
    }

    /// Visible quantity at one price of one side (0 if no level there).
    fn depth_at(
        &self,
        instrument: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
    ) -> PyResult<i64> {
        let index = self.instrument_index(instrument)?;
        let price: i64 = integer(price, "price")?;
        Ok(self.engine.depth_at(index, Self::side_of(side)?, price))
    }

    /// Order ids resting at one price, in queue (time priority) order.
    fn queue(
        &self,
        instrument: &Bound<'_, PyAny>,
        side: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<u64>> {
        let index = self.instrument_index(instrument)?;
        let price: i64 = integer(price, "price")?;
        Ok(self.engine.queue(index, Self::side_of(side)?, price))
    }

    /// The working order with this id, or None if it is unknown or finished.
    fn order(&self, order_id: &Bound<'_, PyAny>) -> PyResult<Option<WorkingOrder>> {
        let order_id: u64 = integer(order_id, "order_id")?;
        Ok(self.engine.order(order_id).map(WorkingOrder::from))
    }

    /// Net position in lots (+ long, - short) of an owner on an instrument, from its fills.
    fn position(&self, owner: &Bound<'_, PyAny>, instrument: &Bound<'_, PyAny>) -> PyResult<i128> {
        let owner: u32 = integer(owner, "owner")?;
        Ok(self
            .engine
            .position(owner, self.instrument_index(instrument)?))
    }

    /// Price in ticks of the instrument's last trade, or None before the first.
    fn last_price(&self, instrument: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
        Ok(self.engine.last_price(self.instrument_index(instrument)?))
    }

    /// Number of working orders (resting or awaiting a trigger).
    #[getter]
    fn working_order_count(&self) -> usize {
        self.engine.working_order_count()
    }

    /// The exact engine state as bytes (instruments, orders in queue order, positions, trade
    /// counter); equal states give equal bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.engine.to_bytes())
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> (Vec<Instrument>, Bound<'py, PyBytes>) {
        (self.instruments.clone(), self.snapshot(py))
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let bad_snapshot = |message: String| {
            Python::attach(|py| raise(py, "InvalidData", "BAD_SNAPSHOT", message))
        };
        let (instruments, bytes): (Vec<PyRef<'_, Instrument>>, Bound<'_, PyBytes>) = state
            .extract()
            .map_err(|_| bad_snapshot("state must be (list of Instrument, bytes)".into()))?;
        let instruments: Vec<Instrument> = instruments.iter().map(|i| (**i).clone()).collect();
        let engine = CoreEngine::from_bytes(bytes.as_bytes())
            .map_err(|error| bad_snapshot(error.to_string()))?;
        let consistent = engine.instrument_count() == instruments.len()
            && instruments
                .iter()
                .enumerate()
                .all(|(index, instrument)| engine.spec(index as u32) == Some(&instrument.spec));
        if !consistent {
            return Err(bad_snapshot("instruments do not match the snapshot".into()));
        }
        self.engine = engine;
        self.instruments = instruments;
        Ok(())
    }

    fn __repr__(&self) -> String {
        format!(
            "MatchingEngine(instruments={}, working_orders={})",
            self.instruments.len(),
            self.engine.working_order_count()
        )
    }
}
