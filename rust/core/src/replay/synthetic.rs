//! A seeded stochastic order-flow generator: realistic L3 message streams (and the L2 delta
//! streams they imply) for benchmarks, demos and tests, since no tick data ships with hftcore.
//!
//! The model is a zero-intelligence order flow in the spirit of Smith, Farmer, Gillemot and
//! Krishnamurthy (2003) and Cont, Stoikov and Talreja (2010): at every event one of three things
//! happens, with rates as in Cont, Stoikov and Talreja: limit orders arrive at `limit_rate`,
//! market orders at `market_rate`, and each live order is canceled at `cancel_rate`, so the
//! next event is a limit order, a market order or a cancel with probabilities proportional to
//! `limit_rate`, `market_rate` and `cancel_rate x live orders`.
//!
//! * **Limit order**: a side with equal odds; a distance `k = 1 + G` ticks
//!   from the opposite best quote, with `G` geometric (`distance_decay`), so most orders join
//!   the levels at and near the touch while a thin tail reaches deep into the book; a size
//!   `1 + G'` lots with `G'` geometric of mean `mean_size - 1`.
//! * **Cancel**: a uniformly chosen live order is canceled (so deep queues lose orders in
//!   proportion to their length).
//! * **Market order**: a side with equal odds and a size as above; it executes
//!   against the front of the opposite queues, level after level, emitting one EXECUTE per
//!   order touched.
//!
//! The book settles where arrivals balance removals, near `limit_rate / cancel_rate` orders
//! less what market orders take; `max_live_orders` is a hard cap (limit orders turn into
//! cancels above it). When one side is empty the opposite quote is replaced
//! by `reference_price`, which follows the last execution price.

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Geometric};
use rand_pcg::Pcg64Mcg;

use crate::book::{BookError, BookView, OrderBookL3};
use crate::replay::{
    apply_l3_record, L2DeltaRecord, L3MessageRecord, ACTION_ADD, ACTION_CANCEL, ACTION_EXECUTE,
};
use crate::types::{Price, Quantity, Side, ValueError};

/// Parameters of the order-flow model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderFlowModel {
    pub seed: u64,
    /// Starting reference price in ticks.
    pub initial_price: Price,
    /// Relative arrival rate of limit orders.
    pub limit_rate: f64,
    /// Relative arrival rate of market orders.
    pub market_rate: f64,
    /// Cancel rate of each live order, relative to the arrival rates.
    pub cancel_rate: f64,
    /// Success probability of the geometric distance from the opposite quote (higher keeps
    /// orders closer to the touch).
    pub distance_decay: f64,
    pub mean_size: f64,
    pub max_live_orders: usize,
    /// Mean time between events in ns (exponential inter-arrival times).
    pub mean_interval_ns: f64,
    pub start_ts: i64,
}

impl Default for OrderFlowModel {
    fn default() -> Self {
        OrderFlowModel {
            seed: 7,
            initial_price: 100_000,
            limit_rate: 1.0,
            market_rate: 0.12,
            cancel_rate: 0.0002,
            distance_decay: 0.25,
            mean_size: 10.0,
            max_live_orders: 20_000,
            mean_interval_ns: 50_000.0,
            start_ts: 1_700_000_000_000_000_000,
        }
    }
}

impl OrderFlowModel {
    fn validate(&self) -> Result<(), ValueError> {
        let positive = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(ValueError::InvalidSpec(format!(
                    "{name} must be positive, got {value}"
                )))
            }
        };
        positive("limit_rate", self.limit_rate)?;
        positive("market_rate", self.market_rate)?;
        positive("cancel_rate", self.cancel_rate)?;
        if !(self.distance_decay > 0.0 && self.distance_decay <= 1.0) {
            return Err(ValueError::InvalidSpec(
                "distance_decay must be in (0, 1]".into(),
            ));
        }
        if self.mean_size.is_nan() || self.mean_size < 1.0 {
            return Err(ValueError::InvalidSpec(
                "mean_size must be at least 1".into(),
            ));
        }
        if self.initial_price <= 1000 {
            return Err(ValueError::InvalidSpec(
                "initial_price must exceed 1000 ticks so prices stay positive".into(),
            ));
        }
        if self.max_live_orders == 0 {
            return Err(ValueError::InvalidSpec(
                "max_live_orders must be positive".into(),
            ));
        }
        if self.mean_interval_ns.is_nan() || self.mean_interval_ns < 0.0 {
            return Err(ValueError::InvalidSpec(
                "mean_interval_ns must not be negative".into(),
            ));
        }
        Ok(())
    }

    /// Generates at least `count` L3 messages (a final market order may add a few more).
    pub fn generate_l3(&self, count: usize) -> Result<Vec<L3MessageRecord>, ValueError> {
        let mut flow = OrderFlow::new(self)?;
        let mut messages = Vec::with_capacity(count + 64);
        flow.extend(&mut messages, count);
        Ok(messages)
    }
}

/// A running order-flow generator, for streams too long to hold in memory at once.
pub struct OrderFlow {
    model: OrderFlowModel,
    rng: Pcg64Mcg,
    book: OrderBookL3,
    live: Vec<u64>,
    live_index: rustc_hash::FxHashMap<u64, usize>,
    next_order_id: u64,
    reference_price: Price,
    ts: i64,
    distance: Geometric,
    size: Geometric,
}

impl OrderFlow {
    pub fn new(model: &OrderFlowModel) -> Result<Self, ValueError> {
        model.validate()?;
        let invalid = |error: rand_distr::GeoError| ValueError::InvalidSpec(error.to_string());
        Ok(OrderFlow {
            model: *model,
            rng: Pcg64Mcg::seed_from_u64(model.seed),
            book: OrderBookL3::new(),
            live: Vec::new(),
            live_index: Default::default(),
            next_order_id: 1,
            reference_price: model.initial_price,
            ts: model.start_ts,
            distance: Geometric::new(model.distance_decay).map_err(invalid)?,
            size: Geometric::new(1.0 / model.mean_size).map_err(invalid)?,
        })
    }

    /// Appends at least `count` more messages to `out`.
    pub fn extend(&mut self, out: &mut Vec<L3MessageRecord>, count: usize) {
        let target = out.len() + count;
        while out.len() < target {
            self.step(out);
        }
    }

    fn draw_size(&mut self) -> Quantity {
        1 + self.size.sample(&mut self.rng).min(10_000) as Quantity
    }

    fn advance_clock(&mut self) -> i64 {
        let uniform: f64 = self.rng.random();
        self.ts += (-(1.0 - uniform).ln() * self.model.mean_interval_ns) as i64;
        self.ts
    }

    fn record(
        &self,
        action: u8,
        order_id: u64,
        side: Side,
        price: Price,
        quantity: Quantity,
    ) -> L3MessageRecord {
        L3MessageRecord {
            ts_event: self.ts,
            ts_init: self.ts,
            sequence: 0,
            order_id,
            price,
            quantity,
            side: side as u8,
            action,
            reserved: [0; 6],
        }
    }

    fn forget(&mut self, order_id: u64) {
        if let Some(position) = self.live_index.remove(&order_id) {
            self.live.swap_remove(position);
            if let Some(&moved) = self.live.get(position) {
                self.live_index.insert(moved, position);
            }
        }
    }

    fn step(&mut self, out: &mut Vec<L3MessageRecord>) {
        self.advance_clock();
        let cancel_weight = self.model.cancel_rate * self.live.len() as f64;
        let total = self.model.limit_rate + self.model.market_rate + cancel_weight;
        let draw = self.rng.random::<f64>() * total;
        let crowded = self.live.len() >= self.model.max_live_orders;
        if crowded
            || (draw >= self.model.limit_rate + self.model.market_rate && !self.live.is_empty())
        {
            self.cancel(out);
        } else if draw < self.model.limit_rate || self.live.is_empty() {
            self.limit_order(out);
        } else {
            self.market_order(out);
        }
    }

    fn limit_order(&mut self, out: &mut Vec<L3MessageRecord>) {
        let side = if self.rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let distance = 1 + self.distance.sample(&mut self.rng).min(500) as Price;
        let opposite = self
            .book
            .best(side.opposite())
            .map_or(self.reference_price, |(price, _)| price);
        let price = match side {
            Side::Buy => opposite - distance,
            Side::Sell => opposite + distance,
        }
        .max(1);
        let quantity = self.draw_size();
        let order_id = self.next_order_id;
        self.next_order_id += 1;
        if self.book.add(order_id, side, price, quantity).is_ok() {
            self.live_index.insert(order_id, self.live.len());
            self.live.push(order_id);
            out.push(self.record(ACTION_ADD, order_id, side, price, quantity));
        }
    }

    fn cancel(&mut self, out: &mut Vec<L3MessageRecord>) {
        let order_id = self.live[self.rng.random_range(0..self.live.len())];
        if let Ok(order) = self.book.cancel(order_id) {
            self.forget(order_id);
            out.push(self.record(ACTION_CANCEL, order_id, order.side, order.price, 0));
        }
    }

    fn market_order(&mut self, out: &mut Vec<L3MessageRecord>) {
        let taker = if self.rng.random_bool(0.5) {
            Side::Buy
        } else {
            Side::Sell
        };
        let mut remaining = self.draw_size();
        while remaining > 0 {
            let Some((price, _)) = self.book.best(taker.opposite()) else {
                break;
            };
            let Some(front) = self.book.queue(taker.opposite(), price).first().copied() else {
                break;
            };
            let take = remaining.min(front.quantity);
            if self.book.execute(front.order_id, take).is_err() {
                break;
            }
            if take == front.quantity {
                self.forget(front.order_id);
            }
            remaining -= take;
            self.reference_price = price;
            out.push(self.record(ACTION_EXECUTE, front.order_id, front.side, price, take));
        }
    }
}

/// The L2 delta stream an L3 message stream implies: after each message, the new total at the
/// price it touched. `book` holds the orders the stream starts from and is advanced by it;
/// sequence numbers continue from `first_sequence`.
pub fn l2_from_l3(
    book: &mut OrderBookL3,
    messages: &[L3MessageRecord],
    first_sequence: u64,
) -> Result<Vec<L2DeltaRecord>, BookError> {
    let mut deltas = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let (side, price) = match message.action {
            ACTION_ADD => (
                Side::from_code(message.side)
                    .map_err(|_| BookError::UnknownAction(message.side))?,
                message.price,
            ),
            _ => {
                let order = book
                    .order(message.order_id)
                    .ok_or(BookError::UnknownOrder(message.order_id))?;
                (order.side, order.price)
            }
        };
        apply_l3_record(book, message)?;
        deltas.push(L2DeltaRecord {
            ts_event: message.ts_event,
            ts_init: message.ts_init,
            sequence: first_sequence + index as u64,
            price,
            quantity: book.quantity_at(side, price),
            side: side as u8,
            flags: 0,
            reserved: [0; 6],
        });
    }
    Ok(deltas)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::OrderBookL2;
    use crate::replay::{apply_l2, apply_l3, ErrorPolicy};

    #[test]
    fn the_flow_is_seeded_valid_and_concentrated_near_the_touch() {
        let model = OrderFlowModel::default();
        let messages = model.generate_l3(200_000).expect("valid model");
        assert_eq!(messages, model.generate_l3(200_000).expect("valid model"));
        let other = OrderFlowModel { seed: 8, ..model }
            .generate_l3(1000)
            .expect("valid model");
        assert_ne!(messages[..1000], other[..]);

        let mut l3 = OrderBookL3::new();
        let summary = apply_l3(&mut l3, &messages, ErrorPolicy::Raise, None);
        assert_eq!(summary.applied, messages.len());
        assert!(l3.best_bid().is_some() && l3.best_ask().is_some());
        assert!(
            l3.order_count() > 1000,
            "deep book expected, got {}",
            l3.order_count()
        );
        // Most quantity within 10 ticks of the touch, and deep queues there.
        let (bid, _) = l3.best_bid().expect("bid");
        let near: Quantity = l3
            .levels(Side::Buy)
            .take_while(|&(p, _)| bid - p < 10)
            .map(|(_, q)| q)
            .sum();
        let all: Quantity = l3.levels(Side::Buy).map(|(_, q)| q).sum();
        assert!(near * 2 > all, "near {near} of {all}");
        assert!(l3.order_count_at(Side::Buy, bid) >= 5);
    }

    #[test]
    fn the_implied_l2_stream_rebuilds_the_same_book() {
        let messages = OrderFlowModel::default()
            .generate_l3(50_000)
            .expect("valid model");
        let deltas = l2_from_l3(&mut OrderBookL3::new(), &messages, 1).expect("consistent stream");
        let mut l3 = OrderBookL3::new();
        apply_l3(&mut l3, &messages, ErrorPolicy::Raise, None);
        let mut l2 = OrderBookL2::new();
        let summary = apply_l2(&mut l2, &deltas, ErrorPolicy::Raise, None);
        assert_eq!(summary.applied, deltas.len());
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(
                l2.levels(side).collect::<Vec<_>>(),
                l3.levels(side).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn invalid_models_are_refused() {
        let bad = OrderFlowModel {
            cancel_rate: -1.0,
            ..OrderFlowModel::default()
        };
        assert!(bad.generate_l3(10).is_err());
        let bad = OrderFlowModel {
            distance_decay: 0.0,
            ..OrderFlowModel::default()
        };
        assert!(bad.generate_l3(10).is_err());
    }
}
