//! `SimulatedVenue` and its configuration (`LatencyModel`, `QueueModel`): the core's simulated
//! venue with per-event methods, NumPy bulk replay (GIL released), introspection and pickling.

use std::borrow::Cow;

use bytemuck::Pod;

use hftcore_core::matching::simulated::{
    l2_replay_from_l3 as derive_l2_replay, L2Chunk, L2FeedColumns, L2Stepper as CoreStepper,
    LatencyDistribution, LatencyModel as CoreLatency, LatencyTable, NewOrder, OpenOrder,
    QueueModel as CoreQueue, RecordError, SimulatedVenue as CoreVenue, StepEnd, StepError,
    StepLimits, TradeRecord, VenueConfig, VenueError, VenueReplaySummary,
};
use hftcore_core::matching::{OrderEvent as CoreEvent, TimeInForce};
use hftcore_core::replay::{L2DeltaRecord, L3MessageRecord};
use hftcore_core::{Price, Quantity};
use numpy::{PyArray1, PyArrayDescr, PyArrayMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyTuple};

use crate::book::{
    book_error, l2_delta_dtype, l3_message_dtype, parse_policy, record_slice, structured_dtype,
    OrderBookL2,
};
use crate::errors::raise;
use crate::events::{to_python, OrderEvent};
use crate::instrument::{parse_side, Instrument};
use crate::replay::to_array;

static TRADE_DTYPE: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();

/// The NumPy dtype of `TradeRecord`.
pub fn trade_dtype(py: Python<'_>) -> PyResult<Bound<'_, PyArrayDescr>> {
    TRADE_DTYPE
        .get_or_try_init(py, || {
            let fields = [
                ("ts_event", "<i8", 0),
                ("ts_init", "<i8", 8),
                ("price", "<i8", 16),
                ("quantity", "<i8", 24),
                ("aggressor_side", "u1", 32),
            ];
            structured_dtype(py, &fields, size_of::<TradeRecord>()).map(Bound::unbind)
        })
        .map(|dtype| dtype.bind(py).clone())
}

/// The `hftcore.errors` class a venue error belongs to.
fn error_class(error: &VenueError) -> &'static str {
    match error {
        VenueError::InvalidLatency(_) | VenueError::InvalidQueueModel(_) => "ConfigError",
        VenueError::NonPositivePrice(_)
        | VenueError::NonPositiveQuantity(_)
        | VenueError::Overflow { .. } => "InvalidValue",
        VenueError::DuplicateOrderId(_) | VenueError::UnsupportedTimeInForce(_) => "OrderRejected",
        VenueError::Book(_) => "BookError",
        VenueError::TimestampBeforeVenueTime { .. }
        | VenueError::WrongDataKind { .. }
        | VenueError::UnknownSide(_)
        | VenueError::InvalidSnapshot(_) => "InvalidData",
    }
}

pub fn venue_error(error: VenueError) -> PyErr {
    Python::attach(|py| raise(py, error_class(&error), error.code(), error.to_string()))
}

fn record_error(py: Python<'_>, refused: &RecordError) -> PyErr {
    raise(
        py,
        error_class(&refused.error),
        refused.error.code(),
        format!(
            "{}[{}]: {}; nothing was applied",
            refused.array.name(),
            refused.index,
            refused.error
        ),
    )
}

fn invalid_value(py: Python<'_>, code: &str, message: String) -> PyErr {
    raise(py, "InvalidValue", code, message)
}

/// How a latency (feed, order entry or response) is produced, in nanoseconds.
///
/// Build one with ``LatencyModel.constant(ns)``, ``LatencyModel.table(points)`` (``(ts,
/// latency)`` pairs, linearly interpolated, held at the ends) or a seeded distribution:
/// ``normal(mean, std_dev, seed)`` (truncated at 0), ``lognormal(mu, sigma, seed)`` (median
/// ``exp(mu)``), ``uniform(low, high, seed)``. Invalid parameters raise
/// ``hftcore.errors.ConfigError`` (code ``INVALID_LATENCY``).
#[pyclass(module = "hftcore._core", frozen)]
#[derive(Clone)]
pub struct LatencyModel {
    model: CoreLatency,
}

impl LatencyModel {
    fn checked(model: CoreLatency) -> PyResult<Self> {
        model.validate().map_err(venue_error)?;
        Ok(LatencyModel { model })
    }

    fn random(distribution: LatencyDistribution, seed: u64) -> PyResult<Self> {
        Self::checked(CoreLatency::Random { distribution, seed })
    }
}

#[pymethods]
impl LatencyModel {
    /// The same latency every time.
    #[staticmethod]
    fn constant(ns: i64) -> PyResult<Self> {
        Self::checked(CoreLatency::Constant(ns))
    }

    /// Latency read from ``(ts, latency)`` points with strictly increasing ``ts``.
    #[staticmethod]
    fn table(points: Vec<(i64, i64)>) -> PyResult<Self> {
        let table = LatencyTable::new(points).map_err(venue_error)?;
        Ok(LatencyModel {
            model: CoreLatency::Table(table),
        })
    }

    /// Normal draws (redrawn while negative); ``mean >= 0``, ``std_dev >= 0``.
    #[staticmethod]
    #[pyo3(signature = (mean, std_dev, seed=0))]
    fn normal(mean: f64, std_dev: f64, seed: u64) -> PyResult<Self> {
        Self::random(LatencyDistribution::Normal { mean, std_dev }, seed)
    }

    /// ``exp(N(mu, sigma))`` draws: right-skewed, median ``exp(mu)`` ns.
    #[staticmethod]
    #[pyo3(signature = (mu, sigma, seed=0))]
    fn lognormal(mu: f64, sigma: f64, seed: u64) -> PyResult<Self> {
        Self::random(LatencyDistribution::LogNormal { mu, sigma }, seed)
    }

    /// Uniform draws on ``[low, high]`` with ``0 <= low <= high``.
    #[staticmethod]
    #[pyo3(signature = (low, high, seed=0))]
    fn uniform(low: f64, high: f64, seed: u64) -> PyResult<Self> {
        Self::random(LatencyDistribution::Uniform { low, high }, seed)
    }

    /// ``"CONSTANT"``, ``"TABLE"``, ``"NORMAL"``, ``"LOGNORMAL"`` or ``"UNIFORM"``.
    #[getter]
    fn kind(&self) -> &'static str {
        match &self.model {
            CoreLatency::Constant(_) => "CONSTANT",
            CoreLatency::Table(_) => "TABLE",
            CoreLatency::Random { distribution, .. } => match distribution {
                LatencyDistribution::Normal { .. } => "NORMAL",
                LatencyDistribution::LogNormal { .. } => "LOGNORMAL",
                LatencyDistribution::Uniform { .. } => "UNIFORM",
            },
        }
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.model == other.model
    }

    fn __repr__(&self) -> String {
        match &self.model {
            CoreLatency::Constant(ns) => format!("LatencyModel.constant({ns})"),
            CoreLatency::Table(table) => format!("LatencyModel.table({:?})", table.points()),
            CoreLatency::Random { distribution, seed } => match *distribution {
                LatencyDistribution::Normal { mean, std_dev } => {
                    format!("LatencyModel.normal({mean:?}, {std_dev:?}, seed={seed})")
                }
                LatencyDistribution::LogNormal { mu, sigma } => {
                    format!("LatencyModel.lognormal({mu:?}, {sigma:?}, seed={seed})")
                }
                LatencyDistribution::Uniform { low, high } => {
                    format!("LatencyModel.uniform({low:?}, {high:?}, seed={seed})")
                }
            },
        }
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let class = slf.get_type();
        let this = slf.get();
        let (method, args) = match &this.model {
            CoreLatency::Constant(ns) => ("constant", (*ns,).into_pyobject(py)?),
            CoreLatency::Table(table) => ("table", (table.points().to_vec(),).into_pyobject(py)?),
            CoreLatency::Random { distribution, seed } => {
                let (method, first, second) = match *distribution {
                    LatencyDistribution::Normal { mean, std_dev } => ("normal", mean, std_dev),
                    LatencyDistribution::LogNormal { mu, sigma } => ("lognormal", mu, sigma),
                    LatencyDistribution::Uniform { low, high } => ("uniform", low, high),
                };
                (method, (first, second, *seed).into_pyobject(py)?)
            }
        };
        Ok((class.getattr(method)?, args))
    }
}

/// How our place in the queue is tracked.
///
/// ``QueueModel.fifo()`` for L3 data (exact price-time priority); for L2 data
/// ``risk_averse()`` (only trades at our price advance us), ``power(n)`` (a cancel is ahead of
/// us with probability ``a^n / (a^n + b^n)``, ``a`` ahead and ``b`` behind) or ``log()``
/// (``ln(1+a) / (ln(1+a) + ln(1+b))``).
#[pyclass(module = "hftcore._core", frozen)]
#[derive(Clone)]
pub struct QueueModel {
    model: CoreQueue,
}

#[pymethods]
impl QueueModel {
    #[staticmethod]
    fn fifo() -> Self {
        QueueModel {
            model: CoreQueue::Fifo,
        }
    }

    #[staticmethod]
    fn risk_averse() -> Self {
        QueueModel {
            model: CoreQueue::RiskAverse,
        }
    }

    /// ``exponent`` must be finite and positive (ConfigError ``INVALID_QUEUE_MODEL``).
    #[staticmethod]
    fn power(exponent: f64) -> PyResult<Self> {
        let model = CoreQueue::Power(exponent);
        model.validate().map_err(venue_error)?;
        Ok(QueueModel { model })
    }

    #[staticmethod]
    fn log() -> Self {
        QueueModel {
            model: CoreQueue::Log,
        }
    }

    /// ``"FIFO"``, ``"RISK_AVERSE"``, ``"POWER"`` or ``"LOG"``.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.model {
            CoreQueue::Fifo => "FIFO",
            CoreQueue::RiskAverse => "RISK_AVERSE",
            CoreQueue::Power(_) => "POWER",
            CoreQueue::Log => "LOG",
        }
    }

    /// The power model's exponent, or None.
    #[getter]
    fn exponent(&self) -> Option<f64> {
        match self.model {
            CoreQueue::Power(exponent) => Some(exponent),
            _ => None,
        }
    }

    /// Probability that one canceled lot was ahead of us, given ``ahead`` and ``behind``.
    fn cancel_ahead_probability(&self, ahead: Quantity, behind: Quantity) -> f64 {
        self.model.cancel_ahead_probability(ahead, behind)
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.model == other.model
    }

    fn __repr__(&self) -> String {
        match self.model {
            CoreQueue::Fifo => "QueueModel.fifo()".into(),
            CoreQueue::RiskAverse => "QueueModel.risk_averse()".into(),
            CoreQueue::Power(exponent) => format!("QueueModel.power({exponent:?})"),
            CoreQueue::Log => "QueueModel.log()".into(),
        }
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let class = slf.get_type();
        Ok(match slf.get().model {
            CoreQueue::Power(exponent) => (class.getattr("power")?, (exponent,).into_pyobject(py)?),
            CoreQueue::Fifo => (class.getattr("fifo")?, PyTuple::empty(py)),
            CoreQueue::RiskAverse => (class.getattr("risk_averse")?, PyTuple::empty(py)),
            CoreQueue::Log => (class.getattr("log")?, PyTuple::empty(py)),
        })
    }
}

/// One of our orders resting at the simulated venue.
#[pyclass(module = "hftcore._core", frozen, get_all)]
pub struct VenueOrder {
    order_id: u64,
    /// 0 buy, 1 sell.
    side: u8,
    price: Price,
    /// Total quantity, including what has filled.
    quantity: Quantity,
    leaves: Quantity,
    post_only: bool,
    /// Displayed market quantity ahead of it at its price.
    queue_ahead: Quantity,
}

impl From<OpenOrder> for VenueOrder {
    fn from(order: OpenOrder) -> Self {
        VenueOrder {
            order_id: order.order_id,
            side: order.side as u8,
            price: order.price,
            quantity: order.quantity,
            leaves: order.leaves,
            post_only: order.post_only,
            queue_ahead: order.queue_ahead,
        }
    }
}

#[pymethods]
impl VenueOrder {
    fn __repr__(&self) -> String {
        format!(
            "VenueOrder(order_id={}, side={}, price={}, quantity={}, leaves={}, post_only={}, queue_ahead={})",
            self.order_id, self.side, self.price, self.quantity, self.leaves,
            if self.post_only { "True" } else { "False" }, self.queue_ahead
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        (
            self.order_id,
            self.side,
            self.price,
            self.quantity,
            self.leaves,
            self.post_only,
            self.queue_ahead,
        ) == (
            other.order_id,
            other.side,
            other.price,
            other.quantity,
            other.leaves,
            other.post_only,
            other.queue_ahead,
        )
    }
}

/// Outcome of a bulk replay: the order events it produced, counts, the first refused record
/// (under ``on_error="skip"``), and optionally the local time each record is seen at.
#[pyclass(module = "hftcore._core", frozen, get_all)]
pub struct VenueReplayResult {
    events: Vec<Py<OrderEvent>>,
    applied: usize,
    rejected: usize,
    /// ``"deltas"``, ``"trades"`` or ``"messages"``.
    first_error_array: Option<&'static str>,
    first_error_index: Option<usize>,
    first_error: Option<&'static str>,
    first_error_message: Option<String>,
    /// Feed (strategy) time of each delta or message record, when asked for.
    feed_ts: Option<Py<PyArray1<i64>>>,
    /// Feed time of each trade record (L2), when asked for.
    trade_feed_ts: Option<Py<PyArray1<i64>>>,
}

#[pymethods]
impl VenueReplayResult {
    fn __repr__(&self) -> String {
        format!(
            "VenueReplayResult(events={}, applied={}, rejected={}, first_error={:?})",
            self.events.len(),
            self.applied,
            self.rejected,
            self.first_error
        )
    }
}

fn parse_time_in_force(py: Python<'_>, name: &str) -> PyResult<TimeInForce> {
    Ok(match name {
        "GTC" => TimeInForce::Gtc,
        "IOC" => TimeInForce::Ioc,
        "FOK" => TimeInForce::Fok,
        "DAY" => TimeInForce::Day,
        "GTD" => TimeInForce::Gtd,
        other => {
            return Err(invalid_value(
                py,
                "UNKNOWN_TIME_IN_FORCE",
                format!("time_in_force must be 'GTC', 'IOC' or 'FOK', got {other:?}"),
            ))
        }
    })
}

fn optional_ts(ts: i64) -> Option<i64> {
    (ts != i64::MIN).then_some(ts)
}

/// A zeroed int64 column, or None.
fn column(py: Python<'_>, wanted: bool, length: usize) -> Option<Bound<'_, PyArray1<i64>>> {
    wanted.then(|| PyArray1::<i64>::zeros(py, length, false))
}

/// A simulated venue for backtests: our orders rest in a book replayed from L2 or L3 market
/// data, with queue position, feed / order-entry / response latency, optional market impact
/// and the instrument's maker and taker fees. Same seed and inputs, same events, bit for bit.
///
/// Prices are ticks and quantities lots of ``instrument``; timestamps are ns. Market data
/// (``on_l2_delta``, ``on_trade``, ``on_l3_*`` or the bulk ``replay_l2`` / ``replay_l3``)
/// carries exchange time and must come in time order. Commands (``submit_limit``,
/// ``submit_market``, ``cancel``, ``modify``) are sent at a local time and take effect one
/// order-entry latency later, after all market data before that; at equal times inputs take
/// effect in the order given. Every method returns the order events produced (``OrderEvent``),
/// stamped with the local time at which the strategy sees them (venue time plus response
/// latency); a command that has not arrived yet produces its events on a later call, so call
/// ``advance_to(ts)`` when the strategy's clock moves without market data. ``last_feed_ts`` is
/// the local time at which the last market data event is seen.
///
/// Bad input raises a specific ``hftcore.errors`` exception and changes nothing; orders the
/// venue refuses (post-only crossing, limits of the instrument, unknown order on cancel) come
/// back as ``REJECTED`` events instead.
///
/// Example::
///
///     venue = SimulatedVenue(instrument, data="L2", queue_model=QueueModel.risk_averse())
///     venue.on_l2_delta(0, 1, 10100, 10)              # 10 lots offered at 10100 ticks
///     venue.submit_limit(0, order_id=1, side=0, price=10100, quantity=4)
///     # [ACCEPTED, FILLED 4 @ 10100 TAKER]
#[pyclass(module = "hftcore._core")]
pub struct SimulatedVenue {
    venue: CoreVenue,
    instrument: Py<Instrument>,
}

impl SimulatedVenue {
    /// Runs one venue call and converts its events.
    fn call(
        &mut self,
        py: Python<'_>,
        action: impl FnOnce(&mut CoreVenue, &mut Vec<CoreEvent>) -> Result<(), VenueError>,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let mut events = Vec::new();
        action(&mut self.venue, &mut events).map_err(venue_error)?;
        to_python(py, &events)
    }

    fn summary(
        &self,
        py: Python<'_>,
        summary: VenueReplaySummary,
        events: &[CoreEvent],
        feed_ts: Option<Bound<'_, PyArray1<i64>>>,
        trade_feed_ts: Option<Bound<'_, PyArray1<i64>>>,
    ) -> PyResult<VenueReplayResult> {
        let first = summary.first_error.as_ref();
        Ok(VenueReplayResult {
            events: to_python(py, events)?,
            applied: summary.applied,
            rejected: summary.rejected,
            first_error_array: first.map(|refused| refused.array.name()),
            first_error_index: first.map(|refused| refused.index),
            first_error: first.map(|refused| refused.error.code()),
            first_error_message: first.map(|refused| refused.error.to_string()),
            feed_ts: feed_ts.map(Bound::unbind),
            trade_feed_ts: trade_feed_ts.map(Bound::unbind),
        })
    }
}

fn column_error(_: numpy::AsSliceError) -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "InvalidData",
            "BAD_ARRAY",
            "could not allocate a feed-time column".into(),
        )
    })
}

/// What `SimulatedVenue.__reduce__` returns: `from_snapshot` and its arguments.
type Reduced<'py> = (Bound<'py, PyAny>, (Py<Instrument>, Bound<'py, PyBytes>));

#[pymethods]
impl SimulatedVenue {
    #[new]
    #[pyo3(signature = (instrument, data="L2", queue_model=None, feed_latency=None,
        order_latency=None, response_latency=None, market_impact=false, seed=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        instrument: Py<Instrument>,
        data: &str,
        queue_model: Option<Bound<'_, QueueModel>>,
        feed_latency: Option<Bound<'_, LatencyModel>>,
        order_latency: Option<Bound<'_, LatencyModel>>,
        response_latency: Option<Bound<'_, LatencyModel>>,
        market_impact: bool,
        seed: u64,
    ) -> PyResult<Self> {
        let base = match data {
            "L2" => VenueConfig::l2(CoreQueue::RiskAverse),
            "L3" => VenueConfig::l3(),
            other => {
                return Err(raise(
                    py,
                    "ConfigError",
                    "INVALID_DATA_KIND",
                    format!("data must be 'L2' or 'L3', got {other:?}"),
                ))
            }
        };
        let latency = |model: Option<Bound<'_, LatencyModel>>| {
            model.map_or(CoreLatency::Constant(0), |model| model.get().model.clone())
        };
        let config = VenueConfig {
            queue_model: queue_model.map_or(base.queue_model, |model| model.get().model),
            feed_latency: latency(feed_latency),
            order_latency: latency(order_latency),
            response_latency: latency(response_latency),
            market_impact,
            seed,
            ..base
        };
        let spec = instrument.borrow(py).spec.clone();
        let venue = CoreVenue::new(spec, config).map_err(venue_error)?;
        Ok(SimulatedVenue { venue, instrument })
    }

    /// Restores a venue from ``snapshot()`` bytes (the same instrument must be given).
    #[staticmethod]
    fn from_snapshot(py: Python<'_>, instrument: Py<Instrument>, data: &[u8]) -> PyResult<Self> {
        let spec = instrument.borrow(py).spec.clone();
        let venue = CoreVenue::from_snapshot(spec, data).map_err(venue_error)?;
        Ok(SimulatedVenue { venue, instrument })
    }

    /// Everything that decides what the venue does next, as bytes.
    fn snapshot<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.venue.snapshot())
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.borrow();
        Ok((
            slf.get_type().getattr("from_snapshot")?,
            (this.instrument.clone_ref(py), this.snapshot(py)),
        ))
    }

    fn __copy__(&self, py: Python<'_>) -> Self {
        SimulatedVenue {
            venue: self.venue.clone(),
            instrument: self.instrument.clone_ref(py),
        }
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> Self {
        self.__copy__(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SimulatedVenue({:?}, data={:?}, open_orders={}, pending_commands={})",
            self.instrument.borrow(py).instrument_id,
            self.venue.config().data.name(),
            self.venue.open_orders().len(),
            self.venue.pending_commands()
        )
    }

    // ----- configuration ---------------------------------------------------------------

    #[getter]
    fn instrument(&self, py: Python<'_>) -> Py<Instrument> {
        self.instrument.clone_ref(py)
    }

    /// ``"L2"`` or ``"L3"``.
    #[getter]
    fn data(&self) -> &'static str {
        self.venue.config().data.name()
    }

    #[getter]
    fn queue_model(&self) -> QueueModel {
        QueueModel {
            model: self.venue.config().queue_model,
        }
    }

    #[getter]
    fn feed_latency(&self) -> LatencyModel {
        LatencyModel {
            model: self.venue.config().feed_latency.clone(),
        }
    }

    #[getter]
    fn order_latency(&self) -> LatencyModel {
        LatencyModel {
            model: self.venue.config().order_latency.clone(),
        }
    }

    #[getter]
    fn response_latency(&self) -> LatencyModel {
        LatencyModel {
            model: self.venue.config().response_latency.clone(),
        }
    }

    #[getter]
    fn market_impact(&self) -> bool {
        self.venue.config().market_impact
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.venue.config().seed
    }

    // ----- commands ----------------------------------------------------------------------

    /// Sends a limit order at local time ``ts``; ``time_in_force`` is ``"GTC"``, ``"IOC"`` or
    /// ``"FOK"``; a ``post_only`` order is refused rather than take liquidity.
    #[pyo3(signature = (ts, order_id, side, price, quantity, time_in_force="GTC", post_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn submit_limit(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        side: u8,
        price: Price,
        quantity: Quantity,
        time_in_force: &str,
        post_only: bool,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let side = parse_side(side)?;
        let time_in_force = parse_time_in_force(py, time_in_force)?;
        let mut order = NewOrder::limit(order_id, side, price, quantity, time_in_force);
        if post_only {
            if time_in_force != TimeInForce::Gtc {
                return Err(raise(
                    py,
                    "OrderRejected",
                    "INVALID_TIME_IN_FORCE",
                    "a post-only order rests, so its time in force must be GTC".into(),
                ));
            }
            order = NewOrder::post_only(order_id, side, price, quantity);
        }
        self.call(py, |venue, events| venue.submit(ts, order, events))
    }

    /// Sends a market order at local time ``ts``: it walks the book and what finds no
    /// liquidity is canceled.
    fn submit_market(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        side: u8,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let order = NewOrder::market(order_id, parse_side(side)?, quantity);
        self.call(py, |venue, events| venue.submit(ts, order, events))
    }

    /// Sends a cancel; an order no longer working when it arrives gets ``REJECTED``
    /// (``UNKNOWN_ORDER``).
    fn cancel(&mut self, py: Python<'_>, ts: i64, order_id: u64) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| venue.cancel(ts, order_id, events))
    }

    /// Sends a cancel/replace: new price and total quantity. A size decrease at the same price
    /// keeps the queue place; a price change or size increase loses it.
    fn modify(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| {
            venue.modify(ts, order_id, price, quantity, events)
        })
    }

    /// Moves venue time to ``ts`` without market data: commands arriving by then take effect.
    fn advance_to(&mut self, py: Python<'_>, ts: i64) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| venue.advance_to(ts, events))
    }

    // ----- market data -------------------------------------------------------------------

    /// L2: the displayed quantity at ``price`` on ``side`` is now ``quantity`` (0 removes it).
    fn on_l2_delta(
        &mut self,
        py: Python<'_>,
        ts: i64,
        side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let side = parse_side(side)?;
        self.call(py, |venue, events| {
            venue
                .on_l2_delta(ts, side, price, quantity, events)
                .map(drop)
        })
    }

    /// L2: all levels are removed (a snapshot follows); our queue estimates are kept.
    fn on_l2_clear(&mut self, py: Python<'_>, ts: i64) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| venue.on_l2_clear(ts, events).map(drop))
    }

    /// A trade print, ``aggressor_side`` 0 (buyer lifted the ask) or 1 (seller hit the bid).
    fn on_trade(
        &mut self,
        py: Python<'_>,
        ts: i64,
        aggressor_side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let aggressor = parse_side(aggressor_side)?;
        self.call(py, |venue, events| {
            venue
                .on_trade(ts, aggressor, price, quantity, events)
                .map(drop)
        })
    }

    /// L3: a market order joins the back of the queue at its price.
    fn on_l3_add(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        let side = parse_side(side)?;
        self.call(py, |venue, events| {
            venue
                .on_l3_add(ts, order_id, side, price, quantity, events)
                .map(drop)
        })
    }

    /// L3: a market order leaves the book.
    fn on_l3_cancel(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| {
            venue.on_l3_cancel(ts, order_id, events).map(drop)
        })
    }

    /// L3: a market order shrinks by ``by`` lots and keeps its place.
    fn on_l3_reduce(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        by: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| {
            venue.on_l3_reduce(ts, order_id, by, events).map(drop)
        })
    }

    /// L3: a market order changes price and size (a price change or size increase loses its
    /// place).
    fn on_l3_replace(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| {
            venue
                .on_l3_replace(ts, order_id, price, quantity, events)
                .map(drop)
        })
    }

    /// L3: ``quantity`` lots of a market order traded.
    fn on_l3_execute(
        &mut self,
        py: Python<'_>,
        ts: i64,
        order_id: u64,
        quantity: Quantity,
    ) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| {
            venue
                .on_l3_execute(ts, order_id, quantity, events)
                .map(drop)
        })
    }

    /// L3: the book is cleared (a snapshot follows).
    fn on_l3_clear(&mut self, py: Python<'_>, ts: i64) -> PyResult<Vec<Py<OrderEvent>>> {
        self.call(py, |venue, events| venue.on_l3_clear(ts, events).map(drop))
    }

    /// Replays ``L2_DELTA_DTYPE`` deltas and ``TRADE_DTYPE`` prints (each in time order),
    /// merged by ``ts_event`` with trades first at equal times, in one call with the GIL
    /// released. ``on_error="raise"`` checks the whole batch first and raises on the first bad
    /// record, applying nothing; ``"skip"`` counts and skips bad records.
    #[pyo3(signature = (deltas, trades=None, on_error="raise", return_feed_ts=false))]
    fn replay_l2(
        &mut self,
        py: Python<'_>,
        deltas: &Bound<'_, PyAny>,
        trades: Option<&Bound<'_, PyAny>>,
        on_error: &str,
        return_feed_ts: bool,
    ) -> PyResult<VenueReplayResult> {
        let policy = parse_policy(py, on_error)?;
        let deltas = record_slice::<L2DeltaRecord>(deltas, &l2_delta_dtype(py)?)?;
        let trades = match trades {
            Some(trades) => record_slice::<TradeRecord>(trades, &trade_dtype(py)?)?,
            None => Cow::Owned(Vec::new()),
        };
        let delta_column = column(py, return_feed_ts, deltas.len());
        let trade_column = column(py, return_feed_ts, trades.len());
        // SAFETY: the columns were just allocated here and nothing else can see them yet.
        let feed = unsafe {
            L2FeedColumns {
                deltas: delta_column
                    .as_ref()
                    .map(|c| c.as_slice_mut())
                    .transpose()
                    .map_err(column_error)?,
                trades: trade_column
                    .as_ref()
                    .map(|c| c.as_slice_mut())
                    .transpose()
                    .map_err(column_error)?,
            }
        };
        let venue = &mut self.venue;
        let mut events = Vec::new();
        let outcome = py.detach(|| venue.replay_l2(&deltas, &trades, policy, &mut events, feed));
        let summary = outcome.map_err(|refused| record_error(py, &refused))?;
        self.summary(py, summary, &events, delta_column, trade_column)
    }

    /// Replays ``L3_MESSAGE_DTYPE`` messages in one call with the GIL released; errors as in
    /// ``replay_l2``.
    #[pyo3(signature = (messages, on_error="raise", return_feed_ts=false))]
    fn replay_l3(
        &mut self,
        py: Python<'_>,
        messages: &Bound<'_, PyAny>,
        on_error: &str,
        return_feed_ts: bool,
    ) -> PyResult<VenueReplayResult> {
        let policy = parse_policy(py, on_error)?;
        let messages = record_slice::<L3MessageRecord>(messages, &l3_message_dtype(py)?)?;
        let message_column = column(py, return_feed_ts, messages.len());
        // SAFETY: the column was just allocated here and nothing else can see it yet.
        let feed = unsafe {
            message_column
                .as_ref()
                .map(|c| c.as_slice_mut())
                .transpose()
        }
        .map_err(column_error)?;
        let venue = &mut self.venue;
        let mut events = Vec::new();
        let outcome = py.detach(|| venue.replay_l3(&messages, policy, &mut events, feed));
        let summary = outcome.map_err(|refused| record_error(py, &refused))?;
        self.summary(py, summary, &events, message_column, None)
    }

    // ----- introspection ----------------------------------------------------------------

    /// Venue time: the last market event or command processed (None before any).
    #[getter]
    fn now(&self) -> Option<i64> {
        optional_ts(self.venue.now())
    }

    /// Local time at which the strategy saw the last market data event (None before any).
    #[getter]
    fn last_feed_ts(&self) -> Option<i64> {
        optional_ts(self.venue.last_feed_ts())
    }

    /// Commands sent that have not reached the venue yet.
    #[getter]
    fn pending_commands(&self) -> usize {
        self.venue.pending_commands()
    }

    /// Displayed market quantity ahead of one of our resting orders (BookError
    /// ``UNKNOWN_ORDER`` if it is not resting).
    fn queue_ahead(&self, order_id: u64) -> PyResult<Quantity> {
        self.venue.queue_ahead(order_id).map_err(venue_error)
    }

    /// Our resting orders, by order id.
    fn open_orders(&self) -> Vec<VenueOrder> {
        self.venue
            .open_orders()
            .into_iter()
            .map(VenueOrder::from)
            .collect()
    }

    /// One of our resting orders, or None.
    fn open_order(&self, order_id: u64) -> Option<VenueOrder> {
        self.venue.open_order(order_id).map(VenueOrder::from)
    }

    /// Best bid of the replayed market as ``(price, quantity)`` (our orders are not in it).
    fn best_bid(&self) -> Option<(Price, Quantity)> {
        self.venue.best_bid()
    }

    /// Best ask of the replayed market as ``(price, quantity)`` (our orders are not in it).
    fn best_ask(&self) -> Option<(Price, Quantity)> {
        self.venue.best_ask()
    }

    /// Displayed market quantity at a price.
    fn market_quantity_at(&self, side: u8, price: Price) -> PyResult<Quantity> {
        Ok(self.venue.market_quantity_at(parse_side(side)?, price))
    }

    /// What our taker orders can still trade at a price (less what market impact took).
    fn available_at(&self, side: u8, price: Price) -> PyResult<Quantity> {
        Ok(self.venue.available_at(parse_side(side)?, price))
    }
}

/// A print as a step of :class:`L2Stepper` returns it: ``(ts_event, seen, price, quantity,
/// aggressor_side)``.
type SteppedPrint = (i64, i64, Price, Quantity, u8);

/// What :meth:`L2Stepper.step` returns.
type StepOutcome = (
    &'static str,
    i64,
    Vec<Py<OrderEvent>>,
    Vec<SteppedPrint>,
    bool,
);

/// L2 data (deltas and prints, each in time order) stepped through a :class:`SimulatedVenue` and
/// a node's :class:`OrderBookL2` from one top-of-book change to the next; see
/// ``docs/book-backtest.md``. Each ``step`` is one call: the venue replays records up to the
/// next delta that changes its market's top of book, then every record that happened by the
/// time the node sees that delta (``seen``); the node's book applies the deltas up to that one
/// and no further. The arrays are kept, not copied: do not change them while stepping.
///
///     stepper = L2Stepper(venue, book, deltas, trades)    # checks all the data first
///     while not stepper.done:
///         end, seen, events, prints, pending = stepper.step(venue, book, True, 65_536)
///         ...                                             # deliver what is due by ``seen``
///         if pending:
///             stepper.apply_pending(venue, book)
///
/// A bad record raises when the stepper is made, before anything is replayed.
#[pyclass(module = "hftcore._core")]
pub struct L2Stepper {
    stepper: CoreStepper,
    deltas: HeldRecords<L2DeltaRecord>,
    trades: HeldRecords<TradeRecord>,
}

/// Records a Python object keeps across calls: the NumPy array itself, viewed in place on each
/// call, or a copy when it cannot be (misaligned, or empty).
enum HeldRecords<T> {
    Array(Py<PyUntypedArray>),
    Copied(Vec<T>),
}

impl<T: Pod> HeldRecords<T> {
    fn new(array: &Bound<'_, PyAny>, dtype: &Bound<'_, PyArrayDescr>) -> PyResult<Self> {
        Ok(match record_slice::<T>(array, dtype)? {
            Cow::Borrowed(_) => {
                HeldRecords::Array(array.cast::<PyUntypedArray>()?.clone().unbind())
            }
            Cow::Owned(records) => HeldRecords::Copied(records),
        })
    }

    fn len(&self, py: Python<'_>) -> usize {
        match self {
            HeldRecords::Copied(records) => records.len(),
            HeldRecords::Array(array) => array.bind(py).len(),
        }
    }

    /// The records, as they were when kept: ``InvalidData`` if the array's shape changed.
    fn view<'a>(&'a self, py: Python<'a>, length: usize) -> PyResult<&'a [T]> {
        let array = match self {
            HeldRecords::Copied(records) => return Ok(records),
            HeldRecords::Array(array) => array.bind(py),
        };
        if array.ndim() != 1 || array.len() != length || !array.is_c_contiguous() {
            return Err(raise(
                py,
                "InvalidData",
                "BAD_ARRAY",
                "a stepper's record array changed shape since the stepper was made".into(),
            ));
        }
        // SAFETY: as in `record_slice`: the dtype was checked to match T's #[repr(C)] layout
        // when the array was kept, and it is a C-contiguous run of `length` items, alive for
        // 'a through the reference this object holds.
        let bytes = unsafe {
            let data = (*array.as_array_ptr()).fields.data as *const u8;
            std::slice::from_raw_parts(data, length * size_of::<T>())
        };
        bytemuck::try_cast_slice(bytes).map_err(|_| {
            raise(
                py,
                "InvalidData",
                "BAD_ARRAY",
                "a stepper's record array moved".into(),
            )
        })
    }
}

/// The chunk a stepper was made for, viewed from its kept arrays.
fn held_chunk<'a>(
    py: Python<'a>,
    deltas: &'a HeldRecords<L2DeltaRecord>,
    trades: &'a HeldRecords<TradeRecord>,
    (delta_count, trade_count): (usize, usize),
) -> PyResult<L2Chunk<'a>> {
    Ok(L2Chunk {
        deltas: deltas.view(py, delta_count)?,
        trades: trades.view(py, trade_count)?,
    })
}

fn step_error(py: Python<'_>, refused: &StepError) -> PyErr {
    match refused {
        StepError::Venue(record) => raise(
            py,
            error_class(&record.error),
            record.error.code(),
            refused.to_string(),
        ),
        StepError::Book { error, .. } => raise(py, "BookError", error.code(), refused.to_string()),
    }
}

#[pymethods]
impl L2Stepper {
    #[new]
    #[pyo3(signature = (venue, book, deltas, trades=None))]
    fn new(
        py: Python<'_>,
        venue: PyRef<'_, SimulatedVenue>,
        book: PyRef<'_, OrderBookL2>,
        deltas: &Bound<'_, PyAny>,
        trades: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let deltas = HeldRecords::new(deltas, &l2_delta_dtype(py)?)?;
        let trades = match trades {
            Some(trades) => HeldRecords::new(trades, &trade_dtype(py)?)?,
            None => HeldRecords::Copied(Vec::new()),
        };
        let sizes = (deltas.len(py), trades.len(py));
        let chunk = held_chunk(py, &deltas, &trades, sizes)?;
        let stepper = CoreStepper::new(&venue.venue, &book.book, chunk)
            .map_err(|refused| step_error(py, &refused))?;
        Ok(L2Stepper {
            stepper,
            deltas,
            trades,
        })
    }

    /// Replays to the next top-of-book change (when ``detect_changes``), to the end of the
    /// data, through at most ``max_deltas`` deltas, or up to ``held_until`` (the earliest local
    /// time at which the node acts on what it holds: order events, timers) or an event of the
    /// step, whichever comes first. Returns ``(end, seen, events, prints, book_pending)``:
    /// ``end`` is ``"CHANGE"`` (``seen``: when the node sees the changing delta), ``"DUE"``
    /// (``seen``: the time of what the node must handle before the venue goes on),
    /// ``"PAUSED"`` or ``"DONE"`` (``seen``: the venue's latest time); the venue's order events
    /// of the step; its replayed prints as ``(ts_event, seen, price, quantity,
    /// aggressor_side)``, all of them or, with ``last_print_only`` (nobody acts on prints), the
    /// last; and whether the step's deltas wait for ``apply_pending`` because something is
    /// due at or before ``seen``.
    #[pyo3(signature = (venue, book, detect_changes, max_deltas, last_print_only=false,
        held_until=None))]
    #[allow(clippy::too_many_arguments)]
    fn step(
        &mut self,
        py: Python<'_>,
        venue: &Bound<'_, SimulatedVenue>,
        book: &Bound<'_, OrderBookL2>,
        detect_changes: bool,
        max_deltas: usize,
        last_print_only: bool,
        held_until: Option<i64>,
    ) -> PyResult<StepOutcome> {
        let limits = StepLimits {
            detect_changes,
            max_deltas,
            held_until: held_until.unwrap_or(i64::MAX),
            prints_act: !last_print_only,
        };
        let mut venue = venue.try_borrow_mut()?;
        let mut book = book.try_borrow_mut()?;
        let data = held_chunk(py, &self.deltas, &self.trades, self.stepper.sizes())?;
        let (stepper, core_venue, core_book) =
            (&mut self.stepper, &mut venue.venue, &mut book.book);
        let mut events = Vec::new();
        let mut run = || stepper.step(core_venue, core_book, data, limits, &mut events);
        // A step that may replay many records lets other Python threads run.
        let outcome = if detect_changes {
            run()
        } else {
            py.detach(run)
        };
        let step = outcome.map_err(|refused| step_error(py, &refused))?;
        let feed = self.stepper.print_feed();
        let first = if last_print_only {
            feed.len().saturating_sub(1)
        } else {
            0
        };
        let prints = (first..feed.len())
            .map(|offset| {
                let record = &data.trades[step.prints.start + offset];
                (
                    record.ts_event,
                    feed[offset],
                    record.price,
                    record.quantity,
                    record.aggressor_side,
                )
            })
            .collect();
        let end = match step.end {
            StepEnd::TopChange => "CHANGE",
            StepEnd::Due => "DUE",
            StepEnd::Paused => "PAUSED",
            StepEnd::Done => "DONE",
        };
        Ok((
            end,
            step.seen,
            to_python(py, &events)?,
            prints,
            step.book_pending,
        ))
    }

    /// Applies the last step's deltas to the node's book if they wait (``book_pending``).
    fn apply_pending(
        &mut self,
        py: Python<'_>,
        venue: PyRef<'_, SimulatedVenue>,
        book: &Bound<'_, OrderBookL2>,
    ) -> PyResult<()> {
        let mut book = book.try_borrow_mut()?;
        let chunk = held_chunk(py, &self.deltas, &self.trades, self.stepper.sizes())?;
        self.stepper
            .apply_pending(&venue.venue, &mut book.book, chunk)
            .map_err(|refused| step_error(py, &refused))
    }

    /// Whether every record is replayed and in the node's book.
    #[getter]
    fn done(&self) -> bool {
        self.stepper.is_done()
    }
}

/// The L2 data an L3 stream implies: ``(deltas, trades)`` as ``L2_DELTA_DTYPE`` and
/// ``TRADE_DTYPE`` arrays, one trade print per execution.
#[pyfunction]
pub fn l2_replay_from_l3<'py>(
    py: Python<'py>,
    messages: &Bound<'py, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let messages = record_slice::<L3MessageRecord>(messages, &l3_message_dtype(py)?)?;
    let (deltas, trades) = py
        .detach(|| derive_l2_replay(&messages))
        .map_err(book_error)?;
    Ok((
        to_array::<L2DeltaRecord>(py, &deltas, l2_delta_dtype(py)?)?,
        to_array::<TradeRecord>(py, &trades, trade_dtype(py)?)?,
    ))
}
