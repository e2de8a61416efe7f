//! [`RiskGate`]: the pre-trade risk engine of one account over several instruments.

use thiserror::Error;

use super::limits::{AccountLimits, InstrumentLimits, LimitsError};
use super::open_orders::{OpenOrder, OpenOrderTable};
use super::position::{money_value, Exposure, PositionState};
use super::reason::{RejectReason, RiskDecision, TradingState};
use super::throttle::TokenBucket;
use crate::types::{InstrumentSpec, Money, Price, Quantity, Rounding, Side, ValueError};

/// An order the gate is asked to approve. Price in ticks, quantity in lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    /// Client order id, unique among the account's open orders.
    pub order_id: u64,
    /// Index returned by [`RiskGate::register_instrument`].
    pub instrument: u32,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
}

/// A call the gate cannot act on. The gate's state is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RiskError {
    #[error("unknown instrument index {0}")]
    UnknownInstrument(u32),
    #[error("order {0} is not open at the risk gate")]
    UnknownOrder(u64),
    #[error("order {0} is already open at the risk gate")]
    DuplicateOrder(u64),
    #[error("price must be a positive number of ticks, got {0}")]
    NonPositivePrice(Price),
    #[error("quantity must be a positive number of lots, got {0}")]
    NonPositiveQuantity(Quantity),
    #[error("fill of {fill} lots exceeds the {open} lots open on order {order_id}")]
    Overfill {
        order_id: u64,
        open: Quantity,
        fill: Quantity,
    },
    #[error("position of {position} lots and cost basis {cost_basis} disagree in sign")]
    InconsistentPosition {
        position: Quantity,
        cost_basis: Money,
    },
    #[error("a quantity or amount is out of the representable range")]
    Overflow,
    #[error(transparent)]
    InvalidValue(#[from] ValueError),
}

impl RiskError {
    /// The machine-readable reason code, e.g. `"UNKNOWN_ORDER"`.
    pub fn code(&self) -> &'static str {
        match self {
            RiskError::UnknownInstrument(_) => "UNKNOWN_INSTRUMENT",
            RiskError::UnknownOrder(_) => "UNKNOWN_ORDER",
            RiskError::DuplicateOrder(_) => "DUPLICATE_ORDER",
            RiskError::NonPositivePrice(_) => "NON_POSITIVE_PRICE",
            RiskError::NonPositiveQuantity(_) => "NON_POSITIVE_QUANTITY",
            RiskError::Overfill { .. } => "OVERFILL",
            RiskError::InconsistentPosition { .. } => "INCONSISTENT_POSITION",
            RiskError::Overflow => "OVERFLOW",
            RiskError::InvalidValue(_) => "INVALID_VALUE",
        }
    }
}

/// What the circuit breaker recorded when the daily loss limit tripped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerTrip {
    /// Timestamp (ns) of the event that found the limit breached: a price or a fill, a breaker
    /// reset, or (with the latest event's timestamp) a lower limit.
    pub ts: i64,
    pub reason: RejectReason,
    /// The state the breaker imposed.
    pub state: TradingState,
    /// Daily P&L at the trip (negative: a loss).
    pub daily_pnl: Money,
    pub daily_loss_limit: Money,
    /// Account realized P&L (net of fees) at the trip.
    pub realized_pnl: Money,
    /// Account unrealized P&L at the trip.
    pub unrealized_pnl: Money,
}

/// What the gate knows about one instrument, as returned by [`RiskGate::position`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskPosition {
    pub position: PositionState,
    /// Lots of open buy orders.
    pub open_buy_quantity: Quantity,
    /// Lots of open sell orders.
    pub open_sell_quantity: Quantity,
    /// Reference (mark) price in ticks, once one was seen.
    pub reference_price: Option<Price>,
    pub unrealized_pnl: Money,
    pub exposure: Exposure,
}

/// Everything about an instrument that events change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Holdings {
    position: PositionState,
    open_buy: Quantity,
    open_sell: Quantity,
    reference: Option<Price>,
}

/// Values derived from [`Holdings`] at the reference price, cached so that account totals
/// can be updated by difference in O(1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Valuation {
    exposure: Exposure,
    unrealized_pnl: Money,
}

#[derive(Debug, Clone)]
struct InstrumentRisk {
    spec: InstrumentSpec,
    limits: InstrumentLimits,
    holdings: Holdings,
    valuation: Valuation,
}

impl InstrumentRisk {
    fn value(&self, holdings: &Holdings) -> Result<Valuation, RiskError> {
        let k = self.spec.notional_per_tick_lot;
        let position = i128::from(holdings.position.position);
        Ok(Valuation {
            exposure: Exposure::at(
                position + i128::from(holdings.open_buy),
                position - i128::from(holdings.open_sell),
                holdings.reference,
                k,
            )
            .ok_or(RiskError::Overflow)?,
            unrealized_pnl: holdings
                .position
                .unrealized_pnl(holdings.reference, k)
                .ok_or(RiskError::Overflow)?,
        })
    }

    /// Whether an order reduces the absolute position even if every open order on its side
    /// fills: it may close the position but not flip it.
    fn reduces_position(&self, side: Side, quantity: Quantity) -> bool {
        let position = i128::from(self.holdings.position.position);
        let quantity = i128::from(quantity);
        match side {
            Side::Buy => {
                position < 0 && position + i128::from(self.holdings.open_buy) + quantity <= 0
            }
            Side::Sell => {
                position > 0 && position - i128::from(self.holdings.open_sell) - quantity >= 0
            }
        }
    }
}

/// New state of one instrument and of the account, computed but not yet committed.
#[derive(Debug, Clone, Copy)]
struct Prepared {
    holdings: Holdings,
    valuation: Valuation,
    totals: Totals,
}

// Boxing the approval would allocate on the check path; it lives on the stack briefly instead.
#[allow(clippy::large_enum_variant)]
enum Verdict {
    Approved(Prepared),
    Rejected(RejectReason),
}

/// Account-wide sums of the instruments' cached valuations and realized P&L.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Totals {
    gross_exposure: Money,
    net_if_buys_fill: Money,
    net_if_sells_fill: Money,
    realized_pnl: Money,
    unrealized_pnl: Money,
}

impl Totals {
    /// The totals with one instrument's contribution replaced.
    fn replacing(
        &self,
        old: (&Valuation, Money),
        new: (&Valuation, Money),
    ) -> Result<Totals, RiskError> {
        let shift = |total: Money, before: Money, after: Money| {
            total
                .checked_sub(before)
                .and_then(|t| t.checked_add(after))
                .ok_or(RiskError::Overflow)
        };
        let (old_value, old_realized) = old;
        let (new_value, new_realized) = new;
        Ok(Totals {
            gross_exposure: shift(
                self.gross_exposure,
                old_value.exposure.gross,
                new_value.exposure.gross,
            )?,
            net_if_buys_fill: shift(
                self.net_if_buys_fill,
                old_value.exposure.net_if_buys_fill,
                new_value.exposure.net_if_buys_fill,
            )?,
            net_if_sells_fill: shift(
                self.net_if_sells_fill,
                old_value.exposure.net_if_sells_fill,
                new_value.exposure.net_if_sells_fill,
            )?,
            realized_pnl: shift(self.realized_pnl, old_realized, new_realized)?,
            unrealized_pnl: shift(
                self.unrealized_pnl,
                old_value.unrealized_pnl,
                new_value.unrealized_pnl,
            )?,
        })
    }

    /// Net exposure as limited: the larger magnitude of the two worst cases.
    fn net_exposure(&self) -> u128 {
        net_exposure(self.net_if_buys_fill, self.net_if_sells_fill)
    }
}

fn net_exposure(net_if_buys_fill: Money, net_if_sells_fill: Money) -> u128 {
    net_if_buys_fill
        .unsigned_abs()
        .max(net_if_sells_fill.unsigned_abs())
}

/// Pre-trade risk gate of one account: every order passes [`RiskGate::check_order`] before it
/// may be sent, and the gate follows fills, order closes and prices to keep positions, open
/// orders, exposure and P&L current.
///
/// Checks run in a fixed order and the first failure decides (see [`RejectReason`], whose
/// codes follow that order): kill switch, circuit breaker, trading state, instrument quantity
/// range and minimum notional, max order quantity and notional, reference price and collar,
/// long/short position counting open orders, gross and net exposure, open-order count, and last
/// the order-rate throttle (so only an approved order takes a token). Checking is O(1) and does
/// not allocate. An approved order is open at once: it counts against position, exposure and
/// open-order limits until [`RiskGate::on_fill`] fills it or [`RiskGate::on_order_closed`]
/// closes it.
#[derive(Debug, Clone)]
pub struct RiskGate {
    limits: AccountLimits,
    instruments: Vec<InstrumentRisk>,
    open_orders: OpenOrderTable,
    order_throttle: Option<TokenBucket>,
    cancel_throttle: Option<TokenBucket>,
    totals: Totals,
    day_start_pnl: Money,
    day_start_ts: Option<i64>,
    latest_event_ts: i64,
    operator_state: TradingState,
    kill_switch: bool,
    breaker_trip: Option<CircuitBreakerTrip>,
}

impl RiskGate {
    pub fn new(limits: AccountLimits) -> Result<Self, LimitsError> {
        limits.validate()?;
        Ok(RiskGate {
            limits,
            instruments: Vec::new(),
            open_orders: OpenOrderTable::with_capacity(limits.max_open_orders as usize),
            order_throttle: limits.order_rate.map(TokenBucket::new),
            cancel_throttle: limits.cancel_rate.map(TokenBucket::new),
            totals: Totals::default(),
            day_start_pnl: 0,
            day_start_ts: None,
            latest_event_ts: i64::MIN,
            operator_state: TradingState::Active,
            kill_switch: false,
            breaker_trip: None,
        })
    }

    /// Adds an instrument with its limits and returns its index for every later call.
    pub fn register_instrument(
        &mut self,
        spec: InstrumentSpec,
        limits: InstrumentLimits,
    ) -> Result<u32, LimitsError> {
        limits.validate()?;
        let index = u32::try_from(self.instruments.len()).map_err(|_| LimitsError {
            field: "instrument",
            problem: "too many instruments".into(),
        })?;
        self.instruments.push(InstrumentRisk {
            spec,
            limits,
            holdings: Holdings::default(),
            valuation: Valuation::default(),
        });
        Ok(index)
    }

    pub fn instrument_count(&self) -> usize {
        self.instruments.len()
    }

    pub fn instrument_spec(&self, instrument: u32) -> Result<&InstrumentSpec, RiskError> {
        Ok(&self.instrument(instrument)?.spec)
    }

    pub fn instrument_limits(&self, instrument: u32) -> Result<InstrumentLimits, RiskError> {
        Ok(self.instrument(instrument)?.limits)
    }

    /// Replaces one instrument's limits; they apply from the next check.
    pub fn set_instrument_limits(
        &mut self,
        instrument: u32,
        limits: InstrumentLimits,
    ) -> Result<(), SetLimitsError> {
        limits.validate()?;
        self.instrument_mut(instrument)?.limits = limits;
        Ok(())
    }

    pub fn account_limits(&self) -> AccountLimits {
        self.limits
    }

    /// Replaces the account limits. Throttles keep their current level (capped at the new
    /// capacity); a throttle that is newly enabled starts full. A lower daily loss limit is
    /// compared at once with the latest daily P&L and may trip the circuit breaker.
    pub fn set_account_limits(&mut self, limits: AccountLimits) -> Result<(), LimitsError> {
        limits.validate()?;
        self.open_orders
            .reserve_for(limits.max_open_orders as usize);
        self.order_throttle = Self::reconfigured(self.order_throttle.take(), limits.order_rate);
        self.cancel_throttle = Self::reconfigured(self.cancel_throttle.take(), limits.cancel_rate);
        self.limits = limits;
        self.evaluate_circuit_breaker(self.latest_event_ts);
        Ok(())
    }

    fn reconfigured(
        bucket: Option<TokenBucket>,
        limit: Option<super::limits::ThrottleLimit>,
    ) -> Option<TokenBucket> {
        match (bucket, limit) {
            (Some(mut bucket), Some(limit)) => {
                bucket.reconfigure(limit);
                Some(bucket)
            }
            (None, Some(limit)) => Some(TokenBucket::new(limit)),
            (_, None) => None,
        }
    }

    fn instrument(&self, instrument: u32) -> Result<&InstrumentRisk, RiskError> {
        self.instruments
            .get(instrument as usize)
            .ok_or(RiskError::UnknownInstrument(instrument))
    }

    fn instrument_mut(&mut self, instrument: u32) -> Result<&mut InstrumentRisk, RiskError> {
        self.instruments
            .get_mut(instrument as usize)
            .ok_or(RiskError::UnknownInstrument(instrument))
    }

    fn validate_request(&self, order: &OrderRequest) -> Result<&InstrumentRisk, RiskError> {
        let instrument = self.instrument(order.instrument)?;
        if order.price <= 0 {
            return Err(RiskError::NonPositivePrice(order.price));
        }
        if order.quantity <= 0 {
            return Err(RiskError::NonPositiveQuantity(order.quantity));
        }
        if self.open_orders.contains(order.order_id) {
            return Err(RiskError::DuplicateOrder(order.order_id));
        }
        Ok(instrument)
    }

    /// Checks an order at time `ts` (ns). On approval the order is open at the gate and has
    /// taken an order-rate token; on rejection nothing changes. `Err` means the request itself
    /// is malformed (unknown instrument, non-positive price or quantity, an id already open) or
    /// its amounts leave the representable range; nothing changes then either.
    pub fn check_order(
        &mut self,
        order: &OrderRequest,
        ts: i64,
    ) -> Result<RiskDecision, RiskError> {
        let instrument = self.validate_request(order)?;
        let approval = match self.evaluate(instrument, order)? {
            Verdict::Rejected(reason) => return Ok(RiskDecision::Rejected(reason)),
            Verdict::Approved(approval) => approval,
        };
        if let Some(throttle) = &mut self.order_throttle {
            if !throttle.try_take(ts) {
                return Ok(RiskDecision::Rejected(RejectReason::OrderRate));
            }
        }
        self.commit(order.instrument, approval);
        // The open-order check guarantees room, so this insert neither fails nor allocates.
        self.open_orders.insert(OpenOrder {
            order_id: order.order_id,
            instrument: order.instrument,
            side: order.side,
            open_quantity: order.quantity,
        });
        Ok(RiskDecision::Approved)
    }

    /// As [`RiskGate::check_order`] with price and quantity as decimal text in the
    /// instrument's units; a value off the tick or lot grid is rejected with
    /// [`RejectReason::OffGrid`] before any other check.
    pub fn check_order_values(
        &mut self,
        order_id: u64,
        instrument: u32,
        side: Side,
        price: &str,
        quantity: &str,
        ts: i64,
    ) -> Result<RiskDecision, RiskError> {
        let spec = &self.instrument(instrument)?.spec;
        let converted = spec
            .price_from_str(price, Rounding::Exact)
            .and_then(|price| Ok((price, spec.quantity_from_str(quantity, Rounding::Exact)?)));
        match converted {
            Ok((price, quantity)) => self.check_order(
                &OrderRequest {
                    order_id,
                    instrument,
                    side,
                    price,
                    quantity,
                },
                ts,
            ),
            Err(ValueError::OffGrid { .. }) => Ok(RiskDecision::Rejected(RejectReason::OffGrid)),
            Err(error) => Err(RiskError::InvalidValue(error)),
        }
    }

    /// Runs every check but the throttle, in order; an approval carries the instrument's and
    /// the account's state with the order open, ready to commit.
    fn evaluate(
        &self,
        instrument: &InstrumentRisk,
        order: &OrderRequest,
    ) -> Result<Verdict, RiskError> {
        let reject = |reason| Ok(Verdict::Rejected(reason));
        if self.kill_switch {
            return reject(RejectReason::KillSwitch);
        }
        let reduces = || instrument.reduces_position(order.side, order.quantity);
        if let Some(trip) = &self.breaker_trip {
            if trip.state == TradingState::Halted || !reduces() {
                return reject(RejectReason::DailyLossLimit);
            }
        }
        match self.operator_state {
            TradingState::Halted => return reject(RejectReason::TradingHalted),
            TradingState::Reducing if !reduces() => return reject(RejectReason::ReduceOnly),
            _ => {}
        }
        let spec = &instrument.spec;
        if order.quantity < spec.min_quantity || order.quantity > spec.max_quantity {
            return reject(RejectReason::QuantityOutOfRange);
        }
        let k = spec.notional_per_tick_lot;
        let notional =
            money_value(order.price, i128::from(order.quantity), k).ok_or(RiskError::Overflow)?;
        if notional < spec.min_notional {
            return reject(RejectReason::BelowMinNotional);
        }
        let limits = &instrument.limits;
        if limits
            .max_order_quantity
            .is_some_and(|max| order.quantity > max)
        {
            return reject(RejectReason::MaxOrderQuantity);
        }
        if limits.max_order_notional.is_some_and(|max| notional > max) {
            return reject(RejectReason::MaxOrderNotional);
        }
        let mut holdings = instrument.holdings;
        let Some(reference) = holdings.reference else {
            return reject(RejectReason::NoReferencePrice);
        };
        if !limits.price_collar.admits(order.price, reference) {
            return reject(RejectReason::PriceCollar);
        }
        match order.side {
            Side::Buy => {
                holdings.open_buy = holdings
                    .open_buy
                    .checked_add(order.quantity)
                    .ok_or(RiskError::Overflow)?;
                let long_case =
                    i128::from(holdings.position.position) + i128::from(holdings.open_buy);
                if limits
                    .max_long_position
                    .is_some_and(|max| long_case > i128::from(max))
                {
                    return reject(RejectReason::MaxLongPosition);
                }
            }
            Side::Sell => {
                holdings.open_sell = holdings
                    .open_sell
                    .checked_add(order.quantity)
                    .ok_or(RiskError::Overflow)?;
                let short_case =
                    i128::from(holdings.position.position) - i128::from(holdings.open_sell);
                if limits
                    .max_short_position
                    .is_some_and(|max| short_case < -i128::from(max))
                {
                    return reject(RejectReason::MaxShortPosition);
                }
            }
        }
        let approval = self.prepare(instrument, holdings)?;
        // A limit only refuses orders that raise its measure, so risk-reducing orders pass
        // even while the account is over the limit (after a price move, or a lowered limit).
        let gross = approval.totals.gross_exposure;
        if self
            .limits
            .max_gross_exposure
            .is_some_and(|max| gross > max && gross > self.totals.gross_exposure)
        {
            return reject(RejectReason::MaxGrossExposure);
        }
        let net = approval.totals.net_exposure();
        if self
            .limits
            .max_net_exposure
            .is_some_and(|max| net > max.unsigned_abs() && net > self.totals.net_exposure())
        {
            return reject(RejectReason::MaxNetExposure);
        }
        if self.open_orders.len() >= self.limits.max_open_orders as usize {
            return reject(RejectReason::MaxOpenOrders);
        }
        Ok(Verdict::Approved(approval))
    }

    /// Values new holdings of an instrument and the account totals that follow, without
    /// changing anything; fails if a value would overflow.
    fn prepare(
        &self,
        instrument: &InstrumentRisk,
        holdings: Holdings,
    ) -> Result<Prepared, RiskError> {
        let valuation = instrument.value(&holdings)?;
        let totals = self.totals.replacing(
            (
                &instrument.valuation,
                instrument.holdings.position.realized_pnl,
            ),
            (&valuation, holdings.position.realized_pnl),
        )?;
        Ok(Prepared {
            holdings,
            valuation,
            totals,
        })
    }

    fn commit(&mut self, index: u32, prepared: Prepared) {
        if let Some(instrument) = self.instruments.get_mut(index as usize) {
            instrument.holdings = prepared.holdings;
            instrument.valuation = prepared.valuation;
            self.totals = prepared.totals;
        }
    }

    /// Prepares and commits new holdings of an instrument.
    fn update_holdings(&mut self, index: u32, holdings: Holdings) -> Result<(), RiskError> {
        let prepared = self.prepare(self.instrument(index)?, holdings)?;
        self.commit(index, prepared);
        Ok(())
    }

    /// Checks a cancel of an open order at `ts`. Cancels are never refused by the kill switch,
    /// the circuit breaker or the trading state. The cancel-rate throttle refuses them only
    /// while trading is ACTIVE or REDUCING; with the kill switch engaged or trading HALTED a
    /// cancel always passes (taking a token if one is left), because pulling orders is then the
    /// point. The order stays open until [`RiskGate::on_order_closed`].
    pub fn check_cancel(&mut self, order_id: u64, ts: i64) -> Result<RiskDecision, RiskError> {
        if !self.open_orders.contains(order_id) {
            return Err(RiskError::UnknownOrder(order_id));
        }
        let emergency = self.kill_switch || self.trading_state() == TradingState::Halted;
        if let Some(throttle) = &mut self.cancel_throttle {
            if !throttle.try_take(ts) && !emergency {
                return Ok(RiskDecision::Rejected(RejectReason::CancelRate));
            }
        }
        Ok(RiskDecision::Approved)
    }

    /// Tracks an order that is already working at the venue without checking it, e.g. after a
    /// restart, from the venue's open orders. It takes no throttle token and may exceed limits.
    pub fn add_open_order(&mut self, order: &OrderRequest) -> Result<(), RiskError> {
        let instrument = self.validate_request(order)?;
        let mut holdings = instrument.holdings;
        let open_side = match order.side {
            Side::Buy => &mut holdings.open_buy,
            Side::Sell => &mut holdings.open_sell,
        };
        *open_side = open_side
            .checked_add(order.quantity)
            .ok_or(RiskError::Overflow)?;
        self.update_holdings(order.instrument, holdings)?;
        self.open_orders.insert(OpenOrder {
            order_id: order.order_id,
            instrument: order.instrument,
            side: order.side,
            open_quantity: order.quantity,
        });
        Ok(())
    }

    /// Applies a fill of `quantity` lots at `price` ticks on an open order at `ts`, paying
    /// `fee` (negative: a rebate). The order's open quantity drops by the fill; a complete
    /// fill closes it. Realized and unrealized P&L and the circuit breaker follow.
    pub fn on_fill(
        &mut self,
        order_id: u64,
        price: Price,
        quantity: Quantity,
        fee: Money,
        ts: i64,
    ) -> Result<(), RiskError> {
        let order = *self
            .open_orders
            .get(order_id)
            .ok_or(RiskError::UnknownOrder(order_id))?;
        if price <= 0 {
            return Err(RiskError::NonPositivePrice(price));
        }
        if quantity <= 0 {
            return Err(RiskError::NonPositiveQuantity(quantity));
        }
        if quantity > order.open_quantity {
            return Err(RiskError::Overfill {
                order_id,
                open: order.open_quantity,
                fill: quantity,
            });
        }
        let instrument = self.instrument(order.instrument)?;
        let mut holdings = instrument.holdings;
        holdings.position = holdings
            .position
            .after_fill(
                order.side,
                price,
                quantity,
                fee,
                instrument.spec.notional_per_tick_lot,
            )
            .ok_or(RiskError::Overflow)?;
        match order.side {
            Side::Buy => holdings.open_buy -= quantity,
            Side::Sell => holdings.open_sell -= quantity,
        }
        self.update_holdings(order.instrument, holdings)?;
        let remaining = order.open_quantity - quantity;
        if remaining == 0 {
            self.open_orders.remove(order_id);
        } else if let Some(open) = self.open_orders.get_mut(order_id) {
            open.open_quantity = remaining;
        }
        self.note_event_ts(ts);
        self.evaluate_circuit_breaker(ts);
        Ok(())
    }

    /// An open order ended without filling further (canceled, expired or rejected by the
    /// venue): its open quantity stops counting. Returns the order as it was.
    pub fn on_order_closed(&mut self, order_id: u64) -> Result<OpenOrder, RiskError> {
        let order = *self
            .open_orders
            .get(order_id)
            .ok_or(RiskError::UnknownOrder(order_id))?;
        let mut holdings = self.instrument(order.instrument)?.holdings;
        match order.side {
            Side::Buy => holdings.open_buy -= order.open_quantity,
            Side::Sell => holdings.open_sell -= order.open_quantity,
        }
        self.update_holdings(order.instrument, holdings)?;
        self.open_orders.remove(order_id);
        Ok(order)
    }

    /// A new reference (mark) price of an instrument at `ts`: the collar centre and the price
    /// at which exposure and unrealized P&L are valued. May trip the circuit breaker.
    pub fn on_price(&mut self, instrument: u32, price: Price, ts: i64) -> Result<(), RiskError> {
        let mut holdings = self.instrument(instrument)?.holdings;
        if price <= 0 {
            return Err(RiskError::NonPositivePrice(price));
        }
        holdings.reference = Some(price);
        self.update_holdings(instrument, holdings)?;
        self.note_event_ts(ts);
        self.evaluate_circuit_breaker(ts);
        Ok(())
    }

    /// Sets an instrument's position and its cost basis (e.g. from the venue at start-up).
    /// Realized P&L is unchanged and the daily baseline moves with the unrealized P&L, so a
    /// restored position does not show up as a daily gain or loss.
    pub fn set_position(
        &mut self,
        instrument: u32,
        position: Quantity,
        cost_basis: Money,
    ) -> Result<(), RiskError> {
        let mut holdings = self.instrument(instrument)?.holdings;
        if position.signum() as i128 != cost_basis.signum() {
            return Err(RiskError::InconsistentPosition {
                position,
                cost_basis,
            });
        }
        holdings.position.position = position;
        holdings.position.cost_basis = cost_basis;
        let prepared = self.prepare(self.instrument(instrument)?, holdings)?;
        let unrealized_shift = prepared
            .totals
            .unrealized_pnl
            .checked_sub(self.totals.unrealized_pnl)
            .ok_or(RiskError::Overflow)?;
        let day_start_pnl = self
            .day_start_pnl
            .checked_add(unrealized_shift)
            .ok_or(RiskError::Overflow)?;
        self.commit(instrument, prepared);
        self.day_start_pnl = day_start_pnl;
        Ok(())
    }

    /// Starts a trading day at `ts`: the current P&L becomes the daily baseline and a tripped
    /// circuit breaker is cleared.
    pub fn start_day(&mut self, ts: i64) {
        self.day_start_pnl = self.total_pnl();
        self.day_start_ts = Some(ts);
        self.breaker_trip = None;
        self.note_event_ts(ts);
    }

    pub fn engage_kill_switch(&mut self) {
        self.kill_switch = true;
    }

    pub fn reset_kill_switch(&mut self) {
        self.kill_switch = false;
    }

    pub fn kill_switch_engaged(&self) -> bool {
        self.kill_switch
    }

    /// Sets the operator's trading state. A tripped circuit breaker still applies on top of it
    /// until [`RiskGate::reset_circuit_breaker`] or [`RiskGate::start_day`].
    pub fn set_trading_state(&mut self, state: TradingState) {
        self.operator_state = state;
    }

    /// The effective trading state: the more restrictive of the operator's and the breaker's.
    pub fn trading_state(&self) -> TradingState {
        match &self.breaker_trip {
            Some(trip) => self.operator_state.max(trip.state),
            None => self.operator_state,
        }
    }

    pub fn operator_trading_state(&self) -> TradingState {
        self.operator_state
    }

    /// Clears a tripped breaker and re-arms it at `ts`: if the daily loss is still at or past
    /// the limit it trips again at once.
    pub fn reset_circuit_breaker(&mut self, ts: i64) {
        self.breaker_trip = None;
        self.note_event_ts(ts);
        self.evaluate_circuit_breaker(ts);
    }

    pub fn circuit_breaker_trip(&self) -> Option<CircuitBreakerTrip> {
        self.breaker_trip
    }

    fn note_event_ts(&mut self, ts: i64) {
        self.latest_event_ts = self.latest_event_ts.max(ts);
    }

    fn evaluate_circuit_breaker(&mut self, ts: i64) {
        if self.breaker_trip.is_some() {
            return;
        }
        let Some(limit) = self.limits.daily_loss_limit else {
            return;
        };
        let daily_pnl = self.daily_pnl();
        if daily_pnl <= -limit {
            self.breaker_trip = Some(CircuitBreakerTrip {
                ts,
                reason: RejectReason::DailyLossLimit,
                state: self.limits.circuit_breaker_state,
                daily_pnl,
                daily_loss_limit: limit,
                realized_pnl: self.totals.realized_pnl,
                unrealized_pnl: self.totals.unrealized_pnl,
            });
        }
    }

    fn total_pnl(&self) -> Money {
        self.totals
            .realized_pnl
            .saturating_add(self.totals.unrealized_pnl)
    }

    /// Realized + unrealized P&L (net of fees) since the start of the day.
    pub fn daily_pnl(&self) -> Money {
        self.total_pnl().saturating_sub(self.day_start_pnl)
    }

    /// Timestamp of the latest [`RiskGate::start_day`], if any.
    pub fn day_start_ts(&self) -> Option<i64> {
        self.day_start_ts
    }

    /// Realized P&L net of fees of all instruments since the gate was created.
    pub fn realized_pnl(&self) -> Money {
        self.totals.realized_pnl
    }

    /// Unrealized P&L of all instruments at their reference prices.
    pub fn unrealized_pnl(&self) -> Money {
        self.totals.unrealized_pnl
    }

    /// Sum over instruments of worst-case absolute exposure at the reference prices.
    pub fn gross_exposure(&self) -> Money {
        self.totals.gross_exposure
    }

    /// Larger magnitude of net exposure if every open buy, or every open sell, filled.
    pub fn net_exposure(&self) -> u128 {
        self.totals.net_exposure()
    }

    pub fn position(&self, instrument: u32) -> Result<RiskPosition, RiskError> {
        let instrument = self.instrument(instrument)?;
        Ok(RiskPosition {
            position: instrument.holdings.position,
            open_buy_quantity: instrument.holdings.open_buy,
            open_sell_quantity: instrument.holdings.open_sell,
            reference_price: instrument.holdings.reference,
            unrealized_pnl: instrument.valuation.unrealized_pnl,
            exposure: instrument.valuation.exposure,
        })
    }

    pub fn open_order(&self, order_id: u64) -> Option<OpenOrder> {
        self.open_orders.get(order_id).copied()
    }

    pub fn open_orders(&self) -> impl Iterator<Item = &OpenOrder> {
        self.open_orders.iter()
    }

    pub fn open_order_count(&self) -> usize {
        self.open_orders.len()
    }

    /// Whole order-rate tokens available at `ts` (`None` without an order-rate limit).
    pub fn order_tokens(&self, ts: i64) -> Option<u64> {
        self.order_throttle.as_ref().map(|t| t.available(ts))
    }

    /// Whole cancel-rate tokens available at `ts` (`None` without a cancel-rate limit).
    pub fn cancel_tokens(&self, ts: i64) -> Option<u64> {
        self.cancel_throttle.as_ref().map(|t| t.available(ts))
    }
}

/// Why instrument limits could not be replaced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SetLimitsError {
    #[error(transparent)]
    Limits(#[from] LimitsError),
    #[error(transparent)]
    Risk(#[from] RiskError),
}
