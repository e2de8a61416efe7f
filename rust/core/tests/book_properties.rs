//! Property tests of the L2 and L3 books against slow, obviously-correct reference models, and
//! the memory bound on long replays.

use std::collections::BTreeMap;

use hftcore_core::book::{BookError, BookView, OrderBookL2, OrderBookL3};
use hftcore_core::replay::synthetic::{l2_from_l3, OrderFlow, OrderFlowModel};
use hftcore_core::replay::{apply_l2, apply_l3, ErrorPolicy};
use hftcore_core::{Price, Quantity, Side};
use proptest::prelude::*;

/// Reference L2 book: one ordered map per side.
#[derive(Default)]
struct ReferenceL2 {
    bids: BTreeMap<Price, Quantity>,
    asks: BTreeMap<Price, Quantity>,
}

impl ReferenceL2 {
    fn apply(&mut self, side: Side, price: Price, quantity: Quantity) -> Result<(), ()> {
        if price <= 0 || quantity < 0 {
            return Err(());
        }
        let map = if side == Side::Buy {
            &mut self.bids
        } else {
            &mut self.asks
        };
        if quantity == 0 {
            map.remove(&price);
        } else {
            map.insert(price, quantity);
        }
        Ok(())
    }

    fn levels(&self, side: Side) -> Vec<(Price, Quantity)> {
        match side {
            Side::Buy => self.bids.iter().rev().map(|(&p, &q)| (p, q)).collect(),
            Side::Sell => self.asks.iter().map(|(&p, &q)| (p, q)).collect(),
        }
    }
}

fn side_strategy() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn l2_book_matches_reference(
        deltas in prop::collection::vec((side_strategy(), -2i64..40, -3i64..50), 1..300),
        walk_quantity in 1i64..500,
        depth in 1usize..8,
    ) {
        let mut book = OrderBookL2::new();
        let mut reference = ReferenceL2::default();
        for (side, price, quantity) in deltas {
            let expected = reference.apply(side, price, quantity);
            prop_assert_eq!(book.apply_delta(side, price, quantity).is_ok(), expected.is_ok());
        }
        for side in [Side::Buy, Side::Sell] {
            let levels = reference.levels(side);
            prop_assert_eq!(book.levels(side).collect::<Vec<_>>(), levels.clone());
            // Walking the book against this side equals summing the reference levels in order.
            let mut remaining = walk_quantity;
            let (mut filled, mut cost, mut used) = (0, 0i128, 0);
            for &(price, quantity) in &levels {
                if remaining == 0 { break; }
                let take = remaining.min(quantity);
                filled += take; cost += price as i128 * take as i128; used += 1; remaining -= take;
            }
            let walk = book.walk(side.opposite(), walk_quantity);
            prop_assert_eq!((walk.filled, walk.cost, walk.levels_used), (filled, cost, used));
        }
        let bids = reference.levels(Side::Buy);
        let asks = reference.levels(Side::Sell);
        let sum = |levels: &[(Price, Quantity)]| levels.iter().take(depth).map(|l| l.1).sum::<Quantity>();
        let (bid_depth, ask_depth) = (sum(&bids), sum(&asks));
        let expected_imbalance = (bid_depth + ask_depth > 0)
            .then(|| (bid_depth - ask_depth) as f64 / (bid_depth + ask_depth) as f64);
        prop_assert_eq!(book.imbalance(depth), expected_imbalance);
        prop_assert_eq!(book.spread(), bids.first().zip(asks.first()).map(|(b, a)| a.0 - b.0));
    }
}

/// Reference L3 book: every order in one vector in time-priority order.
#[derive(Default, Clone)]
struct ReferenceL3 {
    orders: Vec<(u64, Side, Price, Quantity)>,
}

impl ReferenceL3 {
    fn position(&self, id: u64) -> Option<usize> {
        self.orders.iter().position(|order| order.0 == id)
    }

    fn queue(&self, side: Side, price: Price) -> Vec<(u64, Quantity)> {
        self.orders
            .iter()
            .filter(|o| o.1 == side && o.2 == price)
            .map(|o| (o.0, o.3))
            .collect()
    }

    fn ahead(&self, id: u64) -> Option<Quantity> {
        let at = self.position(id)?;
        let (_, side, price, _) = self.orders[at];
        Some(
            self.orders[..at]
                .iter()
                .filter(|o| o.1 == side && o.2 == price)
                .map(|o| o.3)
                .sum(),
        )
    }

    fn levels(&self, side: Side) -> Vec<(Price, Quantity)> {
        let mut levels: BTreeMap<Price, Quantity> = BTreeMap::new();
        for order in self.orders.iter().filter(|o| o.1 == side) {
            *levels.entry(order.2).or_default() += order.3;
        }
        let mut out: Vec<_> = levels.into_iter().collect();
        if side == Side::Buy {
            out.reverse();
        }
        out
    }
}

#[derive(Debug, Clone)]
enum L3Op {
    Add(u64, Side, Price, Quantity),
    Cancel(u64),
    Reduce(u64, Quantity),
    Execute(u64, Quantity),
    Replace(u64, Price, Quantity),
}

fn l3_op() -> impl Strategy<Value = L3Op> {
    let id = 0u64..30;
    prop_oneof![
        3 => (id.clone(), side_strategy(), -1i64..12, -1i64..20).prop_map(|(i, s, p, q)| L3Op::Add(i, s, p, q)),
        1 => id.clone().prop_map(L3Op::Cancel),
        1 => (id.clone(), -1i64..20).prop_map(|(i, q)| L3Op::Reduce(i, q)),
        1 => (id.clone(), -1i64..20).prop_map(|(i, q)| L3Op::Execute(i, q)),
        1 => (id, -1i64..12, -1i64..20).prop_map(|(i, p, q)| L3Op::Replace(i, p, q)),
    ]
}

fn apply_reference(reference: &mut ReferenceL3, op: &L3Op) -> bool {
    match *op {
        L3Op::Add(id, side, price, quantity) => {
            if price <= 0 || quantity <= 0 || reference.position(id).is_some() {
                return false;
            }
            reference.orders.push((id, side, price, quantity));
        }
        L3Op::Cancel(id) => match reference.position(id) {
            Some(at) => {
                reference.orders.remove(at);
            }
            None => return false,
        },
        L3Op::Reduce(id, by) | L3Op::Execute(id, by) => match reference.position(id) {
            Some(at) if by > 0 && by <= reference.orders[at].3 => {
                reference.orders[at].3 -= by;
                if reference.orders[at].3 == 0 {
                    reference.orders.remove(at);
                }
            }
            _ => return false,
        },
        L3Op::Replace(id, price, quantity) => match reference.position(id) {
            Some(at) if price > 0 && quantity > 0 => {
                let (_, side, old_price, old_quantity) = reference.orders[at];
                if price == old_price && quantity <= old_quantity {
                    reference.orders[at].3 = quantity;
                } else {
                    reference.orders.remove(at);
                    reference.orders.push((id, side, price, quantity));
                }
            }
            _ => return false,
        },
    }
    true
}

fn apply_book(book: &mut OrderBookL3, op: &L3Op) -> Result<(), BookError> {
    match *op {
        L3Op::Add(id, side, price, quantity) => book.add(id, side, price, quantity),
        L3Op::Cancel(id) => book.cancel(id).map(|_| ()),
        L3Op::Reduce(id, by) => book.reduce(id, by).map(|_| ()),
        L3Op::Execute(id, by) => book.execute(id, by).map(|_| ()),
        L3Op::Replace(id, price, quantity) => book.replace(id, price, quantity),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn l3_book_matches_reference_and_queue_positions_only_fall(ops in prop::collection::vec(l3_op(), 1..250)) {
        let mut book = OrderBookL3::new();
        let mut reference = ReferenceL3::default();
        for op in &ops {
            let before: Vec<(u64, Quantity)> = reference
                .orders
                .iter()
                .filter_map(|o| reference.ahead(o.0).map(|ahead| (o.0, ahead)))
                .collect();
            let snapshot = book.clone();
            let accepted = apply_reference(&mut reference, op);
            let outcome = apply_book(&mut book, op);
            prop_assert_eq!(outcome.is_ok(), accepted, "{:?} -> {:?}", op, outcome);
            if outcome.is_err() {
                prop_assert!(book == snapshot, "a refused operation changed the book");
            }
            let replaced = match op { L3Op::Replace(id, ..) => Some(*id), _ => None };
            for (id, ahead_before) in before {
                if Some(id) == replaced {
                    continue;
                }
                if let Ok(ahead) = book.queue_ahead(id) {
                    prop_assert!(ahead <= ahead_before, "order {} moved back: {} -> {}", id, ahead_before, ahead);
                }
            }
        }
        for side in [Side::Buy, Side::Sell] {
            prop_assert_eq!(book.levels(side).collect::<Vec<_>>(), reference.levels(side));
            for (price, _) in reference.levels(side) {
                let queue: Vec<_> = book.queue(side, price).iter().map(|o| (o.order_id, o.quantity)).collect();
                prop_assert_eq!(queue, reference.queue(side, price));
            }
        }
        for order in &reference.orders {
            prop_assert_eq!(book.queue_ahead(order.0).ok(), reference.ahead(order.0));
        }
        prop_assert_eq!(book.order_count(), reference.orders.len());
    }
}

/// Tens of millions of events: finished orders and empty levels give their memory back, so the
/// allocated slots stop growing once the book reaches its stationary size.
#[test]
fn memory_stays_bounded_over_twenty_million_events() {
    let model = OrderFlowModel::default();
    let mut flow = OrderFlow::new(&model).expect("valid model");
    let mut projection = OrderBookL3::new();
    let mut l3 = OrderBookL3::new();
    let mut l2 = OrderBookL2::new();
    let mut chunk = Vec::with_capacity(1_100_000);
    let mut slots_after = Vec::new();
    let mut events = 0usize;
    while events < 20_000_000 {
        chunk.clear();
        flow.extend(&mut chunk, 1_000_000);
        events += chunk.len();
        let first_sequence = l2.last_sequence().map_or(1, |last| last + 1);
        let deltas = l2_from_l3(&mut projection, &chunk, first_sequence).expect("consistent chunk");
        let summary = apply_l3(&mut l3, &chunk, ErrorPolicy::Skip, None);
        assert_eq!(summary.rejected, 0);
        let summary = apply_l2(&mut l2, &deltas, ErrorPolicy::Skip, None);
        assert_eq!(summary.rejected, 0);
        slots_after.push((l3.allocated_slots(), l2.allocated_levels()));
    }
    let ((order_slots, level_slots), l2_levels) = *slots_after.last().expect("chunks");
    let ((early_order_slots, _), _) = slots_after[1];
    assert!(
        order_slots <= model.max_live_orders,
        "order slots {order_slots}"
    );
    assert!(level_slots < 20_000, "level slots {level_slots}");
    assert!(l2_levels < 40_000, "L2 level capacity {l2_levels}");
    // No growth between the second and the last million: bounded by the stationary book.
    let growth = order_slots as f64 / early_order_slots.max(1) as f64;
    assert!(
        growth < 1.5,
        "order slots grew {early_order_slots} -> {order_slots}"
    );
}
