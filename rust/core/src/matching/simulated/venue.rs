//! The simulated venue: our orders against a book replayed from market data.
//!
//! Time. Market data carries exchange timestamps and must come in timestamp order. Our
//! commands are issued at a local timestamp and reach the venue one order-entry latency later;
//! a command takes effect after every market event with a smaller timestamp, and at equal
//! timestamps inputs take effect in the order they were given to the venue. Order events are
//! stamped with the local time at which the strategy sees them: venue time plus response
//! latency. Order entry and responses each travel over one FIFO channel, so a command never
//! overtakes an earlier one and responses are seen in the order the venue sent them. Feed
//! latency does not change what the venue does; each market data method returns the local time
//! at which the strategy sees that event, for the caller to schedule its data callbacks.
//!
//! Matching. Our orders never trade with each other and are not part of the replayed book:
//! the recorded market is the only counterparty. See `docs/simulated-venue.md`.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;

use rand::SeedableRng;
use rand_pcg::Pcg64;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::book::{BookError, BookOrder, BookView, OrderBookL2, OrderBookL3};
use crate::matching::events::{CancelReason, Fill, Liquidity, OrderEvent, RejectReason};
use crate::matching::order::{OrderId, TimeInForce, TradeId};
use crate::matching::simulated::latency::Latency;
use crate::matching::simulated::{DataKind, VenueConfig, VenueError};
use crate::types::{InstrumentSpec, Price, Quantity, Side};

/// How a new order is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Walks the book; what it cannot fill is canceled.
    Market,
    Limit {
        price: Price,
        /// GTC, IOC or FOK.
        time_in_force: TimeInForce,
        /// Refused instead of taking liquidity.
        post_only: bool,
    },
}

/// A new order command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: OrderId,
    pub side: Side,
    pub quantity: Quantity,
    pub kind: OrderKind,
}

impl NewOrder {
    pub fn market(order_id: OrderId, side: Side, quantity: Quantity) -> Self {
        NewOrder {
            order_id,
            side,
            quantity,
            kind: OrderKind::Market,
        }
    }

    pub fn limit(
        order_id: OrderId,
        side: Side,
        price: Price,
        quantity: Quantity,
        time_in_force: TimeInForce,
    ) -> Self {
        NewOrder {
            order_id,
            side,
            quantity,
            kind: OrderKind::Limit {
                price,
                time_in_force,
                post_only: false,
            },
        }
    }

    /// A GTC limit order that is refused rather than take liquidity.
    pub fn post_only(order_id: OrderId, side: Side, price: Price, quantity: Quantity) -> Self {
        NewOrder {
            order_id,
            side,
            quantity,
            kind: OrderKind::Limit {
                price,
                time_in_force: TimeInForce::Gtc,
                post_only: true,
            },
        }
    }

    fn validate(&self) -> Result<(), VenueError> {
        if self.quantity <= 0 {
            return Err(VenueError::NonPositiveQuantity(self.quantity));
        }
        if let OrderKind::Limit {
            price,
            time_in_force,
            ..
        } = self.kind
        {
            check_terms(price, self.quantity)?;
            if !matches!(
                time_in_force,
                TimeInForce::Gtc | TimeInForce::Ioc | TimeInForce::Fok
            ) {
                return Err(VenueError::UnsupportedTimeInForce(time_in_force));
            }
        }
        Ok(())
    }
}

/// A price and quantity our order may carry: positive, with a notional in ticks x lots that
/// fits an `i64`, so that notional and fee arithmetic cannot overflow.
fn check_terms(price: Price, quantity: Quantity) -> Result<(), VenueError> {
    if price <= 0 {
        return Err(VenueError::NonPositivePrice(price));
    }
    if quantity <= 0 {
        return Err(VenueError::NonPositiveQuantity(quantity));
    }
    if price.checked_mul(quantity).is_none() {
        return Err(VenueError::Overflow { price, quantity });
    }
    Ok(())
}

/// One of our resting orders as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOrder {
    pub order_id: OrderId,
    pub side: Side,
    pub price: Price,
    /// Total quantity, including what has filled.
    pub quantity: Quantity,
    pub leaves: Quantity,
    pub post_only: bool,
    /// Displayed quantity ahead of it in the queue at its price.
    pub queue_ahead: Quantity,
}

/// A command on its way to the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingCommand {
    pub arrival: i64,
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Submit(NewOrder),
    Cancel(OrderId),
    Modify {
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
    },
}

/// One of our orders resting at the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkingOrder {
    pub order_id: OrderId,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
    pub leaves: Quantity,
    pub post_only: bool,
    /// Time priority among our own orders.
    pub sequence: u64,
    /// Market quantity ahead of us at our price.
    pub ahead: Quantity,
    /// L3: market orders with a book priority below this were there before us.
    pub mark: u64,
}

/// Our orders at one price, in time priority, with what the L2 models track of the level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct OurLevel {
    pub orders: Vec<OrderId>,
    /// L2: displayed quantity after the last update of this level the venue processed.
    pub displayed: Quantity,
    /// L2: traded at this price since that update (so that the update is not taken for
    /// cancels).
    pub traded: Quantity,
}

/// The replayed market.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Market {
    L2(OrderBookL2),
    L3(OrderBookL3),
}

impl Market {
    fn view(&self) -> &dyn BookView {
        match self {
            Market::L2(book) => book,
            Market::L3(book) => book,
        }
    }

    fn quantity_at(&self, side: Side, price: Price) -> Quantity {
        match self {
            Market::L2(book) => book.quantity_at(side, price),
            Market::L3(book) => book.quantity_at(side, price),
        }
    }

    fn kind(&self) -> DataKind {
        match self {
            Market::L2(_) => DataKind::L2,
            Market::L3(_) => DataKind::L3,
        }
    }
}

/// One market data event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarketEvent {
    L2Delta {
        side: Side,
        price: Price,
        quantity: Quantity,
    },
    L2Clear,
    Trade {
        aggressor: Side,
        price: Price,
        quantity: Quantity,
    },
    L3Add {
        order_id: OrderId,
        side: Side,
        price: Price,
        quantity: Quantity,
    },
    L3Cancel {
        order_id: OrderId,
    },
    L3Reduce {
        order_id: OrderId,
        by: Quantity,
    },
    L3Replace {
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
    },
    L3Execute {
        order_id: OrderId,
        quantity: Quantity,
    },
    L3Clear,
}

impl MarketEvent {
    fn name(&self) -> &'static str {
        match self {
            MarketEvent::L2Delta { .. } => "an L2 delta",
            MarketEvent::L2Clear => "an L2 clear",
            MarketEvent::Trade { .. } => "a trade",
            MarketEvent::L3Add { .. } => "an L3 add",
            MarketEvent::L3Cancel { .. } => "an L3 cancel",
            MarketEvent::L3Reduce { .. } => "an L3 reduce",
            MarketEvent::L3Replace { .. } => "an L3 replace",
            MarketEvent::L3Execute { .. } => "an L3 execute",
            MarketEvent::L3Clear => "an L3 clear",
        }
    }

    fn needs(&self) -> Option<DataKind> {
        match self {
            MarketEvent::L2Delta { .. } | MarketEvent::L2Clear => Some(DataKind::L2),
            MarketEvent::Trade { .. } => None,
            _ => Some(DataKind::L3),
        }
    }
}

/// Local clocks of the three channels; each only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Clock {
    /// Venue time: the last market event or command processed.
    pub now: i64,
    /// Arrival time of the last command sent (order-entry channel).
    pub last_arrival: i64,
    /// Local time of the last response (response channel).
    pub last_response: i64,
    /// Local time the last market data event was seen (feed channel).
    pub last_feed: i64,
}

impl Clock {
    fn start() -> Self {
        Clock {
            now: i64::MIN,
            last_arrival: i64::MIN,
            last_response: i64::MIN,
            last_feed: i64::MIN,
        }
    }
}

/// A simulated venue for one instrument. See the module documentation for time and matching.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedVenue {
    pub(crate) spec: InstrumentSpec,
    pub(crate) config: VenueConfig,
    pub(crate) market: Market,
    pub(crate) feed_latency: Latency,
    pub(crate) order_latency: Latency,
    pub(crate) response_latency: Latency,
    pub(crate) rng: Pcg64,
    pub(crate) clock: Clock,
    pub(crate) next_trade_id: TradeId,
    pub(crate) next_sequence: u64,
    pub(crate) pending: VecDeque<PendingCommand>,
    pub(crate) pending_submits: FxHashSet<OrderId>,
    pub(crate) orders: FxHashMap<OrderId, WorkingOrder>,
    /// Our resting orders by side (index `Side as usize`) and price.
    pub(crate) levels: [BTreeMap<Price, OurLevel>; 2],
    /// Market impact: displayed quantity our fills took from a level since its last update.
    pub(crate) consumed: FxHashMap<(Side, Price), Quantity>,
    /// L3: the book priority the next market order will get.
    pub(crate) next_market_priority: u64,
    /// L3: a clear happened and our queue places are to be re-anchored once the book is rebuilt.
    pub(crate) resync_pending: bool,
}

/// Whether `price` is at or better than `reach` for resting orders of `side`.
fn at_or_better(side: Side, price: Price, reach: Price) -> bool {
    match side {
        Side::Buy => price >= reach,
        Side::Sell => price <= reach,
    }
}

/// Whether an order of `side` at `limit` may trade at `price`.
fn within_limit(side: Side, limit: Option<Price>, price: Price) -> bool {
    limit.is_none_or(|limit| at_or_better(side, limit, price))
}

fn set_event_ts(event: &mut OrderEvent, visible: i64) {
    match event {
        OrderEvent::Accepted { ts, .. }
        | OrderEvent::Rejected { ts, .. }
        | OrderEvent::Triggered { ts, .. }
        | OrderEvent::Replaced { ts, .. }
        | OrderEvent::Canceled { ts, .. }
        | OrderEvent::Expired { ts, .. } => *ts = visible,
        OrderEvent::Filled(fill) => fill.ts = visible,
    }
}

/// Whether `event` at `ts` can apply to a venue replaying `kind` data at time `now`, where
/// `resting(order_id)` is the quantity of a market order in the book (L3).
pub(crate) fn check_market_event(
    kind: DataKind,
    now: i64,
    ts: i64,
    event: &MarketEvent,
    resting: &dyn Fn(OrderId) -> Option<Quantity>,
) -> Result<(), VenueError> {
    if let Some(needed) = event.needs() {
        if needed != kind {
            return Err(VenueError::WrongDataKind {
                operation: event.name(),
                expected: needed.name(),
                actual: kind.name(),
            });
        }
    }
    if ts < now {
        return Err(VenueError::TimestampBeforeVenueTime { ts, now });
    }
    let known = |order_id| resting(order_id).ok_or(BookError::UnknownOrder(order_id));
    let take_check = |order_id, by: Quantity| -> Result<(), BookError> {
        let available = known(order_id)?;
        if by <= 0 {
            return Err(BookError::NonPositiveOrderQuantity(by));
        }
        if by > available {
            return Err(BookError::QuantityExceedsOrder {
                order_id,
                available,
                requested: by,
            });
        }
        Ok(())
    };
    let order_terms = |price: Price, quantity: Quantity| -> Result<(), BookError> {
        if price <= 0 {
            return Err(BookError::InvalidPrice(price));
        }
        if quantity <= 0 {
            return Err(BookError::NonPositiveOrderQuantity(quantity));
        }
        Ok(())
    };
    match *event {
        MarketEvent::L2Delta {
            price, quantity, ..
        } => {
            if price <= 0 {
                return Err(BookError::InvalidPrice(price).into());
            }
            if quantity < 0 {
                return Err(BookError::InvalidQuantity(quantity).into());
            }
        }
        MarketEvent::Trade {
            price, quantity, ..
        } => {
            if price <= 0 {
                return Err(VenueError::NonPositivePrice(price));
            }
            if quantity <= 0 {
                return Err(VenueError::NonPositiveQuantity(quantity));
            }
        }
        MarketEvent::L3Add {
            order_id,
            price,
            quantity,
            ..
        } => {
            order_terms(price, quantity)?;
            if resting(order_id).is_some() {
                return Err(BookError::DuplicateOrderId(order_id).into());
            }
        }
        MarketEvent::L3Cancel { order_id } => {
            known(order_id)?;
        }
        MarketEvent::L3Reduce { order_id, by } => take_check(order_id, by)?,
        MarketEvent::L3Execute { order_id, quantity } => take_check(order_id, quantity)?,
        MarketEvent::L3Replace {
            order_id,
            price,
            quantity,
        } => {
            known(order_id)?;
            order_terms(price, quantity)?;
        }
        MarketEvent::L2Clear | MarketEvent::L3Clear => {}
    }
    Ok(())
}

impl SimulatedVenue {
    pub fn new(spec: InstrumentSpec, config: VenueConfig) -> Result<Self, VenueError> {
        config.validate()?;
        let market = match config.data {
            DataKind::L2 => Market::L2(OrderBookL2::new()),
            DataKind::L3 => Market::L3(OrderBookL3::new()),
        };
        Ok(SimulatedVenue {
            feed_latency: Latency::new(config.feed_latency.clone())?,
            order_latency: Latency::new(config.order_latency.clone())?,
            response_latency: Latency::new(config.response_latency.clone())?,
            rng: Pcg64::seed_from_u64(config.seed),
            spec,
            config,
            market,
            clock: Clock::start(),
            next_trade_id: 1,
            next_sequence: 0,
            pending: VecDeque::new(),
            pending_submits: FxHashSet::default(),
            orders: FxHashMap::default(),
            levels: [BTreeMap::new(), BTreeMap::new()],
            consumed: FxHashMap::default(),
            next_market_priority: 0,
            resync_pending: false,
        })
    }

    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    pub fn config(&self) -> &VenueConfig {
        &self.config
    }

    /// Venue time: the timestamp of the last market event or command processed (`i64::MIN`
    /// before the first).
    pub fn now(&self) -> i64 {
        self.clock.now
    }

    /// Local time at which the strategy saw the last market data event.
    pub fn last_feed_ts(&self) -> i64 {
        self.clock.last_feed
    }

    /// Commands sent but not yet arrived.
    pub fn pending_commands(&self) -> usize {
        self.pending.len()
    }

    /// Best bid of the replayed market (our orders are not in it).
    pub fn best_bid(&self) -> Option<(Price, Quantity)> {
        self.market.view().best_bid()
    }

    /// Best ask of the replayed market (our orders are not in it).
    pub fn best_ask(&self) -> Option<(Price, Quantity)> {
        self.market.view().best_ask()
    }

    /// The replayed market's book, for L2 data.
    pub(crate) fn market_l2(&self) -> Option<&OrderBookL2> {
        match &self.market {
            Market::L2(book) => Some(book),
            Market::L3(_) => None,
        }
    }

    /// Top of the replayed market as (bid price, bid qty, ask price, ask qty); 0s for an empty
    /// side.
    pub fn top(&self) -> [i64; 4] {
        match &self.market {
            Market::L2(book) => book.top(),
            Market::L3(book) => crate::book::features::top(book),
        }
    }

    /// Displayed quantity of the replayed market at a price.
    pub fn market_quantity_at(&self, side: Side, price: Price) -> Quantity {
        self.market.quantity_at(side, price)
    }

    /// Displayed quantity our taker orders can still trade at a price (less what market
    /// impact has taken since the level's last update).
    pub fn available_at(&self, side: Side, price: Price) -> Quantity {
        self.available(side, price, self.market.quantity_at(side, price))
    }

    /// Queue ahead of one of our resting orders.
    pub fn queue_ahead(&self, order_id: OrderId) -> Result<Quantity, VenueError> {
        self.orders
            .get(&order_id)
            .map(|order| order.ahead)
            .ok_or(VenueError::Book(BookError::UnknownOrder(order_id)))
    }

    /// Our resting orders, by order id.
    pub fn open_orders(&self) -> Vec<OpenOrder> {
        let mut open: Vec<OpenOrder> = self.orders.values().map(Self::open_view).collect();
        open.sort_by_key(|order| order.order_id);
        open
    }

    pub fn open_order(&self, order_id: OrderId) -> Option<OpenOrder> {
        self.orders.get(&order_id).map(Self::open_view)
    }

    fn open_view(order: &WorkingOrder) -> OpenOrder {
        OpenOrder {
            order_id: order.order_id,
            side: order.side,
            price: order.price,
            quantity: order.quantity,
            leaves: order.leaves,
            post_only: order.post_only,
            queue_ahead: order.ahead,
        }
    }

    // ----- order commands -------------------------------------------------------------------

    /// Sends a new order at local time `ts`. Events of commands that take effect at once (zero
    /// latency, nothing pending) are appended to `events`; later ones come with the market
    /// event or [`SimulatedVenue::advance_to`] call that reaches their arrival time.
    pub fn submit(
        &mut self,
        ts: i64,
        order: NewOrder,
        events: &mut Vec<OrderEvent>,
    ) -> Result<(), VenueError> {
        self.check_time(ts)?;
        order.validate()?;
        if self.orders.contains_key(&order.order_id)
            || self.pending_submits.contains(&order.order_id)
        {
            return Err(VenueError::DuplicateOrderId(order.order_id));
        }
        self.pending_submits.insert(order.order_id);
        self.send(ts, Command::Submit(order), events);
        Ok(())
    }

    /// Sends a cancel at local time `ts`. An order that is no longer working when the cancel
    /// arrives (filled, canceled, never sent) gets `Rejected(UNKNOWN_ORDER)`.
    pub fn cancel(
        &mut self,
        ts: i64,
        order_id: OrderId,
        events: &mut Vec<OrderEvent>,
    ) -> Result<(), VenueError> {
        self.check_time(ts)?;
        self.send(ts, Command::Cancel(order_id), events);
        Ok(())
    }

    /// Sends a cancel/replace at local time `ts`: new price and total quantity (including what
    /// has filled). A size decrease at the same price keeps the queue place; a price change or
    /// size increase goes to the back of the queue; a total at or below the filled quantity
    /// cancels the rest.
    pub fn modify(
        &mut self,
        ts: i64,
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<(), VenueError> {
        self.check_time(ts)?;
        check_terms(price, quantity)?;
        self.send(
            ts,
            Command::Modify {
                order_id,
                price,
                quantity,
            },
            events,
        );
        Ok(())
    }

    /// Moves venue time to `ts` with no market event: commands arriving at or before `ts` take
    /// effect.
    pub fn advance_to(&mut self, ts: i64, events: &mut Vec<OrderEvent>) -> Result<(), VenueError> {
        self.check_time(ts)?;
        self.run_commands_until(ts, events);
        self.clock.now = ts;
        Ok(())
    }

    fn check_time(&self, ts: i64) -> Result<(), VenueError> {
        if ts < self.clock.now {
            return Err(VenueError::TimestampBeforeVenueTime {
                ts,
                now: self.clock.now,
            });
        }
        Ok(())
    }

    fn send(&mut self, ts: i64, command: Command, events: &mut Vec<OrderEvent>) {
        let latency = self.order_latency.sample(ts);
        let arrival = ts.saturating_add(latency).max(self.clock.last_arrival);
        self.clock.last_arrival = arrival;
        self.pending.push_back(PendingCommand { arrival, command });
        if arrival == self.clock.now {
            self.run_commands_until(arrival, events);
        }
    }

    /// When the next command in flight reaches the venue (arrivals never go back in time).
    pub(crate) fn next_arrival(&self) -> Option<i64> {
        self.pending.front().map(|pending| pending.arrival)
    }

    pub(crate) fn run_commands_until(&mut self, ts: i64, events: &mut Vec<OrderEvent>) {
        while let Some(pending) = self.pending.front().copied() {
            if pending.arrival > ts {
                break;
            }
            self.pending.pop_front();
            self.clock.now = pending.arrival;
            let start = events.len();
            match pending.command {
                Command::Submit(order) => {
                    self.pending_submits.remove(&order.order_id);
                    self.process_submit(order, events);
                }
                Command::Cancel(order_id) => self.process_cancel(order_id, events),
                Command::Modify {
                    order_id,
                    price,
                    quantity,
                } => self.process_modify(order_id, price, quantity, events),
            }
            self.stamp(start, events);
        }
    }

    /// Gives the events of one venue step the local time at which the strategy sees them.
    fn stamp(&mut self, start: usize, events: &mut [OrderEvent]) {
        if events.len() == start {
            return;
        }
        let now = self.clock.now;
        let latency = self.response_latency.sample(now);
        let visible = now.saturating_add(latency).max(self.clock.last_response);
        self.clock.last_response = visible;
        for event in &mut events[start..] {
            set_event_ts(event, visible);
        }
    }

    // ----- command processing at the venue ---------------------------------------------------

    fn entry_rejection(&self, quantity: Quantity, price: Option<Price>) -> Option<RejectReason> {
        if quantity < self.spec.min_quantity {
            return Some(RejectReason::QuantityBelowMinimum);
        }
        if quantity > self.spec.max_quantity {
            return Some(RejectReason::QuantityAboveMaximum);
        }
        match price {
            Some(price) if self.spec.notional(price, quantity) < self.spec.min_notional => {
                Some(RejectReason::NotionalBelowMinimum)
            }
            _ => None,
        }
    }

    fn process_submit(&mut self, order: NewOrder, events: &mut Vec<OrderEvent>) {
        let order_id = order.order_id;
        let rejected = |reason| OrderEvent::Rejected {
            order_id,
            reason,
            ts: 0,
        };
        let limit = match order.kind {
            OrderKind::Market => None,
            OrderKind::Limit { price, .. } => Some(price),
        };
        if let Some(reason) = self.entry_rejection(order.quantity, limit) {
            events.push(rejected(reason));
            return;
        }
        match order.kind {
            OrderKind::Market => {
                if self.fillable(order.side, None, 1) == 0 {
                    events.push(rejected(RejectReason::NoLiquidity));
                    return;
                }
                events.push(OrderEvent::Accepted { order_id, ts: 0 });
                let leaves = self.take(order_id, order.side, None, order.quantity, events);
                if leaves > 0 {
                    events.push(OrderEvent::Canceled {
                        order_id,
                        reason: CancelReason::NoLiquidity,
                        leaves,
                        ts: 0,
                    });
                }
            }
            OrderKind::Limit {
                price,
                time_in_force,
                post_only,
            } => {
                if post_only && self.fillable(order.side, Some(price), 1) > 0 {
                    events.push(rejected(RejectReason::PostOnlyWouldCross));
                    return;
                }
                events.push(OrderEvent::Accepted { order_id, ts: 0 });
                if time_in_force == TimeInForce::Fok
                    && self.fillable(order.side, Some(price), order.quantity) < order.quantity
                {
                    events.push(OrderEvent::Canceled {
                        order_id,
                        reason: CancelReason::FillOrKill,
                        leaves: order.quantity,
                        ts: 0,
                    });
                    return;
                }
                let leaves = self.take(order_id, order.side, Some(price), order.quantity, events);
                if leaves == 0 {
                    return;
                }
                if time_in_force == TimeInForce::Gtc {
                    self.rest(WorkingOrder {
                        order_id,
                        side: order.side,
                        price,
                        quantity: order.quantity,
                        leaves,
                        post_only,
                        sequence: 0,
                        ahead: 0,
                        mark: 0,
                    });
                } else {
                    events.push(OrderEvent::Canceled {
                        order_id,
                        reason: CancelReason::ImmediateOrCancel,
                        leaves,
                        ts: 0,
                    });
                }
            }
        }
    }

    fn process_cancel(&mut self, order_id: OrderId, events: &mut Vec<OrderEvent>) {
        match self.unrest(order_id) {
            Some(order) => events.push(OrderEvent::Canceled {
                order_id,
                reason: CancelReason::Requested,
                leaves: order.leaves,
                ts: 0,
            }),
            None => events.push(OrderEvent::Rejected {
                order_id,
                reason: RejectReason::UnknownOrder,
                ts: 0,
            }),
        }
    }

    fn process_modify(
        &mut self,
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let rejected = |reason| OrderEvent::Rejected {
            order_id,
            reason,
            ts: 0,
        };
        let Some(current) = self.orders.get(&order_id).copied() else {
            events.push(rejected(RejectReason::UnknownOrder));
            return;
        };
        let filled = current.quantity - current.leaves;
        if quantity <= filled {
            self.process_cancel(order_id, events);
            return;
        }
        if let Some(reason) = self.entry_rejection(quantity, Some(price)) {
            events.push(rejected(reason));
            return;
        }
        let crosses = self.fillable(current.side, Some(price), 1) > 0;
        if current.post_only && crosses {
            events.push(rejected(RejectReason::PostOnlyWouldCross));
            return;
        }
        let leaves = quantity - filled;
        events.push(OrderEvent::Replaced {
            order_id,
            price,
            quantity,
            leaves,
            ts: 0,
        });
        if price == current.price && quantity <= current.quantity {
            if let Some(order) = self.orders.get_mut(&order_id) {
                order.quantity = quantity;
                order.leaves = leaves;
            }
            return;
        }
        self.unrest(order_id);
        let leaves = if crosses {
            self.take(order_id, current.side, Some(price), leaves, events)
        } else {
            leaves
        };
        if leaves > 0 {
            self.rest(WorkingOrder {
                price,
                quantity,
                leaves,
                ..current
            });
        }
    }

    // ----- liquidity -----------------------------------------------------------------------

    fn available(&self, side: Side, price: Price, displayed: Quantity) -> Quantity {
        if self.consumed.is_empty() {
            return displayed;
        }
        let taken = self.consumed.get(&(side, price)).copied().unwrap_or(0);
        (displayed - taken).max(0)
    }

    /// Levels an order of `side` may trade with within `limit`, best first, with the quantity
    /// it can take at each, until `wanted` is covered.
    fn reachable(
        &self,
        side: Side,
        limit: Option<Price>,
        wanted: Quantity,
    ) -> Vec<(Price, Quantity)> {
        let opposite = side.opposite();
        let mut reached = Vec::new();
        let mut total = 0;
        self.market
            .view()
            .for_each_level(opposite, &mut |price, displayed| {
                if total >= wanted || !within_limit(side, limit, price) {
                    return false;
                }
                let take = self
                    .available(opposite, price, displayed)
                    .min(wanted - total);
                if take > 0 {
                    reached.push((price, take));
                    total += take;
                }
                true
            });
        reached
    }

    /// How much of `wanted` an order of `side` could take from the book within `limit`.
    fn fillable(&self, side: Side, limit: Option<Price>, wanted: Quantity) -> Quantity {
        self.reachable(side, limit, wanted)
            .iter()
            .map(|&(_, quantity)| quantity)
            .sum()
    }

    /// Takes liquidity for one of our orders, level by level within `limit`; returns the
    /// quantity left.
    fn take(
        &mut self,
        order_id: OrderId,
        side: Side,
        limit: Option<Price>,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Quantity {
        let mut leaves = quantity;
        for (price, take) in self.reachable(side, limit, quantity) {
            leaves -= take;
            self.emit_fill(
                Fill {
                    trade_id: 0,
                    order_id,
                    side,
                    price,
                    quantity: take,
                    leaves,
                    liquidity: Liquidity::Taker,
                    fee: 0,
                    ts: 0,
                },
                events,
            );
            if self.config.market_impact {
                *self.consumed.entry((side.opposite(), price)).or_insert(0) += take;
            }
        }
        leaves
    }

    /// Gives a fill its trade id and fee (maker or taker rate of the instrument) and emits it.
    fn emit_fill(&mut self, mut fill: Fill, events: &mut Vec<OrderEvent>) {
        let rate = match fill.liquidity {
            Liquidity::Maker => self.spec.maker_fee_rate,
            Liquidity::Taker => self.spec.taker_fee_rate,
        };
        fill.fee = InstrumentSpec::fee(self.spec.notional(fill.price, fill.quantity), rate);
        fill.trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        events.push(OrderEvent::Filled(fill));
    }

    // ----- our resting orders ----------------------------------------------------------------

    /// Puts an order in the queue at its price, behind everything displayed there now.
    fn rest(&mut self, mut order: WorkingOrder) {
        let (side, price) = (order.side, order.price);
        let displayed = self.market.quantity_at(side, price);
        order.sequence = self.next_sequence;
        self.next_sequence += 1;
        order.ahead = self.available(side, price, displayed);
        order.mark = self.next_market_priority;
        self.levels[side as usize]
            .entry(price)
            .or_insert_with(|| OurLevel {
                displayed,
                ..OurLevel::default()
            })
            .orders
            .push(order.order_id);
        self.orders.insert(order.order_id, order);
    }

    /// Takes an order out of the book, returning it.
    fn unrest(&mut self, order_id: OrderId) -> Option<WorkingOrder> {
        let order = self.orders.remove(&order_id)?;
        let side_levels = &mut self.levels[order.side as usize];
        if let Some(level) = side_levels.get_mut(&order.price) {
            level.orders.retain(|&id| id != order_id);
            if level.orders.is_empty() {
                side_levels.remove(&order.price);
            }
        }
        Some(order)
    }

    /// A maker fill of one of our resting orders at its price.
    fn fill_resting(
        &mut self,
        order_id: OrderId,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let Some(order) = self.orders.get_mut(&order_id) else {
            return;
        };
        order.leaves -= quantity;
        let (side, price, leaves) = (order.side, order.price, order.leaves);
        if leaves == 0 {
            self.unrest(order_id);
        }
        self.emit_fill(
            Fill {
                trade_id: 0,
                order_id,
                side,
                price,
                quantity,
                leaves,
                liquidity: Liquidity::Maker,
                fee: 0,
                ts: 0,
            },
            events,
        );
    }

    /// Prices of our levels on `side` that an aggressor reaching `reach` trades before or at
    /// it, best first.
    fn prices_reached(&self, side: Side, reach: Price, inclusive: bool) -> Vec<Price> {
        let levels = &self.levels[side as usize];
        let bound = if inclusive {
            Bound::Included(reach)
        } else {
            Bound::Excluded(reach)
        };
        match side {
            Side::Buy => levels
                .range((bound, Bound::Unbounded))
                .rev()
                .map(|(&price, _)| price)
                .collect(),
            Side::Sell => levels
                .range((Bound::Unbounded, bound))
                .map(|(&price, _)| price)
                .collect(),
        }
    }

    /// Whether any of our orders on `side` sits at or better than `reach`.
    fn any_reached(&self, side: Side, reach: Price) -> bool {
        let levels = &self.levels[side as usize];
        match side {
            Side::Buy => levels
                .last_key_value()
                .is_some_and(|(&price, _)| price >= reach),
            Side::Sell => levels
                .first_key_value()
                .is_some_and(|(&price, _)| price <= reach),
        }
    }

    /// Fills our orders on `side` priced strictly better than `reach` (or at it, if
    /// `inclusive`), in price-time priority, out of `budget`; returns what is left of it.
    fn fill_through(
        &mut self,
        side: Side,
        reach: Price,
        inclusive: bool,
        mut budget: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Quantity {
        if budget <= 0 || !self.any_reached(side, reach) {
            return budget;
        }
        for price in self.prices_reached(side, reach, inclusive) {
            let ids = self.levels[side as usize]
                .get(&price)
                .map(|level| level.orders.clone())
                .unwrap_or_default();
            for order_id in ids {
                if budget == 0 {
                    return 0;
                }
                let leaves = self.orders.get(&order_id).map_or(0, |order| order.leaves);
                let fill = leaves.min(budget);
                budget -= fill;
                self.fill_resting(order_id, fill, events);
            }
        }
        budget
    }

    /// New displayed quantity on `side` at `price` (an incoming order) that crosses our resting
    /// orders on the other side trades with them first, as maker fills at our prices.
    fn fill_crossing(
        &mut self,
        side: Side,
        price: Price,
        added: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let left = self.fill_through(side.opposite(), price, true, added, events);
        if self.config.market_impact && left < added {
            *self.consumed.entry((side, price)).or_insert(0) += added - left;
        }
    }

    // ----- market data -----------------------------------------------------------------------

    /// L2: the displayed quantity at `price` on `side` is now `quantity` (0 removes the level).
    /// Returns the local time at which the strategy sees the update.
    pub fn on_l2_delta(
        &mut self,
        ts: i64,
        side: Side,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let delta = MarketEvent::L2Delta {
            side,
            price,
            quantity,
        };
        self.on_market(ts, delta, events)
    }

    /// L2: every level is removed (a snapshot follows). Our orders keep their queue estimates.
    pub fn on_l2_clear(
        &mut self,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.on_market(ts, MarketEvent::L2Clear, events)
    }

    /// A trade print: `quantity` at `price`, the aggressor on `aggressor`. On L2 data this is
    /// what advances and fills our resting orders; on L3 data the executions do, and a print
    /// only moves time.
    pub fn on_trade(
        &mut self,
        ts: i64,
        aggressor: Side,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let trade = MarketEvent::Trade {
            aggressor,
            price,
            quantity,
        };
        self.on_market(ts, trade, events)
    }

    /// L3: a market order joins the back of the queue at its price.
    pub fn on_l3_add(
        &mut self,
        ts: i64,
        order_id: OrderId,
        side: Side,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let add = MarketEvent::L3Add {
            order_id,
            side,
            price,
            quantity,
        };
        self.on_market(ts, add, events)
    }

    /// L3: a market order leaves the book.
    pub fn on_l3_cancel(
        &mut self,
        ts: i64,
        order_id: OrderId,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.on_market(ts, MarketEvent::L3Cancel { order_id }, events)
    }

    /// L3: a market order shrinks by `by` lots, keeping its place.
    pub fn on_l3_reduce(
        &mut self,
        ts: i64,
        order_id: OrderId,
        by: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.on_market(ts, MarketEvent::L3Reduce { order_id, by }, events)
    }

    /// L3: a market order changes price and size; a price change or size increase loses its
    /// place.
    pub fn on_l3_replace(
        &mut self,
        ts: i64,
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let replace = MarketEvent::L3Replace {
            order_id,
            price,
            quantity,
        };
        self.on_market(ts, replace, events)
    }

    /// L3: `quantity` lots of a market order traded.
    pub fn on_l3_execute(
        &mut self,
        ts: i64,
        order_id: OrderId,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.on_market(ts, MarketEvent::L3Execute { order_id, quantity }, events)
    }

    /// L3: the book is cleared (a snapshot follows). Our orders stay; once the rebuild is over
    /// (the first message that is not an add) each goes behind everything at its price.
    pub fn on_l3_clear(
        &mut self,
        ts: i64,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.on_market(ts, MarketEvent::L3Clear, events)
    }

    /// Applies one market data event at exchange time `ts`; returns the local time at which
    /// the strategy sees it. Commands arriving at or before `ts` take effect first.
    pub(crate) fn on_market(
        &mut self,
        ts: i64,
        event: MarketEvent,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        self.validate_market(ts, &event)?;
        self.run_commands_until(ts, events);
        self.clock.now = ts;
        let latency = self.feed_latency.sample(ts);
        let seen = ts.saturating_add(latency).max(self.clock.last_feed);
        self.clock.last_feed = seen;
        let start = events.len();
        self.apply_market(event, events);
        self.stamp(start, events);
        Ok(seen)
    }

    /// Checks everything that could make `event` fail, so that nothing changes when it does.
    pub(crate) fn validate_market(&self, ts: i64, event: &MarketEvent) -> Result<(), VenueError> {
        check_market_event(self.market.kind(), self.clock.now, ts, event, &|order_id| {
            self.l3_quantity(order_id)
        })
    }

    /// Applies a validated event; book errors cannot happen here.
    fn apply_market(&mut self, event: MarketEvent, events: &mut Vec<OrderEvent>) {
        if self.resync_pending && !matches!(event, MarketEvent::L3Add { .. }) {
            self.resync_queues();
        }
        match event {
            MarketEvent::L2Delta {
                side,
                price,
                quantity,
            } => self.apply_l2_delta(side, price, quantity, events),
            MarketEvent::L2Clear => {
                if let Market::L2(book) = &mut self.market {
                    book.clear();
                }
                self.consumed.clear();
            }
            MarketEvent::Trade {
                aggressor,
                price,
                quantity,
            } => {
                if self.market.kind() == DataKind::L2 {
                    self.apply_l2_trade(aggressor, price, quantity, events);
                }
            }
            MarketEvent::L3Add {
                order_id,
                side,
                price,
                quantity,
            } => {
                if let Some(added) = self.l3_book_change(|book| {
                    book.add(order_id, side, price, quantity).map(|_| order_id)
                }) {
                    self.note_priority(added);
                    self.forget_impact(side, price);
                    if self.any_reached(side.opposite(), price) {
                        self.fill_crossing(side, price, quantity, events);
                    }
                }
            }
            MarketEvent::L3Cancel { order_id } => {
                if let Some(before) = self.l3_order(order_id) {
                    self.l3_book_change(|book| book.cancel(order_id).map(|_| order_id));
                    self.shift_ahead(before, -before.quantity);
                    self.forget_impact(before.side, before.price);
                }
            }
            MarketEvent::L3Reduce { order_id, by } => {
                if let Some(before) = self.l3_order(order_id) {
                    self.l3_book_change(|book| book.reduce(order_id, by).map(|_| order_id));
                    self.shift_ahead(before, -by);
                    self.forget_impact(before.side, before.price);
                }
            }
            MarketEvent::L3Replace {
                order_id,
                price,
                quantity,
            } => self.apply_l3_replace(order_id, price, quantity, events),
            MarketEvent::L3Execute { order_id, quantity } => {
                self.apply_l3_execute(order_id, quantity, events)
            }
            MarketEvent::L3Clear => {
                if let Market::L3(book) = &mut self.market {
                    book.clear();
                }
                self.consumed.clear();
                self.resync_pending = !self.orders.is_empty();
            }
        }
    }

    fn forget_impact(&mut self, side: Side, price: Price) {
        if !self.consumed.is_empty() {
            self.consumed.remove(&(side, price));
        }
    }

    // ----- L2 -------------------------------------------------------------------------------

    fn apply_l2_delta(
        &mut self,
        side: Side,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let may_cross = self.any_reached(side.opposite(), price);
        let Market::L2(book) = &mut self.market else {
            return;
        };
        let previous = if may_cross {
            book.quantity_at(side, price)
        } else {
            0
        };
        if book.apply_delta(side, price, quantity).is_err() {
            return;
        }
        self.forget_impact(side, price);
        if self.levels[side as usize].contains_key(&price) {
            self.update_l2_queue(side, price, quantity);
        }
        if may_cross && quantity > previous {
            self.fill_crossing(side, price, quantity - previous, events);
        }
    }

    /// A new displayed quantity at a level where we rest: a decrease no trade explains is
    /// cancels, split ahead / behind us by the queue model.
    fn update_l2_queue(&mut self, side: Side, price: Price, quantity: Quantity) {
        let model = self.config.queue_model;
        let Some(level) = self.levels[side as usize].get_mut(&price) else {
            return;
        };
        let before = level.displayed - level.traded;
        let canceled = before - quantity;
        level.displayed = quantity;
        level.traded = 0;
        for order_id in &level.orders {
            let Some(order) = self.orders.get_mut(order_id) else {
                continue;
            };
            if canceled > 0 {
                let behind = (before - order.ahead).max(0);
                order.ahead -= model.canceled_ahead(canceled, order.ahead, behind, &mut self.rng);
            }
            order.ahead = order.ahead.min(quantity);
        }
    }

    /// A trade print: resting orders priced better than the print were passed through and fill
    /// first; at the print's price the trade eats the queue ahead of us, then us.
    fn apply_l2_trade(
        &mut self,
        aggressor: Side,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let resting = aggressor.opposite();
        let budget = self.fill_through(resting, price, false, quantity, events);
        let Some(level) = self.levels[resting as usize].get_mut(&price) else {
            return;
        };
        level.traded += quantity;
        let ids = level.orders.clone();
        let mut ours_ahead = 0;
        for order_id in ids {
            let Some(order) = self.orders.get_mut(&order_id) else {
                continue;
            };
            let reach = budget - order.ahead - ours_ahead;
            order.ahead = (order.ahead - quantity).max(0);
            let fill = reach.clamp(0, order.leaves);
            ours_ahead += order.leaves;
            if fill > 0 {
                self.fill_resting(order_id, fill, events);
            }
        }
    }

    // ----- L3 -------------------------------------------------------------------------------

    pub(crate) fn l3_quantity(&self, order_id: OrderId) -> Option<Quantity> {
        self.l3_order(order_id).map(|order| order.quantity)
    }

    fn l3_order(&self, order_id: OrderId) -> Option<BookOrder> {
        match &self.market {
            Market::L3(book) => book.order(order_id),
            Market::L2(_) => None,
        }
    }

    fn l3_book_change(
        &mut self,
        change: impl FnOnce(&mut OrderBookL3) -> Result<OrderId, BookError>,
    ) -> Option<OrderId> {
        match &mut self.market {
            Market::L3(book) => change(book).ok(),
            Market::L2(_) => None,
        }
    }

    /// Keeps `next_market_priority` one past the newest priority the book gave out.
    fn note_priority(&mut self, order_id: OrderId) {
        if let Some(order) = self.l3_order(order_id) {
            self.next_market_priority = self.next_market_priority.max(order.priority + 1);
        }
    }

    /// `change` lots of a market order at its price and priority: applies to those of our
    /// orders there that it is ahead of.
    fn shift_ahead(&mut self, market_order: BookOrder, change: Quantity) {
        let Some(level) = self.levels[market_order.side as usize].get(&market_order.price) else {
            return;
        };
        for order_id in &level.orders {
            if let Some(order) = self.orders.get_mut(order_id) {
                if market_order.priority < order.mark {
                    order.ahead = (order.ahead + change).max(0);
                }
            }
        }
    }

    fn apply_l3_replace(
        &mut self,
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let Some(before) = self.l3_order(order_id) else {
            return;
        };
        self.l3_book_change(|book| book.replace(order_id, price, quantity).map(|_| order_id));
        let Some(after) = self.l3_order(order_id) else {
            return;
        };
        self.note_priority(order_id);
        self.shift_ahead(before, -before.quantity);
        self.shift_ahead(after, after.quantity);
        self.forget_impact(before.side, before.price);
        self.forget_impact(after.side, after.price);
        let incoming = if after.price != before.price {
            after.quantity
        } else {
            after.quantity - before.quantity
        };
        if incoming > 0 && self.any_reached(after.side.opposite(), after.price) {
            self.fill_crossing(after.side, after.price, incoming, events);
        }
    }

    /// An execution against a market order: the aggressor passed every one of our orders
    /// priced better, and those at the same price queued before it; they fill first. Our
    /// orders behind it move up.
    fn apply_l3_execute(
        &mut self,
        order_id: OrderId,
        quantity: Quantity,
        events: &mut Vec<OrderEvent>,
    ) {
        let Some(executed) = self.l3_order(order_id) else {
            return;
        };
        self.l3_book_change(|book| book.execute(order_id, quantity).map(|_| order_id));
        self.forget_impact(executed.side, executed.price);
        let (side, price) = (executed.side, executed.price);
        let mut budget = self.fill_through(side, price, false, quantity, events);
        let ahead_of_it: Vec<OrderId> = self.levels[side as usize]
            .get(&price)
            .map(|level| {
                level
                    .orders
                    .iter()
                    .copied()
                    .filter(|id| {
                        self.orders
                            .get(id)
                            .is_some_and(|order| order.mark <= executed.priority)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for our_id in ahead_of_it {
            if budget == 0 {
                break;
            }
            let leaves = self.orders.get(&our_id).map_or(0, |order| order.leaves);
            let fill = leaves.min(budget);
            budget -= fill;
            self.fill_resting(our_id, fill, events);
        }
        self.shift_ahead(executed, -quantity);
    }

    /// After a clear, once the book has been rebuilt: each of our orders goes behind whatever
    /// now rests at its price (the conservative choice, since the clear lost our place).
    fn resync_queues(&mut self) {
        self.resync_pending = false;
        let mark = self.next_market_priority;
        let ids: Vec<OrderId> = self.orders.keys().copied().collect();
        for order_id in ids {
            let Some(order) = self.orders.get(&order_id).copied() else {
                continue;
            };
            let ahead = self.available_at(order.side, order.price);
            if let Some(order) = self.orders.get_mut(&order_id) {
                order.mark = mark;
                order.ahead = ahead;
            }
        }
    }
}
