//! Behaviour of the gate, one check or event at a time. Prices are in ticks of 0.01 and
//! quantities in lots of 1, so 10_000 ticks is 100.00 and one lot there is worth 100.

use super::*;
use crate::types::{InstrumentSpec, Money, Side, MONEY_SCALE};

const SECOND: i64 = 1_000_000_000;
const PRICE: i64 = 10_000;

fn cash(units: i64) -> Money {
    i128::from(units) * 10i128.pow(MONEY_SCALE)
}

fn spec() -> InstrumentSpec {
    InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000", "5", "0", "0").expect("valid spec")
}

fn gate_with(account: AccountLimits, instrument: InstrumentLimits) -> RiskGate {
    let mut gate = RiskGate::new(account).expect("valid account limits");
    let index = gate
        .register_instrument(spec(), instrument)
        .expect("valid instrument limits");
    gate.on_price(index, PRICE, 0).expect("valid price");
    gate
}

fn gate() -> RiskGate {
    gate_with(AccountLimits::default(), InstrumentLimits::default())
}

fn order(order_id: u64, side: Side, price: i64, quantity: i64) -> OrderRequest {
    OrderRequest {
        order_id,
        instrument: 0,
        side,
        price,
        quantity,
    }
}

fn check(gate: &mut RiskGate, order: OrderRequest) -> RiskDecision {
    gate.check_order(&order, 0).expect("well-formed order")
}

fn rejected(reason: RejectReason) -> RiskDecision {
    RiskDecision::Rejected(reason)
}

/// Everything observable about the gate, to show that a call changed nothing.
fn snapshot(gate: &RiskGate) -> String {
    format!("{gate:?}")
}

#[test]
fn an_approved_order_is_open_and_counts_at_once() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 3)),
        RiskDecision::Approved
    );
    assert_eq!(gate.open_order_count(), 1);
    let position = gate.position(0).expect("known instrument");
    assert_eq!(position.open_buy_quantity, 3);
    assert_eq!(position.open_sell_quantity, 0);
    assert_eq!(gate.gross_exposure(), cash(300));
    assert_eq!(
        gate.open_order(1),
        Some(OpenOrder {
            order_id: 1,
            instrument: 0,
            side: Side::Buy,
            open_quantity: 3
        })
    );
}

#[test]
fn instrument_rules_reject_quantity_out_of_range_and_small_notional() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1001)),
        rejected(RejectReason::QuantityOutOfRange)
    );
    // 1 lot at 4.99 is below the minimum notional of 5.
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, 499, 1)),
        rejected(RejectReason::BelowMinNotional)
    );
    assert_eq!(gate.open_order_count(), 0);
}

#[test]
fn order_size_limits_reject_large_orders() {
    let limits = InstrumentLimits {
        max_order_quantity: Some(10),
        max_order_notional: Some(cash(500)),
        ..Default::default()
    };
    let mut gate = gate_with(AccountLimits::default(), limits);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 11)),
        rejected(RejectReason::MaxOrderQuantity)
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 6)),
        rejected(RejectReason::MaxOrderNotional)
    );
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE, 5)),
        RiskDecision::Approved
    );
}

#[test]
fn an_instrument_without_a_reference_price_cannot_trade() {
    let mut gate = RiskGate::new(AccountLimits::default()).expect("valid");
    gate.register_instrument(spec(), InstrumentLimits::default())
        .expect("valid");
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        rejected(RejectReason::NoReferencePrice)
    );
}

#[test]
fn the_collar_rejects_prices_far_from_the_reference() {
    let bps = InstrumentLimits {
        price_collar: PriceCollar::Bps(100),
        ..Default::default()
    };
    let mut gate = gate_with(AccountLimits::default(), bps);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE + 101, 1)),
        rejected(RejectReason::PriceCollar)
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Sell, PRICE - 101, 1)),
        rejected(RejectReason::PriceCollar)
    );
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE + 100, 1)),
        RiskDecision::Approved
    );
    let ticks = InstrumentLimits {
        price_collar: PriceCollar::Ticks(5),
        ..Default::default()
    };
    let mut gate = gate_with(AccountLimits::default(), ticks);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE - 6, 1)),
        rejected(RejectReason::PriceCollar)
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE - 5, 1)),
        RiskDecision::Approved
    );
}

#[test]
fn position_limits_count_the_position_and_open_orders_on_the_same_side() {
    let limits = InstrumentLimits {
        max_long_position: Some(10),
        max_short_position: Some(4),
        ..Default::default()
    };
    let mut gate = gate_with(AccountLimits::default(), limits);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 6)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 6, 0, 0).expect("open order");
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 3)),
        RiskDecision::Approved
    );
    // Position 6 + open buys 3 + 2 = 11 > 10.
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE, 2)),
        rejected(RejectReason::MaxLongPosition)
    );
    assert_eq!(
        check(&mut gate, order(4, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    // Selling 10 from a long 6 leaves short 4: allowed; open sells then count.
    assert_eq!(
        check(&mut gate, order(5, Side::Sell, PRICE, 10)),
        RiskDecision::Approved
    );
    assert_eq!(
        check(&mut gate, order(6, Side::Sell, PRICE, 1)),
        rejected(RejectReason::MaxShortPosition)
    );
    // Closing an open buy frees long capacity.
    gate.on_order_closed(2).expect("open order");
    assert_eq!(
        check(&mut gate, order(7, Side::Buy, PRICE, 3)),
        RiskDecision::Approved
    );
}

#[test]
fn exposure_limits_refuse_only_orders_that_raise_exposure() {
    let account = AccountLimits {
        max_gross_exposure: Some(cash(1_000)),
        max_net_exposure: Some(cash(800)),
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 6)),
        RiskDecision::Approved
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 3)),
        rejected(RejectReason::MaxNetExposure)
    );
    // Worst cases: all buys fill (long 6, 600) or all sells fill (short 8, 800).
    assert_eq!(
        check(&mut gate, order(3, Side::Sell, PRICE, 8)),
        RiskDecision::Approved
    );
    assert_eq!(gate.gross_exposure(), cash(800));
    assert_eq!(gate.net_exposure(), cash(800).unsigned_abs());
    assert_eq!(
        check(&mut gate, order(4, Side::Sell, PRICE, 3)),
        rejected(RejectReason::MaxGrossExposure)
    );
    gate.on_order_closed(3).expect("open order");
    gate.on_fill(1, PRICE, 6, 0, 0).expect("open order");
    // The price doubles: long 6 is now worth 1200, over both limits. Selling still passes.
    gate.on_price(0, 2 * PRICE, SECOND).expect("valid price");
    assert_eq!(gate.gross_exposure(), cash(1_200));
    assert_eq!(
        check(&mut gate, order(5, Side::Buy, 2 * PRICE, 1)),
        rejected(RejectReason::MaxGrossExposure)
    );
    assert_eq!(
        check(&mut gate, order(6, Side::Sell, 2 * PRICE, 2)),
        RiskDecision::Approved
    );
}

#[test]
fn the_open_order_count_is_limited() {
    let account = AccountLimits {
        max_open_orders: 2,
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE, 1)),
        rejected(RejectReason::MaxOpenOrders)
    );
    gate.on_fill(1, PRICE, 1, 0, 0).expect("open order");
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
}

#[test]
fn the_order_rate_throttle_takes_tokens_only_for_approved_orders() {
    let account = AccountLimits {
        order_rate: Some(ThrottleLimit::per_second(2, 1)),
        ..Default::default()
    };
    let limits = InstrumentLimits {
        max_order_quantity: Some(5),
        ..Default::default()
    };
    let mut gate = gate_with(account, limits);
    assert_eq!(
        gate.check_order(&order(1, Side::Buy, PRICE, 9), 0),
        Ok(rejected(RejectReason::MaxOrderQuantity))
    );
    assert_eq!(gate.order_tokens(0), Some(2));
    assert_eq!(
        gate.check_order(&order(2, Side::Buy, PRICE, 1), 0),
        Ok(RiskDecision::Approved)
    );
    assert_eq!(
        gate.check_order(&order(3, Side::Buy, PRICE, 1), 0),
        Ok(RiskDecision::Approved)
    );
    assert_eq!(
        gate.check_order(&order(4, Side::Buy, PRICE, 1), SECOND / 2),
        Ok(rejected(RejectReason::OrderRate))
    );
    assert_eq!(gate.open_order_count(), 2);
    assert_eq!(
        gate.check_order(&order(4, Side::Buy, PRICE, 1), SECOND),
        Ok(RiskDecision::Approved)
    );
}

#[test]
fn the_first_failing_check_decides() {
    let limits = InstrumentLimits {
        max_order_quantity: Some(5),
        price_collar: PriceCollar::Ticks(1),
        max_long_position: Some(1),
        ..Default::default()
    };
    let mut gate = gate_with(AccountLimits::default(), limits);
    let bad_everything = order(1, Side::Buy, PRICE + 50, 9);
    assert_eq!(
        check(&mut gate, bad_everything),
        rejected(RejectReason::MaxOrderQuantity)
    );
    gate.set_trading_state(TradingState::Halted);
    assert_eq!(
        check(&mut gate, bad_everything),
        rejected(RejectReason::TradingHalted)
    );
    gate.engage_kill_switch();
    assert_eq!(
        check(&mut gate, bad_everything),
        rejected(RejectReason::KillSwitch)
    );
}

#[test]
fn kill_switch_and_halt_block_orders_until_reset() {
    let mut gate = gate();
    gate.engage_kill_switch();
    assert!(gate.kill_switch_engaged());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        rejected(RejectReason::KillSwitch)
    );
    gate.reset_kill_switch();
    gate.set_trading_state(TradingState::Halted);
    assert_eq!(gate.trading_state(), TradingState::Halted);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        rejected(RejectReason::TradingHalted)
    );
    gate.set_trading_state(TradingState::Active);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
}

#[test]
fn reducing_admits_only_orders_that_cannot_grow_or_flip_the_position() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 10, 0, 0).expect("open order");
    assert_eq!(
        check(&mut gate, order(2, Side::Sell, PRICE, 4)),
        RiskDecision::Approved
    );
    gate.set_trading_state(TradingState::Reducing);
    assert_eq!(
        check(&mut gate, order(3, Side::Buy, PRICE, 1)),
        rejected(RejectReason::ReduceOnly)
    );
    // Long 10 with 4 already offered: selling 7 more could leave the account short.
    assert_eq!(
        check(&mut gate, order(4, Side::Sell, PRICE, 7)),
        rejected(RejectReason::ReduceOnly)
    );
    assert_eq!(
        check(&mut gate, order(5, Side::Sell, PRICE, 6)),
        RiskDecision::Approved
    );
}

#[test]
fn rejections_and_malformed_requests_change_nothing() {
    let account = AccountLimits {
        order_rate: Some(ThrottleLimit::per_second(5, 1)),
        ..Default::default()
    };
    let limits = InstrumentLimits {
        max_order_quantity: Some(5),
        ..Default::default()
    };
    let mut gate = gate_with(account, limits);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    let before = snapshot(&gate);
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 6)),
        rejected(RejectReason::MaxOrderQuantity)
    );
    let malformed = [
        (order(2, Side::Buy, 0, 1), RiskError::NonPositivePrice(0)),
        (
            order(2, Side::Buy, PRICE, -1),
            RiskError::NonPositiveQuantity(-1),
        ),
        (order(1, Side::Sell, PRICE, 1), RiskError::DuplicateOrder(1)),
        (
            OrderRequest {
                instrument: 7,
                ..order(2, Side::Buy, PRICE, 1)
            },
            RiskError::UnknownInstrument(7),
        ),
    ];
    for (request, error) in malformed {
        assert_eq!(gate.check_order(&request, 0), Err(error));
    }
    assert_eq!(
        gate.on_fill(9, PRICE, 1, 0, 0),
        Err(RiskError::UnknownOrder(9))
    );
    assert_eq!(
        gate.on_fill(1, 0, 1, 0, 0),
        Err(RiskError::NonPositivePrice(0))
    );
    assert_eq!(
        gate.on_fill(1, PRICE, 0, 0, 0),
        Err(RiskError::NonPositiveQuantity(0))
    );
    assert_eq!(
        gate.on_fill(1, PRICE, 2, 0, 0),
        Err(RiskError::Overfill {
            order_id: 1,
            open: 1,
            fill: 2
        })
    );
    assert_eq!(gate.on_order_closed(9), Err(RiskError::UnknownOrder(9)));
    assert_eq!(
        gate.on_price(3, PRICE, 0),
        Err(RiskError::UnknownInstrument(3))
    );
    assert_eq!(
        gate.on_price(0, -5, 0),
        Err(RiskError::NonPositivePrice(-5))
    );
    assert_eq!(gate.check_cancel(9, 0), Err(RiskError::UnknownOrder(9)));
    assert_eq!(
        gate.set_position(0, 5, 0),
        Err(RiskError::InconsistentPosition {
            position: 5,
            cost_basis: 0
        })
    );
    assert_eq!(
        gate.add_open_order(&order(1, Side::Buy, PRICE, 1)),
        Err(RiskError::DuplicateOrder(1))
    );
    assert!(gate
        .set_account_limits(AccountLimits {
            max_open_orders: 0,
            ..Default::default()
        })
        .is_err());
    assert!(gate
        .set_instrument_limits(
            0,
            InstrumentLimits {
                max_order_quantity: Some(-1),
                ..Default::default()
            }
        )
        .is_err());
    assert!(matches!(
        gate.set_instrument_limits(4, InstrumentLimits::default()),
        Err(SetLimitsError::Risk(RiskError::UnknownInstrument(4)))
    ));
    assert_eq!(snapshot(&gate), before);
}

#[test]
fn fills_move_the_position_and_pnl_and_complete_fills_close_the_order() {
    let mut gate = gate();
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 4, cash(1), 0).expect("open order");
    assert_eq!(gate.open_order(1).map(|o| o.open_quantity), Some(6));
    gate.on_fill(1, PRICE + 100, 6, 0, 0).expect("open order");
    assert_eq!(gate.open_order(1), None);
    let position = gate.position(0).expect("known");
    assert_eq!(position.position.position, 10);
    assert_eq!(position.open_buy_quantity, 0);
    // Bought 4 at 100 and 6 at 101; marked at 100: unrealized -6, realized -1 (the fee).
    assert_eq!(gate.unrealized_pnl(), cash(-6));
    assert_eq!(gate.realized_pnl(), cash(-1));
    assert_eq!(
        check(&mut gate, order(2, Side::Sell, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(2, PRICE + 200, 10, 0, 0).expect("open order");
    assert_eq!(gate.realized_pnl(), cash(-1 + 20 - 6));
    assert_eq!(gate.unrealized_pnl(), 0);
    assert_eq!(gate.position(0).map(|p| p.position.position), Ok(0));
}

#[test]
fn a_loss_past_the_daily_limit_trips_the_breaker_and_records_why() {
    let account = AccountLimits {
        daily_loss_limit: Some(cash(100)),
        cancel_rate: Some(ThrottleLimit::per_second(1, 1)),
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    gate.start_day(0);
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 10, 0, SECOND).expect("open order");
    assert_eq!(
        check(&mut gate, order(2, Side::Sell, PRICE + 500, 1)),
        RiskDecision::Approved
    );
    // 10 long, down 9.99 each: a loss of 99.90 does not trip.
    gate.on_price(0, PRICE - 999, 2 * SECOND).expect("valid");
    assert_eq!(gate.circuit_breaker_trip(), None);
    gate.on_price(0, PRICE - 1000, 3 * SECOND).expect("valid");
    assert_eq!(gate.trading_state(), TradingState::Halted);
    assert_eq!(gate.operator_trading_state(), TradingState::Active);
    assert_eq!(
        gate.circuit_breaker_trip(),
        Some(CircuitBreakerTrip {
            ts: 3 * SECOND,
            reason: RejectReason::DailyLossLimit,
            state: TradingState::Halted,
            daily_pnl: cash(-100),
            daily_loss_limit: cash(100),
            realized_pnl: 0,
            unrealized_pnl: cash(-100),
        })
    );
    assert_eq!(
        check(&mut gate, order(3, Side::Sell, PRICE - 1000, 1)),
        rejected(RejectReason::DailyLossLimit)
    );
    // Cancels still pass, even beyond the cancel rate.
    assert_eq!(gate.check_cancel(2, 0), Ok(RiskDecision::Approved));
    assert_eq!(gate.check_cancel(2, 0), Ok(RiskDecision::Approved));
    // The price recovering does not re-arm the breaker; a new day does.
    gate.on_price(0, PRICE, 4 * SECOND).expect("valid");
    assert_eq!(gate.trading_state(), TradingState::Halted);
    gate.start_day(5 * SECOND);
    assert_eq!(gate.trading_state(), TradingState::Active);
    assert_eq!(gate.daily_pnl(), 0);
}

#[test]
fn a_reducing_breaker_still_admits_orders_that_reduce() {
    let account = AccountLimits {
        daily_loss_limit: Some(cash(50)),
        circuit_breaker_state: TradingState::Reducing,
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 10, 0, 0).expect("open order");
    gate.on_price(0, PRICE - 500, SECOND).expect("valid");
    assert_eq!(gate.trading_state(), TradingState::Reducing);
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE - 500, 1)),
        rejected(RejectReason::DailyLossLimit)
    );
    assert_eq!(
        check(&mut gate, order(3, Side::Sell, PRICE - 500, 10)),
        RiskDecision::Approved
    );
}

#[test]
fn resetting_the_breaker_rearms_it_against_the_current_loss() {
    let account = AccountLimits {
        daily_loss_limit: Some(cash(50)),
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 10)),
        RiskDecision::Approved
    );
    gate.on_fill(1, PRICE, 10, 0, 0).expect("open order");
    gate.on_price(0, PRICE - 500, SECOND).expect("valid");
    assert!(gate.circuit_breaker_trip().is_some());
    gate.reset_circuit_breaker(2 * SECOND);
    assert_eq!(gate.circuit_breaker_trip().map(|t| t.ts), Some(2 * SECOND));
    gate.set_account_limits(AccountLimits {
        daily_loss_limit: Some(cash(1_000)),
        ..Default::default()
    })
    .expect("valid");
    gate.reset_circuit_breaker(3 * SECOND);
    assert_eq!(gate.circuit_breaker_trip(), None);
    // Lowering the limit below the current loss trips at once.
    gate.set_account_limits(AccountLimits {
        daily_loss_limit: Some(cash(10)),
        ..Default::default()
    })
    .expect("valid");
    assert_eq!(gate.circuit_breaker_trip().map(|t| t.ts), Some(3 * SECOND));
}

#[test]
fn cancels_are_throttled_while_active_but_never_blocked_in_an_emergency() {
    let account = AccountLimits {
        cancel_rate: Some(ThrottleLimit::per_second(1, 1)),
        ..Default::default()
    };
    let mut gate = gate_with(account, InstrumentLimits::default());
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    assert_eq!(gate.check_cancel(1, 0), Ok(RiskDecision::Approved));
    assert_eq!(
        gate.check_cancel(1, 0),
        Ok(rejected(RejectReason::CancelRate))
    );
    gate.set_trading_state(TradingState::Reducing);
    assert_eq!(
        gate.check_cancel(1, 0),
        Ok(rejected(RejectReason::CancelRate))
    );
    gate.engage_kill_switch();
    assert_eq!(gate.check_cancel(1, 0), Ok(RiskDecision::Approved));
    gate.reset_kill_switch();
    gate.set_trading_state(TradingState::Halted);
    assert_eq!(gate.check_cancel(1, 0), Ok(RiskDecision::Approved));
    gate.set_trading_state(TradingState::Active);
    assert_eq!(gate.check_cancel(1, SECOND), Ok(RiskDecision::Approved));
    // A cancel does not close the order; the venue's confirmation does.
    assert_eq!(gate.open_order_count(), 1);
}

#[test]
fn restored_orders_and_positions_count_without_moving_daily_pnl() {
    let account = AccountLimits {
        order_rate: Some(ThrottleLimit::per_second(1, 1)),
        ..Default::default()
    };
    let limits = InstrumentLimits {
        max_long_position: Some(10),
        ..Default::default()
    };
    let mut gate = gate_with(account, limits);
    gate.start_day(0);
    // Long 8 bought at 90.00, marked at 100.00.
    gate.set_position(0, 8, cash(720)).expect("consistent");
    assert_eq!(gate.unrealized_pnl(), cash(80));
    assert_eq!(gate.daily_pnl(), 0);
    gate.add_open_order(&order(5, Side::Buy, PRICE, 2))
        .expect("well-formed");
    assert_eq!(gate.order_tokens(0), Some(1));
    assert_eq!(
        check(&mut gate, order(6, Side::Buy, PRICE, 1)),
        rejected(RejectReason::MaxLongPosition)
    );
    gate.on_price(0, PRICE + 100, SECOND).expect("valid");
    assert_eq!(gate.daily_pnl(), cash(8));
}

#[test]
fn decimal_orders_off_the_grid_are_rejected_as_off_grid() {
    let mut gate = gate();
    assert_eq!(
        gate.check_order_values(1, 0, Side::Buy, "100.005", "1", 0),
        Ok(rejected(RejectReason::OffGrid))
    );
    assert_eq!(
        gate.check_order_values(1, 0, Side::Buy, "100.00", "1.5", 0),
        Ok(rejected(RejectReason::OffGrid))
    );
    assert!(matches!(
        gate.check_order_values(1, 0, Side::Buy, "nan", "1", 0),
        Err(RiskError::InvalidValue(_))
    ));
    assert_eq!(
        gate.check_order_values(1, 0, Side::Buy, "100.01", "2", 0),
        Ok(RiskDecision::Approved)
    );
    assert_eq!(gate.position(0).map(|p| p.open_buy_quantity), Ok(2));
}

#[test]
fn raising_max_open_orders_grows_the_table_and_admits_more() {
    let mut gate = gate_with(
        AccountLimits {
            max_open_orders: 1,
            ..Default::default()
        },
        InstrumentLimits::default(),
    );
    assert_eq!(
        check(&mut gate, order(1, Side::Buy, PRICE, 1)),
        RiskDecision::Approved
    );
    assert_eq!(
        check(&mut gate, order(2, Side::Buy, PRICE, 1)),
        rejected(RejectReason::MaxOpenOrders)
    );
    gate.set_account_limits(AccountLimits {
        max_open_orders: 100,
        ..Default::default()
    })
    .expect("valid");
    for id in 2..=100 {
        assert_eq!(
            check(&mut gate, order(id, Side::Buy, PRICE, 1)),
            RiskDecision::Approved
        );
    }
    assert_eq!(gate.open_order_count(), 100);
    assert_eq!(
        check(&mut gate, order(101, Side::Buy, PRICE, 1)),
        rejected(RejectReason::MaxOpenOrders)
    );
}

#[test]
fn amounts_beyond_the_representable_range_are_errors_that_change_nothing() {
    // One tick-lot is worth 10^12 currency units here, so large orders overflow i128 money.
    let huge = InstrumentSpec::new("1000000", 0, "1000000", 0, "1000000", "1e15", "0", "0", "0")
        .expect("valid spec");
    let mut gate = RiskGate::new(AccountLimits::default()).expect("valid");
    gate.register_instrument(huge, InstrumentLimits::default())
        .expect("valid");
    gate.on_price(0, 1, 0).expect("valid");
    let before = snapshot(&gate);
    assert_eq!(
        gate.check_order(&order(1, Side::Buy, i64::MAX, 1_000_000_000), 0),
        Err(RiskError::Overflow)
    );
    assert_eq!(snapshot(&gate), before);
    gate.add_open_order(&order(2, Side::Buy, 1, 1_000_000_000))
        .expect("fits at a price of one tick");
    let before = snapshot(&gate);
    assert_eq!(gate.on_price(0, i64::MAX, 0), Err(RiskError::Overflow));
    assert_eq!(snapshot(&gate), before);
}
