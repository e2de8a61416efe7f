//! Property tests of the matching engine against the reference model in `matching_model`:
//! random operation sequences must give identical events and identical books, the book is
//! never crossed, every order's filled quantity is the sum of its fills, and the engine is
//! deterministic and snapshot-restorable at any point.

mod matching_model;

use std::collections::HashMap;

use hftcore_core::matching::{
    CancelReason, MatchingEngine, ModifyRequest, OrderEvent, OrderId, OrderRequest, OrderType,
    PostOnly, SelfTradePrevention, TimeInForce, WorkingState,
};
use hftcore_core::{InstrumentSpec, Quantity, Side};
use matching_model::{Model, Stage};
use proptest::prelude::*;

const OWNERS: u32 = 3;

fn specs() -> Vec<InstrumentSpec> {
    vec![
        InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000", "0", "-0.0001", "0.0003")
            .expect("spec"),
        InstrumentSpec::new("0.5", 1, "0.1", 1, "0.2", "5", "60", "0.0001", "0.0002")
            .expect("spec"),
    ]
}

/// Which order id an operation refers to, resolved against the orders working at the time.
#[derive(Debug, Clone, Copy)]
enum Target {
    Fresh,
    Working(usize),
    Unknown,
}

#[derive(Debug, Clone)]
enum Operation {
    Submit(Target, OrderRequest),
    Modify(Target, i64, Quantity),
    Cancel(Target),
    CancelAll(u32, Option<Side>, Option<u32>),
    AdvanceTime(i64),
    EndSession,
}

/// An operation with its ids and timestamps resolved.
#[derive(Debug, Clone, Copy)]
enum Call {
    Submit(OrderRequest),
    Modify(ModifyRequest),
    Cancel(OrderId, i64),
    CancelAll(u32, Option<Side>, Option<u32>, i64),
    AdvanceTime(i64),
    EndSession(i64),
}

impl Call {
    fn run(&self, engine: &mut MatchingEngine) -> Vec<OrderEvent> {
        match *self {
            Call::Submit(request) => engine.submit(&request).to_vec(),
            Call::Modify(request) => engine.modify(&request).to_vec(),
            Call::Cancel(id, ts) => engine.cancel(id, ts).to_vec(),
            Call::CancelAll(instrument, side, owner, ts) => {
                engine.cancel_all(instrument, side, owner, ts).to_vec()
            }
            Call::AdvanceTime(ts) => engine.advance_time(ts).to_vec(),
            Call::EndSession(ts) => engine.end_session(ts).to_vec(),
        }
    }

    fn run_model(&self, model: &mut Model) -> Vec<OrderEvent> {
        match *self {
            Call::Submit(request) => model.submit(&request),
            Call::Modify(request) => model.modify(&request),
            Call::Cancel(id, ts) => model.cancel(id, ts),
            Call::CancelAll(instrument, side, owner, ts) => {
                model.cancel_all(instrument, side, owner, ts)
            }
            Call::AdvanceTime(ts) => model.advance_time(ts),
            Call::EndSession(ts) => model.end_session(ts),
        }
    }
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

/// How operations are drawn: `broad` spreads them over every feature and bad input;
/// `crowded` packs two owners into four prices with many reduce-only and fill-or-kill orders,
/// where trims, self-trades and fill-or-kill checks interact most.
#[derive(Debug, Clone, Copy)]
struct Mix {
    owners: u32,
    lowest_price: i64,
    highest_price: i64,
    reduce_only: f64,
    fill_or_kill: u32,
    /// Share of orders drawn with fields that do not fit their type.
    malformed: f64,
    lowest_quantity: i64,
    /// Weights of instrument indexes 0, 1 (a second instrument) and 2 (unknown).
    instruments: [u32; 3],
}

const BROAD: Mix = Mix {
    owners: OWNERS,
    lowest_price: 95,
    highest_price: 105,
    reduce_only: 0.2,
    fill_or_kill: 1,
    malformed: 0.1,
    lowest_quantity: -1,
    instruments: [16, 3, 1],
};

const CROWDED: Mix = Mix {
    owners: 2,
    lowest_price: 99,
    highest_price: 102,
    reduce_only: 0.45,
    fill_or_kill: 3,
    malformed: 0.01,
    lowest_quantity: 1,
    instruments: [1, 0, 0],
};

fn order_request(mix: Mix) -> impl Strategy<Value = OrderRequest> {
    // Mostly limit orders, as on a real venue; every type shows up.
    let order_type = prop_oneof![10 => Just(1u8), 3 => Just(0u8), 2 => Just(2u8), 2 => Just(3u8), 3 => Just(4u8)];
    // GTC, IOC, FOK, DAY, GTD.
    let time_in_force = prop_oneof![
        6 => Just(0u8),
        1 => Just(1u8),
        mix.fill_or_kill => Just(2u8),
        1 => Just(3u8),
        1 => Just(4u8),
    ];
    let kind = (order_type, time_in_force, 0u8..3, 0u8..5).prop_map(|(t, f, p, s)| {
        (
            OrderType::from_code(t).expect("code"),
            TimeInForce::from_code(f).expect("code"),
            PostOnly::from_code(if p == 2 { 2 } else { p * (f % 2) }).expect("code"),
            SelfTradePrevention::from_code(s).expect("code"),
        )
    });
    (
        (
            0..mix.owners,
            prop_oneof![
                mix.instruments[0] => Just(0u32),
                mix.instruments[1] => Just(1u32),
                mix.instruments[2] => Just(2u32),
            ],
            side(),
        ),
        kind,
        (
            mix.lowest_price..=mix.highest_price,
            mix.lowest_price..=mix.highest_price,
            mix.lowest_quantity..14,
            prop_oneof![4 => Just(0i64), 1 => 0i64..6],
        ),
        (
            prop::bool::weighted(mix.reduce_only),
            prop::bool::weighted(1.0 - mix.malformed),
            -2i64..30,
        ),
    )
        .prop_map(
            |(
                (owner, instrument, side),
                (order_type, time_in_force, post_only, stp),
                (price, trigger, quantity, display),
                (reduce_only, well_formed, expiry),
            )| {
                let priced = matches!(order_type, OrderType::Limit | OrderType::StopLimit);
                let stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
                let time_in_force = match (well_formed, order_type) {
                    (true, OrderType::Market) if !matches!(time_in_force, TimeInForce::Fok) => {
                        TimeInForce::Ioc
                    }
                    (true, OrderType::Stop | OrderType::StopLimit | OrderType::MarketToLimit)
                        if matches!(time_in_force, TimeInForce::Ioc | TimeInForce::Fok) =>
                    {
                        TimeInForce::Gtc
                    }
                    _ => time_in_force,
                };
                let gtd = time_in_force == TimeInForce::Gtd;
                OrderRequest {
                    order_id: 0,
                    owner,
                    instrument,
                    side,
                    order_type,
                    time_in_force,
                    price: if priced || !well_formed { price } else { 0 },
                    trigger_price: if stop || !well_formed { trigger } else { 0 },
                    quantity,
                    display_quantity: display,
                    post_only: if well_formed && order_type != OrderType::Limit {
                        PostOnly::None
                    } else {
                        post_only
                    },
                    reduce_only,
                    self_trade_prevention: stp,
                    expire_ts: if gtd || !well_formed { expiry } else { 0 },
                    ts: 0,
                }
            },
        )
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        8 => (0usize..64).prop_map(Target::Working),
        1 => Just(Target::Unknown),
    ]
}

fn operation(mix: Mix) -> impl Strategy<Value = Operation> {
    prop_oneof![
        12 => (prop_oneof![19 => Just(Target::Fresh), 1 => target()], order_request(mix))
            .prop_map(|(target, request)| Operation::Submit(target, request)),
        3 => (target(), mix.lowest_price - 1..=mix.highest_price + 1, -1i64..16)
            .prop_map(|(target, price, quantity)| Operation::Modify(target, price, quantity)),
        2 => target().prop_map(Operation::Cancel),
        1 => (0u32..3, prop::option::of(side()), prop::option::of(0..mix.owners))
            .prop_map(|(instrument, side, owner)| Operation::CancelAll(instrument, side, owner)),
        1 => (0i64..12).prop_map(Operation::AdvanceTime),
        1 => Just(Operation::EndSession),
    ]
}

/// Drives the engine and the model with the same calls and checks them after each one.
struct Harness {
    engine: MatchingEngine,
    model: Model,
    now: i64,
    next_id: OrderId,
    fills: HashMap<OrderId, Quantity>,
}

impl Harness {
    fn new() -> Self {
        let mut engine = MatchingEngine::new();
        for spec in specs() {
            engine.add_instrument(spec).expect("valid spec");
        }
        Harness {
            engine,
            model: Model::new(specs()),
            now: 0,
            next_id: 1,
            fills: HashMap::new(),
        }
    }

    fn resolve(&mut self, target: Target) -> OrderId {
        match target {
            Target::Fresh => {
                self.next_id += 1;
                self.next_id
            }
            Target::Working(pick) if !self.model.orders.is_empty() => {
                self.model.orders[pick % self.model.orders.len()]
                    .request
                    .order_id
            }
            _ => 1_000_000,
        }
    }

    /// Turns an operation into a concrete call with ids and times filled in.
    fn resolve_call(&mut self, operation: &Operation) -> Call {
        self.now += 1;
        let ts = self.now;
        match *operation {
            Operation::Submit(target, request) => Call::Submit(OrderRequest {
                order_id: self.resolve(target),
                ts,
                expire_ts: if request.expire_ts == 0 {
                    0
                } else {
                    ts + request.expire_ts
                },
                ..request
            }),
            Operation::Modify(target, price, quantity) => Call::Modify(ModifyRequest {
                order_id: self.resolve(target),
                price,
                quantity,
                ts,
            }),
            Operation::Cancel(target) => Call::Cancel(self.resolve(target), ts),
            Operation::CancelAll(instrument, side, owner) => {
                Call::CancelAll(instrument, side, owner, ts)
            }
            Operation::AdvanceTime(step) => {
                self.now += step;
                Call::AdvanceTime(self.now)
            }
            Operation::EndSession => Call::EndSession(ts),
        }
    }

    /// Applies one operation to both and checks them; returns the call and its events.
    fn apply(&mut self, operation: &Operation) -> (Call, Vec<OrderEvent>) {
        let call = self.resolve_call(operation);
        let engine_events = call.run(&mut self.engine);
        let model_events = call.run_model(&mut self.model);
        assert_eq!(
            engine_events, model_events,
            "events differ for {operation:?}"
        );
        for event in &engine_events {
            match event {
                OrderEvent::Accepted { order_id, .. } => {
                    self.fills.insert(*order_id, 0);
                }
                OrderEvent::Filled(fill) => {
                    *self.fills.entry(fill.order_id).or_default() += fill.quantity;
                }
                _ => {}
            }
        }
        self.check_state();
        (call, engine_events)
    }

    fn check_state(&self) {
        let (engine, model) = (&self.engine, &self.model);
        engine
            .verify_integrity()
            .expect("engine internally consistent");
        for instrument in 0..2u32 {
            for side in [Side::Buy, Side::Sell] {
                let levels: Vec<_> = engine
                    .levels(instrument, side, usize::MAX)
                    .iter()
                    .map(|level| (level.price, level.quantity, level.order_count))
                    .collect();
                assert_eq!(levels, model.levels(instrument, side), "levels {side:?}");
                for (price, _, _) in levels {
                    assert_eq!(
                        engine.queue(instrument, side, price),
                        model.queue(instrument, side, price),
                        "queue at {price}"
                    );
                }
            }
            if let (Some(bid), Some(ask)) =
                (engine.best_bid(instrument), engine.best_ask(instrument))
            {
                assert!(bid.price < ask.price, "crossed book");
            }
            assert_eq!(
                engine.last_price(instrument),
                model.last[instrument as usize]
            );
            for owner in 0..OWNERS {
                assert_eq!(
                    engine.position(owner, instrument),
                    model.position(owner, instrument)
                );
            }
        }
        assert_eq!(engine.working_order_count(), model.orders.len());
        for order in &model.orders {
            let id = order.request.order_id;
            let view = engine.order(id).expect("model's working order is working");
            let state = if order.stage == Stage::Waiting {
                WorkingState::AwaitingTrigger
            } else {
                WorkingState::Resting
            };
            assert_eq!(
                (view.price, view.quantity, view.leaves, view.state),
                (order.price, order.quantity, order.leaves, state),
                "order {id}"
            );
            assert_eq!(
                view.filled, self.fills[&id],
                "filled = sum of fills of {id}"
            );
            if state == WorkingState::Resting {
                assert_eq!(view.visible, order.visible, "visible of {id}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn engine_matches_the_reference_model(operations in prop::collection::vec(operation(BROAD), 1..200)) {
        let mut harness = Harness::new();
        for operation in &operations {
            harness.apply(operation);
        }
    }

    #[test]
    fn engine_matches_the_reference_model_in_a_crowded_book(
        operations in prop::collection::vec(operation(CROWDED), 1..200),
    ) {
        let mut harness = Harness::new();
        for operation in &operations {
            harness.apply(operation);
        }
    }

    /// Fill-or-kill against reduce-only makers whose position closes part-way through the
    /// sweep: the engine's fill-or-kill check must see their liquidity vanish as matching would.
    #[test]
    fn fill_or_kill_sees_reduce_only_liquidity_shrink(
        position in 1i64..12,
        reducers in prop::collection::vec((100i64..104, 1i64..12, 0i64..4), 1..5),
        others in prop::collection::vec((100i64..104, 1i64..8, 2u32..5), 0..5),
        (limit, quantity) in (100i64..104, 1i64..40),
    ) {
        let mut harness = Harness::new();
        let submit = |request: OrderRequest| Operation::Submit(Target::Fresh, request);
        let limit_order = |owner, side, price, quantity| {
            OrderRequest::limit(0, owner, 0, side, price, quantity, 0)
        };
        // Owner 1 goes long `position` at 90, below everything else.
        harness.apply(&submit(limit_order(0, Side::Sell, 90, position)));
        harness.apply(&submit(limit_order(1, Side::Buy, 90, position)));
        for &(price, size, display) in &reducers {
            let request = OrderRequest {
                reduce_only: true,
                display_quantity: display.min(size),
                ..limit_order(1, Side::Sell, price, size)
            };
            harness.apply(&submit(request));
        }
        for &(price, size, owner) in &others {
            harness.apply(&submit(limit_order(owner, Side::Sell, price, size)));
        }
        let fill_or_kill = OrderRequest {
            time_in_force: TimeInForce::Fok,
            ..limit_order(5, Side::Buy, limit, quantity)
        };
        harness.apply(&submit(fill_or_kill));
    }

    #[test]
    fn same_inputs_give_identical_events_and_snapshots_resume_identically(
        operations in prop::collection::vec(operation(BROAD), 1..120),
        split in 0usize..120,
    ) {
        let mut first = Harness::new();
        let mut second = Harness::new();
        let mut resumed: Option<MatchingEngine> = None;
        for (index, operation) in operations.iter().enumerate() {
            if index == split.min(operations.len() - 1) {
                let bytes = first.engine.to_bytes();
                let restored = MatchingEngine::from_bytes(&bytes).expect("snapshot restores");
                prop_assert_eq!(restored.to_bytes(), bytes);
                resumed = Some(restored);
            }
            let (call, events) = first.apply(operation);
            prop_assert_eq!(&events, &second.apply(operation).1);
            if let Some(engine) = resumed.as_mut() {
                prop_assert_eq!(&call.run(engine), &events);
            }
        }
        prop_assert_eq!(first.engine.to_bytes(), second.engine.to_bytes());
        if let Some(engine) = resumed {
            prop_assert_eq!(engine.to_bytes(), first.engine.to_bytes());
        }
    }
}

/// The sequence hypothesis found against the Python reference: a decrementing fill-or-kill
/// order meets its owner's resting order before any other liquidity. Decremented lots are not
/// executed, so it cannot fill in full and is killed, in the engine and in this model alike.
#[test]
fn decrementing_fill_or_kill_that_meets_an_own_order_is_killed() {
    let mut harness = Harness::new();
    let submit = |owner, side, quantity, time_in_force, self_trade_prevention| {
        Operation::Submit(
            Target::Fresh,
            OrderRequest {
                time_in_force,
                self_trade_prevention,
                ..OrderRequest::limit(0, owner, 0, side, 97, quantity, 0)
            },
        )
    };
    let none = SelfTradePrevention::None;
    harness.apply(&submit(1, Side::Sell, 5, TimeInForce::Gtc, none));
    harness.apply(&submit(0, Side::Sell, 1, TimeInForce::Gtc, none));
    let before = harness.engine.to_bytes();
    let (call, events) = harness.apply(&submit(
        1,
        Side::Buy,
        6,
        TimeInForce::Fok,
        SelfTradePrevention::Decrement,
    ));
    let Call::Submit(request) = call else {
        panic!("a submit resolves to a submit call");
    };
    assert_eq!(
        events,
        [
            OrderEvent::Accepted {
                order_id: request.order_id,
                ts: request.ts,
            },
            OrderEvent::Canceled {
                order_id: request.order_id,
                reason: CancelReason::FillOrKill,
                leaves: 6,
                ts: request.ts,
            },
        ]
    );
    assert_eq!(harness.engine.to_bytes(), before);
}
