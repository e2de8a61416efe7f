//! Value types shared by every part of the core: sides, fixed-point prices and quantities, money,
//! the instrument specification, and the one conversion path from decimal text or floats into
//! ticks and lots.
//!
//! Inside the core a price is an `i64` count of ticks and a quantity an `i64` count of lots of
//! the instrument. Money (notional, fees, P&L) is an `i128` count of `10^-MONEY_SCALE` units of
//! the quote currency, so sums and comparisons are exact.

use thiserror::Error;

/// Price in ticks of the instrument.
pub type Price = i64;
/// Quantity in lots of the instrument.
pub type Quantity = i64;
/// Money in `10^-MONEY_SCALE` units of the quote currency.
pub type Money = i128;
/// Decimal places of [`Money`].
pub const MONEY_SCALE: u32 = 12;
/// Fee rates are integers in parts per `FEE_RATE_DENOMINATOR` (1e-9) of notional.
pub const FEE_RATE_DENOMINATOR: i128 = 1_000_000_000;
/// Largest decimal precision accepted for prices or sizes.
pub const MAX_PRECISION: u32 = 9;

/// Side of an order, a book level or a trade aggressor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

impl Side {
    /// The side from its wire code (0 buy, 1 sell).
    pub fn from_code(code: u8) -> Result<Self, ValueError> {
        match code {
            0 => Ok(Side::Buy),
            1 => Ok(Side::Sell),
            other => Err(ValueError::UnknownSide(other)),
        }
    }

    pub fn opposite(self) -> Self {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// +1 for buy, -1 for sell: the sign of the position change a fill on this side makes.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// How an off-grid value is brought onto the grid when the caller asks for rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Reject values that are not exactly on the grid.
    Exact,
    /// Nearest grid point, ties away from zero.
    Nearest,
    /// Toward negative infinity.
    Down,
    /// Toward positive infinity.
    Up,
}

/// Why a value could not become ticks or lots.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    #[error("not a number: {0:?}")]
    NotANumber(String),
    #[error("value is infinite")]
    Infinite,
    #[error("value {value} is not a multiple of {step}")]
    OffGrid { value: String, step: String },
    #[error("quantity must be positive, got {0}")]
    NonPositiveQuantity(String),
    #[error("price must be positive, got {0}")]
    NonPositivePrice(String),
    #[error("value {0} is out of the representable range")]
    Overflow(String),
    #[error("side code must be 0 (buy) or 1 (sell), got {0}")]
    UnknownSide(u8),
    #[error("invalid instrument specification: {0}")]
    InvalidSpec(String),
}

/// A decimal step (tick size or lot size) as `units * 10^-precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub units: i64,
    pub precision: u32,
}

impl Step {
    pub fn parse(text: &str, precision: u32) -> Result<Self, ValueError> {
        if precision > MAX_PRECISION {
            return Err(ValueError::InvalidSpec(format!(
                "precision {precision} exceeds {MAX_PRECISION}"
            )));
        }
        let scaled = parse_decimal_scaled(text, precision)?;
        if scaled <= 0 {
            return Err(ValueError::InvalidSpec(format!(
                "step {text} must be a positive multiple of 10^-{precision}"
            )));
        }
        Ok(Step {
            units: scaled,
            precision,
        })
    }

    fn render(&self) -> String {
        render_scaled(self.units as i128, self.precision)
    }
}

/// The trading rules of one instrument that the core needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentSpec {
    pub tick: Step,
    pub lot: Step,
    /// Smallest order quantity in lots.
    pub min_quantity: Quantity,
    /// Largest order quantity in lots.
    pub max_quantity: Quantity,
    /// Smallest order notional.
    pub min_notional: Money,
    /// Maker fee rate in parts per 1e9 of notional; negative is a rebate.
    pub maker_fee_rate: i64,
    /// Taker fee rate in parts per 1e9 of notional.
    pub taker_fee_rate: i64,
    /// Money per (tick x lot): notional = price_ticks * qty_lots * notional_per_tick_lot.
    pub notional_per_tick_lot: Money,
}

impl InstrumentSpec {
    /// Builds a spec from decimal text, validating every field.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        tick_size: &str,
        price_precision: u32,
        lot_size: &str,
        size_precision: u32,
        min_quantity: &str,
        max_quantity: &str,
        min_notional: &str,
        maker_fee: &str,
        taker_fee: &str,
    ) -> Result<Self, ValueError> {
        let tick = Step::parse(tick_size, price_precision)?;
        let lot = Step::parse(lot_size, size_precision)?;
        if price_precision + size_precision > MONEY_SCALE {
            return Err(ValueError::InvalidSpec(format!(
                "price precision + size precision must be at most {MONEY_SCALE}"
            )));
        }
        let notional_per_tick_lot = (tick.units as i128)
            * (lot.units as i128)
            * 10i128.pow(MONEY_SCALE - price_precision - size_precision);
        let mut spec = InstrumentSpec {
            tick,
            lot,
            min_quantity: 1,
            max_quantity: i64::MAX,
            min_notional: 0,
            maker_fee_rate: parse_fee_rate(maker_fee)?,
            taker_fee_rate: parse_fee_rate(taker_fee)?,
            notional_per_tick_lot,
        };
        spec.min_quantity = spec.quantity_from_str(min_quantity, Rounding::Exact)?;
        spec.max_quantity = spec.quantity_from_str(max_quantity, Rounding::Exact)?;
        if spec.max_quantity < spec.min_quantity {
            return Err(ValueError::InvalidSpec(format!(
                "max quantity {max_quantity} is below min quantity {min_quantity}"
            )));
        }
        let min_notional_money = parse_decimal_scaled_i128(min_notional, MONEY_SCALE)?;
        if min_notional_money < 0 {
            return Err(ValueError::InvalidSpec(format!(
                "min notional {min_notional} is negative"
            )));
        }
        spec.min_notional = min_notional_money;
        Ok(spec)
    }

    /// A spec with the given tick and lot and no other limits; handy for tests and demos.
    pub fn simple(
        tick_size: &str,
        price_precision: u32,
        lot_size: &str,
        size_precision: u32,
    ) -> Self {
        Self::new(
            tick_size,
            price_precision,
            lot_size,
            size_precision,
            lot_size,
            "1000000000",
            "0",
            "0",
            "0",
        )
        .unwrap_or_else(|error| panic!("invalid simple spec: {error}"))
    }

    /// Notional of `quantity` lots at `price` ticks, in money units.
    pub fn notional(&self, price: Price, quantity: Quantity) -> Money {
        (price as i128) * (quantity as i128) * self.notional_per_tick_lot
    }

    /// Fee charged on a notional at a rate in parts per 1e9, rounded half away from zero.
    pub fn fee(notional: Money, rate: i64) -> Money {
        let raw = notional * rate as i128;
        let half = FEE_RATE_DENOMINATOR / 2;
        if raw >= 0 {
            (raw + half) / FEE_RATE_DENOMINATOR
        } else {
            (raw - half) / FEE_RATE_DENOMINATOR
        }
    }

    /// Price in ticks from decimal text.
    pub fn price_from_str(&self, text: &str, rounding: Rounding) -> Result<Price, ValueError> {
        let ticks = grid_units(text, &self.tick, rounding)?;
        if ticks <= 0 {
            return Err(ValueError::NonPositivePrice(text.to_string()));
        }
        Ok(ticks)
    }

    /// Price in ticks from a float; the float is taken as the decimal it most closely prints as.
    pub fn price_from_f64(&self, value: f64, rounding: Rounding) -> Result<Price, ValueError> {
        self.price_from_str(&float_text(value)?, rounding)
    }

    /// Quantity in lots from decimal text; zero and negative quantities are rejected.
    pub fn quantity_from_str(
        &self,
        text: &str,
        rounding: Rounding,
    ) -> Result<Quantity, ValueError> {
        let lots = grid_units(text, &self.lot, rounding)?;
        if lots <= 0 {
            return Err(ValueError::NonPositiveQuantity(text.to_string()));
        }
        Ok(lots)
    }

    /// The quantity at a book level in lots from decimal text: zero (an emptied level) is
    /// allowed, a negative quantity is not.
    pub fn level_quantity_from_str(&self, text: &str) -> Result<Quantity, ValueError> {
        let lots = grid_units(text, &self.lot, Rounding::Exact)?;
        if lots < 0 {
            return Err(ValueError::NonPositiveQuantity(text.to_string()));
        }
        Ok(lots)
    }

    /// Quantity in lots from a float.
    pub fn quantity_from_f64(
        &self,
        value: f64,
        rounding: Rounding,
    ) -> Result<Quantity, ValueError> {
        self.quantity_from_str(&float_text(value)?, rounding)
    }

    /// Decimal text of a price in ticks, at the price precision.
    pub fn price_to_string(&self, price: Price) -> String {
        render_scaled(price as i128 * self.tick.units as i128, self.tick.precision)
    }

    /// Decimal text of a quantity in lots, at the size precision.
    pub fn quantity_to_string(&self, quantity: Quantity) -> String {
        render_scaled(
            quantity as i128 * self.lot.units as i128,
            self.lot.precision,
        )
    }

    /// The price as a float (for display and analytics only).
    pub fn price_to_f64(&self, price: Price) -> f64 {
        price as f64 * self.tick.units as f64 / 10f64.powi(self.tick.precision as i32)
    }

    /// The quantity as a float (for display and analytics only).
    pub fn quantity_to_f64(&self, quantity: Quantity) -> f64 {
        quantity as f64 * self.lot.units as f64 / 10f64.powi(self.lot.precision as i32)
    }
}

/// Extra decimal places read past a grid's precision when rounding, so that rounding to the
/// grid happens once, on (almost) the exact value: rounding first to the precision and then to
/// the step would round twice. Digits past these are truncated.
const ROUNDING_GUARD_DIGITS: u32 = 18;

/// Whole steps of `grid` in decimal text, rounded as asked.
fn grid_units(text: &str, grid: &Step, rounding: Rounding) -> Result<i64, ValueError> {
    if rounding == Rounding::Exact {
        // Venue feeds send plain text ("123.4500") by the million: read it in one pass of
        // u64 arithmetic; anything else, and every error, goes through the general parser.
        if let Some(scaled) = plain_decimal_scaled(text.as_bytes(), grid.precision) {
            if scaled % grid.units == 0 {
                return Ok(scaled / grid.units);
            }
        }
        let scaled = parse_decimal_scaled_rounded(text, grid.precision, Rounding::Exact)?;
        return to_grid(scaled, grid.units as i128, rounding, text, grid);
    }
    let scaled =
        parse_decimal_scaled_rounded(text, grid.precision + ROUNDING_GUARD_DIGITS, Rounding::Down)?;
    let step = grid.units as i128 * 10i128.pow(ROUNDING_GUARD_DIGITS);
    to_grid(scaled, step, rounding, text, grid)
}

fn float_text(value: f64) -> Result<String, ValueError> {
    if value.is_nan() {
        return Err(ValueError::NotANumber("NaN".to_string()));
    }
    if value.is_infinite() {
        return Err(ValueError::Infinite);
    }
    // Rust prints the shortest decimal that round-trips, so 0.1 becomes "0.1", not its binary
    // expansion: the grid check then sees the number the user typed.
    Ok(format!("{value}"))
}

fn to_grid(
    scaled: i128,
    step: i128,
    rounding: Rounding,
    text: &str,
    grid: &Step,
) -> Result<i64, ValueError> {
    let quotient = scaled.div_euclid(step);
    let remainder = scaled.rem_euclid(step);
    let units = if remainder == 0 {
        quotient
    } else {
        match rounding {
            Rounding::Exact => {
                return Err(ValueError::OffGrid {
                    value: text.to_string(),
                    step: grid.render(),
                })
            }
            Rounding::Down => quotient,
            Rounding::Up => quotient + 1,
            Rounding::Nearest => {
                let twice = remainder * 2;
                if twice > step || (twice == step && scaled > 0) {
                    quotient + 1
                } else {
                    quotient
                }
            }
        }
    };
    i64::try_from(units).map_err(|_| ValueError::Overflow(text.to_string()))
}

fn parse_fee_rate(text: &str) -> Result<i64, ValueError> {
    let rate = parse_decimal_scaled(text, 9)?;
    if rate.unsigned_abs() >= 1_000_000_000 {
        return Err(ValueError::InvalidSpec(format!(
            "fee rate {text} must lie strictly between -1 and 1"
        )));
    }
    Ok(rate)
}

/// Unsigned digits with at most one '.' and no more than `scale` significant fraction digits
/// (trailing zeros past it are fine), as a count of `10^-scale`; None for any other text or on
/// overflow.
fn plain_decimal_scaled(text: &[u8], scale: u32) -> Option<i64> {
    let mut value: u64 = 0;
    let mut digits = 0u32;
    let mut fraction_digits: Option<u32> = None;
    for &byte in text {
        match byte {
            b'0'..=b'9' => {
                digits += 1;
                if let Some(kept) = fraction_digits.as_mut() {
                    if *kept == scale {
                        if byte != b'0' {
                            return None;
                        }
                        continue;
                    }
                    *kept += 1;
                }
                value = value.checked_mul(10)?.checked_add(u64::from(byte - b'0'))?;
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(0),
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    let missing = scale - fraction_digits.unwrap_or(0);
    let scaled = value.checked_mul(10u64.checked_pow(missing)?)?;
    i64::try_from(scaled).ok()
}

/// Parses decimal text (optional sign, digits, optional fraction, optional exponent) into an
/// integer count of `10^-scale`, rejecting digits beyond `scale`.
pub fn parse_decimal_scaled(text: &str, scale: u32) -> Result<i64, ValueError> {
    let value = parse_decimal_scaled_i128(text, scale)?;
    i64::try_from(value).map_err(|_| ValueError::Overflow(text.to_string()))
}

/// As [`parse_decimal_scaled`], into an `i128`.
pub fn parse_decimal_scaled_i128(text: &str, scale: u32) -> Result<i128, ValueError> {
    parse_decimal_scaled_rounded(text, scale, Rounding::Exact)
}

/// Parses decimal text into a count of `10^-scale`; digits beyond `scale` follow `rounding`
/// (with [`Rounding::Exact`] they must be zero).
pub fn parse_decimal_scaled_rounded(
    text: &str,
    scale: u32,
    rounding: Rounding,
) -> Result<i128, ValueError> {
    let not_a_number = || ValueError::NotANumber(text.to_string());
    let overflow = || ValueError::Overflow(text.to_string());
    let trimmed = text.trim();
    let unsigned = trimmed.trim_start_matches(['+', '-']).as_bytes();
    let starts_with = |prefix: &[u8]| {
        unsigned.len() >= prefix.len() && unsigned[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts_with(b"inf") {
        return Err(ValueError::Infinite);
    }
    if starts_with(b"nan") || starts_with(b"snan") {
        return Err(ValueError::NotANumber(text.to_string()));
    }
    let (negative, body) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => {
            let exponent: i32 = body[at + 1..].parse().map_err(|_| not_a_number())?;
            (&body[..at], exponent)
        }
        None => (body, 0),
    };
    let (integer_digits, fraction_digits) = match mantissa.find('.') {
        Some(at) => (&mantissa[..at], &mantissa[at + 1..]),
        None => (mantissa, ""),
    };
    if integer_digits.is_empty() && fraction_digits.is_empty() {
        return Err(not_a_number());
    }
    let digits_ok = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(integer_digits) || !digits_ok(fraction_digits) {
        return Err(not_a_number());
    }
    // value = all_digits * 10^(exponent - fraction_len); we want value * 10^scale.
    let shift = exponent as i64 - fraction_digits.len() as i64 + scale as i64;
    let mut kept: i128 = 0;
    let mut dropped_nonzero = false;
    let mut dropped_first: u8 = 0;
    let all_digits = integer_digits.bytes().chain(fraction_digits.bytes());
    let total = (integer_digits.len() + fraction_digits.len()) as i64;
    let keep = total + shift.min(0);
    for (index, digit) in all_digits.enumerate() {
        let digit = digit - b'0';
        if (index as i64) < keep {
            kept = kept
                .checked_mul(10)
                .and_then(|v| v.checked_add(digit as i128))
                .ok_or_else(overflow)?;
        } else {
            if index as i64 == keep {
                dropped_first = digit;
            }
            if digit != 0 {
                dropped_nonzero = true;
            }
        }
    }
    if shift > 0 {
        let factor = 10i128.checked_pow(shift as u32).ok_or_else(overflow)?;
        kept = if kept == 0 {
            0
        } else {
            kept.checked_mul(factor).ok_or_else(overflow)?
        };
    }
    if dropped_nonzero {
        let away_from_zero = match rounding {
            Rounding::Exact => {
                return Err(ValueError::OffGrid {
                    value: text.to_string(),
                    step: render_scaled(1, scale),
                })
            }
            Rounding::Nearest => dropped_first >= 5,
            Rounding::Down => negative,
            Rounding::Up => !negative,
        };
        if away_from_zero {
            kept = kept.checked_add(1).ok_or_else(overflow)?;
        }
    }
    Ok(if negative { -kept } else { kept })
}

/// Renders a count of `10^-scale` as decimal text with exactly `scale` fraction digits.
pub fn render_scaled(value: i128, scale: u32) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let magnitude = value.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{magnitude}");
    }
    let divisor = 10u128.pow(scale);
    format!(
        "{sign}{}.{:0width$}",
        magnitude / divisor,
        magnitude % divisor,
        width = scale as usize
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> InstrumentSpec {
        InstrumentSpec::new(
            "0.05", 2, "0.001", 3, "0.001", "1000", "1", "-0.0001", "0.0002",
        )
        .expect("valid spec")
    }

    #[test]
    fn prices_on_the_grid_convert_exactly() {
        let spec = spec();
        assert_eq!(spec.price_from_str("100.05", Rounding::Exact), Ok(2001));
        assert_eq!(spec.price_from_f64(100.05, Rounding::Exact), Ok(2001));
        assert_eq!(spec.price_from_str("1.0005e2", Rounding::Exact), Ok(2001));
        assert_eq!(spec.price_to_string(2001), "100.05");
    }

    #[test]
    fn off_grid_prices_are_rejected_unless_rounding_is_asked_for() {
        let spec = spec();
        assert!(matches!(
            spec.price_from_str("100.03", Rounding::Exact),
            Err(ValueError::OffGrid { .. })
        ));
        assert!(matches!(
            spec.price_from_str("100.051", Rounding::Exact),
            Err(ValueError::OffGrid { .. })
        ));
        assert_eq!(spec.price_from_str("100.03", Rounding::Nearest), Ok(2001));
        assert_eq!(spec.price_from_str("100.02", Rounding::Nearest), Ok(2000));
        assert_eq!(spec.price_from_str("100.03", Rounding::Down), Ok(2000));
        assert_eq!(spec.price_from_str("100.01", Rounding::Up), Ok(2001));
        assert_eq!(spec.price_from_str("100.001", Rounding::Up), Ok(2001));
        assert_eq!(spec.price_from_str("100.049", Rounding::Nearest), Ok(2001));
    }

    #[test]
    fn special_and_bad_values_get_specific_errors() {
        let spec = spec();
        assert!(matches!(
            spec.price_from_f64(f64::NAN, Rounding::Exact),
            Err(ValueError::NotANumber(_))
        ));
        assert_eq!(
            spec.price_from_f64(f64::INFINITY, Rounding::Exact),
            Err(ValueError::Infinite)
        );
        assert_eq!(
            spec.price_from_str("-inf", Rounding::Exact),
            Err(ValueError::Infinite)
        );
        assert!(matches!(
            spec.price_from_str("abc", Rounding::Exact),
            Err(ValueError::NotANumber(_))
        ));
        assert!(matches!(
            spec.price_from_str("-1", Rounding::Exact),
            Err(ValueError::NonPositivePrice(_))
        ));
        assert!(matches!(
            spec.quantity_from_str("0", Rounding::Exact),
            Err(ValueError::NonPositiveQuantity(_))
        ));
        assert!(matches!(
            spec.quantity_from_str("-0.001", Rounding::Exact),
            Err(ValueError::NonPositiveQuantity(_))
        ));
        assert!(matches!(
            spec.price_from_str("1e30", Rounding::Exact),
            Err(ValueError::Overflow(_))
        ));
        assert!(matches!(
            spec.quantity_from_str("99999999999999999999999999999999999999999", Rounding::Exact),
            Err(ValueError::Overflow(_))
        ));
    }

    #[test]
    fn notional_and_fees_are_exact() {
        let spec = spec();
        // 100.05 x 2.000 = 200.10; maker rebate 0.01% = 0.02001, taker 0.02% = 0.04002.
        let notional = spec.notional(2001, 2000);
        assert_eq!(render_scaled(notional, MONEY_SCALE), "200.100000000000");
        assert_eq!(
            render_scaled(
                InstrumentSpec::fee(notional, spec.maker_fee_rate),
                MONEY_SCALE
            ),
            "-0.020010000000"
        );
        assert_eq!(
            render_scaled(
                InstrumentSpec::fee(notional, spec.taker_fee_rate),
                MONEY_SCALE
            ),
            "0.040020000000"
        );
    }

    #[test]
    fn invalid_specs_are_rejected() {
        assert!(InstrumentSpec::new("0", 2, "1", 0, "1", "10", "0", "0", "0").is_err());
        assert!(InstrumentSpec::new("0.001", 2, "1", 0, "1", "10", "0", "0", "0").is_err());
        assert!(InstrumentSpec::new("0.01", 2, "1", 0, "10", "1", "0", "0", "0").is_err());
        assert!(InstrumentSpec::new("0.01", 2, "1", 0, "1", "10", "0", "1.5", "0").is_err());
        assert!(InstrumentSpec::new("0.01", 10, "1", 0, "1", "10", "0", "0", "0").is_err());
    }

    #[test]
    fn plain_text_reads_as_the_general_parser_reads_it() {
        let spec = InstrumentSpec::simple("0.05", 2, "0.001", 3);
        for text in [
            "0",
            "1",
            "12.35",
            "12.3500000",
            "12.351",
            "12.3",
            "1.",
            ".05",
            ".",
            "",
            "-1.05",
            "+1.05",
            " 1.05",
            "1.05 ",
            "1e2",
            "1..0",
            "1.0.0",
            "00012.40",
            "99999999999999999999",
            "9223372036854775807",
            "92233720368547758.05",
            "1.000000000000000000000000001",
            "0.00",
            "abc",
            "1_0",
        ] {
            for rounding in [Rounding::Exact, Rounding::Down] {
                let general = parse_decimal_scaled_rounded(text, 2, rounding)
                    .and_then(|scaled| to_grid(scaled, 5, rounding, text, &spec.tick));
                assert_eq!(grid_units(text, &spec.tick, rounding), general, "{text:?}");
            }
            let general = parse_decimal_scaled_rounded(text, 3, Rounding::Exact)
                .and_then(|scaled| to_grid(scaled, 1, Rounding::Exact, text, &spec.lot));
            assert_eq!(
                grid_units(text, &spec.lot, Rounding::Exact),
                general,
                "{text:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_decimals_take_the_fast_path_to_the_same_value(
            whole in 0u64..10_000_000_000,
            fraction in "[0-9]{0,12}",
            precision in 0u32..=9,
        ) {
            let text = if fraction.is_empty() {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            };
            let general = parse_decimal_scaled_rounded(&text, precision, Rounding::Exact)
                .ok()
                .and_then(|scaled| i64::try_from(scaled).ok());
            proptest::prop_assert_eq!(plain_decimal_scaled(text.as_bytes(), precision), general);
        }
    }
}
