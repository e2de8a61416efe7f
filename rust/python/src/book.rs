//! `OrderBookL2` and `OrderBookL3`: the core's books with scalar single operations, NumPy bulk
//! replay (GIL released) and snapshot support.

use std::borrow::Cow;

use bytemuck::Pod;
use hftcore_core::book::{
    BookError, BookView, Crossing, OrderBookL2 as CoreL2, OrderBookL3 as CoreL3,
};
use hftcore_core::replay::{
    self, ErrorPolicy, L2DeltaRecord, L3MessageRecord, ReplaySummary, TopColumns,
};
use hftcore_core::{Price, Quantity, Side};
use numpy::{
    PyArray1, PyArrayDescr, PyArrayDescrMethods, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::errors::raise;
use crate::instrument::{parse_side, Instrument};

static L2_DELTA_DTYPE: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();
static L3_MESSAGE_DTYPE: PyOnceLock<Py<PyArrayDescr>> = PyOnceLock::new();

pub fn structured_dtype<'py>(
    py: Python<'py>,
    fields: &[(&str, &str, usize)],
    itemsize: usize,
) -> PyResult<Bound<'py, PyArrayDescr>> {
    let spec = PyDict::new(py);
    spec.set_item("names", fields.iter().map(|f| f.0).collect::<Vec<_>>())?;
    spec.set_item("formats", fields.iter().map(|f| f.1).collect::<Vec<_>>())?;
    spec.set_item("offsets", fields.iter().map(|f| f.2).collect::<Vec<_>>())?;
    spec.set_item("itemsize", itemsize)?;
    PyArrayDescr::new(py, &spec)
}

/// The NumPy dtype of `L2DeltaRecord`.
pub fn l2_delta_dtype(py: Python<'_>) -> PyResult<Bound<'_, PyArrayDescr>> {
    L2_DELTA_DTYPE
        .get_or_try_init(py, || {
            let fields = [
                ("ts_event", "<i8", 0),
                ("ts_init", "<i8", 8),
                ("sequence", "<u8", 16),
                ("price", "<i8", 24),
                ("quantity", "<i8", 32),
                ("side", "u1", 40),
                ("flags", "u1", 41),
            ];
            structured_dtype(py, &fields, size_of::<L2DeltaRecord>()).map(Bound::unbind)
        })
        .map(|dtype| dtype.bind(py).clone())
}

/// The NumPy dtype of `L3MessageRecord`.
pub fn l3_message_dtype(py: Python<'_>) -> PyResult<Bound<'_, PyArrayDescr>> {
    L3_MESSAGE_DTYPE
        .get_or_try_init(py, || {
            let fields = [
                ("ts_event", "<i8", 0),
                ("ts_init", "<i8", 8),
                ("sequence", "<u8", 16),
                ("order_id", "<u8", 24),
                ("price", "<i8", 32),
                ("quantity", "<i8", 40),
                ("side", "u1", 48),
                ("action", "u1", 49),
            ];
            structured_dtype(py, &fields, size_of::<L3MessageRecord>()).map(Bound::unbind)
        })
        .map(|dtype| dtype.bind(py).clone())
}

fn invalid_data(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidData", "BAD_ARRAY", message)
}

/// Views a 1-D C-contiguous array of `expected` dtype as records (copied only if misaligned).
pub fn record_slice<'a, T: Pod>(
    array: &'a Bound<'_, PyAny>,
    expected: &Bound<'_, PyArrayDescr>,
) -> PyResult<Cow<'a, [T]>> {
    let py = array.py();
    let array = array
        .cast::<PyUntypedArray>()
        .map_err(|_| invalid_data(py, "expected a NumPy structured array".to_string()))?;
    if !array.dtype().is_equiv_to(expected) {
        return Err(invalid_data(
            py,
            format!("expected dtype {}, got {}", expected, array.dtype()),
        ));
    }
    if array.ndim() != 1 || !array.is_c_contiguous() {
        return Err(invalid_data(
            py,
            "expected a one-dimensional C-contiguous array".to_string(),
        ));
    }
    let length = array.len();
    if length == 0 {
        return Ok(Cow::Owned(Vec::new()));
    }
    // SAFETY: the dtype matches T's #[repr(C)] layout field for field and the array is a
    // C-contiguous run of `length` items, alive for 'a through `array`.
    let bytes = unsafe {
        let data = (*array.as_array_ptr()).fields.data as *const u8;
        std::slice::from_raw_parts(data, length * size_of::<T>())
    };
    Ok(match bytemuck::try_cast_slice::<u8, T>(bytes) {
        Ok(slice) => Cow::Borrowed(slice),
        Err(_) => Cow::Owned(bytemuck::pod_collect_to_vec(bytes)),
    })
}

pub fn parse_policy(py: Python<'_>, on_error: &str) -> PyResult<ErrorPolicy> {
    match on_error {
        "raise" => Ok(ErrorPolicy::Raise),
        "skip" => Ok(ErrorPolicy::Skip),
        other => Err(raise(
            py,
            "InvalidValue",
            "INVALID_ARGUMENT",
            format!("on_error must be 'raise' or 'skip', got {other:?}"),
        )),
    }
}

pub fn book_error(error: BookError) -> PyErr {
    Python::attach(|py| raise(py, "BookError", error.code(), error.to_string()))
}

/// Outcome of a bulk apply: counts, the first refused record, and optionally top of book after
/// every record as four int64 columns (0 for an empty side).
#[pyclass(module = "hftcore._core", frozen, get_all)]
pub struct ReplayResult {
    applied: usize,
    rejected: usize,
    gaps: usize,
    first_error_index: Option<usize>,
    first_error: Option<&'static str>,
    first_error_message: Option<String>,
    bid_price: Option<Py<PyArray1<i64>>>,
    bid_quantity: Option<Py<PyArray1<i64>>>,
    ask_price: Option<Py<PyArray1<i64>>>,
    ask_quantity: Option<Py<PyArray1<i64>>>,
}

#[pymethods]
impl ReplayResult {
    fn __repr__(&self) -> String {
        format!(
            "ReplayResult(applied={}, rejected={}, gaps={}, first_error={:?})",
            self.applied, self.rejected, self.gaps, self.first_error
        )
    }
}

/// Runs a bulk replay with the GIL released, optionally filling top-of-book columns, and turns
/// a refused batch under the "raise" policy into `BookError`.
fn run_replay<T: Pod + Sync, B: Send>(
    py: Python<'_>,
    book: &mut B,
    records: &[T],
    policy: ErrorPolicy,
    return_top: bool,
    apply: fn(&mut B, &[T], ErrorPolicy, Option<TopColumns<'_>>) -> ReplaySummary,
) -> PyResult<ReplayResult> {
    let columns: Option<[Bound<'_, PyArray1<i64>>; 4]> = return_top
        .then(|| std::array::from_fn(|_| PyArray1::<i64>::zeros(py, records.len(), false)));
    let summary = match &columns {
        Some([bid_price, bid_quantity, ask_price, ask_quantity]) => {
            // SAFETY: the four arrays were just created here and nothing else can see them yet.
            let slices = unsafe {
                (
                    bid_price.as_slice_mut(),
                    bid_quantity.as_slice_mut(),
                    ask_price.as_slice_mut(),
                    ask_quantity.as_slice_mut(),
                )
            };
            let (Ok(bid_price), Ok(bid_quantity), Ok(ask_price), Ok(ask_quantity)) = slices else {
                return Err(invalid_data(
                    py,
                    "could not allocate top-of-book columns".into(),
                ));
            };
            py.detach(|| {
                apply(
                    book,
                    records,
                    policy,
                    Some(TopColumns {
                        bid_price,
                        bid_quantity,
                        ask_price,
                        ask_quantity,
                    }),
                )
            })
        }
        None => py.detach(|| apply(book, records, policy, None)),
    };
    if policy == ErrorPolicy::Raise {
        if let Some((index, error)) = summary.first_error {
            return Err(raise(
                py,
                "BookError",
                error.code(),
                format!("record {index}: {error}; nothing was applied"),
            ));
        }
    }
    let [bid_price, bid_quantity, ask_price, ask_quantity] = match columns {
        Some(columns) => columns.map(|column| Some(column.unbind())),
        None => [None, None, None, None],
    };
    Ok(ReplayResult {
        applied: summary.applied,
        rejected: summary.rejected,
        gaps: summary.gaps,
        first_error_index: summary.first_error.map(|(index, _)| index),
        first_error: summary.first_error.map(|(_, error)| error.code()),
        first_error_message: summary.first_error.map(|(_, error)| error.to_string()),
        bid_price,
        bid_quantity,
        ask_price,
        ask_quantity,
    })
}

fn crossing_name(crossing: Crossing) -> &'static str {
    match crossing {
        Crossing::Normal => "NORMAL",
        Crossing::Locked => "LOCKED",
        Crossing::Crossed => "CROSSED",
    }
}

/// Pickled state of an L2 book: bid levels, ask levels, last sequence.
type L2State = (Vec<(Price, Quantity)>, Vec<(Price, Quantity)>, Option<u64>);

/// Python-style text of an optional level.
fn level_text(level: Option<(Price, Quantity)>) -> String {
    level.map_or("None".to_string(), |(price, quantity)| {
        format!("({price}, {quantity})")
    })
}

fn levels_of(levels: impl Iterator<Item = (Price, Quantity)>) -> Vec<(Price, Quantity)> {
    levels.collect()
}

/// Price-level (L2) order book of one instrument.
///
/// Prices are ticks and quantities lots of ``instrument`` (convert with
/// ``instrument.price_to_ticks`` / ``quantity_to_lots``). ``apply_delta`` sets a level's quantity
/// (0 removes it); ``apply_deltas`` replays a NumPy array of ``L2_DELTA_DTYPE`` records in one
/// call with the GIL released. Bad input raises ``hftcore.errors.BookError`` (or
/// ``InvalidData`` for a malformed array) and leaves the book unchanged.
///
/// Example::
///
///     book = OrderBookL2(instrument)
///     book.apply_delta(0, 10000, 5)   # bid 5 lots at 10000 ticks
///     book.best_bid()                 # (10000, 5)
#[pyclass(module = "hftcore._core")]
pub struct OrderBookL2 {
    pub(crate) book: CoreL2,
    pub(crate) instrument: Py<Instrument>,
}

/// Order-by-order (L3) book of one instrument: FIFO queue per price, queue positions, and an
/// L2 view derived from it. ``apply_messages`` replays a NumPy array of ``L3_MESSAGE_DTYPE``
/// records with the GIL released.
#[pyclass(module = "hftcore._core")]
pub struct OrderBookL3 {
    book: CoreL3,
    instrument: Py<Instrument>,
}

/// Features shared by both books, generated once for each class.
macro_rules! book_features {
    ($class:ident) => {
        #[pymethods]
        impl $class {
            /// The instrument this book prices.
            #[getter]
            fn instrument(&self, py: Python<'_>) -> Py<Instrument> {
                self.instrument.clone_ref(py)
            }

            /// Best bid as ``(price, quantity)``, or None.
            fn best_bid(&self) -> Option<(Price, Quantity)> {
                self.book.best_bid()
            }

            /// Best ask as ``(price, quantity)``, or None.
            fn best_ask(&self) -> Option<(Price, Quantity)> {
                self.book.best_ask()
            }

            /// ``(bid price, bid qty, ask price, ask qty)``, 0 for an empty side.
            fn top(&self) -> (i64, i64, i64, i64) {
                let [bid, bid_quantity, ask, ask_quantity] = self.book.top();
                (bid, bid_quantity, ask, ask_quantity)
            }

            /// Best ask minus best bid in ticks, or None.
            fn spread(&self) -> Option<Price> {
                self.book.spread()
            }

            /// Mid price in ticks (may be a half tick), or None.
            fn mid(&self) -> Option<f64> {
                self.book.mid()
            }

            /// Size-weighted mid in ticks, or None.
            fn microprice(&self) -> Option<f64> {
                self.book.microprice()
            }

            /// (bid qty - ask qty) / (bid + ask qty) over the best ``levels`` levels, or None.
            #[pyo3(signature = (levels=1))]
            fn imbalance(&self, levels: usize) -> Option<f64> {
                self.book.imbalance(levels)
            }

            /// ``"NORMAL"``, ``"LOCKED"`` (bid == ask) or ``"CROSSED"`` (bid > ask).
            fn crossing(&self) -> &'static str {
                crossing_name(self.book.crossing())
            }

            /// The best ``levels`` levels of ``side`` as two int64 arrays (prices, quantities),
            /// zero-padded.
            fn depth<'py>(
                &self,
                py: Python<'py>,
                side: u8,
                levels: usize,
            ) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>)> {
                let side = parse_side(side)?;
                let mut prices = vec![0; levels];
                let mut quantities = vec![0; levels];
                self.book.depth_into(side, &mut prices, &mut quantities);
                Ok((
                    PyArray1::from_vec(py, prices),
                    PyArray1::from_vec(py, quantities),
                ))
            }

            /// Walks the book as an order of ``side`` for ``quantity`` lots would (a buy walks
            /// the asks): ``(filled, average price in ticks or None, levels used, worst price)``.
            fn walk(
                &self,
                side: u8,
                quantity: Quantity,
            ) -> PyResult<(Quantity, Option<f64>, usize, Price)> {
                let side = parse_side(side)?;
                if quantity <= 0 {
                    return Err(book_error(BookError::NonPositiveOrderQuantity(quantity)));
                }
                let walk = self.book.walk(side, quantity);
                Ok((
                    walk.filled,
                    walk.average_price(),
                    walk.levels_used,
                    walk.worst_price,
                ))
            }

            /// Levels of ``side`` from the best price outward as a list of (price, quantity).
            fn levels(&self, side: u8) -> PyResult<Vec<(Price, Quantity)>> {
                Ok(levels_of(self.book.levels(parse_side(side)?)))
            }

            /// Last sequence number applied, or None.
            fn last_sequence(&self) -> Option<u64> {
                self.book.last_sequence()
            }
        }
    };
}

book_features!(OrderBookL2);
book_features!(OrderBookL3);

impl OrderBookL2 {
    fn restore(
        &mut self,
        bids: &[(Price, Quantity)],
        asks: &[(Price, Quantity)],
        sequence: Option<u64>,
    ) -> PyResult<()> {
        self.book
            .apply_snapshot(bids, asks, sequence)
            .map_err(book_error)
    }
}

#[pymethods]
impl OrderBookL2 {
    #[new]
    fn new(instrument: Py<Instrument>) -> Self {
        OrderBookL2 {
            book: CoreL2::new(),
            instrument,
        }
    }

    /// Sets the quantity at ``price`` on ``side`` (0 buy, 1 sell); 0 removes the level.
    fn apply_delta(&mut self, side: u8, price: Price, quantity: Quantity) -> PyResult<()> {
        let side = parse_side(side)?;
        self.book
            .apply_delta(side, price, quantity)
            .map_err(book_error)
    }

    /// As ``apply_delta`` with a venue sequence number: a gap or a repeat raises ``BookError``
    /// (``SEQUENCE_GAP`` / ``STALE_SEQUENCE``) and changes nothing, so the caller resyncs.
    fn apply_delta_sequenced(
        &mut self,
        sequence: u64,
        side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<()> {
        let side = parse_side(side)?;
        self.book
            .apply_delta_sequenced(sequence, side, price, quantity)
            .map_err(book_error)
    }

    /// Replaces the whole book with ``bids`` and ``asks`` (lists of (price, quantity));
    /// ``sequence`` restarts gap detection.
    #[pyo3(signature = (bids, asks, sequence=None))]
    fn apply_snapshot(
        &mut self,
        bids: Vec<(Price, Quantity)>,
        asks: Vec<(Price, Quantity)>,
        sequence: Option<u64>,
    ) -> PyResult<()> {
        self.restore(&bids, &asks, sequence)
    }

    /// Applies an array of ``L2_DELTA_DTYPE`` records in one call, GIL released.
    ///
    /// ``on_error="raise"`` validates the whole batch first and applies nothing if a record is
    /// bad (``BookError`` names the record); ``"skip"`` counts bad records, jumps sequence gaps
    /// (counted in ``gaps``) and goes on. ``return_top=True`` fills top-of-book columns after
    /// every record.
    #[pyo3(signature = (records, on_error="raise", return_top=false))]
    fn apply_deltas(
        &mut self,
        py: Python<'_>,
        records: &Bound<'_, PyAny>,
        on_error: &str,
        return_top: bool,
    ) -> PyResult<ReplayResult> {
        let policy = parse_policy(py, on_error)?;
        let dtype = l2_delta_dtype(py)?;
        let records = record_slice::<L2DeltaRecord>(records, &dtype)?;
        run_replay(
            py,
            &mut self.book,
            &records,
            policy,
            return_top,
            replay::apply_l2,
        )
    }

    /// Quantity displayed at ``price`` on ``side`` (0 if no level).
    fn quantity_at(&self, side: u8, price: Price) -> PyResult<Quantity> {
        Ok(self.book.quantity_at(parse_side(side)?, price))
    }

    /// Number of (bid, ask) levels.
    fn level_counts(&self) -> (usize, usize) {
        self.book.level_counts()
    }

    /// Removes every level (sequence tracking is kept).
    fn clear(&mut self) {
        self.book.clear();
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.book == other.book
    }

    fn __getnewargs__(&self, py: Python<'_>) -> (Py<Instrument>,) {
        (self.instrument.clone_ref(py),)
    }

    fn __getstate__(&self) -> L2State {
        (
            levels_of(self.book.levels(Side::Buy)),
            levels_of(self.book.levels(Side::Sell)),
            self.book.last_sequence(),
        )
    }

    fn __setstate__(&mut self, state: L2State) -> PyResult<()> {
        self.restore(&state.0, &state.1, state.2)
    }

    fn __copy__(&self, py: Python<'_>) -> Self {
        OrderBookL2 {
            book: self.book.clone(),
            instrument: self.instrument.clone_ref(py),
        }
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> Self {
        self.__copy__(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (bids, asks) = self.book.level_counts();
        format!(
            "OrderBookL2({:?}, bid={}, ask={}, levels=({bids}, {asks}))",
            self.instrument.borrow(py).instrument_id,
            level_text(self.book.best_bid()),
            level_text(self.book.best_ask())
        )
    }
}

/// Order state crossing into Python: ``(order_id, side, price, quantity, priority)``.
type OrderTuple = (u64, u8, Price, Quantity, u64);

fn order_tuple(order: hftcore_core::book::BookOrder) -> OrderTuple {
    (
        order.order_id,
        order.side as u8,
        order.price,
        order.quantity,
        order.priority,
    )
}

impl OrderBookL3 {
    fn restore(&mut self, orders: &[(u64, u8, Price, Quantity)]) -> PyResult<()> {
        let mut rebuilt = CoreL3::new();
        for &(order_id, side, price, quantity) in orders {
            rebuilt
                .add(order_id, parse_side(side)?, price, quantity)
                .map_err(book_error)?;
        }
        rebuilt.set_sequence_tracker(self.book.sequence_tracker());
        self.book = rebuilt;
        Ok(())
    }

    fn orders_in_priority_order(&self) -> Vec<(u64, u8, Price, Quantity)> {
        let mut orders: Vec<_> = [Side::Buy, Side::Sell]
            .iter()
            .flat_map(|&side| {
                self.book
                    .levels(side)
                    .flat_map(move |(price, _)| self.book.queue(side, price))
            })
            .collect();
        orders.sort_by_key(|order| order.priority);
        orders
            .into_iter()
            .map(|order| {
                (
                    order.order_id,
                    order.side as u8,
                    order.price,
                    order.quantity,
                )
            })
            .collect()
    }
}

#[pymethods]
impl OrderBookL3 {
    #[new]
    fn new(instrument: Py<Instrument>) -> Self {
        OrderBookL3 {
            book: CoreL3::new(),
            instrument,
        }
    }

    /// Adds an order at the back of the queue at ``price``.
    fn add(&mut self, order_id: u64, side: u8, price: Price, quantity: Quantity) -> PyResult<()> {
        let side = parse_side(side)?;
        self.book
            .add(order_id, side, price, quantity)
            .map_err(book_error)
    }

    /// Removes an order; returns it as ``(order_id, side, price, quantity, priority)``.
    fn cancel(&mut self, order_id: u64) -> PyResult<OrderTuple> {
        self.book
            .cancel(order_id)
            .map(order_tuple)
            .map_err(book_error)
    }

    /// Takes ``by`` lots off an order keeping its queue place; returns the lots left.
    fn reduce(&mut self, order_id: u64, by: Quantity) -> PyResult<Quantity> {
        self.book.reduce(order_id, by).map_err(book_error)
    }

    /// Records an execution of ``quantity`` lots against a resting order; returns lots left.
    fn execute(&mut self, order_id: u64, quantity: Quantity) -> PyResult<Quantity> {
        self.book.execute(order_id, quantity).map_err(book_error)
    }

    /// Changes price and size: a size decrease keeps priority, a price change or a size
    /// increase sends the order to the back of the queue.
    fn replace(&mut self, order_id: u64, price: Price, quantity: Quantity) -> PyResult<()> {
        self.book
            .replace(order_id, price, quantity)
            .map_err(book_error)
    }

    /// Quantity ahead of the order in its queue.
    fn queue_ahead(&self, order_id: u64) -> PyResult<Quantity> {
        self.book.queue_ahead(order_id).map_err(book_error)
    }

    /// The order as ``(order_id, side, price, quantity, priority)``, or None.
    fn order(&self, order_id: u64) -> Option<OrderTuple> {
        self.book.order(order_id).map(order_tuple)
    }

    fn __contains__(&self, order_id: u64) -> bool {
        self.book.contains(order_id)
    }

    fn __len__(&self) -> usize {
        self.book.order_count()
    }

    /// Orders queued at ``price`` on ``side``, front first.
    fn queue(&self, side: u8, price: Price) -> PyResult<Vec<OrderTuple>> {
        let side = parse_side(side)?;
        Ok(self
            .book
            .queue(side, price)
            .into_iter()
            .map(order_tuple)
            .collect())
    }

    /// Number of orders resting at ``price`` on ``side``.
    fn order_count_at(&self, side: u8, price: Price) -> PyResult<usize> {
        Ok(self.book.order_count_at(parse_side(side)?, price))
    }

    /// Applies an array of ``L3_MESSAGE_DTYPE`` records in one call, GIL released.
    ///
    /// ``on_error="raise"`` restores the book to its state before the call if any message is
    /// refused and raises ``BookError`` naming it; ``"skip"`` counts refused messages and goes
    /// on. ``return_top=True`` fills top-of-book columns after every record.
    #[pyo3(signature = (records, on_error="raise", return_top=false))]
    fn apply_messages(
        &mut self,
        py: Python<'_>,
        records: &Bound<'_, PyAny>,
        on_error: &str,
        return_top: bool,
    ) -> PyResult<ReplayResult> {
        let policy = parse_policy(py, on_error)?;
        let dtype = l3_message_dtype(py)?;
        let records = record_slice::<L3MessageRecord>(records, &dtype)?;
        run_replay(
            py,
            &mut self.book,
            &records,
            policy,
            return_top,
            replay::apply_l3,
        )
    }

    /// The aggregated L2 view as a new ``OrderBookL2``.
    fn to_l2(&self, py: Python<'_>) -> PyResult<OrderBookL2> {
        let mut l2 = OrderBookL2::new(self.instrument.clone_ref(py));
        l2.restore(
            &levels_of(self.book.levels(Side::Buy)),
            &levels_of(self.book.levels(Side::Sell)),
            None,
        )?;
        Ok(l2)
    }

    /// Slots allocated for (orders, levels): bounded by the peak live count, not by history.
    fn allocated_slots(&self) -> (usize, usize) {
        self.book.allocated_slots()
    }

    fn clear(&mut self) {
        self.book.clear();
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.book == other.book
    }

    fn __getnewargs__(&self, py: Python<'_>) -> (Py<Instrument>,) {
        (self.instrument.clone_ref(py),)
    }

    fn __getstate__(&self) -> Vec<(u64, u8, Price, Quantity)> {
        self.orders_in_priority_order()
    }

    fn __setstate__(&mut self, orders: Vec<(u64, u8, Price, Quantity)>) -> PyResult<()> {
        self.restore(&orders)
    }

    fn __copy__(&self, py: Python<'_>) -> Self {
        OrderBookL3 {
            book: self.book.clone(),
            instrument: self.instrument.clone_ref(py),
        }
    }

    fn __deepcopy__(&self, py: Python<'_>, _memo: &Bound<'_, PyAny>) -> Self {
        self.__copy__(py)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "OrderBookL3({:?}, orders={}, bid={}, ask={})",
            self.instrument.borrow(py).instrument_id,
            self.book.order_count(),
            level_text(self.book.best_bid()),
            level_text(self.book.best_ask())
        )
    }
}
