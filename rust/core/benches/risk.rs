//! Nanoseconds per pre-trade risk check with every limit configured, over 16 instruments and
//! 500 resting orders: an approval (the order opens; batches are closed again outside the timed
//! section), a rejection at the position limit (late in the check order) and a cancel check.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use hftcore_core::risk::{
    AccountLimits, InstrumentLimits, OrderRequest, PriceCollar, RejectReason, RiskDecision,
    RiskGate, ThrottleLimit,
};
use hftcore_core::types::MONEY_SCALE;
use hftcore_core::{InstrumentSpec, Side};

const INSTRUMENTS: u32 = 16;
const RESTING_ORDERS: u64 = 500;
const BATCH: u64 = 1_000;

fn money(units: i128) -> i128 {
    units * 10i128.pow(MONEY_SCALE)
}

fn configured_gate() -> RiskGate {
    let mut gate = RiskGate::new(AccountLimits {
        max_open_orders: 2_000,
        max_gross_exposure: Some(money(100_000_000)),
        max_net_exposure: Some(money(100_000_000)),
        order_rate: Some(ThrottleLimit::per_second(1_000_000, 1_000_000)),
        cancel_rate: Some(ThrottleLimit::per_second(1_000_000, 1_000_000)),
        daily_loss_limit: Some(money(1_000_000)),
        ..Default::default()
    })
    .expect("valid limits");
    for instrument in 0..INSTRUMENTS {
        let index = gate
            .register_instrument(
                InstrumentSpec::simple("0.01", 2, "1", 0),
                InstrumentLimits {
                    max_order_quantity: Some(1_000),
                    max_order_notional: Some(money(1_000_000)),
                    price_collar: PriceCollar::Bps(500),
                    max_long_position: Some(10_000),
                    max_short_position: Some(10_000),
                },
            )
            .expect("valid limits");
        assert_eq!(index, instrument);
        gate.on_price(index, 10_000, 0).expect("valid price");
    }
    for order_id in 0..RESTING_ORDERS {
        let order = OrderRequest {
            order_id: 1_000_000 + order_id,
            instrument: (order_id % u64::from(INSTRUMENTS)) as u32,
            side: if order_id % 2 == 0 {
                Side::Buy
            } else {
                Side::Sell
            },
            price: 10_000,
            quantity: 1,
        };
        gate.add_open_order(&order).expect("well-formed");
    }
    gate
}

fn risk_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("risk");

    let mut gate = configured_gate();
    let mut ts = 0i64;
    group.bench_function("check_order_approved", |b| {
        b.iter_custom(|iterations| {
            let mut timed = Duration::ZERO;
            let mut remaining = iterations;
            while remaining > 0 {
                let batch = remaining.min(BATCH);
                let start = Instant::now();
                for order_id in 0..batch {
                    ts += 1_000;
                    let order = OrderRequest {
                        order_id,
                        instrument: (order_id % u64::from(INSTRUMENTS)) as u32,
                        side: Side::Buy,
                        price: 10_010,
                        quantity: 5,
                    };
                    let decision = gate.check_order(black_box(&order), black_box(ts));
                    assert_eq!(decision, Ok(RiskDecision::Approved));
                }
                timed += start.elapsed();
                for order_id in 0..batch {
                    gate.on_order_closed(order_id).expect("approved order");
                }
                remaining -= batch;
            }
            timed
        })
    });

    let mut gate = configured_gate();
    gate.set_position(3, 9_500, money(9_500 * 100))
        .expect("consistent position");
    let rejected = OrderRequest {
        order_id: 42,
        instrument: 3,
        side: Side::Buy,
        price: 10_010,
        quantity: 900,
    };
    assert_eq!(
        gate.check_order(&rejected, 0),
        Ok(RiskDecision::Rejected(RejectReason::MaxLongPosition))
    );
    group.bench_function("check_order_rejected_at_position_limit", |b| {
        b.iter(|| gate.check_order(black_box(&rejected), black_box(0)))
    });

    let mut gate = configured_gate();
    assert_eq!(gate.check_cancel(1_000_007, 0), Ok(RiskDecision::Approved));
    let mut ts = 0i64;
    group.bench_function("check_cancel", |b| {
        b.iter(|| {
            ts += 1_000;
            gate.check_cancel(black_box(1_000_007), black_box(ts))
        })
    });
    group.finish();
}

criterion_group!(benches, risk_check);
criterion_main!(benches);
