//! Continuous price-time matching engine for several instruments.
//!
//! The engine is an exchange's matching core: it validates orders against each instrument's
//! [`InstrumentSpec`], matches them by price then time, rests what is left, and reports every
//! state change as an [`OrderEvent`], in order, from the call that caused it. It holds no clock
//! and no randomness: the caller passes a nanosecond timestamp with every call, so the same
//! calls always give the same events, bit for bit.
//!
//! Semantics in brief (docs/matching-engine.md has the full rules):
//! - A rejected call changes nothing and returns exactly one `Rejected` event.
//! - Each trade emits the taker's `Filled` then the maker's, with the same trade id; fees are
//!   the spec's taker and maker rates on the trade notional.
//! - Icebergs: only the display slice is visible and holds time priority; when a slice is used
//!   up it is refilled from the hidden quantity at the BACK of the queue of its level.
//! - Stops trigger from the instrument's last trade price once the aggressing order is done,
//!   one at a time: the lowest triggered buy stop or the highest triggered sell stop, ties by
//!   arrival, and the older of the two when both sides are triggered; cascades follow.
//! - Self-trade prevention follows the incoming order's mode.
//! - Reduce-only orders never let a position grow: they are capped at the position when they
//!   arrive and trimmed (or canceled) whenever the position shrinks or flips.
//! - Time moves only through [`MatchingEngine::advance_time`] (GTD expiry) and
//!   [`MatchingEngine::end_session`] (DAY expiry), so any other call either applies fully or is
//!   rejected with no effect.

mod book;
mod fill_or_kill;
mod integrity;
mod snapshot;
#[cfg(test)]
mod tests;

use rustc_hash::FxHashMap;

use crate::matching::events::{CancelReason, Fill, Liquidity, OrderEvent, RejectReason};
use crate::matching::order::{OrderId, OrderType, SelfTradePrevention, TimeInForce, TradeId};
use crate::types::FEE_RATE_DENOMINATOR;
use crate::types::{InstrumentSpec, Money, Price, Quantity, Side, ValueError};

use book::{Order, SideBook, Stage, StopBook, StopEntry};
pub use snapshot::SnapshotError;

/// Largest notional an order may have, so that fee arithmetic can never overflow.
pub const MAX_NOTIONAL: Money = i128::MAX / FEE_RATE_DENOMINATOR;

/// What a post-only order does when its price would cross the opposite best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PostOnly {
    /// Not post-only.
    None = 0,
    /// Reject the order (`POST_ONLY_WOULD_CROSS`).
    Reject = 1,
    /// Reprice it one tick behind the opposite best.
    Slide = 2,
}

impl PostOnly {
    pub fn from_code(code: u8) -> Result<Self, ValueError> {
        Ok(match code {
            0 => PostOnly::None,
            1 => PostOnly::Reject,
            2 => PostOnly::Slide,
            other => {
                return Err(ValueError::InvalidSpec(format!(
                    "post-only code {other} is not 0..=2"
                )))
            }
        })
    }
}

/// A new order. Prices are ticks, quantities lots; 0 means "none" for `price` (market, stop,
/// market-to-limit), `trigger_price` (non-stops), `display_quantity` (fully shown) and
/// `expire_ts` (non-GTD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    pub order_id: OrderId,
    /// Account; used for self-trade prevention and reduce-only positions.
    pub owner: u32,
    /// Index returned by [`MatchingEngine::add_instrument`].
    pub instrument: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Price,
    pub trigger_price: Price,
    pub quantity: Quantity,
    pub display_quantity: Quantity,
    pub post_only: PostOnly,
    pub reduce_only: bool,
    pub self_trade_prevention: SelfTradePrevention,
    pub expire_ts: i64,
    pub ts: i64,
}

impl OrderRequest {
    /// A plain GTC limit order; adjust other fields with struct update syntax.
    pub fn limit(
        order_id: OrderId,
        owner: u32,
        instrument: u32,
        side: Side,
        price: Price,
        quantity: Quantity,
        ts: i64,
    ) -> Self {
        OrderRequest {
            order_id,
            owner,
            instrument,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price,
            trigger_price: 0,
            quantity,
            display_quantity: 0,
            post_only: PostOnly::None,
            reduce_only: false,
            self_trade_prevention: SelfTradePrevention::None,
            expire_ts: 0,
            ts,
        }
    }

    /// A plain IOC market order.
    pub fn market(
        order_id: OrderId,
        owner: u32,
        instrument: u32,
        side: Side,
        quantity: Quantity,
        ts: i64,
    ) -> Self {
        OrderRequest {
            order_type: OrderType::Market,
            time_in_force: TimeInForce::Ioc,
            price: 0,
            ..OrderRequest::limit(order_id, owner, instrument, side, 0, quantity, ts)
        }
    }
}

/// A cancel/replace of a resting order: new limit price and new TOTAL quantity (filled part
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModifyRequest {
    pub order_id: OrderId,
    pub price: Price,
    pub quantity: Quantity,
    pub ts: i64,
}

/// Whether a working order rests in the book or waits for its stop trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum WorkingState {
    Resting = 0,
    AwaitingTrigger = 1,
}

/// A working order as seen from outside. Finished orders are forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: OrderId,
    pub owner: u32,
    pub instrument: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: Price,
    pub trigger_price: Price,
    pub quantity: Quantity,
    pub leaves: Quantity,
    pub filled: Quantity,
    pub visible: Quantity,
    pub display_quantity: Quantity,
    pub post_only: PostOnly,
    pub reduce_only: bool,
    pub self_trade_prevention: SelfTradePrevention,
    pub expire_ts: i64,
    pub state: WorkingState,
}

/// One price level: visible quantity and number of orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelView {
    pub price: Price,
    pub quantity: Quantity,
    pub order_count: u32,
}

#[derive(Debug, Clone)]
struct InstrumentBook {
    spec: InstrumentSpec,
    bids: SideBook,
    asks: SideBook,
    buy_stops: StopBook,
    sell_stops: StopBook,
    last_price: Option<Price>,
    /// Sum of the leaves of every working order; bounded by `i64::MAX` at entry so no level
    /// or queue sum can overflow.
    working_quantity: Quantity,
}

impl InstrumentBook {
    fn new(spec: InstrumentSpec) -> Self {
        InstrumentBook {
            spec,
            bids: SideBook::new(Side::Buy),
            asks: SideBook::new(Side::Sell),
            buy_stops: StopBook::new(Side::Buy),
            sell_stops: StopBook::new(Side::Sell),
            last_price: None,
            working_quantity: 0,
        }
    }

    fn side(&self, side: Side) -> &SideBook {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut SideBook {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn stops_mut(&mut self, side: Side) -> &mut StopBook {
        match side {
            Side::Buy => &mut self.buy_stops,
            Side::Sell => &mut self.sell_stops,
        }
    }
}

/// An owner's net position on one instrument and its working reduce-only orders (slots, in
/// arrival order).
#[derive(Debug, Clone, Default)]
struct Position {
    net: i128,
    reduce_only: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ExpiryEntry {
    expire_ts: i64,
    seq: u64,
    slot: u32,
}

/// Reusable buffers, so that steady-state calls do not allocate.
#[derive(Debug, Clone, Default)]
struct Scratch {
    slots: Vec<(u64, u32)>,
    fill_or_kill: fill_or_kill::Simulation,
}

/// Outcome of matching an incoming order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Matching {
    /// Matching stopped; the order is still incoming with its leaves.
    Open,
    /// Self-trade prevention ended the order.
    Ended,
}

/// How a working order stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Canceled(CancelReason),
    Expired,
}

fn position_key(owner: u32, instrument: u32) -> u64 {
    (u64::from(owner) << 32) | u64::from(instrument)
}

/// Quantity an order on `side` may trade without growing |net|; <= 0 if it would grow it.
fn reducible(net: i128, side: Side) -> i128 {
    match side {
        Side::Buy => -net,
        Side::Sell => net,
    }
}

/// Whether an order on `side` limited at `limit` trades with an opposite level at `price`.
fn crosses(side: Side, limit: Price, price: Price) -> bool {
    match side {
        Side::Buy => price <= limit,
        Side::Sell => price >= limit,
    }
}

fn check_notional(
    spec: &InstrumentSpec,
    price: Price,
    quantity: Quantity,
) -> Result<(), RejectReason> {
    let notional = (i128::from(price) * i128::from(quantity))
        .checked_mul(spec.notional_per_tick_lot)
        .filter(|notional| *notional <= MAX_NOTIONAL)
        .ok_or(RejectReason::NotionalTooLarge)?;
    if notional < spec.min_notional {
        return Err(RejectReason::NotionalBelowMinimum);
    }
    Ok(())
}

/// Validates a spec built field by field (the fields are public) before the engine trusts it.
fn check_spec(spec: &InstrumentSpec) -> Result<(), ValueError> {
    let problem = if spec.min_quantity < 1 {
        "min quantity must be at least one lot"
    } else if spec.max_quantity < spec.min_quantity {
        "max quantity is below min quantity"
    } else if spec.min_notional < 0 {
        "min notional is negative"
    } else if spec.notional_per_tick_lot <= 0 {
        "notional per tick and lot must be positive"
    } else if i128::from(spec.maker_fee_rate).abs() >= FEE_RATE_DENOMINATOR
        || i128::from(spec.taker_fee_rate).abs() >= FEE_RATE_DENOMINATOR
    {
        "fee rates must lie strictly between -1 and 1"
    } else if spec.tick.units <= 0 || spec.lot.units <= 0 {
        "tick and lot sizes must be positive"
    } else {
        return Ok(());
    };
    Err(ValueError::InvalidSpec(problem.to_string()))
}

/// Price-time matching engine over several instruments. See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct MatchingEngine {
    instruments: Vec<InstrumentBook>,
    orders: Vec<Order>,
    free: Vec<u32>,
    index: FxHashMap<OrderId, u32>,
    positions: FxHashMap<u64, Position>,
    /// GTD orders, sorted by (expiry, arrival) descending: the next to expire is last.
    expiries: Vec<ExpiryEntry>,
    next_trade_id: TradeId,
    next_seq: u64,
    events: Vec<OrderEvent>,
    scratch: Scratch,
}

impl MatchingEngine {
    pub fn new() -> Self {
        MatchingEngine {
            next_trade_id: 1,
            next_seq: 1,
            ..MatchingEngine::default()
        }
    }

    /// Adds an instrument and returns its index (0, 1, 2, ... in order of addition).
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<u32, ValueError> {
        check_spec(&spec)?;
        let index = u32::try_from(self.instruments.len())
            .map_err(|_| ValueError::InvalidSpec("too many instruments".to_string()))?;
        self.instruments.push(InstrumentBook::new(spec));
        Ok(index)
    }

    pub fn instrument_count(&self) -> usize {
        self.instruments.len()
    }

    pub fn spec(&self, instrument: u32) -> Option<&InstrumentSpec> {
        self.instruments
            .get(instrument as usize)
            .map(|book| &book.spec)
    }

    /// Submits a new order; returns its events (and those of every order it touched), in order.
    pub fn submit(&mut self, request: &OrderRequest) -> &[OrderEvent] {
        self.events.clear();
        match self.admit(request) {
            Ok((price, quantity)) => self.enter(request, price, quantity),
            Err(reason) => self.reject(request.order_id, reason, request.ts),
        }
        &self.events
    }

    /// Cancel/replace of a resting order. A new price or a larger quantity loses time priority;
    /// a smaller quantity at the same price keeps it; a quantity at or below the filled
    /// quantity cancels the order. A new price that crosses the book trades at once.
    pub fn modify(&mut self, request: &ModifyRequest) -> &[OrderEvent] {
        self.events.clear();
        if let Err(reason) = self.apply_modify(request) {
            self.reject(request.order_id, reason, request.ts);
        }
        &self.events
    }

    /// Cancels a working order (resting or awaiting its trigger).
    pub fn cancel(&mut self, order_id: OrderId, ts: i64) -> &[OrderEvent] {
        self.events.clear();
        match self.index.get(&order_id) {
            Some(&slot) => self.end(slot, Ending::Canceled(CancelReason::Requested), ts),
            None => self.reject(order_id, RejectReason::UnknownOrder, ts),
        }
        &self.events
    }

    /// Cancels every working order of an instrument, optionally only one side and/or one
    /// owner, in arrival order. An unknown instrument is rejected with order id 0.
    pub fn cancel_all(
        &mut self,
        instrument: u32,
        side: Option<Side>,
        owner: Option<u32>,
        ts: i64,
    ) -> &[OrderEvent] {
        self.events.clear();
        let Some(book) = self.instruments.get(instrument as usize) else {
            self.reject(0, RejectReason::UnknownInstrument, ts);
            return &self.events;
        };
        let mut chosen = std::mem::take(&mut self.scratch.slots);
        chosen.clear();
        let wanted = |order: &Order| {
            side.is_none_or(|side| order.side == side) && owner.is_none_or(|o| order.owner == o)
        };
        for side_book in [&book.bids, &book.asks] {
            for index in 0..side_book.levels.len() {
                for slot in side_book.queue(&self.orders, index) {
                    let order = &self.orders[slot as usize];
                    if wanted(order) {
                        chosen.push((order.seq, slot));
                    }
                }
            }
        }
        for stops in [&book.buy_stops, &book.sell_stops] {
            for entry in &stops.entries {
                if wanted(&self.orders[entry.slot as usize]) {
                    chosen.push((entry.seq, entry.slot));
                }
            }
        }
        self.end_in_arrival_order(&mut chosen, Ending::Canceled(CancelReason::Requested), ts);
        self.scratch.slots = chosen;
        &self.events
    }

    /// Moves the engine's clock to `ts`: every GTD order whose expiry is at or before `ts`
    /// expires, soonest first (ties by arrival).
    pub fn advance_time(&mut self, ts: i64) -> &[OrderEvent] {
        self.events.clear();
        while let Some(entry) = self.expiries.last().copied() {
            if entry.expire_ts > ts {
                break;
            }
            self.end(entry.slot, Ending::Expired, ts);
        }
        &self.events
    }

    /// Ends the trading session: every DAY order of every instrument expires, in arrival order.
    pub fn end_session(&mut self, ts: i64) -> &[OrderEvent] {
        self.events.clear();
        let mut chosen = std::mem::take(&mut self.scratch.slots);
        chosen.clear();
        chosen.extend(
            self.orders
                .iter()
                .enumerate()
                .filter(|(_, order)| {
                    order.time_in_force == TimeInForce::Day
                        && matches!(order.stage, Stage::Resting | Stage::Waiting)
                })
                .map(|(slot, order)| (order.seq, slot as u32)),
        );
        self.end_in_arrival_order(&mut chosen, Ending::Expired, ts);
        self.scratch.slots = chosen;
        &self.events
    }

    /// The best bid level of an instrument.
    pub fn best_bid(&self, instrument: u32) -> Option<LevelView> {
        self.best(instrument, Side::Buy)
    }

    /// The best ask level of an instrument.
    pub fn best_ask(&self, instrument: u32) -> Option<LevelView> {
        self.best(instrument, Side::Sell)
    }

    fn best(&self, instrument: u32, side: Side) -> Option<LevelView> {
        let level = self
            .instruments
            .get(instrument as usize)?
            .side(side)
            .best()?;
        Some(LevelView {
            price: level.price,
            quantity: level.visible,
            order_count: level.count,
        })
    }

    /// Up to `depth` levels of one side, best first (visible quantity only).
    pub fn levels(&self, instrument: u32, side: Side, depth: usize) -> Vec<LevelView> {
        self.instruments
            .get(instrument as usize)
            .map(|book| {
                book.side(side)
                    .best_first()
                    .take(depth)
                    .map(|level| LevelView {
                        price: level.price,
                        quantity: level.visible,
                        order_count: level.count,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Visible quantity at one price of one side (0 if no level there).
    pub fn depth_at(&self, instrument: u32, side: Side, price: Price) -> Quantity {
        self.instruments
            .get(instrument as usize)
            .and_then(|book| {
                let side_book = book.side(side);
                side_book
                    .find(price)
                    .ok()
                    .map(|index| side_book.levels[index].visible)
            })
            .unwrap_or(0)
    }

    /// Order ids resting at the level at `price`, in queue order.
    pub fn queue(&self, instrument: u32, side: Side, price: Price) -> Vec<OrderId> {
        let Some(book) = self.instruments.get(instrument as usize) else {
            return Vec::new();
        };
        let side_book = book.side(side);
        match side_book.find(price) {
            Ok(index) => side_book
                .queue(&self.orders, index)
                .map(|slot| self.orders[slot as usize].id)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A working order, or None if it is unknown or finished.
    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        let order = &self.orders[*self.index.get(&order_id)? as usize];
        Some(OrderView {
            order_id: order.id,
            owner: order.owner,
            instrument: order.instrument,
            side: order.side,
            order_type: order.order_type,
            time_in_force: order.time_in_force,
            price: order.price,
            trigger_price: order.trigger_price,
            quantity: order.quantity,
            leaves: order.leaves,
            filled: order.filled(),
            visible: if order.stage == Stage::Resting {
                order.visible
            } else {
                0
            },
            display_quantity: order.display,
            post_only: order.post_only,
            reduce_only: order.reduce_only,
            self_trade_prevention: order.self_trade_prevention,
            expire_ts: order.expire_ts,
            state: if order.stage == Stage::Waiting {
                WorkingState::AwaitingTrigger
            } else {
                WorkingState::Resting
            },
        })
    }

    /// Net position (lots, + long) of an owner on an instrument, from its fills.
    pub fn position(&self, owner: u32, instrument: u32) -> i128 {
        self.positions
            .get(&position_key(owner, instrument))
            .map_or(0, |position| position.net)
    }

    /// Price of the instrument's last trade.
    pub fn last_price(&self, instrument: u32) -> Option<Price> {
        self.instruments.get(instrument as usize)?.last_price
    }

    /// Number of working orders (resting or awaiting a trigger) across all instruments.
    pub fn working_order_count(&self) -> usize {
        self.index.len()
    }

    // ----- entry -----

    fn reject(&mut self, order_id: OrderId, reason: RejectReason, ts: i64) {
        self.events.push(OrderEvent::Rejected {
            order_id,
            reason,
            ts,
        });
    }

    /// Checks a new order; returns the price and quantity it enters with (a post-only slide
    /// may lower the price's aggressiveness, reduce-only may cap the quantity).
    fn admit(&self, request: &OrderRequest) -> Result<(Price, Quantity), RejectReason> {
        use OrderType::*;
        use TimeInForce::*;
        let book = self
            .instruments
            .get(request.instrument as usize)
            .ok_or(RejectReason::UnknownInstrument)?;
        let spec = &book.spec;
        if self.index.contains_key(&request.order_id) {
            return Err(RejectReason::DuplicateOrderId);
        }
        let order_type = request.order_type;
        let tif = request.time_in_force;
        let tif_allowed = match order_type {
            Market => matches!(tif, Ioc | Fok),
            Limit => true,
            Stop | StopLimit | MarketToLimit => matches!(tif, Gtc | Day | Gtd),
        };
        if !tif_allowed {
            return Err(RejectReason::InvalidTimeInForce);
        }
        let quantity = request.quantity;
        if quantity <= 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        if quantity < spec.min_quantity {
            return Err(RejectReason::QuantityBelowMinimum);
        }
        if quantity > spec.max_quantity {
            return Err(RejectReason::QuantityAboveMaximum);
        }
        let priced = matches!(order_type, Limit | StopLimit);
        if (priced && request.price <= 0) || (!priced && request.price != 0) {
            return Err(RejectReason::InvalidPrice);
        }
        let stop = matches!(order_type, Stop | StopLimit);
        if (stop && request.trigger_price <= 0) || (!stop && request.trigger_price != 0) {
            return Err(RejectReason::InvalidTriggerPrice);
        }
        let display = request.display_quantity;
        if display != 0 {
            let can_rest = matches!(order_type, Limit | StopLimit | MarketToLimit)
                && !matches!(tif, Ioc | Fok);
            if !can_rest || display < spec.min_quantity || display > quantity {
                return Err(RejectReason::InvalidDisplayQuantity);
            }
        }
        if request.post_only != PostOnly::None
            && !(order_type == Limit && matches!(tif, Gtc | Day | Gtd))
        {
            return Err(RejectReason::PostOnlyNotAllowed);
        }
        if (tif == Gtd) != (request.expire_ts != 0)
            || (tif == Gtd && request.expire_ts <= request.ts)
        {
            return Err(RejectReason::InvalidExpiry);
        }
        if priced {
            check_notional(spec, request.price, quantity)?;
        }
        if book.working_quantity.checked_add(quantity).is_none() {
            return Err(RejectReason::QuantityAboveMaximum);
        }
        let mut quantity = quantity;
        if request.reduce_only {
            let cap = reducible(
                self.position(request.owner, request.instrument),
                request.side,
            );
            if cap <= 0 {
                return Err(RejectReason::ReduceOnlyWouldIncrease);
            }
            quantity = quantity.min(Quantity::try_from(cap).unwrap_or(Quantity::MAX));
        }
        let price = self.post_only_price(book, request.side, request.price, request.post_only)?;
        if price != request.price {
            check_notional(spec, price, request.quantity)?;
        }
        Ok((price, quantity))
    }

    /// The price a post-only order rests at, or why it cannot.
    fn post_only_price(
        &self,
        book: &InstrumentBook,
        side: Side,
        price: Price,
        post_only: PostOnly,
    ) -> Result<Price, RejectReason> {
        if post_only == PostOnly::None {
            return Ok(price);
        }
        let Some(best) = book.side(side.opposite()).best() else {
            return Ok(price);
        };
        if !crosses(side, price, best.price) {
            return Ok(price);
        }
        let slid = match side {
            Side::Buy => best.price.checked_sub(1).filter(|slid| *slid > 0),
            Side::Sell => best.price.checked_add(1),
        };
        match (post_only, slid) {
            (PostOnly::Slide, Some(slid)) => Ok(slid),
            _ => Err(RejectReason::PostOnlyWouldCross),
        }
    }

    fn allocate(&mut self, order: Order) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.orders[slot as usize] = order;
                slot
            }
            None => {
                self.orders.push(order);
                (self.orders.len() - 1) as u32
            }
        }
    }

    fn enter(&mut self, request: &OrderRequest, price: Price, quantity: Quantity) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = self.allocate(Order {
            id: request.order_id,
            owner: request.owner,
            instrument: request.instrument,
            side: request.side,
            order_type: request.order_type,
            time_in_force: request.time_in_force,
            post_only: request.post_only,
            reduce_only: request.reduce_only,
            self_trade_prevention: request.self_trade_prevention,
            price,
            trigger_price: request.trigger_price,
            quantity,
            leaves: quantity,
            visible: 0,
            display: request.display_quantity,
            expire_ts: request.expire_ts,
            seq,
            stage: Stage::Incoming,
            prev: book::NIL,
            next: book::NIL,
        });
        self.register(slot);
        let ts = request.ts;
        self.events.push(OrderEvent::Accepted {
            order_id: request.order_id,
            ts,
        });
        if price != request.price || quantity != request.quantity {
            self.push_replaced(slot, ts);
        }
        let instrument = request.instrument;
        match request.order_type {
            OrderType::Stop | OrderType::StopLimit => {
                let order = &mut self.orders[slot as usize];
                order.stage = Stage::Waiting;
                let entry = StopEntry {
                    trigger_price: order.trigger_price,
                    seq,
                    slot,
                };
                self.instruments[instrument as usize]
                    .stops_mut(request.side)
                    .insert(entry);
            }
            _ if request.post_only != PostOnly::None => self.rest(slot),
            _ => {
                if request.time_in_force == TimeInForce::Fok && !self.can_fill_completely(slot) {
                    self.end(slot, Ending::Canceled(CancelReason::FillOrKill), ts);
                    return;
                }
                self.match_and_settle(slot, ts);
            }
        }
        self.trigger_stops(instrument, ts);
    }

    /// Indexes a freshly allocated order.
    fn register(&mut self, slot: u32) {
        let order = &self.orders[slot as usize];
        self.index.insert(order.id, slot);
        self.instruments[order.instrument as usize].working_quantity += order.leaves;
        if order.time_in_force == TimeInForce::Gtd {
            let entry = ExpiryEntry {
                expire_ts: order.expire_ts,
                seq: order.seq,
                slot,
            };
            let at = self
                .expiries
                .binary_search_by(|probe| entry.cmp(probe))
                .unwrap_or_else(|at| at);
            self.expiries.insert(at, entry);
        }
        if order.reduce_only {
            let key = position_key(order.owner, order.instrument);
            let list = &mut self.positions.entry(key).or_default().reduce_only;
            let seq = order.seq;
            let orders = &self.orders;
            let at = list.partition_point(|other| orders[*other as usize].seq < seq);
            list.insert(at, slot);
        }
    }

    /// Forgets a finished order and frees its slot.
    fn release(&mut self, slot: u32) {
        let order = &mut self.orders[slot as usize];
        order.stage = Stage::Free;
        self.index.remove(&order.id);
        self.instruments[order.instrument as usize].working_quantity -= order.leaves;
        if order.time_in_force == TimeInForce::Gtd {
            let entry = ExpiryEntry {
                expire_ts: order.expire_ts,
                seq: order.seq,
                slot,
            };
            if let Ok(at) = self.expiries.binary_search_by(|probe| entry.cmp(probe)) {
                self.expiries.remove(at);
            }
        }
        if order.reduce_only {
            if let Some(position) = self
                .positions
                .get_mut(&position_key(order.owner, order.instrument))
            {
                position.reduce_only.retain(|other| *other != slot);
            }
        }
        self.free.push(slot);
    }

    fn push_replaced(&mut self, slot: u32, ts: i64) {
        let order = &self.orders[slot as usize];
        self.events.push(OrderEvent::Replaced {
            order_id: order.id,
            price: order.price,
            quantity: order.quantity,
            leaves: order.leaves,
            ts,
        });
    }

    /// Puts an incoming order at the back of the queue at its price.
    fn rest(&mut self, slot: u32) {
        let order = &mut self.orders[slot as usize];
        order.stage = Stage::Resting;
        order.visible = order.slice();
        let (instrument, side) = (order.instrument, order.side);
        self.instruments[instrument as usize]
            .side_mut(side)
            .push_back(&mut self.orders, slot);
    }

    /// Stops a working order: unlinks it wherever it is, reports it and frees it.
    fn end(&mut self, slot: u32, ending: Ending, ts: i64) {
        let order = &self.orders[slot as usize];
        let (order_id, leaves, instrument, side, stage) = (
            order.id,
            order.leaves,
            order.instrument,
            order.side,
            order.stage,
        );
        let stop = StopEntry {
            trigger_price: order.trigger_price,
            seq: order.seq,
            slot,
        };
        let book = &mut self.instruments[instrument as usize];
        match stage {
            Stage::Resting => book.side_mut(side).unlink(&mut self.orders, slot),
            Stage::Waiting => book.stops_mut(side).remove(&stop),
            Stage::Incoming | Stage::Free => {}
        }
        self.events.push(match ending {
            Ending::Canceled(reason) => OrderEvent::Canceled {
                order_id,
                reason,
                leaves,
                ts,
            },
            Ending::Expired => OrderEvent::Expired {
                order_id,
                leaves,
                ts,
            },
        });
        self.release(slot);
    }

    fn end_in_arrival_order(&mut self, chosen: &mut [(u64, u32)], ending: Ending, ts: i64) {
        chosen.sort_unstable();
        for &(_, slot) in chosen.iter() {
            self.end(slot, ending, ts);
        }
    }

    // ----- matching -----

    /// Matches an incoming order, then rests it or ends it by its type and time in force.
    fn match_and_settle(&mut self, slot: u32, ts: i64) {
        if self.match_incoming(slot, ts) == Matching::Ended {
            return;
        }
        let order = &self.orders[slot as usize];
        if order.leaves == 0 {
            self.release(slot);
            return;
        }
        let ending = if order.price == 0 {
            CancelReason::NoLiquidity
        } else {
            match order.time_in_force {
                TimeInForce::Ioc => CancelReason::ImmediateOrCancel,
                TimeInForce::Fok => CancelReason::FillOrKill,
                TimeInForce::Gtc | TimeInForce::Day | TimeInForce::Gtd => {
                    self.rest(slot);
                    return;
                }
            }
        };
        self.end(slot, Ending::Canceled(ending), ts);
    }

    fn match_incoming(&mut self, taker_slot: u32, ts: i64) -> Matching {
        loop {
            let taker = &self.orders[taker_slot as usize];
            if taker.leaves == 0 {
                return Matching::Open;
            }
            let opposite = self.instruments[taker.instrument as usize].side(taker.side.opposite());
            let Some(level) = opposite.best() else {
                return Matching::Open;
            };
            if taker.price != 0 && !crosses(taker.side, taker.price, level.price) {
                return Matching::Open;
            }
            let (maker_slot, level_price) = (level.head, level.price);
            let maker = &self.orders[maker_slot as usize];
            let stp = taker.self_trade_prevention;
            if maker.owner == taker.owner && stp != SelfTradePrevention::None {
                if self.prevent_self_trade(taker_slot, maker_slot, stp, ts) == Matching::Ended {
                    return Matching::Ended;
                }
                continue;
            }
            let quantity = taker.leaves.min(maker.visible);
            self.trade(taker_slot, maker_slot, level_price, quantity, ts);
        }
    }

    fn prevent_self_trade(
        &mut self,
        taker_slot: u32,
        maker_slot: u32,
        stp: SelfTradePrevention,
        ts: i64,
    ) -> Matching {
        let self_trade = Ending::Canceled(CancelReason::SelfTrade);
        match stp {
            SelfTradePrevention::None => Matching::Open,
            SelfTradePrevention::CancelNewest => {
                self.end(taker_slot, self_trade, ts);
                Matching::Ended
            }
            SelfTradePrevention::CancelOldest => {
                self.end(maker_slot, self_trade, ts);
                Matching::Open
            }
            SelfTradePrevention::CancelBoth => {
                self.end(taker_slot, self_trade, ts);
                self.end(maker_slot, self_trade, ts);
                Matching::Ended
            }
            SelfTradePrevention::Decrement => {
                let taker_leaves = self.orders[taker_slot as usize].leaves;
                let maker = &self.orders[maker_slot as usize];
                let decrement = taker_leaves.min(maker.visible);
                let maker_ends = maker.leaves == decrement;
                let taker_ends = taker_leaves == decrement;
                if taker_ends {
                    self.end(taker_slot, self_trade, ts);
                } else {
                    self.shrink(taker_slot, decrement, ts);
                }
                if maker_ends {
                    self.end(maker_slot, self_trade, ts);
                } else {
                    self.shrink(maker_slot, decrement, ts);
                    self.refill_if_exhausted(maker_slot);
                }
                if taker_ends {
                    Matching::Ended
                } else {
                    Matching::Open
                }
            }
        }
    }

    /// Takes `amount` off an order's quantity and leaves without a trade (a self-trade
    /// decrement); a resting order's shown slice shrinks by the same amount.
    fn shrink(&mut self, slot: u32, amount: Quantity, ts: i64) {
        let order = &mut self.orders[slot as usize];
        order.quantity -= amount;
        order.leaves -= amount;
        let (instrument, side, stage, visible) =
            (order.instrument, order.side, order.stage, order.visible);
        let book = &mut self.instruments[instrument as usize];
        book.working_quantity -= amount;
        if stage == Stage::Resting {
            book.side_mut(side)
                .adjust_visible(&mut self.orders, slot, visible - amount);
        }
        self.push_replaced(slot, ts);
    }

    /// Refills an iceberg whose shown slice is used up, at the back of its level's queue.
    fn refill_if_exhausted(&mut self, slot: u32) {
        let order = &self.orders[slot as usize];
        if order.stage != Stage::Resting || order.visible > 0 || order.leaves == 0 {
            return;
        }
        let (instrument, side) = (order.instrument, order.side);
        let side_book = self.instruments[instrument as usize].side_mut(side);
        side_book.unlink(&mut self.orders, slot);
        let order = &mut self.orders[slot as usize];
        order.visible = order.slice();
        side_book.push_back(&mut self.orders, slot);
    }

    fn trade(
        &mut self,
        taker_slot: u32,
        maker_slot: u32,
        price: Price,
        quantity: Quantity,
        ts: i64,
    ) {
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let taker = &self.orders[taker_slot as usize];
        let maker = &self.orders[maker_slot as usize];
        let instrument = taker.instrument;
        let book = &mut self.instruments[instrument as usize];
        let notional = book.spec.notional(price, quantity);
        let taker_fee = InstrumentSpec::fee(notional, book.spec.taker_fee_rate);
        let maker_fee = InstrumentSpec::fee(notional, book.spec.maker_fee_rate);
        book.last_price = Some(price);
        book.working_quantity -= 2 * quantity;
        let (taker_owner, taker_side, taker_id, taker_leaves) =
            (taker.owner, taker.side, taker.id, taker.leaves - quantity);
        let (maker_owner, maker_side, maker_id, maker_leaves) =
            (maker.owner, maker.side, maker.id, maker.leaves - quantity);
        let taker = &mut self.orders[taker_slot as usize];
        taker.leaves = taker_leaves;
        if taker.order_type == OrderType::MarketToLimit && taker.price == 0 {
            taker.price = price;
        }
        self.events.push(OrderEvent::Filled(Fill {
            trade_id,
            order_id: taker_id,
            side: taker_side,
            price,
            quantity,
            leaves: taker_leaves,
            liquidity: Liquidity::Taker,
            fee: taker_fee,
            ts,
        }));
        self.events.push(OrderEvent::Filled(Fill {
            trade_id,
            order_id: maker_id,
            side: maker_side,
            price,
            quantity,
            leaves: maker_leaves,
            liquidity: Liquidity::Maker,
            fee: maker_fee,
            ts,
        }));
        let maker_finished = self.instruments[instrument as usize]
            .side_mut(maker_side)
            .fill_best_head(&mut self.orders, quantity);
        if maker_finished {
            self.release(maker_slot);
        }
        // A self-trade leaves the owner's position as it was.
        if taker_owner != maker_owner {
            self.book_fill(maker_owner, instrument, maker_side, quantity, ts);
            self.book_fill(taker_owner, instrument, taker_side, quantity, ts);
        }
    }

    /// Updates an owner's position after a fill and keeps its reduce-only orders reducing.
    fn book_fill(&mut self, owner: u32, instrument: u32, side: Side, quantity: Quantity, ts: i64) {
        let position = self
            .positions
            .entry(position_key(owner, instrument))
            .or_default();
        position.net += i128::from(side.sign()) * i128::from(quantity);
        if position.reduce_only.is_empty() {
            return;
        }
        let net = position.net;
        let mut list = std::mem::take(&mut position.reduce_only);
        let mut kept = 0;
        for index in 0..list.len() {
            let slot = list[index];
            let order = &self.orders[slot as usize];
            // An incoming reduce-only order loses leaves exactly as fast as its position
            // shrinks, so it never needs trimming while it matches.
            if order.stage == Stage::Incoming {
                list[kept] = slot;
                kept += 1;
                continue;
            }
            let cap = reducible(net, order.side);
            if cap <= 0 {
                self.end(slot, Ending::Canceled(CancelReason::ReduceOnly), ts);
                continue;
            }
            let excess = i128::from(order.leaves) - cap;
            if excess > 0 {
                self.trim(slot, excess as Quantity, ts);
            }
            list[kept] = slot;
            kept += 1;
        }
        list.truncate(kept);
        if let Some(position) = self.positions.get_mut(&position_key(owner, instrument)) {
            position.reduce_only = list;
        }
    }

    /// Cuts a working order's leaves by `excess` in place (hidden quantity first), keeping its
    /// queue place.
    fn trim(&mut self, slot: u32, excess: Quantity, ts: i64) {
        let order = &mut self.orders[slot as usize];
        order.quantity -= excess;
        order.leaves -= excess;
        let (instrument, side, stage, leaves, visible) = (
            order.instrument,
            order.side,
            order.stage,
            order.leaves,
            order.visible,
        );
        let book = &mut self.instruments[instrument as usize];
        book.working_quantity -= excess;
        if stage == Stage::Resting && visible > leaves {
            book.side_mut(side)
                .adjust_visible(&mut self.orders, slot, leaves);
        }
        self.push_replaced(slot, ts);
    }

    /// Activates triggered stops one at a time until none is triggered.
    fn trigger_stops(&mut self, instrument: u32, ts: i64) {
        loop {
            let book = &mut self.instruments[instrument as usize];
            let Some(last) = book.last_price else {
                return;
            };
            let entry = match (
                book.buy_stops.triggered(last),
                book.sell_stops.triggered(last),
            ) {
                (Some(buy), Some(sell)) if buy.seq < sell.seq => buy,
                (_, Some(sell)) => sell,
                (Some(buy), None) => buy,
                (None, None) => return,
            };
            let slot = entry.slot;
            let order = &mut self.orders[slot as usize];
            book.stops_mut(order.side).remove(&entry);
            order.stage = Stage::Incoming;
            let order_id = order.id;
            self.events.push(OrderEvent::Triggered { order_id, ts });
            self.match_and_settle(slot, ts);
        }
    }

    // ----- modify -----

    fn apply_modify(&mut self, request: &ModifyRequest) -> Result<(), RejectReason> {
        let ts = request.ts;
        let slot = *self
            .index
            .get(&request.order_id)
            .ok_or(RejectReason::UnknownOrder)?;
        let order = &self.orders[slot as usize];
        if order.stage != Stage::Resting {
            return Err(RejectReason::OrderNotModifiable);
        }
        let book = &self.instruments[order.instrument as usize];
        let spec = &book.spec;
        if request.price <= 0 {
            return Err(RejectReason::InvalidPrice);
        }
        if request.quantity <= 0 {
            return Err(RejectReason::InvalidQuantity);
        }
        if request.quantity > spec.max_quantity {
            return Err(RejectReason::QuantityAboveMaximum);
        }
        let filled = order.filled();
        if request.quantity <= filled {
            self.end(slot, Ending::Canceled(CancelReason::Requested), ts);
            return Ok(());
        }
        if request.quantity < spec.min_quantity {
            return Err(RejectReason::QuantityBelowMinimum);
        }
        check_notional(spec, request.price, request.quantity)?;
        let mut leaves = request.quantity - filled;
        if book
            .working_quantity
            .checked_add(leaves - order.leaves)
            .is_none()
        {
            return Err(RejectReason::QuantityAboveMaximum);
        }
        let price = self.post_only_price(book, order.side, request.price, order.post_only)?;
        if price != request.price {
            check_notional(spec, price, request.quantity)?;
        }
        let mut quantity = request.quantity;
        if order.reduce_only {
            let cap = reducible(self.position(order.owner, order.instrument), order.side);
            if cap <= 0 {
                return Err(RejectReason::ReduceOnlyWouldIncrease);
            }
            let excess = i128::from(leaves) - cap;
            if excess > 0 {
                quantity -= excess as Quantity;
                leaves -= excess as Quantity;
            }
        }
        let crossing = book
            .side(order.side.opposite())
            .best()
            .is_some_and(|best| crosses(order.side, price, best.price));
        let keeps_priority = price == order.price && leaves <= order.leaves;
        let (instrument, side, old_leaves) = (order.instrument, order.side, order.leaves);
        let book = &mut self.instruments[instrument as usize];
        book.working_quantity += leaves - old_leaves;
        if keeps_priority {
            let order = &mut self.orders[slot as usize];
            order.quantity = quantity;
            order.leaves = leaves;
            let shown = order.visible.min(leaves);
            book.side_mut(side)
                .adjust_visible(&mut self.orders, slot, shown);
            self.push_replaced(slot, ts);
            return Ok(());
        }
        book.side_mut(side).unlink(&mut self.orders, slot);
        let order = &mut self.orders[slot as usize];
        order.price = price;
        order.quantity = quantity;
        order.leaves = leaves;
        order.stage = Stage::Incoming;
        self.push_replaced(slot, ts);
        if crossing {
            self.match_and_settle(slot, ts);
            self.trigger_stops(instrument, ts);
        } else {
            self.rest(slot);
        }
        Ok(())
    }
}
