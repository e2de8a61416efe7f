//! Snapshots of a simulated venue as bytes, for pickling and checkpoints.
//!
//! A snapshot holds everything that decides what the venue does next: configuration, the
//! replayed book, our orders and their queue places, commands in flight, the generators'
//! states and the clocks. A venue restored from a snapshot produces exactly the events the
//! original would have. The encoding is little-endian with a version byte; L3 book priorities
//! are renumbered densely (only their order matters), which makes the bytes canonical: two
//! venues that behave the same give the same snapshot.

use std::collections::{BTreeMap, VecDeque};

use rand_pcg::Pcg64;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::book::{BookOrder, OrderBookL2, OrderBookL3};
use crate::matching::order::TimeInForce;
use crate::matching::simulated::latency::{
    Latency, LatencyDistribution, LatencyModel, LatencyTable,
};
use crate::matching::simulated::queue::QueueModel;
use crate::matching::simulated::venue::{
    Clock, Command, Market, NewOrder, OrderKind, OurLevel, PendingCommand, SimulatedVenue,
    WorkingOrder,
};
use crate::matching::simulated::{DataKind, VenueConfig, VenueError};
use crate::types::{InstrumentSpec, Side};

const VERSION: u8 = 1;

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn u128(&mut self, value: u128) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn f64(&mut self, value: f64) {
        self.u64(value.to_bits());
    }
    fn bool(&mut self, value: bool) {
        self.u8(u8::from(value));
    }
    fn len(&mut self, length: usize) {
        self.u64(length as u64);
    }

    fn latency(&mut self, latency: &Latency) {
        match latency.model() {
            LatencyModel::Constant(value) => {
                self.u8(0);
                self.i64(value);
            }
            LatencyModel::Table(table) => {
                self.u8(1);
                self.len(table.points().len());
                for &(ts, value) in table.points() {
                    self.i64(ts);
                    self.i64(value);
                }
            }
            LatencyModel::Random { distribution, seed } => {
                self.u8(2);
                let (tag, first, second) = match distribution {
                    LatencyDistribution::Normal { mean, std_dev } => (0, mean, std_dev),
                    LatencyDistribution::LogNormal { mu, sigma } => (1, mu, sigma),
                    LatencyDistribution::Uniform { low, high } => (2, low, high),
                };
                self.u8(tag);
                self.f64(first);
                self.f64(second);
                self.u64(seed);
                let (state, stream) = latency.generator_state().unwrap_or_default();
                self.u128(state);
                self.u128(stream);
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

fn corrupt(what: &str) -> VenueError {
    VenueError::InvalidSnapshot(what.to_string())
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], VenueError> {
        let (head, rest) = self
            .bytes
            .split_first_chunk::<N>()
            .ok_or_else(|| corrupt("truncated"))?;
        self.bytes = rest;
        Ok(*head)
    }
    fn u8(&mut self) -> Result<u8, VenueError> {
        Ok(self.take::<1>()?[0])
    }
    fn u64(&mut self) -> Result<u64, VenueError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, VenueError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn u128(&mut self) -> Result<u128, VenueError> {
        Ok(u128::from_le_bytes(self.take()?))
    }
    fn f64(&mut self) -> Result<f64, VenueError> {
        Ok(f64::from_bits(self.u64()?))
    }
    fn bool(&mut self) -> Result<bool, VenueError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(corrupt("bad boolean")),
        }
    }
    fn side(&mut self) -> Result<Side, VenueError> {
        Side::from_code(self.u8()?).map_err(|_| corrupt("bad side"))
    }
    /// A length, bounded by what the remaining bytes could hold so that a corrupt length
    /// cannot make us allocate without limit.
    fn len(&mut self, item_size: usize) -> Result<usize, VenueError> {
        let length = self.u64()?;
        if length > (self.bytes.len() / item_size.max(1)) as u64 {
            return Err(corrupt("length exceeds the data"));
        }
        Ok(length as usize)
    }

    fn latency_model(&mut self) -> Result<(LatencyModel, Option<(u128, u128)>), VenueError> {
        Ok(match self.u8()? {
            0 => (LatencyModel::Constant(self.i64()?), None),
            1 => {
                let count = self.len(16)?;
                let points = (0..count)
                    .map(|_| Ok((self.i64()?, self.i64()?)))
                    .collect::<Result<Vec<_>, VenueError>>()?;
                (LatencyModel::Table(LatencyTable::new(points)?), None)
            }
            2 => {
                let tag = self.u8()?;
                let (first, second) = (self.f64()?, self.f64()?);
                let distribution = match tag {
                    0 => LatencyDistribution::Normal {
                        mean: first,
                        std_dev: second,
                    },
                    1 => LatencyDistribution::LogNormal {
                        mu: first,
                        sigma: second,
                    },
                    2 => LatencyDistribution::Uniform {
                        low: first,
                        high: second,
                    },
                    _ => return Err(corrupt("bad distribution")),
                };
                let seed = self.u64()?;
                let generator = (self.u128()?, self.u128()?);
                (LatencyModel::Random { distribution, seed }, Some(generator))
            }
            _ => return Err(corrupt("bad latency model")),
        })
    }

    fn latency(&mut self) -> Result<(LatencyModel, Latency), VenueError> {
        let (model, generator) = self.latency_model()?;
        let mut latency = Latency::new(model.clone())?;
        if let Some(state) = generator {
            latency.set_generator_state(state)?;
        }
        Ok((model, latency))
    }
}

fn data_code(kind: DataKind) -> u8 {
    match kind {
        DataKind::L2 => 2,
        DataKind::L3 => 3,
    }
}

fn tif_code(time_in_force: TimeInForce) -> u8 {
    time_in_force as u8
}

impl SimulatedVenue {
    /// The venue as bytes; [`SimulatedVenue::from_snapshot`] restores it.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Writer::default();
        out.u8(VERSION);
        out.u8(data_code(self.config.data));
        match self.config.queue_model {
            QueueModel::Fifo => out.u8(0),
            QueueModel::RiskAverse => out.u8(1),
            QueueModel::Power(exponent) => {
                out.u8(2);
                out.f64(exponent);
            }
            QueueModel::Log => out.u8(3),
        }
        for latency in [
            &self.feed_latency,
            &self.order_latency,
            &self.response_latency,
        ] {
            out.latency(latency);
        }
        out.bool(self.config.market_impact);
        out.u64(self.config.seed);
        out.u128(self.rng.state());
        out.u128(self.rng.stream());
        for ts in [
            self.clock.now,
            self.clock.last_arrival,
            self.clock.last_response,
            self.clock.last_feed,
        ] {
            out.i64(ts);
        }
        out.u64(self.next_trade_id);
        out.u64(self.next_sequence);
        out.bool(self.resync_pending);

        // L3 priorities are renumbered 0..n in priority order; our marks become the count of
        // market orders that were ahead of them, which keeps every comparison the same.
        let mut book_orders: Vec<BookOrder> = Vec::new();
        match &self.market {
            Market::L2(book) => {
                for side in [Side::Buy, Side::Sell] {
                    let levels: Vec<_> = book.levels(side).collect();
                    out.len(levels.len());
                    for (price, quantity) in levels {
                        out.i64(price);
                        out.i64(quantity);
                    }
                }
            }
            Market::L3(book) => {
                for side in [Side::Buy, Side::Sell] {
                    let prices: Vec<_> = book.levels(side).map(|(price, _)| price).collect();
                    for price in prices {
                        book_orders.extend(book.queue(side, price));
                    }
                }
                book_orders.sort_by_key(|order| order.priority);
                out.len(book_orders.len());
                for order in &book_orders {
                    out.u64(order.order_id);
                    out.u8(order.side as u8);
                    out.i64(order.price);
                    out.i64(order.quantity);
                }
            }
        }
        let dense =
            |priority: u64| book_orders.partition_point(|order| order.priority < priority) as u64;

        out.len(self.pending.len());
        for pending in &self.pending {
            out.i64(pending.arrival);
            match pending.command {
                Command::Submit(order) => {
                    out.u8(0);
                    out.u64(order.order_id);
                    out.u8(order.side as u8);
                    out.i64(order.quantity);
                    match order.kind {
                        OrderKind::Market => out.u8(0),
                        OrderKind::Limit {
                            price,
                            time_in_force,
                            post_only,
                        } => {
                            out.u8(1);
                            out.i64(price);
                            out.u8(tif_code(time_in_force));
                            out.bool(post_only);
                        }
                    }
                }
                Command::Cancel(order_id) => {
                    out.u8(1);
                    out.u64(order_id);
                }
                Command::Modify {
                    order_id,
                    price,
                    quantity,
                } => {
                    out.u8(2);
                    out.u64(order_id);
                    out.i64(price);
                    out.i64(quantity);
                }
            }
        }

        let mut orders: Vec<&WorkingOrder> = self.orders.values().collect();
        orders.sort_by_key(|order| order.sequence);
        out.len(orders.len());
        for order in orders {
            out.u64(order.order_id);
            out.u8(order.side as u8);
            out.i64(order.price);
            out.i64(order.quantity);
            out.i64(order.leaves);
            out.bool(order.post_only);
            out.u64(order.sequence);
            out.i64(order.ahead);
            out.u64(match self.market {
                Market::L3(_) => dense(order.mark),
                Market::L2(_) => order.mark,
            });
        }
        for side_levels in &self.levels {
            out.len(side_levels.len());
            for (&price, level) in side_levels {
                out.i64(price);
                out.i64(level.displayed);
                out.i64(level.traded);
            }
        }
        let mut consumed: Vec<_> = self.consumed.iter().collect();
        consumed.sort_unstable();
        out.len(consumed.len());
        for (&(side, price), &quantity) in consumed {
            out.u8(side as u8);
            out.i64(price);
            out.i64(quantity);
        }
        out.bytes
    }

    /// Restores a venue from [`SimulatedVenue::snapshot`] bytes, for the same instrument.
    pub fn from_snapshot(spec: InstrumentSpec, bytes: &[u8]) -> Result<Self, VenueError> {
        let mut input = Reader { bytes };
        if input.u8()? != VERSION {
            return Err(corrupt("unknown version"));
        }
        let data = match input.u8()? {
            2 => DataKind::L2,
            3 => DataKind::L3,
            _ => return Err(corrupt("bad data kind")),
        };
        let queue_model = match input.u8()? {
            0 => QueueModel::Fifo,
            1 => QueueModel::RiskAverse,
            2 => QueueModel::Power(input.f64()?),
            3 => QueueModel::Log,
            _ => return Err(corrupt("bad queue model")),
        };
        let (feed_model, feed_latency) = input.latency()?;
        let (order_model, order_latency) = input.latency()?;
        let (response_model, response_latency) = input.latency()?;
        let config = VenueConfig {
            data,
            queue_model,
            feed_latency: feed_model,
            order_latency: order_model,
            response_latency: response_model,
            market_impact: input.bool()?,
            seed: input.u64()?,
        };
        let mut venue = SimulatedVenue::new(spec, config)?;
        venue.feed_latency = feed_latency;
        venue.order_latency = order_latency;
        venue.response_latency = response_latency;
        venue.rng = Pcg64::from_state(input.u128()?, input.u128()?);
        venue.clock = Clock {
            now: input.i64()?,
            last_arrival: input.i64()?,
            last_response: input.i64()?,
            last_feed: input.i64()?,
        };
        venue.next_trade_id = input.u64()?;
        venue.next_sequence = input.u64()?;
        venue.resync_pending = input.bool()?;

        venue.market = match data {
            DataKind::L2 => {
                let mut sides = Vec::with_capacity(2);
                for _ in 0..2 {
                    let count = input.len(16)?;
                    let levels = (0..count)
                        .map(|_| Ok((input.i64()?, input.i64()?)))
                        .collect::<Result<Vec<_>, VenueError>>()?;
                    sides.push(levels);
                }
                let mut book = OrderBookL2::new();
                book.apply_snapshot(&sides[0], &sides[1], None)?;
                Market::L2(book)
            }
            DataKind::L3 => {
                let count = input.len(25)?;
                let mut book = OrderBookL3::new();
                for _ in 0..count {
                    let (order_id, side) = (input.u64()?, input.side()?);
                    book.add(order_id, side, input.i64()?, input.i64()?)?;
                }
                venue.next_market_priority = count as u64;
                Market::L3(book)
            }
        };

        let count = input.len(9)?;
        let mut pending = VecDeque::with_capacity(count);
        let mut pending_submits = FxHashSet::default();
        for _ in 0..count {
            let arrival = input.i64()?;
            let command = match input.u8()? {
                0 => {
                    let (order_id, side, quantity) = (input.u64()?, input.side()?, input.i64()?);
                    let kind = match input.u8()? {
                        0 => OrderKind::Market,
                        1 => OrderKind::Limit {
                            price: input.i64()?,
                            time_in_force: TimeInForce::from_code(input.u8()?)
                                .map_err(|_| corrupt("bad time in force"))?,
                            post_only: input.bool()?,
                        },
                        _ => return Err(corrupt("bad order kind")),
                    };
                    let order = NewOrder {
                        order_id,
                        side,
                        quantity,
                        kind,
                    };
                    if !pending_submits.insert(order_id) {
                        return Err(corrupt("duplicate pending order id"));
                    }
                    Command::Submit(order)
                }
                1 => Command::Cancel(input.u64()?),
                2 => Command::Modify {
                    order_id: input.u64()?,
                    price: input.i64()?,
                    quantity: input.i64()?,
                },
                _ => return Err(corrupt("bad command")),
            };
            pending.push_back(PendingCommand { arrival, command });
        }
        venue.pending = pending;
        venue.pending_submits = pending_submits;

        let count = input.len(58)?;
        let mut orders = FxHashMap::default();
        let mut levels: [BTreeMap<_, OurLevel>; 2] = [BTreeMap::new(), BTreeMap::new()];
        for _ in 0..count {
            let order = WorkingOrder {
                order_id: input.u64()?,
                side: input.side()?,
                price: input.i64()?,
                quantity: input.i64()?,
                leaves: input.i64()?,
                post_only: input.bool()?,
                sequence: input.u64()?,
                ahead: input.i64()?,
                mark: input.u64()?,
            };
            if order.leaves <= 0 || order.leaves > order.quantity {
                return Err(corrupt("order leaves out of range"));
            }
            if orders.insert(order.order_id, order).is_some() {
                return Err(corrupt("duplicate order id"));
            }
            // Orders were written in sequence order, so each level fills in time priority.
            levels[order.side as usize]
                .entry(order.price)
                .or_default()
                .orders
                .push(order.order_id);
        }
        for side_levels in &mut levels {
            let count = input.len(24)?;
            if count != side_levels.len() {
                return Err(corrupt("levels do not match the orders"));
            }
            for _ in 0..count {
                let price = input.i64()?;
                let level = side_levels
                    .get_mut(&price)
                    .ok_or_else(|| corrupt("level without orders"))?;
                level.displayed = input.i64()?;
                level.traded = input.i64()?;
            }
        }
        venue.orders = orders;
        venue.levels = levels;

        let count = input.len(17)?;
        for _ in 0..count {
            let key = (input.side()?, input.i64()?);
            venue.consumed.insert(key, input.i64()?);
        }
        if !input.bytes.is_empty() {
            return Err(corrupt("trailing bytes"));
        }
        Ok(venue)
    }
}
