//! A slow, obviously-correct model of the matching engine: working orders sit in one `Vec`,
//! every question (best price, queue head, who is working) is a linear scan, queue priority
//! is an explicit counter, and a fill-or-kill check simply runs the order on a clone of the
//! whole model. The property tests drive it and the real engine with the same calls.

use hftcore_core::matching::{
    CancelReason, Fill, Liquidity, ModifyRequest, OrderEvent, OrderId, OrderRequest, OrderType,
    PostOnly, RejectReason, SelfTradePrevention, TimeInForce,
};
use hftcore_core::types::FEE_RATE_DENOMINATOR;
use hftcore_core::{InstrumentSpec, Price, Quantity, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Incoming,
    Resting,
    Waiting,
}

#[derive(Debug, Clone)]
pub struct ModelOrder {
    pub request: OrderRequest,
    pub price: Price,
    pub quantity: Quantity,
    pub leaves: Quantity,
    pub visible: Quantity,
    pub seq: u64,
    /// Queue time: smaller is earlier at the same price.
    pub priority: u64,
    pub stage: Stage,
}

impl ModelOrder {
    fn slice(&self) -> Quantity {
        match self.request.display_quantity {
            0 => self.leaves,
            display => display.min(self.leaves),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub specs: Vec<InstrumentSpec>,
    pub orders: Vec<ModelOrder>,
    pub positions: Vec<((u32, u32), i128)>,
    pub last: Vec<Option<Price>>,
    next_trade: u64,
    next_seq: u64,
    next_priority: u64,
    pub events: Vec<OrderEvent>,
}

fn crosses(side: Side, limit: Price, price: Price) -> bool {
    match side {
        Side::Buy => price <= limit,
        Side::Sell => price >= limit,
    }
}

fn reducible(net: i128, side: Side) -> i128 {
    if side == Side::Buy {
        -net
    } else {
        net
    }
}

impl Model {
    pub fn new(specs: Vec<InstrumentSpec>) -> Self {
        Model {
            last: vec![None; specs.len()],
            specs,
            next_trade: 1,
            ..Model::default()
        }
    }

    fn at(&self, id: OrderId) -> Option<usize> {
        self.orders
            .iter()
            .position(|order| order.request.order_id == id)
    }

    pub fn position(&self, owner: u32, instrument: u32) -> i128 {
        self.positions
            .iter()
            .find(|(key, _)| *key == (owner, instrument))
            .map_or(0, |(_, net)| *net)
    }

    fn resting(&self, instrument: u32, side: Side) -> impl Iterator<Item = &ModelOrder> {
        self.orders.iter().filter(move |order| {
            order.stage == Stage::Resting
                && order.request.instrument == instrument
                && order.request.side == side
        })
    }

    pub fn best(&self, instrument: u32, side: Side) -> Option<Price> {
        let prices = self.resting(instrument, side).map(|order| order.price);
        match side {
            Side::Buy => prices.max(),
            Side::Sell => prices.min(),
        }
    }

    /// (price, visible quantity, order count), best first.
    pub fn levels(&self, instrument: u32, side: Side) -> Vec<(Price, Quantity, u32)> {
        let mut prices: Vec<Price> = self.resting(instrument, side).map(|o| o.price).collect();
        prices.sort_unstable();
        prices.dedup();
        if side == Side::Buy {
            prices.reverse();
        }
        prices
            .into_iter()
            .map(|price| {
                let at: Vec<&ModelOrder> = self
                    .resting(instrument, side)
                    .filter(|order| order.price == price)
                    .collect();
                (price, at.iter().map(|o| o.visible).sum(), at.len() as u32)
            })
            .collect()
    }

    /// Order ids at one price, in queue order.
    pub fn queue(&self, instrument: u32, side: Side, price: Price) -> Vec<OrderId> {
        let mut at: Vec<&ModelOrder> = self
            .resting(instrument, side)
            .filter(|order| order.price == price)
            .collect();
        at.sort_by_key(|order| order.priority);
        at.iter().map(|order| order.request.order_id).collect()
    }

    fn push(&mut self, event: OrderEvent) {
        self.events.push(event);
    }

    fn replaced(&mut self, index: usize, ts: i64) {
        let order = &self.orders[index];
        let event = OrderEvent::Replaced {
            order_id: order.request.order_id,
            price: order.price,
            quantity: order.quantity,
            leaves: order.leaves,
            ts,
        };
        self.push(event);
    }

    fn finish(&mut self, index: usize, reason: Option<CancelReason>, ts: i64) {
        let order = self.orders.remove(index);
        let (order_id, leaves) = (order.request.order_id, order.leaves);
        self.push(match reason {
            Some(reason) => OrderEvent::Canceled {
                order_id,
                reason,
                leaves,
                ts,
            },
            None => OrderEvent::Expired {
                order_id,
                leaves,
                ts,
            },
        });
    }

    fn enqueue(&mut self, index: usize) {
        self.orders[index].priority = self.next_priority;
        self.next_priority += 1;
    }

    fn notional_problem(
        spec: &InstrumentSpec,
        price: Price,
        quantity: Quantity,
    ) -> Option<RejectReason> {
        let notional = i128::from(price) * i128::from(quantity);
        match notional.checked_mul(spec.notional_per_tick_lot) {
            Some(money) if money <= i128::MAX / FEE_RATE_DENOMINATOR => {
                (money < spec.min_notional).then_some(RejectReason::NotionalBelowMinimum)
            }
            _ => Some(RejectReason::NotionalTooLarge),
        }
    }

    fn working_quantity(&self, instrument: u32) -> i128 {
        self.orders
            .iter()
            .filter(|order| order.request.instrument == instrument)
            .map(|order| i128::from(order.leaves))
            .sum()
    }

    fn validate(&self, r: &OrderRequest) -> Result<(Price, Quantity), RejectReason> {
        use OrderType::*;
        use RejectReason as R;
        use TimeInForce::*;
        let spec = self
            .specs
            .get(r.instrument as usize)
            .ok_or(R::UnknownInstrument)?;
        if self.at(r.order_id).is_some() {
            return Err(R::DuplicateOrderId);
        }
        let tif_ok = match r.order_type {
            Market => matches!(r.time_in_force, Ioc | Fok),
            Limit => true,
            _ => matches!(r.time_in_force, Gtc | Day | Gtd),
        };
        if !tif_ok {
            return Err(R::InvalidTimeInForce);
        }
        if r.quantity <= 0 {
            return Err(R::InvalidQuantity);
        }
        if r.quantity < spec.min_quantity {
            return Err(R::QuantityBelowMinimum);
        }
        if r.quantity > spec.max_quantity {
            return Err(R::QuantityAboveMaximum);
        }
        let priced = matches!(r.order_type, Limit | StopLimit);
        if if priced { r.price <= 0 } else { r.price != 0 } {
            return Err(R::InvalidPrice);
        }
        let stop = matches!(r.order_type, Stop | StopLimit);
        if if stop {
            r.trigger_price <= 0
        } else {
            r.trigger_price != 0
        } {
            return Err(R::InvalidTriggerPrice);
        }
        if r.display_quantity != 0
            && (matches!(r.order_type, Market | Stop)
                || matches!(r.time_in_force, Ioc | Fok)
                || r.display_quantity < spec.min_quantity
                || r.display_quantity > r.quantity)
        {
            return Err(R::InvalidDisplayQuantity);
        }
        if r.post_only != PostOnly::None
            && (r.order_type != Limit || matches!(r.time_in_force, Ioc | Fok))
        {
            return Err(R::PostOnlyNotAllowed);
        }
        let expiry_ok = if r.time_in_force == Gtd {
            r.expire_ts > r.ts
        } else {
            r.expire_ts == 0
        };
        if !expiry_ok {
            return Err(R::InvalidExpiry);
        }
        if priced {
            if let Some(problem) = Self::notional_problem(spec, r.price, r.quantity) {
                return Err(problem);
            }
        }
        if self.working_quantity(r.instrument) + i128::from(r.quantity) > i128::from(i64::MAX) {
            return Err(R::QuantityAboveMaximum);
        }
        let mut quantity = r.quantity;
        if r.reduce_only {
            let cap = reducible(self.position(r.owner, r.instrument), r.side);
            if cap <= 0 {
                return Err(R::ReduceOnlyWouldIncrease);
            }
            quantity = quantity.min(cap.min(i128::from(i64::MAX)) as Quantity);
        }
        let price = self.post_only_price(r.instrument, r.side, r.price, r.post_only)?;
        if price != r.price {
            if let Some(problem) = Self::notional_problem(spec, price, r.quantity) {
                return Err(problem);
            }
        }
        Ok((price, quantity))
    }

    fn post_only_price(
        &self,
        instrument: u32,
        side: Side,
        price: Price,
        post_only: PostOnly,
    ) -> Result<Price, RejectReason> {
        let Some(best) = self.best(instrument, side.opposite()) else {
            return Ok(price);
        };
        if post_only == PostOnly::None || !crosses(side, price, best) {
            return Ok(price);
        }
        let slid = if side == Side::Buy {
            best - 1
        } else {
            best.saturating_add(1)
        };
        let fits = if side == Side::Buy {
            slid > 0
        } else {
            best < i64::MAX
        };
        if post_only == PostOnly::Slide && fits {
            Ok(slid)
        } else {
            Err(RejectReason::PostOnlyWouldCross)
        }
    }

    pub fn submit(&mut self, r: &OrderRequest) -> Vec<OrderEvent> {
        self.events.clear();
        match self.validate(r) {
            Err(reason) => self.push(OrderEvent::Rejected {
                order_id: r.order_id,
                reason,
                ts: r.ts,
            }),
            Ok((price, quantity)) => self.enter(r, price, quantity),
        }
        self.events.clone()
    }

    fn enter(&mut self, r: &OrderRequest, price: Price, quantity: Quantity) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.orders.push(ModelOrder {
            request: *r,
            price,
            quantity,
            leaves: quantity,
            visible: 0,
            seq,
            priority: 0,
            stage: Stage::Incoming,
        });
        let index = self.orders.len() - 1;
        self.push(OrderEvent::Accepted {
            order_id: r.order_id,
            ts: r.ts,
        });
        if price != r.price || quantity != r.quantity {
            self.replaced(index, r.ts);
        }
        if matches!(r.order_type, OrderType::Stop | OrderType::StopLimit) {
            self.orders[index].stage = Stage::Waiting;
        } else if r.post_only != PostOnly::None {
            self.rest(index);
        } else if r.time_in_force == TimeInForce::Fok && !self.fills_completely(r.order_id, r.ts) {
            self.finish(index, Some(CancelReason::FillOrKill), r.ts);
        } else {
            self.match_and_settle(r.order_id, r.ts);
        }
        self.run_stops(r.instrument, r.ts);
    }

    /// Runs the order on a clone and looks at what it got. Fills are compared with the quantity
    /// on entry: lots a self-trade decrement removes along the way are not executed.
    fn fills_completely(&self, id: OrderId, ts: i64) -> bool {
        let mut trial = self.clone();
        trial.events.clear();
        let quantity = trial.orders[trial.at(id).expect("entered")].quantity;
        trial.match_incoming(id, ts);
        let filled: Quantity = trial
            .events
            .iter()
            .filter_map(|event| match event {
                OrderEvent::Filled(fill) if fill.order_id == id => Some(fill.quantity),
                _ => None,
            })
            .sum();
        filled == quantity
    }

    fn rest(&mut self, index: usize) {
        self.orders[index].stage = Stage::Resting;
        self.orders[index].visible = self.orders[index].slice();
        self.enqueue(index);
    }

    fn match_and_settle(&mut self, id: OrderId, ts: i64) {
        if !self.match_incoming(id, ts) {
            return;
        }
        let index = self.at(id).expect("still incoming");
        let order = &self.orders[index];
        let reason = if order.leaves == 0 {
            self.orders.remove(index);
            return;
        } else if order.price == 0 {
            CancelReason::NoLiquidity
        } else {
            match order.request.time_in_force {
                TimeInForce::Ioc => CancelReason::ImmediateOrCancel,
                TimeInForce::Fok => CancelReason::FillOrKill,
                _ => {
                    self.rest(index);
                    return;
                }
            }
        };
        self.finish(index, Some(reason), ts);
    }

    /// Matches the incoming order; false if self-trade prevention ended it.
    fn match_incoming(&mut self, id: OrderId, ts: i64) -> bool {
        loop {
            let taker_index = self.at(id).expect("incoming");
            let taker = self.orders[taker_index].clone();
            if taker.leaves == 0 {
                return true;
            }
            let side = taker.request.side;
            let instrument = taker.request.instrument;
            let Some(best) = self.best(instrument, side.opposite()) else {
                return true;
            };
            if taker.price != 0 && !crosses(side, taker.price, best) {
                return true;
            }
            let maker_id = self.queue(instrument, side.opposite(), best)[0];
            let maker_index = self.at(maker_id).expect("resting");
            let maker = self.orders[maker_index].clone();
            let stp = taker.request.self_trade_prevention;
            if maker.request.owner == taker.request.owner && stp != SelfTradePrevention::None {
                let ended = self.prevent_self_trade(id, maker_id, stp, ts);
                if ended {
                    return false;
                }
                continue;
            }
            let quantity = taker.leaves.min(maker.visible);
            self.trade(id, maker_id, best, quantity, ts);
        }
    }

    fn prevent_self_trade(
        &mut self,
        taker: OrderId,
        maker: OrderId,
        stp: SelfTradePrevention,
        ts: i64,
    ) -> bool {
        let reason = Some(CancelReason::SelfTrade);
        match stp {
            SelfTradePrevention::CancelNewest => {
                self.finish(self.at(taker).expect("taker"), reason, ts);
                true
            }
            SelfTradePrevention::CancelOldest => {
                self.finish(self.at(maker).expect("maker"), reason, ts);
                false
            }
            SelfTradePrevention::CancelBoth => {
                self.finish(self.at(taker).expect("taker"), reason, ts);
                self.finish(self.at(maker).expect("maker"), reason, ts);
                true
            }
            SelfTradePrevention::Decrement => {
                let t = self.at(taker).expect("taker");
                let m = self.at(maker).expect("maker");
                let amount = self.orders[t].leaves.min(self.orders[m].visible);
                let taker_ends = self.orders[t].leaves == amount;
                let maker_ends = self.orders[m].leaves == amount;
                if taker_ends {
                    self.finish(t, reason, ts);
                } else {
                    self.orders[t].quantity -= amount;
                    self.orders[t].leaves -= amount;
                    self.replaced(t, ts);
                }
                let m = self.at(maker).expect("maker");
                if maker_ends {
                    self.finish(m, reason, ts);
                } else {
                    self.orders[m].quantity -= amount;
                    self.orders[m].leaves -= amount;
                    self.orders[m].visible -= amount;
                    self.replaced(m, ts);
                    if self.orders[m].visible == 0 {
                        self.orders[m].visible = self.orders[m].slice();
                        self.enqueue(m);
                    }
                }
                taker_ends
            }
            SelfTradePrevention::None => unreachable!("only called with a mode"),
        }
    }

    fn trade(&mut self, taker: OrderId, maker: OrderId, price: Price, quantity: Quantity, ts: i64) {
        let t = self.at(taker).expect("taker");
        let m = self.at(maker).expect("maker");
        let instrument = self.orders[t].request.instrument;
        let spec = &self.specs[instrument as usize];
        let notional = spec.notional(price, quantity);
        let taker_fee = InstrumentSpec::fee(notional, spec.taker_fee_rate);
        let maker_fee = InstrumentSpec::fee(notional, spec.maker_fee_rate);
        let trade_id = self.next_trade;
        self.next_trade += 1;
        self.last[instrument as usize] = Some(price);
        self.orders[t].leaves -= quantity;
        if self.orders[t].request.order_type == OrderType::MarketToLimit
            && self.orders[t].price == 0
        {
            self.orders[t].price = price;
        }
        self.orders[m].leaves -= quantity;
        self.orders[m].visible -= quantity;
        for (index, liquidity, fee) in [
            (t, Liquidity::Taker, taker_fee),
            (m, Liquidity::Maker, maker_fee),
        ] {
            let order = &self.orders[index];
            let fill = Fill {
                trade_id,
                order_id: order.request.order_id,
                side: order.request.side,
                price,
                quantity,
                leaves: order.leaves,
                liquidity,
                fee,
                ts,
            };
            self.push(OrderEvent::Filled(fill));
        }
        let (maker_owner, maker_side) = (self.orders[m].request.owner, self.orders[m].request.side);
        let (taker_owner, taker_side) = (self.orders[t].request.owner, self.orders[t].request.side);
        if self.orders[m].leaves == 0 {
            self.orders.remove(m);
        } else if self.orders[m].visible == 0 {
            self.orders[m].visible = self.orders[m].slice();
            self.enqueue(m);
        }
        if maker_owner != taker_owner {
            self.move_position(maker_owner, instrument, maker_side, quantity, ts);
            self.move_position(taker_owner, instrument, taker_side, quantity, ts);
        }
    }

    fn move_position(
        &mut self,
        owner: u32,
        instrument: u32,
        side: Side,
        quantity: Quantity,
        ts: i64,
    ) {
        let delta = if side == Side::Buy { 1 } else { -1 } * i128::from(quantity);
        match self
            .positions
            .iter_mut()
            .find(|(key, _)| *key == (owner, instrument))
        {
            Some((_, net)) => *net += delta,
            None => self.positions.push(((owner, instrument), delta)),
        }
        let net = self.position(owner, instrument);
        let mut reducers: Vec<(u64, OrderId)> = self
            .orders
            .iter()
            .filter(|order| {
                order.request.reduce_only
                    && order.stage != Stage::Incoming
                    && order.request.owner == owner
                    && order.request.instrument == instrument
            })
            .map(|order| (order.seq, order.request.order_id))
            .collect();
        reducers.sort_unstable();
        for (_, id) in reducers {
            let index = self.at(id).expect("working");
            let cap = reducible(net, self.orders[index].request.side);
            if cap <= 0 {
                self.finish(index, Some(CancelReason::ReduceOnly), ts);
            } else if i128::from(self.orders[index].leaves) > cap {
                let order = &mut self.orders[index];
                let excess = order.leaves - cap as Quantity;
                order.quantity -= excess;
                order.leaves -= excess;
                order.visible = order.visible.min(order.leaves);
                self.replaced(index, ts);
            }
        }
    }

    fn run_stops(&mut self, instrument: u32, ts: i64) {
        while let Some(last) = self.last[instrument as usize] {
            let waiting = |side: Side| {
                self.orders
                    .iter()
                    .filter(move |order| {
                        order.stage == Stage::Waiting
                            && order.request.instrument == instrument
                            && order.request.side == side
                    })
                    .map(|order| {
                        (
                            order.request.trigger_price,
                            order.seq,
                            order.request.order_id,
                        )
                    })
            };
            let buy = waiting(Side::Buy)
                .filter(|(trigger, _, _)| last >= *trigger)
                .min_by_key(|(trigger, seq, _)| (*trigger, *seq));
            let sell = waiting(Side::Sell)
                .filter(|(trigger, _, _)| last <= *trigger)
                .min_by_key(|(trigger, seq, _)| (-*trigger, *seq));
            let chosen = match (buy, sell) {
                (Some(b), Some(s)) => {
                    if b.1 < s.1 {
                        b
                    } else {
                        s
                    }
                }
                (Some(b), None) => b,
                (None, Some(s)) => s,
                (None, None) => return,
            };
            let index = self.at(chosen.2).expect("waiting");
            self.orders[index].stage = Stage::Incoming;
            self.push(OrderEvent::Triggered {
                order_id: chosen.2,
                ts,
            });
            self.match_and_settle(chosen.2, ts);
        }
    }

    pub fn modify(&mut self, m: &ModifyRequest) -> Vec<OrderEvent> {
        self.events.clear();
        if let Err(reason) = self.try_modify(m) {
            self.push(OrderEvent::Rejected {
                order_id: m.order_id,
                reason,
                ts: m.ts,
            });
        }
        self.events.clone()
    }

    fn try_modify(&mut self, m: &ModifyRequest) -> Result<(), RejectReason> {
        use RejectReason as R;
        let index = self.at(m.order_id).ok_or(R::UnknownOrder)?;
        let order = self.orders[index].clone();
        if order.stage != Stage::Resting {
            return Err(R::OrderNotModifiable);
        }
        let spec = self.specs[order.request.instrument as usize].clone();
        if m.price <= 0 {
            return Err(R::InvalidPrice);
        }
        if m.quantity <= 0 {
            return Err(R::InvalidQuantity);
        }
        if m.quantity > spec.max_quantity {
            return Err(R::QuantityAboveMaximum);
        }
        let filled = order.quantity - order.leaves;
        if m.quantity <= filled {
            self.finish(index, Some(CancelReason::Requested), m.ts);
            return Ok(());
        }
        if m.quantity < spec.min_quantity {
            return Err(R::QuantityBelowMinimum);
        }
        if let Some(problem) = Self::notional_problem(&spec, m.price, m.quantity) {
            return Err(problem);
        }
        let mut leaves = m.quantity - filled;
        let instrument = order.request.instrument;
        if self.working_quantity(instrument) - i128::from(order.leaves) + i128::from(leaves)
            > i128::from(i64::MAX)
        {
            return Err(R::QuantityAboveMaximum);
        }
        let side = order.request.side;
        let price = self.post_only_price(instrument, side, m.price, order.request.post_only)?;
        if price != m.price {
            if let Some(problem) = Self::notional_problem(&spec, price, m.quantity) {
                return Err(problem);
            }
        }
        let mut quantity = m.quantity;
        if order.request.reduce_only {
            let cap = reducible(self.position(order.request.owner, instrument), side);
            if cap <= 0 {
                return Err(R::ReduceOnlyWouldIncrease);
            }
            if i128::from(leaves) > cap {
                quantity -= leaves - cap as Quantity;
                leaves = cap as Quantity;
            }
        }
        let crossing = self
            .best(instrument, side.opposite())
            .is_some_and(|best| crosses(side, price, best));
        let keeps_priority = price == order.price && leaves <= order.leaves;
        let entry = &mut self.orders[index];
        entry.price = price;
        entry.quantity = quantity;
        entry.leaves = leaves;
        if keeps_priority {
            entry.visible = entry.visible.min(leaves);
            self.replaced(index, m.ts);
        } else if crossing {
            entry.stage = Stage::Incoming;
            self.replaced(index, m.ts);
            self.match_and_settle(m.order_id, m.ts);
            self.run_stops(instrument, m.ts);
        } else {
            self.replaced(index, m.ts);
            self.rest(index);
        }
        Ok(())
    }

    pub fn cancel(&mut self, id: OrderId, ts: i64) -> Vec<OrderEvent> {
        self.events.clear();
        match self.at(id) {
            Some(index) => self.finish(index, Some(CancelReason::Requested), ts),
            None => self.push(OrderEvent::Rejected {
                order_id: id,
                reason: RejectReason::UnknownOrder,
                ts,
            }),
        }
        self.events.clone()
    }

    /// Ends, in the given key order, every working order the filter picks.
    fn end_where(
        &mut self,
        pick: impl Fn(&ModelOrder) -> Option<(i64, u64)>,
        reason: Option<CancelReason>,
        ts: i64,
    ) {
        let mut chosen: Vec<((i64, u64), OrderId)> = self
            .orders
            .iter()
            .filter_map(|order| pick(order).map(|key| (key, order.request.order_id)))
            .collect();
        chosen.sort_unstable();
        for (_, id) in chosen {
            let index = self.at(id).expect("working");
            self.finish(index, reason, ts);
        }
    }

    pub fn cancel_all(
        &mut self,
        instrument: u32,
        side: Option<Side>,
        owner: Option<u32>,
        ts: i64,
    ) -> Vec<OrderEvent> {
        self.events.clear();
        if instrument as usize >= self.specs.len() {
            self.push(OrderEvent::Rejected {
                order_id: 0,
                reason: RejectReason::UnknownInstrument,
                ts,
            });
            return self.events.clone();
        }
        self.end_where(
            |order| {
                let r = &order.request;
                (r.instrument == instrument
                    && side.is_none_or(|side| r.side == side)
                    && owner.is_none_or(|owner| r.owner == owner))
                .then_some((0, order.seq))
            },
            Some(CancelReason::Requested),
            ts,
        );
        self.events.clone()
    }

    pub fn advance_time(&mut self, ts: i64) -> Vec<OrderEvent> {
        self.events.clear();
        self.end_where(
            |order| {
                let r = &order.request;
                (r.time_in_force == TimeInForce::Gtd && r.expire_ts <= ts)
                    .then_some((r.expire_ts, order.seq))
            },
            None,
            ts,
        );
        self.events.clone()
    }

    pub fn end_session(&mut self, ts: i64) -> Vec<OrderEvent> {
        self.events.clear();
        self.end_where(
            |order| (order.request.time_in_force == TimeInForce::Day).then_some((0, order.seq)),
            None,
            ts,
        );
        self.events.clone()
    }
}
