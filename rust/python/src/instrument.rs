//! `Instrument`: the trading rules of one instrument and the one conversion path from Python
//! numbers (int, float, Decimal, str) into the core's ticks and lots.

use hftcore_core::types::{render_scaled, MONEY_SCALE};
use hftcore_core::{InstrumentSpec, Money, Price, Quantity, Rounding, Side, ValueError};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

use crate::errors::value_error;

/// A Python number as the core sees it: exact decimal text, or a float.
enum Number {
    Text(String),
    Float(f64),
}

fn number(value: &Bound<'_, PyAny>) -> PyResult<Number> {
    if value.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("a bool is not a price or a quantity"));
    }
    if value.is_instance_of::<PyFloat>() {
        return Ok(Number::Float(value.extract::<f64>()?));
    }
    if value.is_instance_of::<PyInt>() || value.is_instance_of::<PyString>() {
        return Ok(Number::Text(value.str()?.to_string()));
    }
    let type_name = value.get_type().name()?.to_string();
    if type_name == "Decimal" {
        return Ok(Number::Text(value.str()?.to_string()));
    }
    Err(PyTypeError::new_err(format!(
        "expected int, float, Decimal or str, got {type_name}"
    )))
}

pub fn parse_rounding(rounding: Option<&str>) -> PyResult<Rounding> {
    match rounding {
        None | Some("exact") => Ok(Rounding::Exact),
        Some("nearest") => Ok(Rounding::Nearest),
        Some("down") => Ok(Rounding::Down),
        Some("up") => Ok(Rounding::Up),
        Some(other) => Err(value_error(ValueError::InvalidSpec(format!(
            "rounding must be 'exact', 'nearest', 'down' or 'up', got {other:?}"
        )))),
    }
}

pub fn parse_side(side: u8) -> PyResult<Side> {
    Side::from_code(side).map_err(value_error)
}

/// Renders money as exact decimal text.
pub fn money_text(value: Money) -> String {
    render_scaled(value, MONEY_SCALE)
}

/// Trading rules of one instrument: tick and lot grid, quantity and notional limits, fees.
///
/// Prices and quantities are integer ticks and lots inside the core; `price_to_ticks` and
/// `quantity_to_lots` are the one way in from Python numbers and reject off-grid, NaN, infinite,
/// non-positive and overflowing values unless rounding is asked for.
#[pyclass(module = "hftcore._core", frozen)]
#[derive(Clone)]
pub struct Instrument {
    pub spec: InstrumentSpec,
    #[pyo3(get)]
    pub instrument_id: String,
    args: (
        String,
        String,
        u32,
        String,
        u32,
        String,
        String,
        String,
        String,
        String,
    ),
}

impl Instrument {
    pub fn price(&self, value: &Bound<'_, PyAny>, rounding: Rounding) -> PyResult<Price> {
        match number(value)? {
            Number::Text(text) => self.spec.price_from_str(&text, rounding),
            Number::Float(float) => self.spec.price_from_f64(float, rounding),
        }
        .map_err(value_error)
    }

    pub fn quantity(&self, value: &Bound<'_, PyAny>, rounding: Rounding) -> PyResult<Quantity> {
        match number(value)? {
            Number::Text(text) => self.spec.quantity_from_str(&text, rounding),
            Number::Float(float) => self.spec.quantity_from_f64(float, rounding),
        }
        .map_err(value_error)
    }
}

/// Exact decimal text of a Python int, float, Decimal or str (NaN and infinities refused).
pub fn text_of(value: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(match number(value)? {
        Number::Text(text) => text,
        Number::Float(float) => {
            if float.is_nan() {
                return Err(value_error(ValueError::NotANumber("NaN".into())));
            }
            if float.is_infinite() {
                return Err(value_error(ValueError::Infinite));
            }
            format!("{float}")
        }
    })
}

#[pymethods]
impl Instrument {
    #[new]
    #[pyo3(signature = (instrument_id, tick_size, price_precision, lot_size, size_precision,
        min_quantity=None, max_quantity=None, min_notional=None, maker_fee=None, taker_fee=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        instrument_id: String,
        tick_size: &Bound<'_, PyAny>,
        price_precision: u32,
        lot_size: &Bound<'_, PyAny>,
        size_precision: u32,
        min_quantity: Option<&Bound<'_, PyAny>>,
        max_quantity: Option<&Bound<'_, PyAny>>,
        min_notional: Option<&Bound<'_, PyAny>>,
        maker_fee: Option<&Bound<'_, PyAny>>,
        taker_fee: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if instrument_id.is_empty() {
            return Err(value_error(ValueError::InvalidSpec(
                "instrument_id must not be empty".into(),
            )));
        }
        let tick = text_of(tick_size)?;
        let lot = text_of(lot_size)?;
        let optional = |value: Option<&Bound<'_, PyAny>>, default: &str| -> PyResult<String> {
            value
                .map(text_of)
                .unwrap_or_else(|| Ok(default.to_string()))
        };
        let min_q = optional(min_quantity, &lot)?;
        let max_q = optional(max_quantity, "1000000000")?;
        let min_n = optional(min_notional, "0")?;
        let maker = optional(maker_fee, "0")?;
        let taker = optional(taker_fee, "0")?;
        let spec = InstrumentSpec::new(
            &tick,
            price_precision,
            &lot,
            size_precision,
            &min_q,
            &max_q,
            &min_n,
            &maker,
            &taker,
        )
        .map_err(value_error)?;
        Ok(Instrument {
            spec,
            args: (
                instrument_id.clone(),
                tick,
                price_precision,
                lot,
                size_precision,
                min_q,
                max_q,
                min_n,
                maker,
                taker,
            ),
            instrument_id,
        })
    }

    fn __getnewargs__(
        &self,
    ) -> (
        String,
        String,
        u32,
        String,
        u32,
        String,
        String,
        String,
        String,
        String,
    ) {
        self.args.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "Instrument({:?}, tick_size={:?}, lot_size={:?})",
            self.instrument_id, self.args.1, self.args.3
        )
    }

    fn __eq__(&self, other: &Self) -> bool {
        self.args == other.args
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.args.hash(&mut hasher);
        hasher.finish()
    }

    /// Tick size as decimal text.
    #[getter]
    fn tick_size(&self) -> String {
        self.args.1.clone()
    }

    /// Lot size as decimal text.
    #[getter]
    fn lot_size(&self) -> String {
        self.args.3.clone()
    }

    #[getter]
    fn price_precision(&self) -> u32 {
        self.spec.tick.precision
    }

    #[getter]
    fn size_precision(&self) -> u32 {
        self.spec.lot.precision
    }

    /// Smallest order quantity in lots.
    #[getter]
    fn min_quantity(&self) -> Quantity {
        self.spec.min_quantity
    }

    /// Largest order quantity in lots.
    #[getter]
    fn max_quantity(&self) -> Quantity {
        self.spec.max_quantity
    }

    /// Smallest order notional as decimal text.
    #[getter]
    fn min_notional(&self) -> String {
        money_text(self.spec.min_notional)
    }

    /// Maker fee rate as decimal text (negative is a rebate).
    #[getter]
    fn maker_fee(&self) -> String {
        self.args.8.clone()
    }

    /// Taker fee rate as decimal text.
    #[getter]
    fn taker_fee(&self) -> String {
        self.args.9.clone()
    }

    /// Price in ticks from an int, float, Decimal or str. `rounding` is None/'exact' (reject
    /// off-grid values), 'nearest', 'down' or 'up'.
    #[pyo3(signature = (value, rounding=None))]
    fn price_to_ticks(&self, value: &Bound<'_, PyAny>, rounding: Option<&str>) -> PyResult<Price> {
        self.price(value, parse_rounding(rounding)?)
    }

    /// Quantity in lots from an int, float, Decimal or str; zero and negatives are rejected.
    #[pyo3(signature = (value, rounding=None))]
    fn quantity_to_lots(
        &self,
        value: &Bound<'_, PyAny>,
        rounding: Option<&str>,
    ) -> PyResult<Quantity> {
        self.quantity(value, parse_rounding(rounding)?)
    }

    /// Exact decimal text of a price in ticks.
    fn ticks_to_str(&self, ticks: Price) -> String {
        self.spec.price_to_string(ticks)
    }

    /// Exact decimal text of a quantity in lots.
    fn lots_to_str(&self, lots: Quantity) -> String {
        self.spec.quantity_to_string(lots)
    }

    /// A price in ticks as a float (display and analytics only).
    fn ticks_to_float(&self, ticks: Price) -> f64 {
        self.spec.price_to_f64(ticks)
    }

    /// A quantity in lots as a float (display and analytics only).
    fn lots_to_float(&self, lots: Quantity) -> f64 {
        self.spec.quantity_to_f64(lots)
    }

    /// Exact notional of `lots` at `ticks`, as decimal text.
    fn notional(&self, ticks: Price, lots: Quantity) -> String {
        money_text(self.spec.notional(ticks, lots))
    }
}
