//! `RiskGate`: the pre-trade risk gate of the core, with limits read from the
//! `hftcore.model.risk` structs and state returned as those structs.

use hftcore_core::risk::{
    cost_basis_at, AccountLimits, InstrumentLimits, LimitsError, OpenOrder, OrderRequest,
    PriceCollar, RejectReason, RiskDecision, RiskError, RiskGate as CoreGate, SetLimitsError,
    ThrottleLimit, TradingState,
};
use hftcore_core::types::{parse_decimal_scaled, parse_decimal_scaled_i128, MONEY_SCALE};
use hftcore_core::{InstrumentSpec, Money, Price, Quantity, Rounding};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyType};

use crate::errors::{raise, value_error};
use crate::instrument::{parse_side, text_of, Instrument};

static MODEL: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn model(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    MODEL
        .get_or_try_init(py, || {
            PyModule::import(py, "hftcore.model.risk").map(|module| module.unbind())
        })
        .map(|module| module.bind(py))
}

/// Builds `hftcore.model.risk.<class_name>(**fields)`.
fn model_value<'py>(
    py: Python<'py>,
    class_name: &str,
    fields: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    model(py)?.getattr(class_name)?.call((), Some(fields))
}

/// Money as an exact `Decimal` without trailing zeros past the decimal point.
fn decimal(py: Python<'_>, money: Money) -> PyResult<Bound<'_, PyAny>> {
    let text = hftcore_core::types::render_scaled(money, MONEY_SCALE);
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    DECIMAL.import(py, "decimal", "Decimal")?.call1((trimmed,))
}

fn risk_error(error: RiskError) -> PyErr {
    match error {
        // Conversion errors keep their own codes (NOT_A_NUMBER, OFF_GRID, ...).
        RiskError::InvalidValue(error) => value_error(error),
        error => invalid_value(error.code(), error.to_string()),
    }
}

fn invalid_value(code: &str, message: String) -> PyErr {
    Python::attach(|py| raise(py, "InvalidValue", code, message))
}

fn limits_error(error: LimitsError) -> PyErr {
    Python::attach(|py| raise(py, "ConfigError", "INVALID_LIMITS", error.to_string()))
}

fn config_error(field: &str, problem: impl std::fmt::Display) -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "ConfigError",
            "INVALID_LIMITS",
            format!("invalid risk limit {field}: {problem}"),
        )
    })
}

fn rejected(order: &str, reason: RejectReason) -> PyErr {
    Python::attach(|py| {
        raise(
            py,
            "RiskRejected",
            reason.name(),
            format!("{order}: {}", reason.description()),
        )
    })
}

/// An optional attribute of a limits object: missing and `None` both mean "not set".
fn optional_field<'py>(
    limits: &Bound<'py, PyAny>,
    field: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    match limits.getattr_opt(field)? {
        Some(value) if !value.is_none() => Ok(Some(value)),
        _ => Ok(None),
    }
}

fn decimal_text(value: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    text_of(value).map_err(|error| config_error(field, error))
}

fn money_field(limits: &Bound<'_, PyAny>, field: &str) -> PyResult<Option<Money>> {
    optional_field(limits, field)?
        .map(|value| {
            let text = decimal_text(&value, field)?;
            parse_decimal_scaled_i128(&text, MONEY_SCALE)
                .map_err(|error| config_error(field, error))
        })
        .transpose()
}

fn int_field<'py, T: pyo3::conversion::FromPyObjectOwned<'py>>(
    limits: &Bound<'py, PyAny>,
    field: &str,
) -> PyResult<Option<T>> {
    optional_field(limits, field)?
        .map(|value| {
            value.extract::<T>().map_err(|_| {
                config_error(field, format!("expected an integer in range, got {value}"))
            })
        })
        .transpose()
}

/// A quantity limit in the instrument's units, converted exactly to lots; zero is allowed.
fn lots_field(
    limits: &Bound<'_, PyAny>,
    field: &str,
    spec: &InstrumentSpec,
) -> PyResult<Option<Quantity>> {
    optional_field(limits, field)?
        .map(|value| {
            let text = decimal_text(&value, field)?;
            let units = parse_decimal_scaled_i128(&text, spec.lot.precision)
                .map_err(|error| config_error(field, error))?;
            if units < 0 {
                return Err(config_error(
                    field,
                    format!("must not be negative, got {text}"),
                ));
            }
            if units == 0 {
                return Ok(0);
            }
            spec.quantity_from_str(&text, Rounding::Exact)
                .map_err(|error| config_error(field, error))
        })
        .transpose()
}

fn throttle_field(limits: &Bound<'_, PyAny>, field: &str) -> PyResult<Option<ThrottleLimit>> {
    optional_field(limits, field)?
        .map(|throttle| {
            let capacity = int_field::<u32>(&throttle, "capacity")?
                .ok_or_else(|| config_error(field, "capacity is required"))?;
            let rate = optional_field(&throttle, "refill_per_second")?
                .ok_or_else(|| config_error(field, "refill_per_second is required"))?;
            let text = decimal_text(&rate, field)?;
            let micro = parse_decimal_scaled(&text, 6)
                .map_err(|error| config_error(field, format!("refill_per_second: {error}")))?;
            let refill_microtokens_per_second = u64::try_from(micro).map_err(|_| {
                config_error(
                    field,
                    format!("refill_per_second must be positive, got {text}"),
                )
            })?;
            Ok(ThrottleLimit {
                capacity,
                refill_microtokens_per_second,
            })
        })
        .transpose()
}

fn trading_state(code: u8) -> PyResult<TradingState> {
    TradingState::from_code(code).ok_or_else(|| {
        invalid_value(
            "UNKNOWN_TRADING_STATE",
            format!("trading state must be 0 (ACTIVE), 1 (REDUCING) or 2 (HALTED), got {code}"),
        )
    })
}

/// Reads `hftcore.model.risk.AccountLimits` (or any object with its attributes).
fn account_limits(limits: Option<&Bound<'_, PyAny>>) -> PyResult<AccountLimits> {
    let Some(limits) = limits else {
        return Ok(AccountLimits::default());
    };
    let defaults = AccountLimits::default();
    let breaker_state = match int_field::<u8>(limits, "circuit_breaker_state")? {
        Some(code) => TradingState::from_code(code).ok_or_else(|| {
            config_error(
                "circuit_breaker_state",
                format!("unknown trading state {code}"),
            )
        })?,
        None => defaults.circuit_breaker_state,
    };
    let parsed = AccountLimits {
        max_open_orders: int_field::<u32>(limits, "max_open_orders")?
            .unwrap_or(defaults.max_open_orders),
        max_gross_exposure: money_field(limits, "max_gross_exposure")?,
        max_net_exposure: money_field(limits, "max_net_exposure")?,
        order_rate: throttle_field(limits, "order_rate")?,
        cancel_rate: throttle_field(limits, "cancel_rate")?,
        daily_loss_limit: money_field(limits, "daily_loss_limit")?,
        circuit_breaker_state: breaker_state,
    };
    parsed.validate().map_err(limits_error)?;
    Ok(parsed)
}

/// Reads `hftcore.model.risk.InstrumentLimits` for an instrument.
fn instrument_limits(
    limits: Option<&Bound<'_, PyAny>>,
    spec: &InstrumentSpec,
) -> PyResult<InstrumentLimits> {
    let Some(limits) = limits else {
        return Ok(InstrumentLimits::default());
    };
    let max_order_quantity = match lots_field(limits, "max_order_quantity", spec)? {
        Some(0) => return Err(config_error("max_order_quantity", "must be positive")),
        other => other,
    };
    let price_collar = match (
        int_field::<u32>(limits, "collar_bps")?,
        int_field::<Price>(limits, "collar_ticks")?,
    ) {
        (Some(_), Some(_)) => {
            return Err(config_error(
                "collar_bps",
                "set at most one of collar_bps and collar_ticks",
            ))
        }
        (Some(bps), None) => PriceCollar::Bps(bps),
        (None, Some(ticks)) => PriceCollar::Ticks(ticks),
        (None, None) => PriceCollar::Disabled,
    };
    let parsed = InstrumentLimits {
        max_order_quantity,
        max_order_notional: money_field(limits, "max_order_notional")?,
        price_collar,
        max_long_position: lots_field(limits, "max_long_position", spec)?,
        max_short_position: lots_field(limits, "max_short_position", spec)?,
    };
    parsed.validate().map_err(limits_error)?;
    Ok(parsed)
}

fn open_order_value<'py>(py: Python<'py>, order: &OpenOrder) -> PyResult<Bound<'py, PyAny>> {
    let fields = PyDict::new(py);
    fields.set_item("order_id", order.order_id)?;
    fields.set_item("instrument", order.instrument)?;
    fields.set_item(
        "side",
        model(py)?.getattr("Side")?.call1((order.side as u8,))?,
    )?;
    fields.set_item("open_quantity", order.open_quantity)?;
    model_value(py, "OpenOrder", &fields)
}

/// The `(code, name, sentence)` of every reject reason, in check order.
#[pyfunction]
pub fn risk_reject_reasons() -> Vec<(u8, &'static str, &'static str)> {
    RejectReason::ALL
        .iter()
        .map(|reason| (reason.code(), reason.name(), reason.description()))
        .collect()
}

/// Pre-trade risk gate of one account over several instruments.
///
/// Every order passes `check_order` before it may be sent: the checks run in a fixed order
/// (see `RejectReason`) and the first failure decides. Prices are ticks, quantities lots and
/// timestamps integer nanoseconds supplied by the caller, so backtests are deterministic. An
/// approved order is open at once and counts against position, exposure and open-order limits
/// until `on_fill` fills it completely or `on_order_closed` closes it.
#[pyclass(module = "hftcore._core")]
pub struct RiskGate {
    gate: CoreGate,
    instrument_ids: Vec<String>,
}

impl RiskGate {
    fn request(
        &self,
        order_id: u64,
        instrument: u32,
        side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<OrderRequest> {
        Ok(OrderRequest {
            order_id,
            instrument,
            side: parse_side(side)?,
            price,
            quantity,
        })
    }

    fn spec(&self, instrument: u32) -> PyResult<&InstrumentSpec> {
        self.gate.instrument_spec(instrument).map_err(risk_error)
    }
}

#[pymethods]
impl RiskGate {
    /// A gate with the given `AccountLimits` (defaults: 1000 open orders, no other limit).
    #[new]
    #[pyo3(signature = (limits=None))]
    fn new(limits: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Ok(RiskGate {
            gate: CoreGate::new(account_limits(limits)?).map_err(limits_error)?,
            instrument_ids: Vec::new(),
        })
    }

    /// Adds an instrument with its `InstrumentLimits` and returns its index, which every
    /// other call takes. An instrument id can be registered once.
    #[pyo3(signature = (instrument, limits=None))]
    fn register_instrument(
        &mut self,
        instrument: PyRef<'_, Instrument>,
        limits: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u32> {
        if self.instrument_ids.contains(&instrument.instrument_id) {
            return Err(Python::attach(|py| {
                raise(
                    py,
                    "ConfigError",
                    "DUPLICATE_INSTRUMENT",
                    format!(
                        "instrument {} is already registered",
                        instrument.instrument_id
                    ),
                )
            }));
        }
        let parsed = instrument_limits(limits, &instrument.spec)?;
        let index = self
            .gate
            .register_instrument(instrument.spec.clone(), parsed)
            .map_err(limits_error)?;
        self.instrument_ids.push(instrument.instrument_id.clone());
        Ok(index)
    }

    /// The index of a registered instrument id.
    fn instrument_index(&self, instrument_id: &str) -> PyResult<u32> {
        self.instrument_ids
            .iter()
            .position(|id| id == instrument_id)
            .map(|index| index as u32)
            .ok_or_else(|| {
                invalid_value(
                    "UNKNOWN_INSTRUMENT",
                    format!("instrument {instrument_id} is not registered"),
                )
            })
    }

    /// Registered instrument ids, by index.
    #[getter]
    fn instrument_ids(&self) -> Vec<String> {
        self.instrument_ids.clone()
    }

    /// Replaces one instrument's limits; they apply from the next check.
    fn set_instrument_limits(
        &mut self,
        instrument: u32,
        limits: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let parsed = instrument_limits(Some(limits), self.spec(instrument)?)?;
        self.gate
            .set_instrument_limits(instrument, parsed)
            .map_err(|error| match error {
                SetLimitsError::Limits(error) => limits_error(error),
                SetLimitsError::Risk(error) => risk_error(error),
            })
    }

    /// Replaces the account limits. Throttles keep their level (capped at the new capacity);
    /// a lower daily loss limit may trip the circuit breaker at once.
    fn set_account_limits(&mut self, limits: &Bound<'_, PyAny>) -> PyResult<()> {
        let parsed = account_limits(Some(limits))?;
        self.gate.set_account_limits(parsed).map_err(limits_error)
    }

    /// Checks an order at `ts` (ns): price in ticks, quantity in lots, side 0 buy / 1 sell.
    /// Returns 0 if approved (the order is then open and took an order-rate token), else the
    /// `RejectReason` code (nothing changed). Malformed requests raise `InvalidValue`.
    fn check_order(
        &mut self,
        order_id: u64,
        instrument: u32,
        side: u8,
        price: Price,
        quantity: Quantity,
        ts: i64,
    ) -> PyResult<u8> {
        let request = self.request(order_id, instrument, side, price, quantity)?;
        self.gate
            .check_order(&request, ts)
            .map(RiskDecision::code)
            .map_err(risk_error)
    }

    /// As `check_order`, but raises `RiskRejected` (code = reason name) instead of returning
    /// a reject code.
    fn check_order_or_raise(
        &mut self,
        order_id: u64,
        instrument: u32,
        side: u8,
        price: Price,
        quantity: Quantity,
        ts: i64,
    ) -> PyResult<()> {
        let request = self.request(order_id, instrument, side, price, quantity)?;
        match self.gate.check_order(&request, ts).map_err(risk_error)? {
            RiskDecision::Approved => Ok(()),
            RiskDecision::Rejected(reason) => Err(rejected(&format!("order {order_id}"), reason)),
        }
    }

    /// As `check_order` with price and quantity as numbers in the instrument's units (int,
    /// float, Decimal or str); values off the tick or lot grid are rejected with `OFF_GRID`.
    fn check_order_values(
        &mut self,
        order_id: u64,
        instrument: u32,
        side: u8,
        price: &Bound<'_, PyAny>,
        quantity: &Bound<'_, PyAny>,
        ts: i64,
    ) -> PyResult<u8> {
        let side = parse_side(side)?;
        let price = text_of(price)?;
        let quantity = text_of(quantity)?;
        self.gate
            .check_order_values(order_id, instrument, side, &price, &quantity, ts)
            .map(RiskDecision::code)
            .map_err(risk_error)
    }

    /// Checks a cancel of an open order at `ts`: 0 if it may be sent, else `CANCEL_RATE`'s
    /// code. Never refused by the kill switch, the breaker or the trading state, and never
    /// throttled while the kill switch is engaged or trading is HALTED.
    fn check_cancel(&mut self, order_id: u64, ts: i64) -> PyResult<u8> {
        self.gate
            .check_cancel(order_id, ts)
            .map(RiskDecision::code)
            .map_err(risk_error)
    }

    /// As `check_cancel`, raising `RiskRejected` when refused.
    fn check_cancel_or_raise(&mut self, order_id: u64, ts: i64) -> PyResult<()> {
        match self.gate.check_cancel(order_id, ts).map_err(risk_error)? {
            RiskDecision::Approved => Ok(()),
            RiskDecision::Rejected(reason) => {
                Err(rejected(&format!("cancel of order {order_id}"), reason))
            }
        }
    }

    /// Tracks an order already working at the venue (e.g. after a restart) without checking
    /// it: it counts against limits but takes no throttle token.
    fn add_open_order(
        &mut self,
        order_id: u64,
        instrument: u32,
        side: u8,
        price: Price,
        quantity: Quantity,
    ) -> PyResult<()> {
        let request = self.request(order_id, instrument, side, price, quantity)?;
        self.gate.add_open_order(&request).map_err(risk_error)
    }

    /// A fill of `quantity` lots at `price` ticks on an open order at `ts`, paying `fee` in
    /// the quote currency (negative: a rebate). A complete fill closes the order.
    #[pyo3(signature = (order_id, price, quantity, ts, fee=None))]
    fn on_fill(
        &mut self,
        order_id: u64,
        price: Price,
        quantity: Quantity,
        ts: i64,
        fee: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let fee = match fee {
            None => 0,
            Some(fee) => {
                parse_decimal_scaled_i128(&text_of(fee)?, MONEY_SCALE).map_err(value_error)?
            }
        };
        self.gate
            .on_fill(order_id, price, quantity, fee, ts)
            .map_err(risk_error)
    }

    /// An open order ended without further fills (canceled, expired, rejected by the venue).
    fn on_order_closed(&mut self, order_id: u64) -> PyResult<()> {
        self.gate
            .on_order_closed(order_id)
            .map(|_| ())
            .map_err(risk_error)
    }

    /// A new reference (mark) price in ticks at `ts`; may trip the circuit breaker.
    fn on_price(&mut self, instrument: u32, price: Price, ts: i64) -> PyResult<()> {
        self.gate
            .on_price(instrument, price, ts)
            .map_err(risk_error)
    }

    /// Sets a position (signed lots) entered at `average_price` in the quote currency, e.g.
    /// from the venue at start-up. Daily P&L does not move.
    #[pyo3(signature = (instrument, quantity, average_price=None))]
    fn set_position(
        &mut self,
        instrument: u32,
        quantity: Quantity,
        average_price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let spec = self.spec(instrument)?;
        let cost_basis = match (quantity, average_price) {
            (0, _) => 0,
            (_, None) => {
                return Err(invalid_value(
                    "MISSING_AVERAGE_PRICE",
                    "average_price is required for a non-zero position".into(),
                ))
            }
            (_, Some(price)) => {
                cost_basis_at(spec, quantity, &text_of(price)?).map_err(value_error)?
            }
        };
        self.gate
            .set_position(instrument, quantity, cost_basis)
            .map_err(risk_error)
    }

    /// Starts a trading day at `ts`: the current P&L becomes the daily baseline and a tripped
    /// circuit breaker is cleared.
    fn start_day(&mut self, ts: i64) {
        self.gate.start_day(ts);
    }

    /// Timestamp (ns) of the latest `start_day`, or `None` before the first.
    #[getter]
    fn day_start_ts(&self) -> Option<i64> {
        self.gate.day_start_ts()
    }

    /// Blocks every order until `reset_kill_switch`; cancels still pass.
    fn engage_kill_switch(&mut self) {
        self.gate.engage_kill_switch();
    }

    fn reset_kill_switch(&mut self) {
        self.gate.reset_kill_switch();
    }

    #[getter]
    fn kill_switch_engaged(&self) -> bool {
        self.gate.kill_switch_engaged()
    }

    /// Sets the operator's trading state (a `TradingState` or its code).
    fn set_trading_state(&mut self, state: u8) -> PyResult<()> {
        self.gate.set_trading_state(trading_state(state)?);
        Ok(())
    }

    /// The effective trading state: the stricter of the operator's and the breaker's.
    #[getter]
    fn trading_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        model(py)?
            .getattr("TradingState")?
            .call1((self.gate.trading_state().code(),))
    }

    /// The state last set with `set_trading_state`.
    #[getter]
    fn operator_trading_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        model(py)?
            .getattr("TradingState")?
            .call1((self.gate.operator_trading_state().code(),))
    }

    /// Clears a tripped circuit breaker at `ts`; it trips again at once if the daily loss is
    /// still at or past the limit.
    fn reset_circuit_breaker(&mut self, ts: i64) {
        self.gate.reset_circuit_breaker(ts);
    }

    /// The `CircuitBreakerTrip` while the breaker is tripped, else `None`.
    #[getter]
    fn circuit_breaker_trip<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let Some(trip) = self.gate.circuit_breaker_trip() else {
            return Ok(None);
        };
        let module = model(py)?;
        let fields = PyDict::new(py);
        fields.set_item("ts", trip.ts)?;
        fields.set_item(
            "reason",
            module
                .getattr("RejectReason")?
                .call1((trip.reason.code(),))?,
        )?;
        fields.set_item(
            "state",
            module
                .getattr("TradingState")?
                .call1((trip.state.code(),))?,
        )?;
        fields.set_item("daily_pnl", decimal(py, trip.daily_pnl)?)?;
        fields.set_item("daily_loss_limit", decimal(py, trip.daily_loss_limit)?)?;
        fields.set_item("realized_pnl", decimal(py, trip.realized_pnl)?)?;
        fields.set_item("unrealized_pnl", decimal(py, trip.unrealized_pnl)?)?;
        model_value(py, "CircuitBreakerTrip", &fields).map(Some)
    }

    /// Realized P&L net of fees of all instruments, as an exact Decimal.
    #[getter]
    fn realized_pnl<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal(py, self.gate.realized_pnl())
    }

    /// Unrealized P&L at the reference prices, as an exact Decimal.
    #[getter]
    fn unrealized_pnl<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal(py, self.gate.unrealized_pnl())
    }

    /// Realized + unrealized P&L since `start_day`, as an exact Decimal.
    #[getter]
    fn daily_pnl<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal(py, self.gate.daily_pnl())
    }

    /// Sum of worst-case absolute exposure over instruments, as an exact Decimal.
    #[getter]
    fn gross_exposure<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decimal(py, self.gate.gross_exposure())
    }

    /// Larger magnitude of net exposure if all open buys, or all open sells, filled.
    #[getter]
    fn net_exposure<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let net = Money::try_from(self.gate.net_exposure()).unwrap_or(Money::MAX);
        decimal(py, net)
    }

    #[getter]
    fn open_order_count(&self) -> usize {
        self.gate.open_order_count()
    }

    /// The `RiskPosition` of an instrument.
    fn position<'py>(&self, py: Python<'py>, instrument: u32) -> PyResult<Bound<'py, PyAny>> {
        let view = self.gate.position(instrument).map_err(risk_error)?;
        let fields = PyDict::new(py);
        fields.set_item("instrument", instrument)?;
        fields.set_item("position", view.position.position)?;
        fields.set_item("open_buy_quantity", view.open_buy_quantity)?;
        fields.set_item("open_sell_quantity", view.open_sell_quantity)?;
        fields.set_item("reference_price", view.reference_price)?;
        fields.set_item("cost_basis", decimal(py, view.position.cost_basis)?)?;
        fields.set_item("realized_pnl", decimal(py, view.position.realized_pnl)?)?;
        fields.set_item("unrealized_pnl", decimal(py, view.unrealized_pnl)?)?;
        fields.set_item("fees", decimal(py, view.position.fees)?)?;
        fields.set_item("gross_exposure", decimal(py, view.exposure.gross)?)?;
        model_value(py, "RiskPosition", &fields)
    }

    /// The open order with this id as a `OpenOrder`, or `None`.
    fn open_order<'py>(
        &self,
        py: Python<'py>,
        order_id: u64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.gate
            .open_order(order_id)
            .map(|order| open_order_value(py, &order))
            .transpose()
    }

    /// Every open order as a `OpenOrder`, sorted by order id.
    fn open_orders<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let mut orders: Vec<OpenOrder> = self.gate.open_orders().copied().collect();
        orders.sort_unstable_by_key(|order| order.order_id);
        orders
            .iter()
            .map(|order| open_order_value(py, order))
            .collect()
    }

    /// Whole order-rate tokens available at `ts`, or `None` without an order-rate limit.
    fn order_tokens(&self, ts: i64) -> Option<u64> {
        self.gate.order_tokens(ts)
    }

    /// Whole cancel-rate tokens available at `ts`, or `None` without a cancel-rate limit.
    fn cancel_tokens(&self, ts: i64) -> Option<u64> {
        self.gate.cancel_tokens(ts)
    }

    fn __repr__(&self) -> String {
        format!(
            "RiskGate(instruments={}, open_orders={}, state={}, kill_switch={})",
            self.gate.instrument_count(),
            self.gate.open_order_count(),
            self.gate.trading_state().name(),
            self.gate.kill_switch_engaged()
        )
    }
}
