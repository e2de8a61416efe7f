//! Matching engine benchmarks: ns per resting submit, per cancel, per aggressive order, and
//! per operation of a realistic mixed stream, on a book holding ~2000 orders over 100 levels.
//!
//! Run: `cargo bench -p hftcore-core --bench matching`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hftcore_core::matching::{MatchingEngine, OrderRequest, SelfTradePrevention};
use hftcore_core::{InstrumentSpec, Side};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

const MID: i64 = 10_000;
const LEVELS: i64 = 50;
const ORDERS_PER_LEVEL: u64 = 20;

fn spec() -> InstrumentSpec {
    InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000000", "0", "-0.0001", "0.0002")
        .expect("valid spec")
}

/// An engine with `LEVELS` levels a side of `ORDERS_PER_LEVEL` orders each, spread 1 tick
/// apart away from a 1-tick spread around `MID`. Ids below 1_000_000 are taken.
fn deep_book() -> MatchingEngine {
    let mut engine = MatchingEngine::new();
    engine.add_instrument(spec()).expect("valid spec");
    let mut id = 1;
    for level in 0..LEVELS {
        for _ in 0..ORDERS_PER_LEVEL {
            let bid =
                OrderRequest::limit(id, (id % 16) as u32, 0, Side::Buy, MID - 1 - level, 10, 0);
            engine.submit(&bid);
            let ask = OrderRequest::limit(
                id + 1,
                (id % 16) as u32,
                0,
                Side::Sell,
                MID + 1 + level,
                10,
                0,
            );
            engine.submit(&ask);
            id += 2;
        }
    }
    engine
}

/// Passive orders placed within 20 ticks behind the touch.
fn passive_orders(count: usize, first_id: u64, seed: u64) -> Vec<OrderRequest> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    (0..count as u64)
        .map(|n| {
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let offset = rng.random_range(1..=20);
            let price = match side {
                Side::Buy => MID - offset,
                Side::Sell => MID + offset,
            };
            let quantity = rng.random_range(1..=50);
            OrderRequest::limit(
                first_id + n,
                rng.random_range(0..64),
                0,
                side,
                price,
                quantity,
                n as i64,
            )
        })
        .collect()
}

/// Orders are timed in batches of this many, between which the book is put back untimed, so
/// every measurement sees the same ~2000-order book and no clock read sits inside the loop.
const BATCH: u64 = 1000;

/// Runs `iters` timed operations in batches: `prepare` (untimed) builds the batch's engine
/// state, `timed` does one batch.
fn batched<S>(
    iters: u64,
    mut prepare: impl FnMut(u64, u64) -> S,
    mut timed: impl FnMut(&mut S),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let count = BATCH.min(iters - done);
        let mut state = prepare(done, count);
        let started = Instant::now();
        timed(&mut state);
        total += started.elapsed();
        black_box(&state);
        done += count;
    }
    total
}

fn bench_submit_resting(c: &mut Criterion) {
    let book = deep_book();
    c.bench_function("matching/submit_resting", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                |done, count| {
                    let orders = passive_orders(count as usize, 1_000_000, done);
                    (book.clone(), orders)
                },
                |(engine, orders)| {
                    for order in orders.iter() {
                        black_box(engine.submit(order).len());
                    }
                },
            )
        })
    });
}

fn bench_cancel(c: &mut Criterion) {
    let book = deep_book();
    c.bench_function("matching/cancel", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                |done, count| {
                    let orders = passive_orders(count as usize, 1_000_000, done);
                    let mut engine = book.clone();
                    for order in &orders {
                        engine.submit(order);
                    }
                    // Cancel in a scrambled order, as a strategy would.
                    let mut rng = Pcg64Mcg::seed_from_u64(done);
                    let mut ids: Vec<u64> = orders.iter().map(|order| order.order_id).collect();
                    for index in (1..ids.len()).rev() {
                        ids.swap(index, rng.random_range(0..=index));
                    }
                    (engine, ids)
                },
                |(engine, ids)| {
                    for id in ids.iter() {
                        black_box(engine.cancel(*id, 1).len());
                    }
                },
            )
        })
    });
}

fn bench_aggressive(c: &mut Criterion) {
    let book = deep_book();
    c.bench_function("matching/aggressive_sweep_3_orders", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                |_, count| {
                    // Three 10-lot asks at the touch for every 25-lot market buy to come.
                    let mut engine = book.clone();
                    for n in 0..3 * count {
                        let maker =
                            OrderRequest::limit(4_000_000 + n, 1, 0, Side::Sell, MID + 1, 10, 0);
                        engine.submit(&maker);
                    }
                    let takers: Vec<OrderRequest> = (0..count)
                        .map(|n| OrderRequest {
                            self_trade_prevention: SelfTradePrevention::CancelNewest,
                            ..OrderRequest::market(5_000_000 + n, 99, 0, Side::Buy, 25, n as i64)
                        })
                        .collect();
                    (engine, takers)
                },
                |(engine, takers)| {
                    for taker in takers.iter() {
                        black_box(engine.submit(taker).len());
                    }
                },
            )
        })
    });
}

enum StreamOp {
    Submit(OrderRequest),
    Cancel(u64),
}

/// 60 % new passive orders, 30 % cancels of an earlier order (which may have been filled
/// meanwhile, as on a real venue), 10 % marketable limit orders two ticks through the touch.
fn mixed_stream(count: u64, seed: u64) -> Vec<StreamOp> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut earlier: Vec<u64> = Vec::new();
    let mut next_id = 6_000_000;
    (0..count)
        .map(|n| {
            let roll = rng.random_range(0..100);
            if roll < 30 && !earlier.is_empty() {
                let at = rng.random_range(0..earlier.len());
                return StreamOp::Cancel(earlier.swap_remove(at));
            }
            let side = if rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let offset = if roll >= 90 {
                -2
            } else {
                rng.random_range(1..=20)
            };
            let price = match side {
                Side::Buy => MID - offset,
                Side::Sell => MID + offset,
            };
            let quantity = rng.random_range(1..=30);
            let owner = rng.random_range(0..64);
            next_id += 1;
            earlier.push(next_id);
            StreamOp::Submit(OrderRequest::limit(
                next_id, owner, 0, side, price, quantity, n as i64,
            ))
        })
        .collect()
}

fn bench_mixed_stream(c: &mut Criterion) {
    let book = deep_book();
    c.bench_function("matching/mixed_stream_op", |b| {
        b.iter_custom(|iters| {
            batched(
                iters,
                |done, count| (book.clone(), mixed_stream(count, done)),
                |(engine, stream)| {
                    for op in stream.iter() {
                        let events = match op {
                            StreamOp::Submit(order) => engine.submit(order),
                            StreamOp::Cancel(id) => engine.cancel(*id, 1),
                        };
                        black_box(events.len());
                    }
                },
            )
        })
    });
}

criterion_group!(
    benches,
    bench_submit_resting,
    bench_cancel,
    bench_aggressive,
    bench_mixed_stream
);
criterion_main!(benches);
