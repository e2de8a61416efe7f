//! Scenario tests: each pins the exact event sequence of one rule.

use super::*;
use crate::types::MONEY_SCALE;

const INSTRUMENT: u32 = 0;

fn engine_with(spec: InstrumentSpec) -> MatchingEngine {
    let mut engine = MatchingEngine::new();
    engine.add_instrument(spec).expect("valid spec");
    engine
}

fn engine() -> MatchingEngine {
    engine_with(InstrumentSpec::simple("0.01", 2, "1", 0))
}

fn limit(id: OrderId, owner: u32, side: Side, price: Price, quantity: Quantity) -> OrderRequest {
    OrderRequest::limit(id, owner, INSTRUMENT, side, price, quantity, 1)
}

fn buy(id: OrderId, price: Price, quantity: Quantity) -> OrderRequest {
    limit(id, 1, Side::Buy, price, quantity)
}

fn sell(id: OrderId, price: Price, quantity: Quantity) -> OrderRequest {
    limit(id, 2, Side::Sell, price, quantity)
}

fn market(id: OrderId, owner: u32, side: Side, quantity: Quantity) -> OrderRequest {
    OrderRequest::market(id, owner, INSTRUMENT, side, quantity, 1)
}

/// One line per event, compact enough to compare whole sequences.
fn describe(events: &[OrderEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match *event {
            OrderEvent::Accepted { order_id, .. } => format!("accepted {order_id}"),
            OrderEvent::Rejected {
                order_id, reason, ..
            } => format!("rejected {order_id} {}", reason.code()),
            OrderEvent::Triggered { order_id, .. } => format!("triggered {order_id}"),
            OrderEvent::Replaced {
                order_id,
                price,
                quantity,
                leaves,
                ..
            } => format!("replaced {order_id} {price} {quantity} {leaves}"),
            OrderEvent::Filled(fill) => format!(
                "fill {} #{} {}x{} leaves {} {:?}",
                fill.order_id,
                fill.trade_id,
                fill.price,
                fill.quantity,
                fill.leaves,
                fill.liquidity
            ),
            OrderEvent::Canceled {
                order_id,
                reason,
                leaves,
                ..
            } => format!("canceled {order_id} {} {leaves}", reason.code()),
            OrderEvent::Expired {
                order_id, leaves, ..
            } => format!("expired {order_id} {leaves}"),
        })
        .collect()
}

fn submit(engine: &mut MatchingEngine, request: OrderRequest) -> Vec<String> {
    let events = describe(engine.submit(&request));
    engine.verify_integrity().expect("engine stays consistent");
    events
}

fn levels(engine: &MatchingEngine, side: Side) -> Vec<(Price, Quantity, u32)> {
    engine
        .levels(INSTRUMENT, side, usize::MAX)
        .iter()
        .map(|level| (level.price, level.quantity, level.order_count))
        .collect()
}

#[test]
fn resting_orders_match_by_price_then_time_at_the_makers_price() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 101, 5));
    submit(&mut engine, sell(2, 100, 5));
    submit(&mut engine, sell(3, 100, 5));
    let events = submit(&mut engine, buy(4, 101, 12));
    assert_eq!(
        events,
        [
            "accepted 4",
            "fill 4 #1 100x5 leaves 7 Taker",
            "fill 2 #1 100x5 leaves 0 Maker",
            "fill 4 #2 100x5 leaves 2 Taker",
            "fill 3 #2 100x5 leaves 0 Maker",
            "fill 4 #3 101x2 leaves 0 Taker",
            "fill 1 #3 101x2 leaves 3 Maker",
        ]
    );
    assert_eq!(levels(&engine, Side::Sell), [(101, 3, 1)]);
    assert!(levels(&engine, Side::Buy).is_empty());
    assert_eq!(engine.last_price(INSTRUMENT), Some(101));
    assert_eq!(engine.position(1, INSTRUMENT), 12);
    assert_eq!(engine.position(2, INSTRUMENT), -12);
    assert_eq!(engine.order(1).map(|order| order.filled), Some(2));
    assert_eq!(engine.order(2), None, "finished orders are forgotten");
    assert_eq!(engine.working_order_count(), 1);
}

#[test]
fn an_unfilled_remainder_rests_at_the_limit() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 100, 3));
    submit(&mut engine, buy(2, 102, 10));
    assert_eq!(levels(&engine, Side::Buy), [(102, 7, 1)]);
    assert_eq!(
        engine.best_bid(INSTRUMENT).map(|level| level.price),
        Some(102)
    );
    assert_eq!(engine.best_ask(INSTRUMENT), None);
}

#[test]
fn fees_follow_the_spec_rates_and_a_negative_maker_fee_is_a_rebate() {
    let spec = InstrumentSpec::new(
        "0.01", 2, "0.001", 3, "0.001", "1000", "0", "-0.0001", "0.0002",
    )
    .expect("valid spec");
    let mut engine = engine_with(spec);
    engine.submit(&limit(1, 1, Side::Sell, 10_000, 2_000));
    let events = engine
        .submit(&limit(2, 2, Side::Buy, 10_000, 2_000))
        .to_vec();
    let fees: Vec<String> = events
        .iter()
        .filter_map(|event| match event {
            OrderEvent::Filled(fill) => Some(crate::types::render_scaled(fill.fee, MONEY_SCALE)),
            _ => None,
        })
        .collect();
    // 100.00 x 2.000 = 200: taker pays 0.02 % = 0.04, maker earns 0.01 % = 0.02.
    assert_eq!(fees, ["0.040000000000", "-0.020000000000"]);
}

#[test]
fn market_orders_sweep_and_cancel_what_the_book_cannot_fill() {
    let mut engine = engine();
    assert_eq!(
        submit(&mut engine, market(1, 1, Side::Buy, 5)),
        ["accepted 1", "canceled 1 NO_LIQUIDITY 5"]
    );
    submit(&mut engine, sell(2, 100, 2));
    submit(&mut engine, sell(3, 105, 2));
    assert_eq!(
        submit(&mut engine, market(4, 1, Side::Buy, 5)),
        [
            "accepted 4",
            "fill 4 #1 100x2 leaves 3 Taker",
            "fill 2 #1 100x2 leaves 0 Maker",
            "fill 4 #2 105x2 leaves 1 Taker",
            "fill 3 #2 105x2 leaves 0 Maker",
            "canceled 4 NO_LIQUIDITY 1",
        ]
    );
}

#[test]
fn immediate_or_cancel_remainders_are_canceled() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 100, 2));
    let request = OrderRequest {
        time_in_force: TimeInForce::Ioc,
        ..buy(2, 100, 5)
    };
    assert_eq!(
        submit(&mut engine, request),
        [
            "accepted 2",
            "fill 2 #1 100x2 leaves 3 Taker",
            "fill 1 #1 100x2 leaves 0 Maker",
            "canceled 2 IMMEDIATE_OR_CANCEL 3",
        ]
    );
    assert!(levels(&engine, Side::Buy).is_empty());
}

#[test]
fn fill_or_kill_fills_completely_or_leaves_the_book_untouched() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 100, 2));
    submit(&mut engine, sell(2, 101, 2));
    let before = engine.to_bytes();
    let fok = |id, quantity| OrderRequest {
        time_in_force: TimeInForce::Fok,
        ..buy(id, 101, quantity)
    };
    assert_eq!(
        submit(&mut engine, fok(3, 5)),
        ["accepted 3", "canceled 3 FILL_OR_KILL 5"]
    );
    assert_eq!(engine.to_bytes(), before);
    assert_eq!(
        submit(&mut engine, fok(4, 4)),
        [
            "accepted 4",
            "fill 4 #1 100x2 leaves 2 Taker",
            "fill 1 #1 100x2 leaves 0 Maker",
            "fill 4 #2 101x2 leaves 0 Taker",
            "fill 2 #2 101x2 leaves 0 Maker",
        ]
    );
}

#[test]
fn fill_or_kill_counts_iceberg_hidden_quantity_and_stops_at_own_orders() {
    let mut engine = engine();
    let iceberg = OrderRequest {
        display_quantity: 2,
        ..sell(1, 100, 6)
    };
    submit(&mut engine, iceberg);
    submit(&mut engine, limit(2, 7, Side::Sell, 100, 1));
    let fok = OrderRequest {
        time_in_force: TimeInForce::Fok,
        self_trade_prevention: SelfTradePrevention::CancelNewest,
        ..limit(3, 7, Side::Buy, 100, 3)
    };
    // The own order (2) waits behind the iceberg's first slice: only 2 lots come first.
    assert_eq!(
        submit(&mut engine, fok),
        ["accepted 3", "canceled 3 FILL_OR_KILL 3"]
    );
    let fok = OrderRequest {
        time_in_force: TimeInForce::Fok,
        self_trade_prevention: SelfTradePrevention::CancelOldest,
        ..limit(4, 7, Side::Buy, 100, 6)
    };
    assert_eq!(
        submit(&mut engine, fok),
        [
            "accepted 4",
            "fill 4 #1 100x2 leaves 4 Taker",
            "fill 1 #1 100x2 leaves 4 Maker",
            "canceled 2 SELF_TRADE 1",
            "fill 4 #2 100x2 leaves 2 Taker",
            "fill 1 #2 100x2 leaves 2 Maker",
            "fill 4 #3 100x2 leaves 0 Taker",
            "fill 1 #3 100x2 leaves 0 Maker",
        ]
    );
}

/// Lots removed by a self-trade decrement are not executed, so they do not count toward a
/// fill-or-kill order's full quantity (regression: the Python reference once counted them).
#[test]
fn fill_or_kill_does_not_count_self_trade_decrement_as_filled() {
    let mut engine = engine();
    submit(&mut engine, limit(1, 1, Side::Sell, 97, 5));
    submit(&mut engine, limit(2, 0, Side::Sell, 97, 1));
    let decrementing_fok = |id, quantity| OrderRequest {
        time_in_force: TimeInForce::Fok,
        self_trade_prevention: SelfTradePrevention::Decrement,
        ..limit(id, 1, Side::Buy, 97, quantity)
    };
    let before = engine.to_bytes();
    assert_eq!(
        submit(&mut engine, decrementing_fok(3, 6)),
        ["accepted 3", "canceled 3 FILL_OR_KILL 6"]
    );
    assert_eq!(
        engine.to_bytes(),
        before,
        "the own order is not decremented"
    );
    // Enough liquidity of other owners behind the own order does not help: matching would
    // decrement against the own order first.
    submit(&mut engine, limit(4, 2, Side::Sell, 97, 10));
    let before = engine.to_bytes();
    assert_eq!(
        submit(&mut engine, decrementing_fok(5, 6)),
        ["accepted 5", "canceled 5 FILL_OR_KILL 6"]
    );
    assert_eq!(engine.to_bytes(), before);
    // Filled in full by other owners ahead of the own order: it executes and never meets it.
    submit(&mut engine, limit(6, 2, Side::Sell, 96, 3));
    assert_eq!(
        submit(&mut engine, decrementing_fok(7, 3)),
        [
            "accepted 7",
            "fill 7 #1 96x3 leaves 0 Taker",
            "fill 6 #1 96x3 leaves 0 Maker",
        ]
    );
    assert_eq!(levels(&engine, Side::Sell), [(97, 16, 3)]);
}

#[test]
fn an_iceberg_shows_its_slice_and_refills_at_the_back_of_its_level() {
    let mut engine = engine();
    let iceberg = OrderRequest {
        display_quantity: 3,
        ..sell(1, 100, 10)
    };
    submit(&mut engine, iceberg);
    submit(&mut engine, sell(2, 100, 4));
    assert_eq!(levels(&engine, Side::Sell), [(100, 7, 2)]);
    assert_eq!(
        submit(&mut engine, buy(3, 100, 5)),
        [
            "accepted 3",
            "fill 3 #1 100x3 leaves 2 Taker",
            "fill 1 #1 100x3 leaves 7 Maker",
            "fill 3 #2 100x2 leaves 0 Taker",
            "fill 2 #2 100x2 leaves 2 Maker",
        ]
    );
    assert_eq!(engine.queue(INSTRUMENT, Side::Sell, 100), [2, 1]);
    assert_eq!(levels(&engine, Side::Sell), [(100, 5, 2)]);
    let view = engine.order(1).expect("iceberg works");
    assert_eq!(
        (view.leaves, view.visible, view.display_quantity),
        (7, 3, 3)
    );
}

#[test]
fn post_only_orders_are_rejected_or_slid_when_they_would_cross() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 100, 5));
    let before = engine.to_bytes();
    let reject = OrderRequest {
        post_only: PostOnly::Reject,
        ..buy(2, 100, 5)
    };
    assert_eq!(
        submit(&mut engine, reject),
        ["rejected 2 POST_ONLY_WOULD_CROSS"]
    );
    assert_eq!(engine.to_bytes(), before);
    let slide = OrderRequest {
        post_only: PostOnly::Slide,
        ..buy(3, 102, 5)
    };
    assert_eq!(
        submit(&mut engine, slide),
        ["accepted 3", "replaced 3 99 5 5"]
    );
    assert_eq!(levels(&engine, Side::Buy), [(99, 5, 1)]);
    let passive = OrderRequest {
        post_only: PostOnly::Reject,
        ..buy(4, 98, 1)
    };
    assert_eq!(submit(&mut engine, passive), ["accepted 4"]);
}

#[test]
fn self_trade_prevention_follows_the_incoming_orders_mode() {
    let cases = [
        (
            SelfTradePrevention::CancelNewest,
            vec!["accepted 9", "canceled 9 SELF_TRADE 5"],
            vec![(100, 3, 2)],
        ),
        (
            SelfTradePrevention::CancelOldest,
            vec![
                "accepted 9",
                "canceled 1 SELF_TRADE 2",
                "fill 9 #1 100x1 leaves 4 Taker",
                "fill 2 #1 100x1 leaves 0 Maker",
                "canceled 9 NO_LIQUIDITY 4",
            ],
            vec![],
        ),
        (
            SelfTradePrevention::CancelBoth,
            vec![
                "accepted 9",
                "canceled 9 SELF_TRADE 5",
                "canceled 1 SELF_TRADE 2",
            ],
            vec![(100, 1, 1)],
        ),
        (
            SelfTradePrevention::Decrement,
            vec![
                "accepted 9",
                "replaced 9 0 3 3",
                "canceled 1 SELF_TRADE 2",
                "fill 9 #1 100x1 leaves 2 Taker",
                "fill 2 #1 100x1 leaves 0 Maker",
                "canceled 9 NO_LIQUIDITY 2",
            ],
            vec![],
        ),
        (
            SelfTradePrevention::None,
            vec![
                "accepted 9",
                "fill 9 #1 100x2 leaves 3 Taker",
                "fill 1 #1 100x2 leaves 0 Maker",
                "fill 9 #2 100x1 leaves 2 Taker",
                "fill 2 #2 100x1 leaves 0 Maker",
                "canceled 9 NO_LIQUIDITY 2",
            ],
            vec![],
        ),
    ];
    for (mode, expected, book) in cases {
        let mut engine = engine();
        submit(&mut engine, limit(1, 7, Side::Sell, 100, 2));
        submit(&mut engine, limit(2, 8, Side::Sell, 100, 1));
        let taker = OrderRequest {
            self_trade_prevention: mode,
            ..market(9, 7, Side::Buy, 5)
        };
        assert_eq!(submit(&mut engine, taker), expected, "{mode:?}");
        assert_eq!(levels(&engine, Side::Sell), book, "{mode:?}");
    }
}

#[test]
fn decrement_shrinks_the_larger_order_without_a_trade() {
    let mut engine = engine();
    submit(&mut engine, limit(1, 7, Side::Sell, 100, 10));
    let taker = OrderRequest {
        self_trade_prevention: SelfTradePrevention::Decrement,
        ..limit(2, 7, Side::Buy, 100, 4)
    };
    assert_eq!(
        submit(&mut engine, taker),
        [
            "accepted 2",
            "canceled 2 SELF_TRADE 4",
            "replaced 1 100 6 6"
        ]
    );
    assert_eq!(levels(&engine, Side::Sell), [(100, 6, 1)]);
    assert_eq!(engine.last_price(INSTRUMENT), None);
}

#[test]
fn stops_trigger_from_the_last_trade_in_trigger_then_arrival_order_and_cascade() {
    let mut engine = engine();
    let stop = |id, side, trigger, quantity| OrderRequest {
        order_type: OrderType::Stop,
        trigger_price: trigger,
        price: 0,
        ..limit(id, 5, side, 0, quantity)
    };
    submit(&mut engine, sell(1, 100, 1));
    submit(&mut engine, sell(2, 101, 1));
    submit(&mut engine, sell(3, 102, 1));
    assert_eq!(
        submit(&mut engine, stop(10, Side::Buy, 101, 1)),
        ["accepted 10"]
    );
    submit(&mut engine, stop(11, Side::Buy, 100, 1));
    assert_eq!(
        engine.order(10).map(|order| order.state),
        Some(WorkingState::AwaitingTrigger)
    );
    // A trade at 100 triggers stop 11 (trigger 100); its fill at 101 then triggers stop 10.
    assert_eq!(
        submit(&mut engine, buy(4, 100, 1)),
        [
            "accepted 4",
            "fill 4 #1 100x1 leaves 0 Taker",
            "fill 1 #1 100x1 leaves 0 Maker",
            "triggered 11",
            "fill 11 #2 101x1 leaves 0 Taker",
            "fill 2 #2 101x1 leaves 0 Maker",
            "triggered 10",
            "fill 10 #3 102x1 leaves 0 Taker",
            "fill 3 #3 102x1 leaves 0 Maker",
        ]
    );
    assert_eq!(engine.working_order_count(), 0);
}

#[test]
fn a_triggered_stop_limit_rests_as_a_limit() {
    let mut engine = engine();
    submit(&mut engine, buy(1, 100, 1));
    submit(&mut engine, sell(2, 100, 1));
    let stop_limit = OrderRequest {
        order_type: OrderType::StopLimit,
        trigger_price: 100,
        ..limit(3, 5, Side::Sell, 98, 4)
    };
    assert_eq!(
        submit(&mut engine, stop_limit),
        ["accepted 3", "triggered 3"]
    );
    assert_eq!(levels(&engine, Side::Sell), [(98, 4, 1)]);
}

#[test]
fn market_to_limit_rests_its_remainder_at_the_first_fill_price() {
    let mut engine = engine();
    let mtl = |id| OrderRequest {
        order_type: OrderType::MarketToLimit,
        price: 0,
        ..buy(id, 0, 5)
    };
    assert_eq!(
        submit(&mut engine, mtl(1)),
        ["accepted 1", "canceled 1 NO_LIQUIDITY 5"]
    );
    submit(&mut engine, sell(2, 100, 2));
    submit(&mut engine, sell(3, 101, 2));
    assert_eq!(
        submit(&mut engine, mtl(4)),
        [
            "accepted 4",
            "fill 4 #1 100x2 leaves 3 Taker",
            "fill 2 #1 100x2 leaves 0 Maker",
        ]
    );
    assert_eq!(levels(&engine, Side::Buy), [(100, 3, 1)]);
    assert_eq!(levels(&engine, Side::Sell), [(101, 2, 1)]);
}

#[test]
fn reduce_only_orders_are_capped_trimmed_and_canceled_with_the_position() {
    let mut engine = engine();
    let reduce = |id, side, price, quantity| OrderRequest {
        reduce_only: true,
        ..limit(id, 1, side, price, quantity)
    };
    assert_eq!(
        submit(&mut engine, reduce(1, Side::Sell, 110, 5)),
        ["rejected 1 REDUCE_ONLY_WOULD_INCREASE"]
    );
    submit(&mut engine, sell(2, 100, 6));
    submit(&mut engine, buy(3, 100, 6));
    assert_eq!(engine.position(1, INSTRUMENT), 6);
    assert_eq!(
        submit(&mut engine, reduce(4, Side::Sell, 110, 10)),
        ["accepted 4", "replaced 4 110 6 6"]
    );
    submit(&mut engine, reduce(5, Side::Sell, 111, 6));
    // Selling 4 elsewhere leaves a position of 2: both reduce-only orders are trimmed to 2.
    submit(&mut engine, limit(6, 9, Side::Buy, 105, 4));
    assert_eq!(
        submit(&mut engine, limit(7, 1, Side::Sell, 105, 4)),
        [
            "accepted 7",
            "fill 7 #2 105x4 leaves 0 Taker",
            "fill 6 #2 105x4 leaves 0 Maker",
            "replaced 4 110 2 2",
            "replaced 5 111 2 2",
        ]
    );
    // Selling 3 more flips the position short: the sells would now increase it.
    submit(&mut engine, limit(8, 9, Side::Buy, 105, 3));
    let events = submit(&mut engine, limit(9, 1, Side::Sell, 105, 3));
    assert_eq!(
        events[3..],
        ["canceled 4 REDUCE_ONLY 2", "canceled 5 REDUCE_ONLY 2"]
    );
    assert_eq!(engine.position(1, INSTRUMENT), -1);
}

#[test]
fn modify_keeps_priority_only_for_a_smaller_size_at_the_same_price() {
    let mut engine = engine();
    submit(&mut engine, buy(1, 100, 5));
    submit(&mut engine, buy(2, 100, 5));
    let modify = |engine: &mut MatchingEngine, id, price, quantity| {
        describe(engine.modify(&ModifyRequest {
            order_id: id,
            price,
            quantity,
            ts: 2,
        }))
    };
    assert_eq!(modify(&mut engine, 1, 100, 4), ["replaced 1 100 4 4"]);
    assert_eq!(engine.queue(INSTRUMENT, Side::Buy, 100), [1, 2]);
    assert_eq!(modify(&mut engine, 1, 100, 6), ["replaced 1 100 6 6"]);
    assert_eq!(engine.queue(INSTRUMENT, Side::Buy, 100), [2, 1]);
    assert_eq!(modify(&mut engine, 2, 101, 5), ["replaced 2 101 5 5"]);
    modify(&mut engine, 2, 100, 5);
    assert_eq!(engine.queue(INSTRUMENT, Side::Buy, 100), [1, 2]);
    submit(&mut engine, sell(3, 100, 2));
    assert_eq!(
        modify(&mut engine, 1, 100, 2),
        ["canceled 1 REQUESTED 4"],
        "a quantity at or below the filled quantity cancels"
    );
    assert_eq!(
        modify(&mut engine, 99, 100, 2),
        ["rejected 99 UNKNOWN_ORDER"]
    );
}

#[test]
fn a_modify_that_crosses_trades_at_once() {
    let mut engine = engine();
    submit(&mut engine, sell(1, 101, 3));
    submit(&mut engine, buy(2, 99, 5));
    let events = describe(engine.modify(&ModifyRequest {
        order_id: 2,
        price: 101,
        quantity: 5,
        ts: 2,
    }));
    assert_eq!(
        events,
        [
            "replaced 2 101 5 5",
            "fill 2 #1 101x3 leaves 2 Taker",
            "fill 1 #1 101x3 leaves 0 Maker",
        ]
    );
    assert_eq!(levels(&engine, Side::Buy), [(101, 2, 1)]);
}

#[test]
fn stops_cannot_be_modified_but_can_be_canceled() {
    let mut engine = engine();
    let stop = OrderRequest {
        order_type: OrderType::Stop,
        trigger_price: 100,
        price: 0,
        ..buy(1, 0, 1)
    };
    submit(&mut engine, stop);
    let request = ModifyRequest {
        order_id: 1,
        price: 100,
        quantity: 2,
        ts: 2,
    };
    assert_eq!(
        describe(engine.modify(&request)),
        ["rejected 1 ORDER_NOT_MODIFIABLE"]
    );
    assert_eq!(describe(engine.cancel(1, 3)), ["canceled 1 REQUESTED 1"]);
    assert_eq!(describe(engine.cancel(1, 4)), ["rejected 1 UNKNOWN_ORDER"]);
}

#[test]
fn cancel_all_filters_by_side_and_owner_in_arrival_order() {
    let mut engine = engine();
    submit(&mut engine, limit(1, 1, Side::Buy, 99, 1));
    submit(&mut engine, limit(2, 2, Side::Buy, 100, 1));
    submit(&mut engine, limit(3, 1, Side::Sell, 105, 1));
    submit(&mut engine, limit(4, 1, Side::Buy, 100, 1));
    assert_eq!(
        describe(engine.cancel_all(INSTRUMENT, Some(Side::Buy), Some(1), 5)),
        ["canceled 1 REQUESTED 1", "canceled 4 REQUESTED 1"]
    );
    assert_eq!(
        describe(engine.cancel_all(INSTRUMENT, None, None, 6)),
        ["canceled 2 REQUESTED 1", "canceled 3 REQUESTED 1"]
    );
    assert_eq!(
        describe(engine.cancel_all(7, None, None, 6)),
        ["rejected 0 UNKNOWN_INSTRUMENT"]
    );
}

#[test]
fn day_orders_expire_at_session_end_and_gtd_orders_at_their_expiry() {
    let mut engine = engine();
    submit(
        &mut engine,
        OrderRequest {
            time_in_force: TimeInForce::Gtd,
            expire_ts: 50,
            ..buy(1, 99, 1)
        },
    );
    submit(
        &mut engine,
        OrderRequest {
            time_in_force: TimeInForce::Day,
            ..buy(2, 98, 1)
        },
    );
    submit(
        &mut engine,
        OrderRequest {
            time_in_force: TimeInForce::Gtd,
            expire_ts: 40,
            ..buy(3, 97, 1)
        },
    );
    submit(&mut engine, buy(4, 96, 1));
    assert!(engine.advance_time(39).is_empty());
    assert_eq!(
        describe(engine.advance_time(50)),
        ["expired 3 1", "expired 1 1"]
    );
    assert_eq!(describe(engine.end_session(60)), ["expired 2 1"]);
    assert_eq!(levels(&engine, Side::Buy), [(96, 1, 1)]);
}

#[test]
fn invalid_orders_get_specific_reasons_and_change_nothing() {
    let spec = InstrumentSpec::new("0.01", 2, "1", 0, "2", "100", "5", "0", "0").expect("spec");
    let mut engine = engine_with(spec);
    submit(&mut engine, limit(1, 1, Side::Buy, 1000, 10));
    let before = engine.to_bytes();
    let base = limit(2, 1, Side::Sell, 1000, 10);
    let cases: Vec<(OrderRequest, RejectReason)> = vec![
        (
            OrderRequest {
                order_id: 1,
                ..base
            },
            RejectReason::DuplicateOrderId,
        ),
        (
            OrderRequest {
                instrument: 3,
                ..base
            },
            RejectReason::UnknownInstrument,
        ),
        (
            OrderRequest {
                quantity: 0,
                ..base
            },
            RejectReason::InvalidQuantity,
        ),
        (
            OrderRequest {
                quantity: -4,
                ..base
            },
            RejectReason::InvalidQuantity,
        ),
        (
            OrderRequest {
                quantity: 1,
                ..base
            },
            RejectReason::QuantityBelowMinimum,
        ),
        (
            OrderRequest {
                quantity: 101,
                ..base
            },
            RejectReason::QuantityAboveMaximum,
        ),
        (
            OrderRequest { price: 0, ..base },
            RejectReason::InvalidPrice,
        ),
        (
            OrderRequest { price: -5, ..base },
            RejectReason::InvalidPrice,
        ),
        (
            OrderRequest {
                price: 2,
                quantity: 2,
                ..base
            },
            RejectReason::NotionalBelowMinimum,
        ),
        (
            OrderRequest {
                price: i64::MAX,
                quantity: 100,
                ..base
            },
            RejectReason::NotionalTooLarge,
        ),
        (
            OrderRequest {
                order_type: OrderType::Market,
                ..base
            },
            RejectReason::InvalidTimeInForce,
        ),
        (
            OrderRequest {
                order_type: OrderType::Market,
                time_in_force: TimeInForce::Ioc,
                ..base
            },
            RejectReason::InvalidPrice,
        ),
        (
            OrderRequest {
                trigger_price: 5,
                ..base
            },
            RejectReason::InvalidTriggerPrice,
        ),
        (
            OrderRequest {
                order_type: OrderType::StopLimit,
                ..base
            },
            RejectReason::InvalidTriggerPrice,
        ),
        (
            OrderRequest {
                display_quantity: 11,
                ..base
            },
            RejectReason::InvalidDisplayQuantity,
        ),
        (
            OrderRequest {
                display_quantity: 1,
                ..base
            },
            RejectReason::InvalidDisplayQuantity,
        ),
        (
            OrderRequest {
                display_quantity: 2,
                time_in_force: TimeInForce::Ioc,
                ..base
            },
            RejectReason::InvalidDisplayQuantity,
        ),
        (
            OrderRequest {
                post_only: PostOnly::Reject,
                time_in_force: TimeInForce::Ioc,
                ..base
            },
            RejectReason::PostOnlyNotAllowed,
        ),
        (
            OrderRequest {
                time_in_force: TimeInForce::Gtd,
                ..base
            },
            RejectReason::InvalidExpiry,
        ),
        (
            OrderRequest {
                time_in_force: TimeInForce::Gtd,
                expire_ts: 1,
                ..base
            },
            RejectReason::InvalidExpiry,
        ),
        (
            OrderRequest {
                expire_ts: 9,
                ..base
            },
            RejectReason::InvalidExpiry,
        ),
        (
            OrderRequest {
                reduce_only: true,
                ..base
            },
            RejectReason::ReduceOnlyWouldIncrease,
        ),
        (
            OrderRequest {
                post_only: PostOnly::Reject,
                ..base
            },
            RejectReason::PostOnlyWouldCross,
        ),
    ];
    for (request, reason) in cases {
        let events = engine.submit(&request).to_vec();
        assert_eq!(
            events,
            [OrderEvent::Rejected {
                order_id: request.order_id,
                reason,
                ts: 1
            }],
            "{request:?}"
        );
        assert_eq!(engine.to_bytes(), before, "{request:?}");
    }
    let bad_modifies = [
        (
            ModifyRequest {
                order_id: 1,
                price: 0,
                quantity: 10,
                ts: 2,
            },
            RejectReason::InvalidPrice,
        ),
        (
            ModifyRequest {
                order_id: 1,
                price: 1000,
                quantity: -1,
                ts: 2,
            },
            RejectReason::InvalidQuantity,
        ),
        (
            ModifyRequest {
                order_id: 1,
                price: 1000,
                quantity: 101,
                ts: 2,
            },
            RejectReason::QuantityAboveMaximum,
        ),
        (
            ModifyRequest {
                order_id: 1,
                price: 1,
                quantity: 10,
                ts: 2,
            },
            RejectReason::NotionalBelowMinimum,
        ),
        (
            ModifyRequest {
                order_id: 5,
                price: 1000,
                quantity: 10,
                ts: 2,
            },
            RejectReason::UnknownOrder,
        ),
    ];
    for (request, reason) in bad_modifies {
        let events = engine.modify(&request).to_vec();
        assert_eq!(
            events,
            [OrderEvent::Rejected {
                order_id: request.order_id,
                reason,
                ts: 2
            }],
            "{request:?}"
        );
        assert_eq!(engine.to_bytes(), before, "{request:?}");
    }
}

#[test]
fn working_quantity_cannot_overflow() {
    let spec = InstrumentSpec {
        max_quantity: i64::MAX,
        // One money unit per tick and lot keeps the notional of huge orders representable.
        ..InstrumentSpec::simple("0.000000001", 9, "0.001", 3)
    };
    let mut engine = engine_with(spec);
    submit(&mut engine, limit(1, 1, Side::Buy, 1, i64::MAX - 5));
    assert_eq!(
        submit(&mut engine, limit(2, 1, Side::Buy, 1, 6)),
        ["rejected 2 QUANTITY_ABOVE_MAXIMUM"]
    );
    assert_eq!(
        submit(&mut engine, limit(3, 1, Side::Buy, 1, 5)),
        ["accepted 3"]
    );
}

#[test]
fn invalid_specs_are_refused() {
    let mut engine = MatchingEngine::new();
    let spec = InstrumentSpec {
        min_quantity: 0,
        ..InstrumentSpec::simple("0.01", 2, "1", 0)
    };
    assert!(engine.add_instrument(spec).is_err());
    assert_eq!(engine.instrument_count(), 0);
}

#[test]
fn snapshots_round_trip_and_continue_identically() {
    let mut engine = engine();
    submit(
        &mut engine,
        OrderRequest {
            display_quantity: 2,
            ..sell(1, 101, 7)
        },
    );
    submit(&mut engine, sell(2, 101, 3));
    submit(&mut engine, buy(3, 101, 3));
    submit(
        &mut engine,
        OrderRequest {
            order_type: OrderType::StopLimit,
            trigger_price: 90,
            time_in_force: TimeInForce::Gtd,
            expire_ts: 99,
            ..sell(4, 89, 2)
        },
    );
    submit(
        &mut engine,
        OrderRequest {
            reduce_only: true,
            ..limit(5, 1, Side::Sell, 120, 2)
        },
    );
    let bytes = engine.to_bytes();
    let mut copy = MatchingEngine::from_bytes(&bytes).expect("restores");
    copy.verify_integrity().expect("restored engine is sound");
    assert_eq!(copy.to_bytes(), bytes);
    for request in [buy(6, 101, 9), sell(7, 90, 3), market(8, 3, Side::Buy, 4)] {
        assert_eq!(
            describe(engine.submit(&request)),
            describe(copy.submit(&request))
        );
    }
    assert_eq!(
        describe(engine.advance_time(100)),
        describe(copy.advance_time(100))
    );
    assert_eq!(engine.to_bytes(), copy.to_bytes());
}

#[test]
fn corrupt_snapshots_are_refused() {
    let mut engine = engine();
    submit(&mut engine, buy(1, 100, 5));
    submit(&mut engine, sell(2, 101, 5));
    let bytes = engine.to_bytes();
    assert_eq!(
        MatchingEngine::from_bytes(&bytes[..bytes.len() - 1]).err(),
        Some(SnapshotError::Truncated)
    );
    assert_eq!(
        MatchingEngine::from_bytes(b"NOTASNAPSHOT....").err(),
        Some(SnapshotError::BadMagic)
    );
    let mut extended = bytes.clone();
    extended.push(0);
    assert!(MatchingEngine::from_bytes(&extended).is_err());
    // Flip every byte in turn: either the engine refuses it or restores a sound engine.
    for at in 8..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[at] ^= 0x5a;
        if let Ok(restored) = MatchingEngine::from_bytes(&corrupt) {
            restored
                .verify_integrity()
                .expect("whatever restores is sound");
        }
    }
}

#[test]
fn fill_or_kill_sees_reduce_only_makers_shrink_as_their_position_closes() {
    let mut engine = engine();
    submit(&mut engine, limit(1, 4, Side::Sell, 90, 10));
    submit(&mut engine, limit(2, 5, Side::Buy, 90, 10));
    let reduce = |id, price| OrderRequest {
        reduce_only: true,
        ..limit(id, 5, Side::Sell, price, 10)
    };
    submit(&mut engine, reduce(3, 100));
    submit(&mut engine, reduce(4, 101));
    let before = engine.to_bytes();
    // 20 lots are on offer, but after the first 10 owner 5 is flat and its second order goes.
    let fok = OrderRequest {
        time_in_force: TimeInForce::Fok,
        ..limit(5, 6, Side::Buy, 101, 20)
    };
    assert_eq!(
        submit(&mut engine, fok),
        ["accepted 5", "canceled 5 FILL_OR_KILL 20"]
    );
    assert_eq!(engine.to_bytes(), before);
    let fok = OrderRequest {
        time_in_force: TimeInForce::Fok,
        ..limit(6, 6, Side::Buy, 101, 10)
    };
    assert_eq!(
        submit(&mut engine, fok),
        [
            "accepted 6",
            "fill 6 #2 100x10 leaves 0 Taker",
            "fill 3 #2 100x10 leaves 0 Maker",
            "canceled 4 REDUCE_ONLY 10",
        ]
    );
}
