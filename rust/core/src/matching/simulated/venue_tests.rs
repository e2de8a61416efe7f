//! Behaviour of the simulated venue: fills, queue position, latency, impact, bad input,
//! replay, snapshots and determinism.

use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64;

use crate::book::BookError;
use crate::matching::events::{CancelReason, Fill, Liquidity, OrderEvent, RejectReason};
use crate::matching::order::{OrderId, TimeInForce};
use crate::matching::simulated::{
    DataKind, L2FeedColumns, LatencyDistribution, LatencyModel, LatencyTable, NewOrder, QueueModel,
    RecordArray, SimulatedVenue, TradeRecord, VenueConfig, VenueError,
};
use crate::replay::{
    ErrorPolicy, L2DeltaRecord, L3MessageRecord, ACTION_ADD, ACTION_CANCEL, ACTION_EXECUTE,
    FLAG_CLEAR,
};
use crate::types::{InstrumentSpec, Quantity, Side};

const BUY: Side = Side::Buy;
const SELL: Side = Side::Sell;

/// Tick 0.01, lot 1, maker rebate 1 bp, taker fee 2 bp.
fn spec() -> InstrumentSpec {
    InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000", "0", "-0.0001", "0.0002")
        .expect("valid spec")
}

fn venue(config: VenueConfig) -> SimulatedVenue {
    SimulatedVenue::new(spec(), config).expect("valid config")
}

/// An L2 venue with bids 100 x 10, 99 x 20 and asks 101 x 10, 102 x 20, at ts 0.
fn l2_book(model: QueueModel) -> SimulatedVenue {
    let mut venue = venue(VenueConfig::l2(model));
    let mut events = Vec::new();
    for (side, price, quantity) in [
        (BUY, 100, 10),
        (BUY, 99, 20),
        (SELL, 101, 10),
        (SELL, 102, 20),
    ] {
        venue
            .on_l2_delta(0, side, price, quantity, &mut events)
            .expect("delta");
    }
    assert!(events.is_empty());
    venue
}

fn taker_fee(price: i64, quantity: Quantity) -> i128 {
    let spec = spec();
    InstrumentSpec::fee(spec.notional(price, quantity), spec.taker_fee_rate)
}

fn maker_fee(price: i64, quantity: Quantity) -> i128 {
    let spec = spec();
    InstrumentSpec::fee(spec.notional(price, quantity), spec.maker_fee_rate)
}

fn fills(events: &[OrderEvent]) -> Vec<Fill> {
    events
        .iter()
        .filter_map(|event| match event {
            OrderEvent::Filled(fill) => Some(*fill),
            _ => None,
        })
        .collect()
}

/// (price, quantity, leaves, liquidity) of each fill.
fn fill_summary(events: &[OrderEvent]) -> Vec<(i64, Quantity, Quantity, Liquidity)> {
    fills(events)
        .iter()
        .map(|fill| (fill.price, fill.quantity, fill.leaves, fill.liquidity))
        .collect()
}

/// Sends an order at `ts` and moves venue time there, as a node does at each wake-up.
fn submit(venue: &mut SimulatedVenue, ts: i64, order: NewOrder) -> Vec<OrderEvent> {
    let mut events = Vec::new();
    venue.submit(ts, order, &mut events).expect("submit");
    venue.advance_to(ts, &mut events).expect("advance");
    events
}

fn cancel(venue: &mut SimulatedVenue, ts: i64, order_id: OrderId, events: &mut Vec<OrderEvent>) {
    venue.cancel(ts, order_id, events).expect("cancel");
    venue.advance_to(ts, events).expect("advance");
}

fn modify(
    venue: &mut SimulatedVenue,
    ts: i64,
    order_id: OrderId,
    price: i64,
    quantity: Quantity,
    events: &mut Vec<OrderEvent>,
) {
    venue
        .modify(ts, order_id, price, quantity, events)
        .expect("modify");
    venue.advance_to(ts, events).expect("advance");
}

fn gtc(order_id: OrderId, side: Side, price: i64, quantity: Quantity) -> NewOrder {
    NewOrder::limit(order_id, side, price, quantity, TimeInForce::Gtc)
}

// ----- taking liquidity ------------------------------------------------------------------------

#[test]
fn crossing_limit_order_walks_levels_up_to_its_limit_and_rests_the_rest() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    let events = submit(&mut venue, 1, gtc(7, BUY, 102, 35));
    assert_eq!(events[0], OrderEvent::Accepted { order_id: 7, ts: 1 });
    assert_eq!(
        fill_summary(&events),
        vec![
            (101, 10, 25, Liquidity::Taker),
            (102, 20, 5, Liquidity::Taker)
        ]
    );
    let all = fills(&events);
    assert_eq!(all[0].fee, taker_fee(101, 10));
    assert_eq!(all[1].fee, taker_fee(102, 20));
    assert_eq!((all[0].trade_id, all[1].trade_id), (1, 2));
    assert_eq!(events.len(), 3);
    let open = venue.open_order(7).expect("rests");
    assert_eq!((open.price, open.leaves, open.quantity), (102, 5, 35));
    assert_eq!(venue.queue_ahead(7), Ok(0));
}

#[test]
fn market_orders_walk_the_book_and_cancel_what_finds_no_liquidity() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    let events = submit(&mut venue, 1, NewOrder::market(1, SELL, 40));
    assert_eq!(
        fill_summary(&events),
        vec![
            (100, 10, 30, Liquidity::Taker),
            (99, 20, 10, Liquidity::Taker)
        ]
    );
    assert_eq!(
        events.last(),
        Some(&OrderEvent::Canceled {
            order_id: 1,
            reason: CancelReason::NoLiquidity,
            leaves: 10,
            ts: 1
        })
    );
    let mut empty = venue_with_empty_book();
    let events = submit(&mut empty, 1, NewOrder::market(2, BUY, 1));
    assert_eq!(
        events,
        vec![OrderEvent::Rejected {
            order_id: 2,
            reason: RejectReason::NoLiquidity,
            ts: 1
        }]
    );
}

fn venue_with_empty_book() -> SimulatedVenue {
    venue(VenueConfig::l2(QueueModel::RiskAverse))
}

#[test]
fn ioc_fok_and_post_only_follow_their_rules() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    let events = submit(
        &mut venue,
        1,
        NewOrder::limit(1, BUY, 101, 15, TimeInForce::Ioc),
    );
    assert_eq!(fill_summary(&events), vec![(101, 10, 5, Liquidity::Taker)]);
    assert_eq!(
        events.last(),
        Some(&OrderEvent::Canceled {
            order_id: 1,
            reason: CancelReason::ImmediateOrCancel,
            leaves: 5,
            ts: 1
        })
    );
    // Impact is off: the 101 level is still there for the next order.
    let events = submit(
        &mut venue,
        1,
        NewOrder::limit(2, BUY, 101, 15, TimeInForce::Fok),
    );
    assert_eq!(
        events,
        vec![
            OrderEvent::Accepted { order_id: 2, ts: 1 },
            OrderEvent::Canceled {
                order_id: 2,
                reason: CancelReason::FillOrKill,
                leaves: 15,
                ts: 1
            }
        ]
    );
    let events = submit(
        &mut venue,
        1,
        NewOrder::limit(3, BUY, 102, 15, TimeInForce::Fok),
    );
    assert_eq!(
        fill_summary(&events),
        vec![
            (101, 10, 5, Liquidity::Taker),
            (102, 5, 0, Liquidity::Taker)
        ]
    );
    let events = submit(&mut venue, 1, NewOrder::post_only(4, SELL, 100, 5));
    assert_eq!(
        events,
        vec![OrderEvent::Rejected {
            order_id: 4,
            reason: RejectReason::PostOnlyWouldCross,
            ts: 1
        }]
    );
    let events = submit(&mut venue, 1, NewOrder::post_only(5, SELL, 101, 5));
    assert_eq!(events, vec![OrderEvent::Accepted { order_id: 5, ts: 1 }]);
    assert_eq!(venue.queue_ahead(5), Ok(10));
    assert_eq!(venue.open_orders().len(), 1);
}

#[test]
fn instrument_limits_reject_at_the_venue() {
    let spec = InstrumentSpec::new("0.01", 2, "1", 0, "2", "50", "5", "0", "0").expect("spec");
    let mut venue =
        SimulatedVenue::new(spec, VenueConfig::l2(QueueModel::RiskAverse)).expect("venue");
    let cases = [
        (gtc(1, BUY, 1000, 1), RejectReason::QuantityBelowMinimum),
        (gtc(2, BUY, 1000, 51), RejectReason::QuantityAboveMaximum),
        // 2 lots at 2.00 = 4.00 < 5 min notional.
        (gtc(3, BUY, 200, 2), RejectReason::NotionalBelowMinimum),
    ];
    for (order, reason) in cases {
        let events = submit(&mut venue, 0, order);
        assert_eq!(
            events,
            vec![OrderEvent::Rejected {
                order_id: order.order_id,
                reason,
                ts: 0
            }]
        );
    }
    assert!(venue.open_orders().is_empty());
}

#[test]
fn market_impact_takes_liquidity_until_the_level_is_updated() {
    let mut with_impact = venue(VenueConfig {
        market_impact: true,
        ..VenueConfig::l2(QueueModel::RiskAverse)
    });
    let mut events = Vec::new();
    with_impact
        .on_l2_delta(0, SELL, 101, 10, &mut events)
        .expect("delta");
    with_impact
        .on_l2_delta(0, SELL, 102, 10, &mut events)
        .expect("delta");
    let first = submit(&mut with_impact, 1, NewOrder::market(1, BUY, 6));
    assert_eq!(fill_summary(&first), vec![(101, 6, 0, Liquidity::Taker)]);
    assert_eq!(with_impact.available_at(SELL, 101), 4);
    assert_eq!(with_impact.market_quantity_at(SELL, 101), 10);
    let second = submit(&mut with_impact, 1, NewOrder::market(2, BUY, 6));
    assert_eq!(
        fill_summary(&second),
        vec![(101, 4, 2, Liquidity::Taker), (102, 2, 0, Liquidity::Taker)]
    );
    // The next update of the level replaces what we took.
    with_impact
        .on_l2_delta(2, SELL, 101, 9, &mut events)
        .expect("delta");
    assert_eq!(with_impact.available_at(SELL, 101), 9);
    assert_eq!(with_impact.available_at(SELL, 102), 8);

    let mut without = l2_book(QueueModel::RiskAverse);
    for order_id in [1, 2] {
        let events = submit(&mut without, 1, NewOrder::market(order_id, BUY, 6));
        assert_eq!(fill_summary(&events), vec![(101, 6, 0, Liquidity::Taker)]);
    }
}

// ----- L2 queue position -----------------------------------------------------------------------

#[test]
fn trades_at_our_price_eat_the_queue_ahead_then_fill_us_as_maker() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    assert_eq!(venue.queue_ahead(1), Ok(10));
    let mut events = Vec::new();
    venue.on_trade(2, SELL, 100, 4, &mut events).expect("trade");
    assert!(events.is_empty());
    assert_eq!(venue.queue_ahead(1), Ok(6));
    // The book update that reflects the trade is not taken for a cancel.
    venue
        .on_l2_delta(3, BUY, 100, 6, &mut events)
        .expect("delta");
    assert_eq!(venue.queue_ahead(1), Ok(6));
    venue.on_trade(4, SELL, 100, 8, &mut events).expect("trade");
    assert_eq!(fill_summary(&events), vec![(100, 2, 3, Liquidity::Maker)]);
    assert_eq!(fills(&events)[0].fee, maker_fee(100, 2));
    assert!(
        fills(&events)[0].fee < 0,
        "a maker rebate is a negative fee"
    );
    assert_eq!(venue.queue_ahead(1), Ok(0));
    events.clear();
    venue
        .on_trade(5, SELL, 100, 10, &mut events)
        .expect("trade");
    assert_eq!(fill_summary(&events), vec![(100, 3, 0, Liquidity::Maker)]);
    assert!(venue.open_orders().is_empty());
}

#[test]
fn our_orders_at_one_price_keep_their_time_priority() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 3));
    let mut events = Vec::new();
    venue
        .on_l2_delta(2, BUY, 100, 12, &mut events)
        .expect("delta");
    submit(&mut venue, 3, gtc(2, BUY, 100, 4));
    assert_eq!(
        (venue.queue_ahead(1), venue.queue_ahead(2)),
        (Ok(10), Ok(12))
    );
    // The 14 printed lots take the 10 ahead of order 1, then 3 lots of order 1; the print
    // also used up the 12 market lots counted ahead of order 2, so it is now first in line.
    venue
        .on_trade(4, SELL, 100, 14, &mut events)
        .expect("trade");
    let filled: Vec<_> = fills(&events)
        .iter()
        .map(|f| (f.order_id, f.quantity))
        .collect();
    assert_eq!(filled, vec![(1, 3)]);
    events.clear();
    venue.on_trade(5, SELL, 100, 3, &mut events).expect("trade");
    let filled: Vec<_> = fills(&events)
        .iter()
        .map(|f| (f.order_id, f.quantity))
        .collect();
    assert_eq!(filled, vec![(2, 3)]);
}

#[test]
fn risk_averse_cancels_only_cap_the_queue_at_the_displayed_quantity() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let mut events = Vec::new();
    venue
        .on_l2_delta(2, BUY, 100, 15, &mut events)
        .expect("delta");
    assert_eq!(venue.queue_ahead(1), Ok(10));
    venue
        .on_l2_delta(3, BUY, 100, 11, &mut events)
        .expect("delta");
    assert_eq!(
        venue.queue_ahead(1),
        Ok(10),
        "cancels are assumed behind us"
    );
    venue
        .on_l2_delta(4, BUY, 100, 7, &mut events)
        .expect("delta");
    assert_eq!(venue.queue_ahead(1), Ok(7));
    venue
        .on_l2_delta(5, BUY, 100, 0, &mut events)
        .expect("delta");
    assert_eq!(venue.queue_ahead(1), Ok(0));
    assert!(events.is_empty());
}

#[test]
fn probabilistic_models_advance_us_by_the_expected_share_of_cancels() {
    // Queue of 40 ahead of us and 60 behind; 20 lots canceled.
    let average_advance = |model: QueueModel| {
        let runs = 400;
        let mut total = 0;
        for seed in 0..runs {
            let mut venue = venue(VenueConfig {
                seed,
                ..VenueConfig::l2(model)
            });
            let mut events = Vec::new();
            venue
                .on_l2_delta(0, BUY, 100, 40, &mut events)
                .expect("delta");
            submit(&mut venue, 0, gtc(1, BUY, 100, 1));
            venue
                .on_l2_delta(1, BUY, 100, 100, &mut events)
                .expect("delta");
            venue
                .on_l2_delta(2, BUY, 100, 80, &mut events)
                .expect("delta");
            total += 40 - venue.queue_ahead(1).expect("rests");
        }
        total as f64 / runs as f64
    };
    let power = average_advance(QueueModel::Power(2.0));
    let expected_power = 20.0 * QueueModel::Power(2.0).cancel_ahead_probability(40, 60);
    assert!(
        (power - expected_power).abs() < 0.6,
        "{power} vs {expected_power}"
    );
    let log = average_advance(QueueModel::Log);
    let expected_log = 20.0 * QueueModel::Log.cancel_ahead_probability(40, 60);
    assert!((log - expected_log).abs() < 0.6, "{log} vs {expected_log}");
    assert_eq!(average_advance(QueueModel::RiskAverse), 0.0);
}

#[test]
fn trades_through_our_price_fill_us_before_the_queue_at_the_print() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    // Our ask at 101 is ahead of anything at 102; a buy printing at 102 passed through us.
    submit(&mut venue, 1, gtc(1, SELL, 101, 4));
    submit(&mut venue, 1, gtc(2, SELL, 102, 4));
    let mut events = Vec::new();
    venue.on_trade(2, BUY, 102, 6, &mut events).expect("trade");
    let filled: Vec<_> = fills(&events)
        .iter()
        .map(|f| (f.order_id, f.price, f.quantity, f.liquidity))
        .collect();
    assert_eq!(filled, vec![(1, 101, 4, Liquidity::Maker)]);
    assert_eq!(venue.queue_ahead(2), Ok(14), "20 ahead less the 6 printed");
}

#[test]
fn opposite_orders_arriving_through_our_price_fill_us_as_maker() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let mut events = Vec::new();
    // 3 lots offered at 100 would have hit our bid.
    venue
        .on_l2_delta(2, SELL, 100, 3, &mut events)
        .expect("delta");
    assert_eq!(fill_summary(&events), vec![(100, 3, 2, Liquidity::Maker)]);
    events.clear();
    // A decrease is no new order: nothing fills.
    venue
        .on_l2_delta(3, SELL, 100, 1, &mut events)
        .expect("delta");
    assert!(events.is_empty());
    venue
        .on_l2_delta(4, SELL, 99, 10, &mut events)
        .expect("delta");
    assert_eq!(fill_summary(&events), vec![(100, 2, 0, Liquidity::Maker)]);
}

// ----- commands: cancel and modify -------------------------------------------------------------

#[test]
fn cancel_removes_the_order_and_a_late_cancel_is_rejected() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let mut events = Vec::new();
    cancel(&mut venue, 2, 1, &mut events);
    assert_eq!(
        events,
        vec![OrderEvent::Canceled {
            order_id: 1,
            reason: CancelReason::Requested,
            leaves: 5,
            ts: 2
        }]
    );
    events.clear();
    cancel(&mut venue, 3, 1, &mut events);
    assert_eq!(
        events,
        vec![OrderEvent::Rejected {
            order_id: 1,
            reason: RejectReason::UnknownOrder,
            ts: 3
        }]
    );
}

#[test]
fn modify_keeps_the_queue_on_a_size_decrease_and_loses_it_otherwise() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let mut events = Vec::new();
    venue
        .on_l2_delta(2, BUY, 100, 14, &mut events)
        .expect("delta");
    modify(&mut venue, 3, 1, 100, 4, &mut events);
    assert_eq!(
        events,
        vec![OrderEvent::Replaced {
            order_id: 1,
            price: 100,
            quantity: 4,
            leaves: 4,
            ts: 3
        }]
    );
    assert_eq!(venue.queue_ahead(1), Ok(10));
    modify(&mut venue, 4, 1, 100, 6, &mut events);
    assert_eq!(venue.queue_ahead(1), Ok(14), "size up goes to the back");
    modify(&mut venue, 5, 1, 99, 6, &mut events);
    assert_eq!(venue.queue_ahead(1), Ok(20));
    assert_eq!(venue.open_order(1).map(|order| order.price), Some(99));
    // A price through the ask takes liquidity, then rests the rest at the new price.
    events.clear();
    modify(&mut venue, 6, 1, 101, 16, &mut events);
    assert_eq!(
        events[0],
        OrderEvent::Replaced {
            order_id: 1,
            price: 101,
            quantity: 16,
            leaves: 16,
            ts: 6
        }
    );
    assert_eq!(fill_summary(&events), vec![(101, 10, 6, Liquidity::Taker)]);
    let open = venue.open_order(1).expect("rests");
    assert_eq!((open.price, open.quantity, open.leaves), (101, 16, 6));
    // A total at or below what has filled cancels the rest.
    events.clear();
    modify(&mut venue, 7, 1, 101, 10, &mut events);
    assert_eq!(
        events,
        vec![OrderEvent::Canceled {
            order_id: 1,
            reason: CancelReason::Requested,
            leaves: 6,
            ts: 7
        }]
    );
}

#[test]
fn refused_modifies_leave_the_order_as_it_was() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, NewOrder::post_only(1, BUY, 100, 5));
    let before = venue.open_order(1);
    let mut events = Vec::new();
    modify(&mut venue, 2, 1, 101, 5, &mut events);
    modify(&mut venue, 2, 1, 100, 5_000, &mut events);
    modify(&mut venue, 2, 99, 100, 5, &mut events);
    let reasons: Vec<_> = events
        .iter()
        .map(|event| match event {
            OrderEvent::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            Some(RejectReason::PostOnlyWouldCross),
            Some(RejectReason::QuantityAboveMaximum),
            Some(RejectReason::UnknownOrder)
        ]
    );
    assert_eq!(venue.open_order(1), before);
}

// ----- time and latency ------------------------------------------------------------------------

fn latency_config(order: i64, response: i64, feed: i64) -> VenueConfig {
    VenueConfig {
        order_latency: LatencyModel::Constant(order),
        response_latency: LatencyModel::Constant(response),
        feed_latency: LatencyModel::Constant(feed),
        ..VenueConfig::l2(QueueModel::RiskAverse)
    }
}

#[test]
fn orders_arrive_after_the_entry_latency_and_market_data_before_that_comes_first() {
    let mut venue = venue(latency_config(50, 30, 7));
    let mut events = Vec::new();
    let seen = venue
        .on_l2_delta(0, SELL, 101, 10, &mut events)
        .expect("delta");
    assert_eq!(seen, 7);
    assert_eq!(venue.last_feed_ts(), 7);
    venue
        .submit(100, NewOrder::market(1, BUY, 10), &mut events)
        .expect("submit");
    assert!(events.is_empty());
    assert_eq!(venue.pending_commands(), 1);
    // The ask shrinks at 140, before our order arrives at 150.
    venue
        .on_l2_delta(140, SELL, 101, 4, &mut events)
        .expect("delta");
    assert!(events.is_empty());
    venue
        .on_l2_delta(160, SELL, 101, 8, &mut events)
        .expect("delta");
    assert_eq!(venue.pending_commands(), 0);
    assert_eq!(
        events[0],
        OrderEvent::Accepted {
            order_id: 1,
            ts: 180
        }
    );
    assert_eq!(fill_summary(&events), vec![(101, 4, 6, Liquidity::Taker)]);
    assert!(events.iter().all(|event| event_ts(event) == 180));
}

fn event_ts(event: &OrderEvent) -> i64 {
    match event {
        OrderEvent::Accepted { ts, .. }
        | OrderEvent::Rejected { ts, .. }
        | OrderEvent::Triggered { ts, .. }
        | OrderEvent::Replaced { ts, .. }
        | OrderEvent::Canceled { ts, .. }
        | OrderEvent::Expired { ts, .. } => *ts,
        OrderEvent::Filled(fill) => fill.ts,
    }
}

#[test]
fn at_equal_timestamps_inputs_take_effect_in_the_order_given() {
    let mut venue = venue(latency_config(10, 0, 0));
    let mut events = Vec::new();
    venue
        .on_l2_delta(0, SELL, 101, 10, &mut events)
        .expect("delta");
    venue
        .submit(90, NewOrder::market(1, BUY, 10), &mut events)
        .expect("submit");
    // Given after the order (which arrives at 100), this update at 100 comes after it.
    venue
        .on_l2_delta(100, SELL, 101, 3, &mut events)
        .expect("delta");
    assert_eq!(fill_summary(&events), vec![(101, 10, 0, Liquidity::Taker)]);

    let mut venue = venue_with_empty_book();
    let mut events = Vec::new();
    venue
        .on_l2_delta(0, SELL, 101, 10, &mut events)
        .expect("delta");
    // Given before the order (which arrives at once, at 100), this update comes first.
    venue
        .on_l2_delta(100, SELL, 101, 3, &mut events)
        .expect("delta");
    venue
        .submit(100, NewOrder::market(1, BUY, 10), &mut events)
        .expect("submit");
    assert_eq!(fill_summary(&events), vec![(101, 3, 7, Liquidity::Taker)]);
}

#[test]
fn table_latency_is_read_at_the_time_the_message_leaves() {
    let table = LatencyTable::new(vec![(0, 10), (1_000, 110)]).expect("table");
    let mut venue = venue(VenueConfig {
        order_latency: LatencyModel::Table(table),
        ..VenueConfig::l2(QueueModel::RiskAverse)
    });
    let mut events = Vec::new();
    venue
        .on_l2_delta(0, SELL, 101, 10, &mut events)
        .expect("delta");
    venue
        .submit(500, NewOrder::market(1, BUY, 1), &mut events)
        .expect("submit");
    venue.advance_to(559, &mut events).expect("advance");
    assert!(events.is_empty());
    venue.advance_to(560, &mut events).expect("advance");
    assert_eq!(
        events[0],
        OrderEvent::Accepted {
            order_id: 1,
            ts: 560
        }
    );
}

#[test]
fn channels_are_fifo_under_random_latency() {
    let jitter = |seed| LatencyModel::Random {
        distribution: LatencyDistribution::Uniform {
            low: 0.0,
            high: 1_000.0,
        },
        seed,
    };
    let mut venue = venue(VenueConfig {
        order_latency: jitter(1),
        response_latency: jitter(2),
        feed_latency: jitter(3),
        ..VenueConfig::l2(QueueModel::RiskAverse)
    });
    let mut events = Vec::new();
    let mut feed = Vec::new();
    for step in 0..200i64 {
        feed.push(
            venue
                .on_l2_delta(step * 10, BUY, 100, 10 + step % 3, &mut events)
                .expect("delta"),
        );
        let order_id = step as u64;
        venue
            .submit(step * 10, gtc(order_id, BUY, 99, 1), &mut events)
            .expect("submit");
        venue
            .cancel(step * 10, order_id, &mut events)
            .expect("cancel");
    }
    venue.advance_to(1_000_000, &mut events).expect("advance");
    assert!(feed.windows(2).all(|pair| pair[0] <= pair[1]));
    assert!(events
        .windows(2)
        .all(|pair| event_ts(&pair[0]) <= event_ts(&pair[1])));
    // Every cancel found its order: it never overtook the submit.
    let canceled = events
        .iter()
        .filter(|event| matches!(event, OrderEvent::Canceled { .. }))
        .count();
    assert_eq!(canceled, 200);
    assert!(venue.open_orders().is_empty());
}

// ----- bad input -------------------------------------------------------------------------------

#[test]
fn bad_input_gets_a_specific_error_and_changes_nothing() {
    let mut venue = l2_book(QueueModel::Power(2.0));
    submit(&mut venue, 5, gtc(1, BUY, 100, 5));
    let before = venue.snapshot();
    let mut events = Vec::new();
    let errors = [
        venue.submit(4, gtc(2, BUY, 100, 1), &mut events),
        venue.submit(5, gtc(1, BUY, 100, 1), &mut events),
        venue.submit(5, gtc(2, BUY, 0, 1), &mut events),
        venue.submit(5, gtc(2, BUY, 100, 0), &mut events),
        venue.submit(5, gtc(2, BUY, i64::MAX / 2, 3), &mut events),
        venue.submit(
            5,
            NewOrder::limit(2, BUY, 100, 1, TimeInForce::Day),
            &mut events,
        ),
        venue.modify(5, 1, -1, 1, &mut events),
        venue.modify(5, 1, 100, -1, &mut events),
        venue.cancel(1, 1, &mut events),
        venue.advance_to(4, &mut events),
        venue.on_l2_delta(4, BUY, 100, 1, &mut events).map(|_| ()),
        venue.on_l2_delta(6, BUY, 0, 1, &mut events).map(|_| ()),
        venue.on_l2_delta(6, BUY, 100, -1, &mut events).map(|_| ()),
        venue.on_trade(6, BUY, 100, 0, &mut events).map(|_| ()),
        venue.on_l3_add(6, 9, BUY, 100, 1, &mut events).map(|_| ()),
    ];
    let codes: Vec<_> = errors
        .iter()
        .map(|result| result.as_ref().map_err(VenueError::code).err())
        .collect();
    assert_eq!(
        codes,
        vec![
            Some("TIMESTAMP_BEFORE_VENUE_TIME"),
            Some("DUPLICATE_ORDER_ID"),
            Some("NON_POSITIVE_PRICE"),
            Some("NON_POSITIVE_QUANTITY"),
            Some("OVERFLOW"),
            Some("INVALID_TIME_IN_FORCE"),
            Some("NON_POSITIVE_PRICE"),
            Some("NON_POSITIVE_QUANTITY"),
            Some("TIMESTAMP_BEFORE_VENUE_TIME"),
            Some("TIMESTAMP_BEFORE_VENUE_TIME"),
            Some("TIMESTAMP_BEFORE_VENUE_TIME"),
            Some("INVALID_PRICE"),
            Some("INVALID_QUANTITY"),
            Some("NON_POSITIVE_QUANTITY"),
            Some("WRONG_DATA_KIND"),
        ]
    );
    assert!(events.is_empty());
    assert_eq!(venue.snapshot(), before);
    assert_eq!(
        venue.queue_ahead(42),
        Err(VenueError::Book(BookError::UnknownOrder(42)))
    );
}

#[test]
fn a_bad_market_event_does_not_let_pending_commands_through() {
    let mut venue = venue(VenueConfig {
        order_latency: LatencyModel::Constant(10),
        ..VenueConfig::l3()
    });
    let mut events = Vec::new();
    venue
        .on_l3_add(0, 1, SELL, 101, 5, &mut events)
        .expect("add");
    venue
        .submit(0, NewOrder::market(7, BUY, 1), &mut events)
        .expect("submit");
    let before = venue.snapshot();
    let errors = [
        venue.on_l3_cancel(20, 99, &mut events),
        venue.on_l3_execute(20, 1, 6, &mut events),
        venue.on_l3_reduce(20, 1, 0, &mut events),
        venue.on_l3_add(20, 1, SELL, 101, 5, &mut events),
        venue.on_l3_replace(20, 1, 0, 5, &mut events),
        venue.on_l2_delta(20, SELL, 101, 5, &mut events),
    ];
    let codes: Vec<_> = errors
        .iter()
        .map(|result| result.as_ref().map_err(VenueError::code).err())
        .collect();
    assert_eq!(
        codes,
        vec![
            Some("UNKNOWN_ORDER"),
            Some("QUANTITY_EXCEEDS_ORDER"),
            Some("INVALID_QUANTITY"),
            Some("DUPLICATE_ORDER_ID"),
            Some("INVALID_PRICE"),
            Some("WRONG_DATA_KIND"),
        ]
    );
    assert!(events.is_empty());
    assert_eq!(venue.pending_commands(), 1);
    assert_eq!(venue.snapshot(), before);
}

// ----- L3 --------------------------------------------------------------------------------------

fn l3_venue() -> SimulatedVenue {
    venue(VenueConfig::l3())
}

/// Market orders 1..=3 bid at 100 (5, 7, 2 lots) and 4 offered at 101 (9 lots).
fn l3_book() -> SimulatedVenue {
    let mut venue = l3_venue();
    let mut events = Vec::new();
    for (order_id, side, price, quantity) in [
        (1, BUY, 100, 5),
        (2, BUY, 100, 7),
        (3, BUY, 100, 2),
        (4, SELL, 101, 9),
    ] {
        venue
            .on_l3_add(0, order_id, side, price, quantity, &mut events)
            .expect("add");
    }
    venue
}

#[test]
fn l3_queue_is_exact_fifo() {
    let mut venue = l3_book();
    submit(&mut venue, 1, gtc(100, BUY, 100, 4));
    assert_eq!(venue.queue_ahead(100), Ok(14));
    let mut events = Vec::new();
    venue
        .on_l3_add(2, 5, BUY, 100, 50, &mut events)
        .expect("add");
    assert_eq!(venue.queue_ahead(100), Ok(14), "later orders are behind us");
    venue.on_l3_cancel(3, 2, &mut events).expect("cancel");
    assert_eq!(venue.queue_ahead(100), Ok(7));
    venue.on_l3_reduce(4, 1, 1, &mut events).expect("reduce");
    assert_eq!(venue.queue_ahead(100), Ok(6));
    venue.on_l3_execute(5, 1, 4, &mut events).expect("execute");
    assert_eq!(venue.queue_ahead(100), Ok(2));
    // Order 3 grows: it loses its place and goes behind us.
    venue
        .on_l3_replace(6, 3, 100, 3, &mut events)
        .expect("replace");
    assert_eq!(venue.queue_ahead(100), Ok(0));
    assert!(events.is_empty());
    // An execution of an order behind us means the aggressor passed us.
    venue.on_l3_execute(7, 5, 6, &mut events).expect("execute");
    assert_eq!(fill_summary(&events), vec![(100, 4, 0, Liquidity::Maker)]);
    assert!(venue.open_orders().is_empty());
}

#[test]
fn l3_size_decrease_keeps_the_market_order_ahead_of_us() {
    let mut venue = l3_book();
    submit(&mut venue, 1, gtc(100, BUY, 100, 4));
    let mut events = Vec::new();
    venue
        .on_l3_replace(2, 2, 100, 3, &mut events)
        .expect("replace");
    assert_eq!(venue.queue_ahead(100), Ok(10));
    venue
        .on_l3_replace(3, 2, 99, 3, &mut events)
        .expect("replace");
    assert_eq!(venue.queue_ahead(100), Ok(7));
}

#[test]
fn l3_executions_at_worse_prices_and_crossing_adds_fill_us() {
    let mut venue = l3_book();
    submit(&mut venue, 1, gtc(100, BUY, 101 - 1, 4));
    submit(&mut venue, 1, NewOrder::post_only(101, SELL, 102, 3));
    let mut events = Vec::new();
    venue
        .on_l3_add(2, 6, BUY, 99, 10, &mut events)
        .expect("add");
    // A sell executing the bid at 99 passed our better bid at 100.
    venue.on_l3_execute(3, 6, 3, &mut events).expect("execute");
    assert_eq!(fill_summary(&events), vec![(100, 3, 1, Liquidity::Maker)]);
    events.clear();
    // A buy order added at 102 would have lifted our offer.
    venue
        .on_l3_add(4, 7, BUY, 102, 2, &mut events)
        .expect("add");
    assert_eq!(fill_summary(&events), vec![(102, 2, 1, Liquidity::Maker)]);
    events.clear();
    // A replace moving an order through our price fills us with its whole size.
    venue
        .on_l3_replace(5, 4, 100, 9, &mut events)
        .expect("replace");
    assert_eq!(fill_summary(&events), vec![(100, 1, 0, Liquidity::Maker)]);
}

#[test]
fn l3_takers_walk_the_level_totals() {
    let mut venue = l3_book();
    let events = submit(&mut venue, 1, NewOrder::market(1, SELL, 15));
    assert_eq!(fill_summary(&events), vec![(100, 14, 1, Liquidity::Taker)]);
}

#[test]
fn after_an_l3_clear_our_orders_go_behind_the_rebuilt_queue() {
    let mut venue = l3_book();
    submit(&mut venue, 1, gtc(100, BUY, 100, 4));
    let mut events = Vec::new();
    venue.on_l3_cancel(2, 1, &mut events).expect("cancel");
    assert_eq!(venue.queue_ahead(100), Ok(9));
    venue.on_l3_clear(3, &mut events).expect("clear");
    venue
        .on_l3_add(3, 11, BUY, 100, 6, &mut events)
        .expect("add");
    venue
        .on_l3_add(3, 12, BUY, 100, 5, &mut events)
        .expect("add");
    venue
        .on_l3_add(3, 13, SELL, 101, 5, &mut events)
        .expect("add");
    assert!(venue.open_order(100).is_some());
    venue.on_l3_cancel(4, 13, &mut events).expect("cancel");
    assert_eq!(venue.queue_ahead(100), Ok(11));
    venue.on_l3_cancel(5, 11, &mut events).expect("cancel");
    assert_eq!(venue.queue_ahead(100), Ok(5));
    assert!(events.is_empty());
}

// ----- bulk replay -----------------------------------------------------------------------------

fn delta(ts: i64, side: u8, price: i64, quantity: i64) -> L2DeltaRecord {
    L2DeltaRecord {
        ts_event: ts,
        ts_init: ts,
        sequence: 0,
        price,
        quantity,
        side,
        flags: 0,
        reserved: [0; 6],
    }
}

fn trade(ts: i64, aggressor: u8, price: i64, quantity: i64) -> TradeRecord {
    TradeRecord {
        ts_event: ts,
        ts_init: ts,
        price,
        quantity,
        aggressor_side: aggressor,
        reserved: [0; 7],
    }
}

fn message(
    ts: i64,
    action: u8,
    order_id: u64,
    side: u8,
    price: i64,
    quantity: i64,
) -> L3MessageRecord {
    L3MessageRecord {
        ts_event: ts,
        ts_init: ts,
        sequence: 0,
        order_id,
        price,
        quantity,
        side,
        action,
        reserved: [0; 6],
    }
}

#[test]
fn l2_replay_merges_trades_first_at_equal_timestamps_like_single_calls() {
    let book = [delta(0, 0, 100, 10), delta(0, 1, 101, 10)];
    let deltas = [delta(20, 0, 100, 6), delta(30, 0, 100, 3)];
    let trades = [trade(20, 1, 100, 4), trade(40, 1, 100, 9)];
    let config = VenueConfig {
        feed_latency: LatencyModel::Constant(5),
        ..VenueConfig::l2(QueueModel::RiskAverse)
    };
    let mut bulk = venue(config.clone());
    let mut bulk_events = Vec::new();
    bulk.replay_l2(
        &book[..],
        &[],
        ErrorPolicy::Raise,
        &mut bulk_events,
        L2FeedColumns::default(),
    )
    .expect("replay");
    submit(&mut bulk, 0, gtc(1, BUY, 100, 5));
    assert_eq!(bulk.queue_ahead(1), Ok(10));
    let mut delta_seen = [0i64; 2];
    let mut trade_seen = [0i64; 2];
    let summary = bulk
        .replay_l2(
            &deltas[..],
            &trades[..],
            ErrorPolicy::Raise,
            &mut bulk_events,
            L2FeedColumns {
                deltas: Some(&mut delta_seen),
                trades: Some(&mut trade_seen),
            },
        )
        .expect("replay");
    assert_eq!((summary.applied, summary.rejected), (4, 0));
    assert_eq!(delta_seen, [25, 35]);
    assert_eq!(trade_seen, [25, 45]);

    let mut single = venue(config);
    let mut single_events = Vec::new();
    for (side, price, quantity) in [(BUY, 100, 10), (SELL, 101, 10)] {
        single
            .on_l2_delta(0, side, price, quantity, &mut single_events)
            .expect("delta");
    }
    submit(&mut single, 0, gtc(1, BUY, 100, 5));
    single
        .on_trade(20, SELL, 100, 4, &mut single_events)
        .expect("trade");
    single
        .on_l2_delta(20, BUY, 100, 6, &mut single_events)
        .expect("delta");
    single
        .on_l2_delta(30, BUY, 100, 3, &mut single_events)
        .expect("delta");
    single
        .on_trade(40, SELL, 100, 9, &mut single_events)
        .expect("trade");
    assert_eq!(bulk_events, single_events);
    assert_eq!(bulk.snapshot(), single.snapshot());
    // The trade at 20 explained the decrease to 6; the update to 3 capped the queue at 3; of
    // the 9 traded at 40, 3 ate the queue and 5 filled us.
    assert_eq!(
        fill_summary(&bulk_events),
        vec![(100, 5, 0, Liquidity::Maker)]
    );
}

#[test]
fn replay_raise_restores_everything_and_skip_counts() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let before = venue.snapshot();
    let deltas = [
        delta(2, 0, 100, 4),
        delta(3, 5, 100, 4),
        delta(1, 0, 100, 4),
    ];
    let trades = [trade(2, 1, 100, 20)];
    let mut events = Vec::new();
    let error = venue
        .replay_l2(
            &deltas[..],
            &trades[..],
            ErrorPolicy::Raise,
            &mut events,
            L2FeedColumns::default(),
        )
        .expect_err("bad side code");
    assert_eq!((error.array, error.index), (RecordArray::Deltas, 1));
    assert_eq!(error.error, VenueError::UnknownSide(5));
    assert!(events.is_empty());
    assert_eq!(venue.snapshot(), before);

    let summary = venue
        .replay_l2(
            &deltas[..],
            &trades[..],
            ErrorPolicy::Skip,
            &mut events,
            L2FeedColumns::default(),
        )
        .expect("skip");
    assert_eq!((summary.applied, summary.rejected), (2, 2));
    let first = summary.first_error.expect("counted");
    assert_eq!((first.array, first.index), (RecordArray::Deltas, 1));
    assert_eq!(fill_summary(&events), vec![(100, 5, 0, Liquidity::Maker)]);
}

#[test]
fn l2_clear_flag_clears_then_applies_and_keeps_our_queue_estimate() {
    let mut venue = l2_book(QueueModel::RiskAverse);
    submit(&mut venue, 1, gtc(1, BUY, 100, 5));
    let mut snapshot_start = delta(2, 1, 105, 3);
    snapshot_start.flags = FLAG_CLEAR;
    let deltas = [snapshot_start, delta(2, 0, 100, 12)];
    let mut events = Vec::new();
    venue
        .replay_l2(
            &deltas[..],
            &[],
            ErrorPolicy::Raise,
            &mut events,
            L2FeedColumns::default(),
        )
        .expect("replay");
    assert_eq!(venue.best_ask(), Some((105, 3)));
    assert_eq!(venue.best_bid(), Some((100, 12)));
    assert_eq!(venue.queue_ahead(1), Ok(10));
}

#[test]
fn l3_replay_matches_single_calls_and_raise_restores() {
    let messages = [
        message(0, ACTION_ADD, 1, 0, 100, 5),
        message(0, ACTION_ADD, 2, 1, 101, 5),
        message(10, ACTION_ADD, 3, 0, 100, 5),
        message(20, ACTION_EXECUTE, 1, 0, 0, 5),
        message(30, ACTION_EXECUTE, 3, 0, 0, 2),
        message(40, ACTION_CANCEL, 2, 0, 0, 0),
    ];
    let mut bulk = l3_venue();
    let mut events = Vec::new();
    bulk.replay_l3(&messages[..2], ErrorPolicy::Raise, &mut events, None)
        .expect("replay");
    submit(&mut bulk, 5, gtc(9, BUY, 100, 3));
    let mut seen = [0i64; 4];
    bulk.replay_l3(
        &messages[2..],
        ErrorPolicy::Raise,
        &mut events,
        Some(&mut seen),
    )
    .expect("replay");
    assert_eq!(seen, [10, 20, 30, 40]);
    assert_eq!(fill_summary(&events), vec![(100, 2, 1, Liquidity::Maker)]);

    let mut single = l3_venue();
    let mut single_events = Vec::new();
    single
        .on_l3_add(0, 1, BUY, 100, 5, &mut single_events)
        .expect("add");
    single
        .on_l3_add(0, 2, SELL, 101, 5, &mut single_events)
        .expect("add");
    submit(&mut single, 5, gtc(9, BUY, 100, 3));
    single
        .on_l3_add(10, 3, BUY, 100, 5, &mut single_events)
        .expect("add");
    single
        .on_l3_execute(20, 1, 5, &mut single_events)
        .expect("execute");
    single
        .on_l3_execute(30, 3, 2, &mut single_events)
        .expect("execute");
    single
        .on_l3_cancel(40, 2, &mut single_events)
        .expect("cancel");
    assert_eq!(events, single_events);
    assert_eq!(bulk.snapshot(), single.snapshot());

    let before = bulk.snapshot();
    let bad = [
        message(50, ACTION_CANCEL, 3, 0, 0, 0),
        message(60, 9, 3, 0, 0, 0),
    ];
    let error = bulk
        .replay_l3(&bad[..], ErrorPolicy::Raise, &mut events, None)
        .expect_err("unknown action");
    assert_eq!(error.index, 1);
    assert_eq!(error.error.code(), "UNKNOWN_ACTION");
    assert_eq!(bulk.snapshot(), before);
}

#[test]
fn l3_raise_checks_each_message_against_the_book_the_batch_leaves() {
    let mut venue = l3_book();
    submit(&mut venue, 1, gtc(100, BUY, 100, 4));
    let before = venue.snapshot();
    let mut events = Vec::new();
    let cases: [(Vec<L3MessageRecord>, usize, &str); 4] = [
        // Order 9 is added, then reduced to 2: executing 3 of it is too much.
        (
            vec![
                message(2, ACTION_ADD, 9, 0, 100, 5),
                message(3, crate::replay::ACTION_REDUCE, 9, 0, 0, 3),
                message(4, ACTION_EXECUTE, 9, 0, 0, 3),
            ],
            2,
            "QUANTITY_EXCEEDS_ORDER",
        ),
        // Order 1 is canceled in the batch, so a later cancel of it is unknown.
        (
            vec![
                message(2, ACTION_CANCEL, 1, 0, 0, 0),
                message(3, ACTION_CANCEL, 1, 0, 0, 0),
            ],
            1,
            "UNKNOWN_ORDER",
        ),
        // After a clear the book's orders are gone.
        (
            vec![
                message(2, crate::replay::ACTION_CLEAR, 0, 0, 0, 0),
                message(3, ACTION_CANCEL, 2, 0, 0, 0),
            ],
            1,
            "UNKNOWN_ORDER",
        ),
        // Timestamps must not go back within the batch.
        (
            vec![
                message(5, ACTION_ADD, 9, 0, 100, 5),
                message(4, ACTION_CANCEL, 9, 0, 0, 0),
            ],
            1,
            "TIMESTAMP_BEFORE_VENUE_TIME",
        ),
    ];
    for (messages, index, code) in cases {
        let error = venue
            .replay_l3(&messages, ErrorPolicy::Raise, &mut events, None)
            .expect_err(code);
        assert_eq!((error.index, error.error.code()), (index, code));
        assert!(events.is_empty());
        assert_eq!(venue.snapshot(), before);
    }
    // A consistent batch that re-adds a canceled id is fine.
    let messages = [
        message(2, ACTION_CANCEL, 1, 0, 0, 0),
        message(3, ACTION_ADD, 1, 0, 100, 1),
        message(4, ACTION_EXECUTE, 2, 0, 0, 7),
    ];
    let summary = venue
        .replay_l3(&messages, ErrorPolicy::Raise, &mut events, None)
        .expect("valid batch");
    assert_eq!(summary.applied, 3);
    assert_eq!(venue.queue_ahead(100), Ok(2));
}

#[test]
fn l2_data_derived_from_l3_prints_one_trade_per_execution() {
    let messages = crate::replay::synthetic::OrderFlowModel::default()
        .generate_l3(20_000)
        .expect("model");
    let (deltas, trades) = super::l2_replay_from_l3(&messages).expect("consistent");
    assert_eq!(deltas.len(), messages.len());
    let executions: Vec<_> = messages
        .iter()
        .filter(|message| message.action == ACTION_EXECUTE)
        .collect();
    assert_eq!(trades.len(), executions.len());
    let mut book = crate::book::OrderBookL3::new();
    let mut trade = trades.iter();
    for message in &messages {
        if message.action == ACTION_EXECUTE {
            let executed = book.order(message.order_id).expect("resting");
            let print = trade.next().expect("one print per execution");
            assert_eq!(print.price, executed.price);
            assert_eq!(print.quantity, message.quantity);
            assert_eq!(print.aggressor_side, executed.side.opposite() as u8);
            assert_eq!(print.ts_event, message.ts_event);
        }
        crate::replay::apply_l3(
            &mut book,
            std::slice::from_ref(message),
            ErrorPolicy::Raise,
            None,
        );
    }
    // Replaying the derived L2 data fills a resting order, as the L3 data does.
    let mut venue = venue(VenueConfig::l2(QueueModel::RiskAverse));
    let mut events = Vec::new();
    let (head, tail) = deltas.split_at(1_000);
    let split_ts = head[head.len() - 1].ts_event;
    let (early, late): (Vec<_>, Vec<_>) = trades.iter().partition(|t| t.ts_event <= split_ts);
    venue
        .replay_l2(
            head,
            &early,
            ErrorPolicy::Raise,
            &mut events,
            L2FeedColumns::default(),
        )
        .expect("replay");
    let (bid, _) = venue.best_bid().expect("a bid");
    submit(&mut venue, split_ts, gtc(1, BUY, bid, 3));
    venue
        .replay_l2(
            tail,
            &late,
            ErrorPolicy::Raise,
            &mut events,
            L2FeedColumns::default(),
        )
        .expect("replay");
    assert!(!fills(&events).is_empty());
}

// ----- snapshots and determinism ---------------------------------------------------------------

/// A long random L2 session: book updates, trades, and our orders, cancels and modifies, with
/// random latencies. Returns the events.
fn random_l2_session(venue: &mut SimulatedVenue, seed: u64, steps: usize) -> Vec<OrderEvent> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut events = Vec::new();
    let mut ts = venue.now().max(0);
    let mut next_id: OrderId = 1_000_000 * seed + 10;
    for _ in 0..steps {
        ts += rng.random_range(0..50);
        let mid = 1_000 + rng.random_range(-3..=3);
        match rng.random_range(0..10) {
            0..=4 => {
                let side = if rng.random_bool(0.5) { BUY } else { SELL };
                let offset = rng.random_range(1..6);
                let price = if side == BUY {
                    mid - offset
                } else {
                    mid + offset
                };
                venue
                    .on_l2_delta(ts, side, price, rng.random_range(0..40), &mut events)
                    .expect("delta");
            }
            5..=6 => {
                let side = if rng.random_bool(0.5) { BUY } else { SELL };
                venue
                    .on_trade(
                        ts,
                        side,
                        mid + rng.random_range(-4..=4),
                        rng.random_range(1..20),
                        &mut events,
                    )
                    .expect("trade");
            }
            7 => {
                next_id += 1;
                let side = if rng.random_bool(0.5) { BUY } else { SELL };
                let order = match rng.random_range(0..4) {
                    0 => NewOrder::market(next_id, side, rng.random_range(1..10)),
                    1 => NewOrder::post_only(
                        next_id,
                        side,
                        mid + rng.random_range(-5..=5),
                        rng.random_range(1..10),
                    ),
                    _ => NewOrder::limit(
                        next_id,
                        side,
                        mid + rng.random_range(-5..=5),
                        rng.random_range(1..10),
                        [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok]
                            [rng.random_range(0..3)],
                    ),
                };
                venue.submit(ts, order, &mut events).expect("submit");
            }
            8 => {
                let target = next_id - rng.random_range(0..3);
                venue.cancel(ts, target, &mut events).expect("cancel");
            }
            _ => {
                let target = next_id - rng.random_range(0..3);
                venue
                    .modify(
                        ts,
                        target,
                        mid + rng.random_range(-5..=5),
                        rng.random_range(1..12),
                        &mut events,
                    )
                    .expect("modify");
            }
        }
    }
    events
}

fn jittery_config(data: DataKind, seed: u64) -> VenueConfig {
    let base = match data {
        DataKind::L2 => VenueConfig::l2(QueueModel::Power(3.0)),
        DataKind::L3 => VenueConfig::l3(),
    };
    VenueConfig {
        feed_latency: LatencyModel::Random {
            distribution: LatencyDistribution::LogNormal {
                mu: 4.0,
                sigma: 0.5,
            },
            seed: seed + 1,
        },
        order_latency: LatencyModel::Random {
            distribution: LatencyDistribution::Normal {
                mean: 60.0,
                std_dev: 30.0,
            },
            seed: seed + 2,
        },
        response_latency: LatencyModel::Random {
            distribution: LatencyDistribution::Uniform {
                low: 10.0,
                high: 90.0,
            },
            seed: seed + 3,
        },
        market_impact: true,
        seed,
        ..base
    }
}

#[test]
fn same_seed_and_inputs_give_identical_events_bit_for_bit() {
    let run = |seed| {
        let mut venue = venue(jittery_config(DataKind::L2, seed));
        random_l2_session(&mut venue, 1, 20_000)
    };
    let first = run(7);
    assert!(fills(&first).len() > 100, "the session should trade");
    assert_eq!(first, run(7));
    assert_ne!(first, run(8));
}

#[test]
fn a_restored_snapshot_continues_exactly_like_the_original() {
    for data in [DataKind::L2, DataKind::L3] {
        let mut original = venue(jittery_config(data, 3));
        let mut first_half = match data {
            DataKind::L2 => random_l2_session(&mut original, 1, 3_000),
            DataKind::L3 => random_l3_session(&mut original, 1, 3_000),
        };
        assert!(original.pending_commands() > 0 || !original.open_orders().is_empty());
        let bytes = original.snapshot();
        let mut restored = SimulatedVenue::from_snapshot(spec(), &bytes).expect("restore");
        assert_eq!(restored.snapshot(), bytes);
        let (rest_original, rest_restored) = match data {
            DataKind::L2 => (
                random_l2_session(&mut original, 2, 3_000),
                random_l2_session(&mut restored, 2, 3_000),
            ),
            DataKind::L3 => (
                random_l3_session(&mut original, 2, 3_000),
                random_l3_session(&mut restored, 2, 3_000),
            ),
        };
        assert_eq!(rest_original, rest_restored, "{data:?}");
        assert_eq!(original.snapshot(), restored.snapshot());
        first_half.extend(rest_original);
        assert!(!fills(&first_half).is_empty());
    }
}

#[test]
fn corrupt_snapshots_are_refused_without_panicking() {
    let mut venue = venue(jittery_config(DataKind::L3, 5));
    random_l3_session(&mut venue, 1, 500);
    let bytes = venue.snapshot();
    for cut in 0..bytes.len() {
        assert!(matches!(
            SimulatedVenue::from_snapshot(spec(), &bytes[..cut]),
            Err(VenueError::InvalidSnapshot(_))
        ));
    }
    let mut extended = bytes.clone();
    extended.push(0);
    assert_eq!(
        SimulatedVenue::from_snapshot(spec(), &extended)
            .map_err(|e| e.code())
            .err(),
        Some("INVALID_SNAPSHOT")
    );
    let mut wrong_version = bytes;
    wrong_version[0] = 99;
    assert!(SimulatedVenue::from_snapshot(spec(), &wrong_version).is_err());
}

/// A random L3 session around a mid of 1000 with our orders mixed in.
fn random_l3_session(venue: &mut SimulatedVenue, seed: u64, steps: usize) -> Vec<OrderEvent> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut events = Vec::new();
    let mut ts = venue.now().max(0);
    let mut live: Vec<u64> = venue_market_orders(venue);
    let mut next_market: u64 = 10_000_000 * seed;
    let mut next_ours: OrderId = 1_000_000 * seed + 10;
    for _ in 0..steps {
        ts += rng.random_range(0..50);
        match rng.random_range(0..12) {
            0..=3 => {
                next_market += 1;
                let side = if rng.random_bool(0.5) { BUY } else { SELL };
                let offset = rng.random_range(0..5);
                let price = if side == BUY {
                    999 - offset
                } else {
                    1_001 + offset
                };
                venue
                    .on_l3_add(
                        ts,
                        next_market,
                        side,
                        price,
                        rng.random_range(1..10),
                        &mut events,
                    )
                    .expect("add");
                live.push(next_market);
            }
            4..=7 if !live.is_empty() => {
                let index = rng.random_range(0..live.len());
                let order_id = live[index];
                let Some(resting) = venue_market_order(venue, order_id) else {
                    live.swap_remove(index);
                    continue;
                };
                match rng.random_range(0..4) {
                    0 => {
                        venue
                            .on_l3_cancel(ts, order_id, &mut events)
                            .expect("cancel");
                        live.swap_remove(index);
                    }
                    1 => {
                        let by = rng.random_range(1..=resting.quantity);
                        venue
                            .on_l3_execute(ts, order_id, by, &mut events)
                            .expect("execute");
                    }
                    2 => {
                        let by = rng.random_range(1..=resting.quantity);
                        venue
                            .on_l3_reduce(ts, order_id, by, &mut events)
                            .expect("reduce");
                    }
                    _ => {
                        let price = resting.price + rng.random_range(-1..=1);
                        venue
                            .on_l3_replace(
                                ts,
                                order_id,
                                price.max(1),
                                rng.random_range(1..10),
                                &mut events,
                            )
                            .expect("replace");
                    }
                }
            }
            8 | 9 => {
                next_ours += 1;
                let side = if rng.random_bool(0.5) { BUY } else { SELL };
                let price = 1_000 + rng.random_range(-3..=3);
                venue
                    .submit(
                        ts,
                        gtc(next_ours, side, price, rng.random_range(1..8)),
                        &mut events,
                    )
                    .expect("submit");
            }
            10 => {
                venue
                    .cancel(ts, next_ours - rng.random_range(0..3), &mut events)
                    .expect("cancel");
            }
            _ => {
                venue
                    .modify(
                        ts,
                        next_ours - rng.random_range(0..3),
                        1_000 + rng.random_range(-3..=3),
                        rng.random_range(1..8),
                        &mut events,
                    )
                    .expect("modify");
            }
        }
    }
    events
}

fn venue_market_order(venue: &SimulatedVenue, order_id: u64) -> Option<crate::book::BookOrder> {
    match &venue.market {
        super::venue::Market::L3(book) => book.order(order_id),
        super::venue::Market::L2(_) => None,
    }
}

fn venue_market_orders(venue: &SimulatedVenue) -> Vec<u64> {
    match &venue.market {
        super::venue::Market::L3(book) => [BUY, SELL]
            .iter()
            .flat_map(|&side| {
                book.levels(side)
                    .flat_map(move |(price, _)| book.queue(side, price))
                    .map(|order| order.order_id)
            })
            .collect(),
        super::venue::Market::L2(_) => Vec::new(),
    }
}

// ----- properties ------------------------------------------------------------------------------

/// Checks the event stream of each order: it starts with Accepted or Rejected, fills add up,
/// fees are exact, nothing follows the end; trade ids increase; timestamps never go back.
fn check_event_stream(events: &[OrderEvent]) {
    use std::collections::HashMap;
    let spec = spec();
    #[derive(Default)]
    struct Seen {
        started: bool,
        leaves: Option<Quantity>,
        done: bool,
    }
    let mut orders: HashMap<OrderId, Seen> = HashMap::new();
    let mut last_trade = 0;
    let mut last_ts = i64::MIN;
    for event in events {
        assert!(
            event_ts(event) >= last_ts,
            "timestamps go back at {event:?}"
        );
        last_ts = event_ts(event);
        let seen = orders.entry(event.order_id()).or_default();
        match *event {
            OrderEvent::Accepted { .. } => {
                assert!(!seen.started && !seen.done, "{event:?}");
                seen.started = true;
            }
            OrderEvent::Rejected { reason, .. } => {
                if !seen.started {
                    seen.done = true;
                } else {
                    // A refused cancel or modify of an order that is no longer working.
                    assert!(
                        seen.done
                            || matches!(
                                reason,
                                RejectReason::PostOnlyWouldCross
                                    | RejectReason::QuantityAboveMaximum
                                    | RejectReason::QuantityBelowMinimum
                                    | RejectReason::NotionalBelowMinimum
                            ),
                        "{event:?}"
                    );
                }
            }
            OrderEvent::Filled(fill) => {
                assert!(seen.started && !seen.done, "{event:?}");
                assert!(fill.quantity > 0 && fill.leaves >= 0);
                if let Some(leaves) = seen.leaves {
                    assert_eq!(fill.leaves, leaves - fill.quantity, "{event:?}");
                }
                seen.leaves = Some(fill.leaves);
                seen.done = fill.leaves == 0;
                assert!(fill.trade_id > last_trade);
                last_trade = fill.trade_id;
                let rate = match fill.liquidity {
                    Liquidity::Maker => spec.maker_fee_rate,
                    Liquidity::Taker => spec.taker_fee_rate,
                };
                assert_eq!(
                    fill.fee,
                    InstrumentSpec::fee(spec.notional(fill.price, fill.quantity), rate)
                );
            }
            OrderEvent::Replaced { leaves, .. } => {
                assert!(seen.started && !seen.done, "{event:?}");
                seen.leaves = Some(leaves);
            }
            OrderEvent::Canceled { leaves, .. } => {
                assert!(seen.started && !seen.done, "{event:?}");
                if let Some(known) = seen.leaves {
                    assert_eq!(leaves, known);
                }
                seen.done = true;
            }
            OrderEvent::Triggered { .. } | OrderEvent::Expired { .. } => {
                panic!("the simulated venue has no stop or expiring orders: {event:?}")
            }
        }
    }
}

fn check_queues(venue: &SimulatedVenue) {
    for order in venue.orders.values() {
        assert!(order.ahead >= 0);
        assert!(order.leaves > 0 && order.leaves <= order.quantity);
        if let super::venue::Market::L3(book) = &venue.market {
            if venue.consumed.is_empty() && !venue.resync_pending {
                // The incrementally kept queue equals a recount from the book.
                let recount: Quantity = book
                    .queue(order.side, order.price)
                    .iter()
                    .filter(|market| market.priority < order.mark)
                    .map(|market| market.quantity)
                    .sum();
                assert_eq!(order.ahead, recount, "order {}", order.order_id);
            }
        } else if venue.config.queue_model == QueueModel::RiskAverse {
            let level = &venue.levels[order.side as usize][&order.price];
            assert!(order.ahead <= level.displayed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn l2_sessions_keep_every_invariant(
        seed in 0u64..1_000_000,
        model in prop_oneof![
            Just(QueueModel::RiskAverse),
            Just(QueueModel::Log),
            (0.5f64..4.0).prop_map(QueueModel::Power),
        ],
        impact in any::<bool>(),
    ) {
        let mut venue = venue(VenueConfig {
            market_impact: impact,
            seed,
            ..VenueConfig::l2(model)
        });
        let mut events = Vec::new();
        for chunk in 0..10 {
            events.extend(random_l2_session(&mut venue, seed * 16 + chunk, 150));
            check_queues(&venue);
        }
        check_event_stream(&events);
    }

    #[test]
    fn l3_queue_position_equals_a_recount_from_the_book(seed in 0u64..1_000_000) {
        let mut venue = venue(VenueConfig::l3());
        let mut events = Vec::new();
        for chunk in 0..10 {
            events.extend(random_l3_session(&mut venue, seed * 16 + chunk, 150));
            check_queues(&venue);
        }
        check_event_stream(&events);
    }
}
