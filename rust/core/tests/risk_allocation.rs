//! The check path and the event handlers allocate nothing once the gate is set up: a counting
//! global allocator sees zero allocations on this thread while orders are checked (approved and
//! rejected), cancels checked, prices, fills and closes applied.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use hftcore_core::risk::{
    AccountLimits, InstrumentLimits, OrderRequest, PriceCollar, RejectReason, RiskDecision,
    RiskGate, ThrottleLimit,
};
use hftcore_core::types::MONEY_SCALE;
use hftcore_core::{InstrumentSpec, Side};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn checking_orders_and_following_events_allocates_nothing() {
    const MAX_OPEN: u32 = 64;
    let money = |units: i128| units * 10i128.pow(MONEY_SCALE);
    let mut gate = RiskGate::new(AccountLimits {
        max_open_orders: MAX_OPEN,
        max_gross_exposure: Some(money(1_000_000)),
        max_net_exposure: Some(money(1_000_000)),
        order_rate: Some(ThrottleLimit::per_second(1_000, 1_000)),
        cancel_rate: Some(ThrottleLimit::per_second(1_000, 1_000)),
        daily_loss_limit: Some(money(1_000_000)),
        ..Default::default()
    })
    .expect("valid limits");
    let spec = InstrumentSpec::simple("0.01", 2, "1", 0);
    let limits = InstrumentLimits {
        max_order_quantity: Some(100),
        price_collar: PriceCollar::Bps(500),
        max_long_position: Some(10_000),
        max_short_position: Some(10_000),
        ..Default::default()
    };
    let instrument = gate.register_instrument(spec, limits).expect("valid");
    gate.on_price(instrument, 10_000, 0).expect("valid");
    gate.start_day(0);

    let before = allocations();
    let mut approved = 0;
    let mut rejected = 0;
    for round in 0..20_000u64 {
        let ts = round as i64 * 1_000_000;
        let order_id = round + 1;
        let side = if round % 2 == 0 {
            Side::Buy
        } else {
            Side::Sell
        };
        // Every fifth order is outside the collar.
        let price = if round % 5 == 4 { 20_000 } else { 10_000 };
        let order = OrderRequest {
            order_id,
            instrument,
            side,
            price,
            quantity: 1 + (round % 7) as i64,
        };
        match gate.check_order(&order, ts).expect("well-formed") {
            RiskDecision::Approved => approved += 1,
            RiskDecision::Rejected(reason) => {
                assert_eq!(reason, RejectReason::PriceCollar);
                rejected += 1;
                continue;
            }
        }
        assert_eq!(
            gate.check_cancel(order_id, ts).expect("open order"),
            RiskDecision::Approved
        );
        gate.on_price(instrument, 10_000 + (round % 11) as i64 - 5, ts)
            .expect("valid");
        match round % 3 {
            0 => gate.on_fill(order_id, price, 1, 0, ts).map(|_| ()),
            1 => gate.on_order_closed(order_id).map(|_| ()),
            _ => Ok(()),
        }
        .expect("open order");
        if gate.open_order_count() + 1 >= MAX_OPEN as usize {
            let oldest = gate.open_orders().next().map(|o| o.order_id).expect("open");
            gate.on_order_closed(oldest).expect("open order");
        }
    }
    let allocated = allocations() - before;
    assert!(approved > 10_000 && rejected > 3_000);
    assert_eq!(allocated, 0, "the risk gate allocated {allocated} times");
}
