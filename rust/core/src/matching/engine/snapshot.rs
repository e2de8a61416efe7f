//! Snapshot of a whole engine as bytes, and back.
//!
//! The encoding is canonical: orders are written book by book, each side from the best level
//! outward in queue order, stops in trigger order, positions sorted; slots and hash-map layout
//! never show. Two engines in the same observable state therefore give identical bytes, which
//! also makes the snapshot the test of "this call left the engine unchanged".
//!
//! Layout: magic `HFTMATCH`, then little-endian 8-byte words (16 for `i128`).

use thiserror::Error;

use crate::matching::order::{OrderType, SelfTradePrevention, TimeInForce};
use crate::types::{InstrumentSpec, Side, Step, MAX_PRECISION};

use super::book::{Order, Stage, StopEntry, NIL};
use super::{check_spec, crosses, position_key, InstrumentBook, MatchingEngine, PostOnly};

const MAGIC: &[u8; 8] = b"HFTMATCH";
const VERSION: u64 = 1;

/// Why bytes could not be restored into an engine.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SnapshotError {
    #[error("snapshot is truncated")]
    Truncated,
    #[error("not a matching engine snapshot")]
    BadMagic,
    #[error("unsupported snapshot version {0}")]
    UnsupportedVersion(u64),
    #[error("invalid snapshot: {0}")]
    Invalid(String),
}

fn invalid(what: impl Into<String>) -> SnapshotError {
    SnapshotError::Invalid(what.into())
}

struct Writer(Vec<u8>);

impl Writer {
    fn word(&mut self, value: i64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn wide(&mut self, value: i128) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(SnapshotError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn word(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.take::<8>()?))
    }

    fn wide(&mut self) -> Result<i128, SnapshotError> {
        Ok(i128::from_le_bytes(self.take::<16>()?))
    }

    fn count(&mut self) -> Result<usize, SnapshotError> {
        let value = self.word()?;
        // Every counted record is at least one word long, which bounds honest counts.
        usize::try_from(value)
            .ok()
            .filter(|count| count.saturating_mul(8) <= self.0.len())
            .ok_or_else(|| invalid(format!("count {value} does not fit the snapshot")))
    }

    fn u32(&mut self, what: &str) -> Result<u32, SnapshotError> {
        let value = self.word()?;
        u32::try_from(value).map_err(|_| invalid(format!("{what} {value} out of range")))
    }

    fn code(&mut self, what: &str) -> Result<u8, SnapshotError> {
        let value = self.word()?;
        u8::try_from(value).map_err(|_| invalid(format!("{what} code {value} out of range")))
    }

    fn step(&mut self) -> Result<Step, SnapshotError> {
        let units = self.word()?;
        let precision = self.u32("precision")?;
        if precision > MAX_PRECISION {
            return Err(invalid(format!("precision {precision}")));
        }
        Ok(Step { units, precision })
    }
}

impl MatchingEngine {
    /// The engine's whole state as canonical bytes (see [`MatchingEngine::from_bytes`]).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Writer(MAGIC.to_vec());
        out.word(VERSION as i64);
        out.word(self.next_trade_id as i64);
        out.word(self.instruments.len() as i64);
        for book in &self.instruments {
            let spec = &book.spec;
            out.word(spec.tick.units);
            out.word(i64::from(spec.tick.precision));
            out.word(spec.lot.units);
            out.word(i64::from(spec.lot.precision));
            out.word(spec.min_quantity);
            out.word(spec.max_quantity);
            out.wide(spec.min_notional);
            out.word(spec.maker_fee_rate);
            out.word(spec.taker_fee_rate);
            out.wide(spec.notional_per_tick_lot);
            out.word(i64::from(book.last_price.is_some()));
            out.word(book.last_price.unwrap_or(0));
        }
        let slots = self.canonical_slots();
        // Arrival numbers are written as ranks, so that orders which came and went (a killed
        // fill-or-kill, say) leave no trace in the bytes.
        let mut arrivals: Vec<u64> = slots
            .iter()
            .map(|&slot| self.orders[slot as usize].seq)
            .collect();
        arrivals.sort_unstable();
        out.word(slots.len() as i64);
        for slot in slots {
            let order = &self.orders[slot as usize];
            let rank = arrivals.partition_point(|seq| *seq < order.seq) as i64 + 1;
            for value in [
                order.id as i64,
                i64::from(order.owner),
                i64::from(order.instrument),
                order.side as i64,
                order.order_type as i64,
                order.time_in_force as i64,
                order.post_only as i64,
                i64::from(order.reduce_only),
                order.self_trade_prevention as i64,
                order.price,
                order.trigger_price,
                order.quantity,
                order.leaves,
                order.visible,
                order.display,
                order.expire_ts,
                rank,
                i64::from(order.stage == Stage::Waiting),
            ] {
                out.word(value);
            }
        }
        let mut positions: Vec<(u64, i128)> = self
            .positions
            .iter()
            .filter(|(_, position)| position.net != 0)
            .map(|(key, position)| (*key, position.net))
            .collect();
        positions.sort_unstable();
        out.word(positions.len() as i64);
        for (key, net) in positions {
            out.word((key >> 32) as i64);
            out.word((key & u64::from(u32::MAX)) as i64);
            out.wide(net);
        }
        out.0
    }

    /// Working orders in canonical order.
    fn canonical_slots(&self) -> Vec<u32> {
        let mut slots = Vec::with_capacity(self.index.len());
        for book in &self.instruments {
            for side in [&book.bids, &book.asks] {
                for index in (0..side.levels.len()).rev() {
                    slots.extend(side.queue(&self.orders, index));
                }
            }
            for stops in [&book.buy_stops, &book.sell_stops] {
                slots.extend(stops.entries.iter().rev().map(|entry| entry.slot));
            }
        }
        slots
    }

    /// Rebuilds an engine from [`MatchingEngine::to_bytes`], checking every field.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SnapshotError> {
        let mut input = Reader(bytes);
        if &input.take::<8>()? != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = input.word()? as u64;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let mut engine = MatchingEngine::new();
        engine.next_trade_id = input.word()? as u64;
        if engine.next_trade_id == 0 {
            return Err(invalid("trade ids start at 1"));
        }
        for _ in 0..input.count()? {
            let spec = InstrumentSpec {
                tick: input.step()?,
                lot: input.step()?,
                min_quantity: input.word()?,
                max_quantity: input.word()?,
                min_notional: input.wide()?,
                maker_fee_rate: input.word()?,
                taker_fee_rate: input.word()?,
                notional_per_tick_lot: input.wide()?,
            };
            check_spec(&spec).map_err(|error| invalid(error.to_string()))?;
            let mut book = InstrumentBook::new(spec);
            let has_last = input.word()?;
            let last = input.word()?;
            book.last_price = match has_last {
                0 => None,
                1 if last > 0 => Some(last),
                _ => return Err(invalid("last price")),
            };
            engine.instruments.push(book);
        }
        let order_count = input.count()?;
        engine.next_seq = order_count as u64 + 1;
        let mut ranks_seen = vec![false; order_count + 1];
        for _ in 0..order_count {
            let order = engine.read_order(&mut input)?;
            // read_order bounds the rank to 1..=order_count.
            if std::mem::replace(&mut ranks_seen[order.seq as usize], true) {
                return Err(invalid(format!("duplicate arrival rank {}", order.seq)));
            }
            engine.restore_order(order)?;
        }
        for _ in 0..input.count()? {
            let owner = input.u32("owner")?;
            let instrument = input.u32("instrument")?;
            if instrument as usize >= engine.instruments.len() {
                return Err(invalid("position of an unknown instrument"));
            }
            let net = input.wide()?;
            engine
                .positions
                .entry(position_key(owner, instrument))
                .or_default()
                .net = net;
        }
        if !input.0.is_empty() {
            return Err(invalid("trailing bytes"));
        }
        engine.check_restored()?;
        Ok(engine)
    }

    fn read_order(&self, input: &mut Reader<'_>) -> Result<Order, SnapshotError> {
        let id = input.word()? as u64;
        let owner = input.u32("owner")?;
        let instrument = input.u32("instrument")?;
        let code_error = |error: crate::types::ValueError| invalid(error.to_string());
        let side = Side::from_code(input.code("side")?).map_err(code_error)?;
        let order_type = OrderType::from_code(input.code("order type")?).map_err(code_error)?;
        let time_in_force =
            TimeInForce::from_code(input.code("time in force")?).map_err(code_error)?;
        let post_only = PostOnly::from_code(input.code("post-only")?).map_err(code_error)?;
        let reduce_only = match input.word()? {
            0 => false,
            1 => true,
            _ => return Err(invalid("reduce-only flag")),
        };
        let self_trade_prevention =
            SelfTradePrevention::from_code(input.code("self-trade prevention")?)
                .map_err(code_error)?;
        let mut order = Order {
            id,
            owner,
            instrument,
            side,
            order_type,
            time_in_force,
            post_only,
            reduce_only,
            self_trade_prevention,
            price: input.word()?,
            trigger_price: input.word()?,
            quantity: input.word()?,
            leaves: input.word()?,
            visible: input.word()?,
            display: input.word()?,
            expire_ts: input.word()?,
            seq: input.word()? as u64,
            stage: Stage::Resting,
            prev: NIL,
            next: NIL,
        };
        order.stage = match input.word()? {
            0 => Stage::Resting,
            1 => Stage::Waiting,
            _ => return Err(invalid("order stage")),
        };
        let stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
        let sane = (instrument as usize) < self.instruments.len()
            && order.quantity > 0
            && order.leaves > 0
            && order.leaves <= order.quantity
            && order.display >= 0
            && order.seq > 0
            && order.seq < self.next_seq
            && (time_in_force == TimeInForce::Gtd) == (order.expire_ts != 0)
            && match order.stage {
                Stage::Resting => {
                    order.price > 0
                        && order.visible > 0
                        && order.visible <= order.leaves
                        && order.visible <= order.slice()
                        && !matches!(order_type, OrderType::Market | OrderType::Stop)
                }
                _ => stop && order.trigger_price > 0 && order.visible == 0,
            };
        if !sane {
            return Err(invalid(format!("order {id} has inconsistent fields")));
        }
        Ok(order)
    }

    fn restore_order(&mut self, order: Order) -> Result<(), SnapshotError> {
        if self.index.contains_key(&order.id) {
            return Err(invalid(format!("duplicate order id {}", order.id)));
        }
        let book = &self.instruments[order.instrument as usize];
        if book.working_quantity.checked_add(order.leaves).is_none() {
            return Err(invalid("working quantity overflows"));
        }
        let (stage, side, instrument) = (order.stage, order.side, order.instrument);
        let entry = StopEntry {
            trigger_price: order.trigger_price,
            seq: order.seq,
            slot: 0,
        };
        let slot = self.allocate(order);
        self.register(slot);
        let book = &mut self.instruments[instrument as usize];
        match stage {
            Stage::Waiting => book.stops_mut(side).insert(StopEntry { slot, ..entry }),
            _ => book.side_mut(side).push_back(&mut self.orders, slot),
        }
        Ok(())
    }

    fn check_restored(&self) -> Result<(), SnapshotError> {
        for book in &self.instruments {
            if let (Some(bid), Some(ask)) = (book.bids.best(), book.asks.best()) {
                if crosses(Side::Buy, bid.price, ask.price) {
                    return Err(invalid("crossed book"));
                }
            }
        }
        for position in self.positions.values() {
            for &slot in &position.reduce_only {
                let order = &self.orders[slot as usize];
                let cap = super::reducible(position.net, order.side);
                if i128::from(order.leaves) > cap {
                    return Err(invalid(format!(
                        "reduce-only order {} exceeds its position",
                        order.id
                    )));
                }
            }
        }
        Ok(())
    }
}
