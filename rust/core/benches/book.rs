//! ns per L2 delta and per L3 add / cancel / execute on a realistic 1M-event stream from the
//! seeded order-flow model (activity concentrated near the touch, deep queues).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use hftcore_core::book::{OrderBookL2, OrderBookL3};
use hftcore_core::replay::synthetic::{l2_from_l3, OrderFlowModel};
use hftcore_core::replay::{apply_l2, apply_l3, ErrorPolicy, L3MessageRecord, ACTION_ADD};
use hftcore_core::Side;
use std::hint::black_box;

const EVENTS: usize = 1_000_000;
const WINDOW: usize = 20_000;

fn stream() -> Vec<L3MessageRecord> {
    OrderFlowModel::default()
        .generate_l3(EVENTS)
        .expect("valid model")
}

fn side(record: &L3MessageRecord) -> Side {
    if record.side == 0 {
        Side::Buy
    } else {
        Side::Sell
    }
}

fn books(criterion: &mut Criterion) {
    let messages = stream();
    let deltas = l2_from_l3(&mut OrderBookL3::new(), &messages, 1).expect("consistent");

    let mut group = criterion.benchmark_group("book");
    group.sample_size(10);

    group.throughput(Throughput::Elements(deltas.len() as u64));
    group.bench_function("l2_delta", |bench| {
        bench.iter_batched_ref(
            OrderBookL2::new,
            |book| {
                for delta in &deltas {
                    let side = if delta.side == 0 {
                        Side::Buy
                    } else {
                        Side::Sell
                    };
                    let _ = black_box(book.apply_delta(side, delta.price, delta.quantity));
                }
            },
            BatchSize::LargeInput,
        )
    });

    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("l3_replay_mixed", |bench| {
        bench.iter_batched_ref(
            OrderBookL3::new,
            |book| black_box(apply_l3(book, &messages, ErrorPolicy::Skip, None)),
            BatchSize::LargeInput,
        )
    });

    // Per action, on the book as the stream leaves it halfway (thousands of orders, deep queues
    // at the touch): the next window of the stream's adds; cancels of every live order in a
    // seeded random order; executions of the front order at the touch, as market orders do.
    let (warm_up, rest) = messages.split_at(EVENTS / 2);
    let mut warm = OrderBookL3::new();
    apply_l3(&mut warm, warm_up, ErrorPolicy::Raise, None);
    let adds: Vec<_> = rest
        .iter()
        .filter(|m| m.action == ACTION_ADD)
        .take(WINDOW)
        .copied()
        .collect();
    group.throughput(Throughput::Elements(adds.len() as u64));
    group.bench_function("l3_add", |bench| {
        bench.iter_batched_ref(
            || {
                // Sized for the window, as a replay would pre-size it: growth is not an add.
                let mut book = warm.clone();
                book.reserve(adds.len());
                book
            },
            |book| {
                for add in &adds {
                    let _ = black_box(book.add(add.order_id, side(add), add.price, add.quantity));
                }
            },
            BatchSize::LargeInput,
        )
    });
    let warm_book = &warm;
    let mut live: Vec<u64> = [Side::Buy, Side::Sell]
        .iter()
        .flat_map(|&side| {
            let prices: Vec<_> = warm_book.levels(side).map(|(price, _)| price).collect();
            prices
                .into_iter()
                .flat_map(move |price| warm_book.queue(side, price))
        })
        .map(|order| order.order_id)
        .collect();
    // A fixed shuffle (multiplicative hashing of positions) keeps the run reproducible.
    live.sort_by_key(|id| id.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    group.throughput(Throughput::Elements(live.len() as u64));
    group.bench_function("l3_cancel", |bench| {
        bench.iter_batched_ref(
            || warm.clone(),
            |book| {
                for &order_id in &live {
                    let _ = black_box(book.cancel(order_id));
                }
            },
            BatchSize::LargeInput,
        )
    });
    let executions = warm.order_count() / 2;
    group.throughput(Throughput::Elements(executions as u64));
    group.bench_function("l3_execute", |bench| {
        bench.iter_batched_ref(
            || warm.clone(),
            |book| {
                for step in 0..executions {
                    let side = if step % 2 == 0 { Side::Buy } else { Side::Sell };
                    let Some(front) = book.front(side) else { break };
                    let _ = black_box(book.execute(front.order_id, front.quantity));
                }
            },
            BatchSize::LargeInput,
        )
    });

    group.throughput(Throughput::Elements(deltas.len() as u64));
    group.bench_function("l2_bulk_replay", |bench| {
        bench.iter_batched_ref(
            OrderBookL2::new,
            |book| black_box(apply_l2(book, &deltas, ErrorPolicy::Skip, None)),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, books);
criterion_main!(benches);
