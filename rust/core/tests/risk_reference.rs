//! Property test of the risk gate against a slow, obviously-correct reference model.
//!
//! The model keeps plain lists (open orders, fills) and recomputes positions, open quantities,
//! exposure and P&L from scratch at every step, then applies the documented checks in order.
//! Random sequences of orders, cancels, fills, closes, prices, kill switch, state changes, day
//! starts and breaker resets must produce the same decisions, errors and observable state.

use hftcore_core::risk::{
    AccountLimits, InstrumentLimits, OrderRequest, PriceCollar, RejectReason, RiskDecision,
    RiskError, RiskGate, ThrottleLimit, TradingState,
};
use hftcore_core::types::MONEY_SCALE;
use hftcore_core::{InstrumentSpec, Money, Price, Quantity, Side};
use proptest::prelude::*;

const SECOND: i64 = 1_000_000_000;
const BASE_PRICE: Price = 10_000;

fn cash(units: i64) -> Money {
    i128::from(units) * 10i128.pow(MONEY_SCALE)
}

fn specs() -> Vec<InstrumentSpec> {
    vec![
        InstrumentSpec::new("0.01", 2, "1", 0, "1", "40", "150", "0", "0").expect("valid"),
        InstrumentSpec::new("0.5", 1, "0.001", 3, "0.002", "0.05", "0", "0", "0").expect("valid"),
    ]
}

fn instrument_limits() -> Vec<InstrumentLimits> {
    vec![
        InstrumentLimits {
            max_order_quantity: Some(15),
            max_order_notional: Some(cash(1_200)),
            price_collar: PriceCollar::Bps(200),
            max_long_position: Some(20),
            max_short_position: Some(12),
        },
        InstrumentLimits {
            max_order_quantity: None,
            max_order_notional: None,
            price_collar: PriceCollar::Ticks(150),
            max_long_position: Some(60),
            max_short_position: None,
        },
    ]
}

fn account_limits(breaker_state: TradingState) -> AccountLimits {
    AccountLimits {
        max_open_orders: 6,
        max_gross_exposure: Some(cash(1_600)),
        max_net_exposure: Some(cash(1_500)),
        order_rate: Some(ThrottleLimit {
            capacity: 3,
            refill_microtokens_per_second: 1_500_000,
        }),
        cancel_rate: Some(ThrottleLimit::per_second(2, 1)),
        daily_loss_limit: Some(cash(60)),
        circuit_breaker_state: breaker_state,
    }
}

#[derive(Debug, Clone, Copy)]
struct ModelOrder {
    id: u64,
    instrument: usize,
    side: Side,
    open: Quantity,
}

#[derive(Debug, Clone, Copy)]
struct ModelFill {
    instrument: usize,
    side: Side,
    price: Price,
    quantity: Quantity,
    fee: Money,
}

/// Plain token bucket: a level in 10^-15 tokens, refilled by elapsed time times rate.
#[derive(Debug, Clone)]
struct ModelBucket {
    capacity: u128,
    rate: u128,
    level: u128,
    clock: Option<i64>,
}

impl ModelBucket {
    const TOKEN: u128 = 1_000_000_000_000_000;

    fn new(limit: ThrottleLimit) -> Self {
        let capacity = u128::from(limit.capacity) * Self::TOKEN;
        ModelBucket {
            capacity,
            rate: u128::from(limit.refill_microtokens_per_second),
            level: capacity,
            clock: None,
        }
    }

    fn take(&mut self, ts: i64) -> bool {
        let clock = self.clock.unwrap_or(ts);
        if ts > clock {
            let refill = (ts - clock) as u128 * self.rate;
            self.level = (self.level + refill).min(self.capacity);
        }
        self.clock = Some(clock.max(ts));
        if self.level >= Self::TOKEN {
            self.level -= Self::TOKEN;
            true
        } else {
            false
        }
    }
}

struct Model {
    specs: Vec<InstrumentSpec>,
    limits: Vec<InstrumentLimits>,
    account: AccountLimits,
    marks: Vec<Price>,
    orders: Vec<ModelOrder>,
    fills: Vec<ModelFill>,
    kill_switch: bool,
    operator_state: TradingState,
    breaker: Option<TradingState>,
    day_start_pnl: Money,
    order_bucket: ModelBucket,
    cancel_bucket: ModelBucket,
}

impl Model {
    fn k(&self, instrument: usize) -> i128 {
        self.specs[instrument].notional_per_tick_lot
    }

    fn position(&self, instrument: usize) -> i128 {
        self.fills
            .iter()
            .filter(|f| f.instrument == instrument)
            .map(|f| i128::from(f.side.sign()) * i128::from(f.quantity))
            .sum()
    }

    fn open_quantity(&self, instrument: usize, side: Side) -> i128 {
        self.orders
            .iter()
            .filter(|o| o.instrument == instrument && o.side == side)
            .map(|o| i128::from(o.open))
            .sum()
    }

    /// (gross, net if all buys fill, net if all sells fill), with an optional extra order.
    fn exposure(&self, extra: Option<(usize, Side, Quantity)>) -> (Money, Money, Money) {
        let mut totals = (0, 0, 0);
        for instrument in 0..self.specs.len() {
            let mut buys = self.open_quantity(instrument, Side::Buy);
            let mut sells = self.open_quantity(instrument, Side::Sell);
            if let Some((extra_instrument, side, quantity)) = extra {
                if extra_instrument == instrument {
                    match side {
                        Side::Buy => buys += i128::from(quantity),
                        Side::Sell => sells += i128::from(quantity),
                    }
                }
            }
            let value = |lots: i128| lots * i128::from(self.marks[instrument]) * self.k(instrument);
            let long_case = value(self.position(instrument) + buys);
            let short_case = value(self.position(instrument) - sells);
            totals.0 += long_case.abs().max(short_case.abs());
            totals.1 += long_case;
            totals.2 += short_case;
        }
        totals
    }

    /// Cash flows of every fill plus every position at its mark: total P&L, computed without
    /// any average cost.
    fn total_pnl(&self) -> Money {
        let cash_flow: Money = self
            .fills
            .iter()
            .map(|f| {
                -i128::from(f.side.sign())
                    * i128::from(f.price)
                    * i128::from(f.quantity)
                    * self.k(f.instrument)
                    - f.fee
            })
            .sum();
        let marked: Money = (0..self.specs.len())
            .map(|i| self.position(i) * i128::from(self.marks[i]) * self.k(i))
            .sum();
        cash_flow + marked
    }

    fn trading_state(&self) -> TradingState {
        self.operator_state
            .max(self.breaker.unwrap_or(TradingState::Active))
    }

    fn evaluate_breaker(&mut self) {
        if self.breaker.is_none() {
            if let Some(limit) = self.account.daily_loss_limit {
                if self.total_pnl() - self.day_start_pnl <= -limit {
                    self.breaker = Some(self.account.circuit_breaker_state);
                }
            }
        }
    }

    fn reduces(&self, instrument: usize, side: Side, quantity: Quantity) -> bool {
        let position = self.position(instrument);
        let quantity = i128::from(quantity);
        match side {
            Side::Buy => {
                position < 0 && position + self.open_quantity(instrument, Side::Buy) + quantity <= 0
            }
            Side::Sell => {
                position > 0
                    && position - self.open_quantity(instrument, Side::Sell) - quantity >= 0
            }
        }
    }

    fn check(&mut self, order: &OrderRequest, ts: i64) -> Result<RiskDecision, RiskError> {
        let i = order.instrument as usize;
        if i >= self.specs.len() {
            return Err(RiskError::UnknownInstrument(order.instrument));
        }
        if order.price <= 0 {
            return Err(RiskError::NonPositivePrice(order.price));
        }
        if order.quantity <= 0 {
            return Err(RiskError::NonPositiveQuantity(order.quantity));
        }
        if self.orders.iter().any(|o| o.id == order.order_id) {
            return Err(RiskError::DuplicateOrder(order.order_id));
        }
        let decision = self
            .decide(order)
            .map_or(RiskDecision::Approved, RiskDecision::Rejected);
        if decision != RiskDecision::Approved {
            return Ok(decision);
        }
        if !self.order_bucket.take(ts) {
            return Ok(RiskDecision::Rejected(RejectReason::OrderRate));
        }
        self.orders.push(ModelOrder {
            id: order.order_id,
            instrument: i,
            side: order.side,
            open: order.quantity,
        });
        Ok(RiskDecision::Approved)
    }

    fn decide(&self, order: &OrderRequest) -> Option<RejectReason> {
        let i = order.instrument as usize;
        let spec = &self.specs[i];
        let limits = &self.limits[i];
        let (side, price, quantity) = (order.side, order.price, order.quantity);
        if self.kill_switch {
            return Some(RejectReason::KillSwitch);
        }
        let reduces = self.reduces(i, side, quantity);
        match self.breaker {
            Some(TradingState::Halted) => return Some(RejectReason::DailyLossLimit),
            Some(_) if !reduces => return Some(RejectReason::DailyLossLimit),
            _ => {}
        }
        if self.operator_state == TradingState::Halted {
            return Some(RejectReason::TradingHalted);
        }
        if self.operator_state == TradingState::Reducing && !reduces {
            return Some(RejectReason::ReduceOnly);
        }
        if quantity < spec.min_quantity || quantity > spec.max_quantity {
            return Some(RejectReason::QuantityOutOfRange);
        }
        let notional = i128::from(price) * i128::from(quantity) * self.k(i);
        if notional < spec.min_notional {
            return Some(RejectReason::BelowMinNotional);
        }
        if limits.max_order_quantity.is_some_and(|m| quantity > m) {
            return Some(RejectReason::MaxOrderQuantity);
        }
        if limits.max_order_notional.is_some_and(|m| notional > m) {
            return Some(RejectReason::MaxOrderNotional);
        }
        let mark = self.marks[i];
        let outside = match limits.price_collar {
            PriceCollar::Disabled => false,
            PriceCollar::Bps(bps) => {
                i128::from((price - mark).abs()) * 10_000 > i128::from(bps) * i128::from(mark)
            }
            PriceCollar::Ticks(ticks) => (price - mark).abs() > ticks,
        };
        if outside {
            return Some(RejectReason::PriceCollar);
        }
        let position = self.position(i);
        match side {
            Side::Buy => {
                let worst = position + self.open_quantity(i, Side::Buy) + i128::from(quantity);
                if limits
                    .max_long_position
                    .is_some_and(|m| worst > i128::from(m))
                {
                    return Some(RejectReason::MaxLongPosition);
                }
            }
            Side::Sell => {
                let worst = position - self.open_quantity(i, Side::Sell) - i128::from(quantity);
                if limits
                    .max_short_position
                    .is_some_and(|m| -worst > i128::from(m))
                {
                    return Some(RejectReason::MaxShortPosition);
                }
            }
        }
        let before = self.exposure(None);
        let after = self.exposure(Some((i, side, quantity)));
        if let Some(max) = self.account.max_gross_exposure {
            if after.0 > max && after.0 > before.0 {
                return Some(RejectReason::MaxGrossExposure);
            }
        }
        let net = |e: (Money, Money, Money)| e.1.abs().max(e.2.abs());
        if let Some(max) = self.account.max_net_exposure {
            if net(after) > max && net(after) > net(before) {
                return Some(RejectReason::MaxNetExposure);
            }
        }
        if self.orders.len() >= self.account.max_open_orders as usize {
            return Some(RejectReason::MaxOpenOrders);
        }
        None
    }

    fn cancel(&mut self, id: u64, ts: i64) -> Result<RiskDecision, RiskError> {
        if !self.orders.iter().any(|o| o.id == id) {
            return Err(RiskError::UnknownOrder(id));
        }
        let took = self.cancel_bucket.take(ts);
        if took || self.kill_switch || self.trading_state() == TradingState::Halted {
            Ok(RiskDecision::Approved)
        } else {
            Ok(RiskDecision::Rejected(RejectReason::CancelRate))
        }
    }

    fn fill(
        &mut self,
        id: u64,
        price: Price,
        quantity: Quantity,
        fee: Money,
    ) -> Result<(), RiskError> {
        let Some(at) = self.orders.iter().position(|o| o.id == id) else {
            return Err(RiskError::UnknownOrder(id));
        };
        let order = self.orders[at];
        if quantity > order.open {
            return Err(RiskError::Overfill {
                order_id: id,
                open: order.open,
                fill: quantity,
            });
        }
        self.fills.push(ModelFill {
            instrument: order.instrument,
            side: order.side,
            price,
            quantity,
            fee,
        });
        if quantity == order.open {
            self.orders.remove(at);
        } else {
            self.orders[at].open -= quantity;
        }
        self.evaluate_breaker();
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Step {
    Order {
        instrument: u32,
        buy: bool,
        price_offset: i64,
        quantity: Quantity,
        reuse_open_id: bool,
    },
    Cancel {
        pick: usize,
    },
    Fill {
        pick: usize,
        part: Quantity,
        price_offset: i64,
        fee_cents: i64,
    },
    Close {
        pick: usize,
    },
    Price {
        instrument: u32,
        offset: i64,
    },
    KillSwitch(bool),
    SetState(u8),
    StartDay,
    ResetBreaker,
    UnknownOrderEvents(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let instrument = prop_oneof![12 => 0u32..2, 1 => Just(2u32)];
    let quantity = prop_oneof![12 => 1i64..20, 1 => -1i64..1, 1 => 20i64..60];
    let state = prop_oneof![4 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8)];
    prop_oneof![
        10 => (instrument, any::<bool>(), -250i64..250, quantity, prop::bool::weighted(0.05))
            .prop_map(|(instrument, buy, price_offset, quantity, reuse_open_id)| Step::Order {
                instrument,
                buy,
                price_offset,
                quantity,
                reuse_open_id,
            }),
        2 => (0usize..8).prop_map(|pick| Step::Cancel { pick }),
        7 => (0usize..8, 1i64..30, -200i64..200, -5i64..20).prop_map(
            |(pick, part, price_offset, fee_cents)| Step::Fill {
                pick,
                part,
                price_offset,
                fee_cents
            }
        ),
        1 => (0usize..8).prop_map(|pick| Step::Close { pick }),
        3 => (0u32..2, -700i64..700)
            .prop_map(|(instrument, offset)| Step::Price { instrument, offset }),
        1 => prop::bool::weighted(0.15).prop_map(Step::KillSwitch),
        1 => state.prop_map(Step::SetState),
        1 => Just(Step::StartDay),
        1 => Just(Step::ResetBreaker),
        1 => (1_000_000u64..1_000_010).prop_map(Step::UnknownOrderEvents),
    ]
}

fn assert_same_state(gate: &RiskGate, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(gate.open_order_count(), model.orders.len());
    for order in &model.orders {
        let open = gate.open_order(order.id);
        prop_assert_eq!(open.map(|o| o.open_quantity), Some(order.open));
    }
    for i in 0..model.specs.len() {
        let position = gate.position(i as u32).expect("known instrument");
        prop_assert_eq!(i128::from(position.position.position), model.position(i));
        prop_assert_eq!(
            i128::from(position.open_buy_quantity),
            model.open_quantity(i, Side::Buy)
        );
        prop_assert_eq!(
            i128::from(position.open_sell_quantity),
            model.open_quantity(i, Side::Sell)
        );
    }
    let (gross, if_buys, if_sells) = model.exposure(None);
    prop_assert_eq!(gate.gross_exposure(), gross);
    prop_assert_eq!(
        gate.net_exposure(),
        if_buys.unsigned_abs().max(if_sells.unsigned_abs())
    );
    prop_assert_eq!(
        gate.realized_pnl() + gate.unrealized_pnl(),
        model.total_pnl()
    );
    prop_assert_eq!(gate.daily_pnl(), model.total_pnl() - model.day_start_pnl);
    prop_assert_eq!(gate.trading_state(), model.trading_state());
    prop_assert_eq!(gate.circuit_breaker_trip().map(|t| t.state), model.breaker);
    prop_assert_eq!(gate.kill_switch_engaged(), model.kill_switch);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn gate_matches_the_reference_model(
        halting_breaker in any::<bool>(),
        steps in prop::collection::vec((step(), 0i64..SECOND / 8), 1..160),
    ) {
        let breaker_state = if halting_breaker { TradingState::Halted } else { TradingState::Reducing };
        let account = account_limits(breaker_state);
        let mut gate = RiskGate::new(account).expect("valid limits");
        for (spec, limits) in specs().into_iter().zip(instrument_limits()) {
            let index = gate.register_instrument(spec, limits).expect("valid limits");
            gate.on_price(index, BASE_PRICE, 0).expect("valid price");
        }
        let mut model = Model {
            specs: specs(),
            limits: instrument_limits(),
            account,
            marks: vec![BASE_PRICE; 2],
            orders: Vec::new(),
            fills: Vec::new(),
            kill_switch: false,
            operator_state: TradingState::Active,
            breaker: None,
            day_start_pnl: 0,
            order_bucket: ModelBucket::new(account.order_rate.expect("configured")),
            cancel_bucket: ModelBucket::new(account.cancel_rate.expect("configured")),
        };
        gate.start_day(0);
        let mut ts = 0;
        let mut next_id = 1u64;
        for (step, dt) in steps {
            ts += dt;
            match step {
                Step::Order { instrument, buy, price_offset, quantity, reuse_open_id } => {
                    let order_id = match model.orders.first() {
                        Some(open) if reuse_open_id => open.id,
                        _ => {
                            next_id += 1;
                            next_id
                        }
                    };
                    let mark = model.marks.get(instrument as usize).copied().unwrap_or(BASE_PRICE);
                    let order = OrderRequest {
                        order_id,
                        instrument,
                        side: if buy { Side::Buy } else { Side::Sell },
                        price: mark + price_offset,
                        quantity,
                    };
                    prop_assert_eq!(gate.check_order(&order, ts), model.check(&order, ts));
                }
                Step::Cancel { pick } => {
                    let id = model.orders.get(pick).map_or(999, |o| o.id);
                    prop_assert_eq!(gate.check_cancel(id, ts), model.cancel(id, ts));
                }
                Step::Fill { pick, part, price_offset, fee_cents } => {
                    let Some(order) = model.orders.get(pick % model.orders.len().max(1)).copied() else {
                        continue;
                    };
                    let price = model.marks[order.instrument] + price_offset;
                    let fee = cash(fee_cents) / 100;
                    let quantity = part.min(order.open + 1);
                    prop_assert_eq!(
                        gate.on_fill(order.id, price, quantity, fee, ts),
                        model.fill(order.id, price, quantity, fee)
                    );
                }
                Step::Close { pick } => {
                    if let Some(order) = model.orders.get(pick).copied() {
                        prop_assert!(gate.on_order_closed(order.id).is_ok());
                        model.orders.retain(|o| o.id != order.id);
                    }
                }
                Step::Price { instrument, offset } => {
                    gate.on_price(instrument, BASE_PRICE + offset, ts).expect("valid price");
                    model.marks[instrument as usize] = BASE_PRICE + offset;
                    model.evaluate_breaker();
                }
                Step::KillSwitch(engaged) => {
                    if engaged { gate.engage_kill_switch() } else { gate.reset_kill_switch() }
                    model.kill_switch = engaged;
                }
                Step::SetState(code) => {
                    let state = TradingState::from_code(code).expect("valid code");
                    gate.set_trading_state(state);
                    model.operator_state = state;
                }
                Step::StartDay => {
                    gate.start_day(ts);
                    model.day_start_pnl = model.total_pnl();
                    model.breaker = None;
                }
                Step::ResetBreaker => {
                    gate.reset_circuit_breaker(ts);
                    model.breaker = None;
                    model.evaluate_breaker();
                }
                Step::UnknownOrderEvents(id) => {
                    prop_assert_eq!(gate.on_fill(id, BASE_PRICE, 1, 0, ts), Err(RiskError::UnknownOrder(id)));
                    prop_assert_eq!(gate.on_order_closed(id), Err(RiskError::UnknownOrder(id)));
                    prop_assert_eq!(gate.check_cancel(id, ts), model.cancel(id, ts));
                }
            }
            assert_same_state(&gate, &model)?;
        }
        if model.specs.iter().enumerate().all(|(i, _)| model.position(i) == 0) {
            // Flat everywhere: all P&L is realized.
            prop_assert_eq!(gate.unrealized_pnl(), 0);
            prop_assert_eq!(gate.realized_pnl(), model.total_pnl());
        }
    }
}
