//! Simulated-venue replay throughput (market data records per second) on a 1M-message stream
//! from the seeded order-flow model, with and without a quoting strategy keeping resting
//! orders near the touch: the strategy wakes every `CHUNK` records and re-quotes what filled.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hftcore_core::matching::simulated::{
    l2_replay_from_l3, L2FeedColumns, LatencyDistribution, LatencyModel, NewOrder, QueueModel,
    SimulatedVenue, TradeRecord, VenueConfig,
};
use hftcore_core::matching::{OrderEvent, TimeInForce};
use hftcore_core::replay::synthetic::OrderFlowModel;
use hftcore_core::replay::{ErrorPolicy, L2DeltaRecord, L3MessageRecord};
use hftcore_core::{InstrumentSpec, Side};
use std::hint::black_box;

const EVENTS: usize = 1_000_000;
const CHUNK: usize = 1_000;
/// Resting orders per side, one per tick from the touch outward.
const QUOTES: i64 = 5;

fn spec() -> InstrumentSpec {
    InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000000", "0", "-0.0001", "0.0002")
        .expect("valid spec")
}

fn jitter(mean: f64, seed: u64) -> LatencyModel {
    LatencyModel::Random {
        distribution: LatencyDistribution::LogNormal {
            mu: mean.ln(),
            sigma: 0.5,
        },
        seed,
    }
}

fn configs() -> Vec<(&'static str, VenueConfig)> {
    vec![
        ("l2_risk_averse", VenueConfig::l2(QueueModel::RiskAverse)),
        (
            "l2_power_latency_impact",
            VenueConfig {
                feed_latency: jitter(20_000.0, 1),
                order_latency: jitter(30_000.0, 2),
                response_latency: jitter(30_000.0, 3),
                market_impact: true,
                seed: 4,
                ..VenueConfig::l2(QueueModel::Power(2.0))
            },
        ),
        ("l3_fifo", VenueConfig::l3()),
    ]
}

/// Keeps `QUOTES` one-lot orders per side at the touch and the ticks behind it.
fn quote(venue: &mut SimulatedVenue, next_id: &mut u64, events: &mut Vec<OrderEvent>) {
    let ts = venue.now();
    let open = venue.open_orders();
    for (side, best) in [
        (Side::Buy, venue.best_bid()),
        (Side::Sell, venue.best_ask()),
    ] {
        let Some((touch, _)) = best else { continue };
        for offset in 0..QUOTES {
            let price = touch - side.sign() * offset;
            if open
                .iter()
                .any(|order| order.side == side && order.price == price)
            {
                continue;
            }
            *next_id += 1;
            let order = NewOrder::limit(*next_id, side, price, 1, TimeInForce::Gtc);
            venue.submit(ts, order, events).expect("valid order");
        }
    }
}

fn run_l2(
    config: &VenueConfig,
    deltas: &[L2DeltaRecord],
    trades: &[TradeRecord],
    quoting: bool,
) -> usize {
    let mut venue = SimulatedVenue::new(spec(), config.clone()).expect("valid config");
    let mut events = Vec::new();
    let mut next_id = 0;
    let mut trade_start = 0;
    for (chunk, slice) in deltas.chunks(CHUNK).enumerate() {
        let next_ts = deltas
            .get((chunk + 1) * CHUNK)
            .map_or(i64::MAX, |delta| delta.ts_event);
        let trade_end =
            trade_start + trades[trade_start..].partition_point(|t| t.ts_event < next_ts);
        venue
            .replay_l2(
                slice,
                &trades[trade_start..trade_end],
                ErrorPolicy::Skip,
                &mut events,
                L2FeedColumns::default(),
            )
            .expect("skip policy");
        trade_start = trade_end;
        if quoting {
            quote(&mut venue, &mut next_id, &mut events);
        }
        events.clear();
    }
    next_id as usize
}

fn run_l3(config: &VenueConfig, messages: &[L3MessageRecord], quoting: bool) -> usize {
    let mut venue = SimulatedVenue::new(spec(), config.clone()).expect("valid config");
    let mut events = Vec::new();
    let mut next_id = 0;
    for slice in messages.chunks(CHUNK) {
        venue
            .replay_l3(slice, ErrorPolicy::Skip, &mut events, None)
            .expect("skip policy");
        if quoting {
            quote(&mut venue, &mut next_id, &mut events);
        }
        events.clear();
    }
    next_id as usize
}

fn venue_replay(criterion: &mut Criterion) {
    let messages = OrderFlowModel::default()
        .generate_l3(EVENTS)
        .expect("valid model");
    let (deltas, trades) = l2_replay_from_l3(&messages).expect("consistent stream");

    let mut group = criterion.benchmark_group("venue");
    group.sample_size(10);
    for (name, config) in configs() {
        for quoting in [false, true] {
            let label = format!("{name}/{}", if quoting { "quoting" } else { "no_orders" });
            if name.starts_with("l3") {
                group.throughput(Throughput::Elements(messages.len() as u64));
                group.bench_function(&label, |bench| {
                    bench.iter(|| black_box(run_l3(&config, &messages, quoting)))
                });
            } else {
                group.throughput(Throughput::Elements((deltas.len() + trades.len()) as u64));
                group.bench_function(&label, |bench| {
                    bench.iter(|| black_box(run_l2(&config, &deltas, &trades, quoting)))
                });
            }
        }
    }
    group.finish();
}

criterion_group!(benches, venue_replay);
criterion_main!(benches);
