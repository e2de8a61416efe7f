//! A full consistency check of the engine's internal structures, for tests and for anyone who
//! restores or embeds an engine and wants proof that it is sound.

use crate::matching::order::TimeInForce;
use crate::types::{Quantity, Side};

use super::book::{Stage, NIL};
use super::{crosses, position_key, reducible, MatchingEngine};

impl MatchingEngine {
    /// Checks every internal invariant: sorted, uncrossed levels whose sums match their
    /// orders, sound queue links, index, stop, expiry and reduce-only bookkeeping. Returns the
    /// first violation found.
    pub fn verify_integrity(&self) -> Result<(), String> {
        let mut seen = 0usize;
        for (instrument, book) in self.instruments.iter().enumerate() {
            let mut working: i128 = 0;
            for side_book in [&book.bids, &book.asks] {
                for pair in side_book.levels.windows(2) {
                    // Best is last: bids ascend, asks descend.
                    let ordered = match side_book.side {
                        Side::Buy => pair[0].price < pair[1].price,
                        Side::Sell => pair[0].price > pair[1].price,
                    };
                    if !ordered {
                        return Err(format!("levels out of order on {:?}", side_book.side));
                    }
                }
                for (index, level) in side_book.levels.iter().enumerate() {
                    let mut visible: Quantity = 0;
                    let mut count = 0u32;
                    let mut previous = NIL;
                    for slot in side_book.queue(&self.orders, index) {
                        let order = &self.orders[slot as usize];
                        if order.prev != previous
                            || order.stage != Stage::Resting
                            || order.price != level.price
                            || order.side != side_book.side
                            || order.instrument as usize != instrument
                            || order.visible <= 0
                            || order.visible > order.slice()
                        {
                            return Err(format!("order {} misplaced or inconsistent", order.id));
                        }
                        visible += order.visible;
                        working += i128::from(order.leaves);
                        count += 1;
                        previous = slot;
                        seen += 1;
                    }
                    if previous != level.tail || visible != level.visible || count != level.count {
                        return Err(format!("level {} sums disagree", level.price));
                    }
                    if count == 0 {
                        return Err(format!("empty level {}", level.price));
                    }
                }
            }
            if let (Some(bid), Some(ask)) = (book.bids.best(), book.asks.best()) {
                if crosses(Side::Buy, bid.price, ask.price) {
                    return Err(format!("crossed book: bid {} ask {}", bid.price, ask.price));
                }
            }
            for stops in [&book.buy_stops, &book.sell_stops] {
                for entry in &stops.entries {
                    let order = &self.orders[entry.slot as usize];
                    if order.stage != Stage::Waiting
                        || order.side != stops.side
                        || order.trigger_price != entry.trigger_price
                        || order.seq != entry.seq
                    {
                        return Err(format!("stop entry of order {} is stale", order.id));
                    }
                    working += i128::from(order.leaves);
                    seen += 1;
                }
            }
            if working != i128::from(book.working_quantity) {
                return Err(format!(
                    "working quantity {} but orders hold {working}",
                    book.working_quantity
                ));
            }
        }
        if seen != self.index.len() {
            return Err(format!(
                "{} indexed orders but {seen} in books",
                self.index.len()
            ));
        }
        for (id, &slot) in &self.index {
            if self.orders[slot as usize].id != *id {
                return Err(format!("index entry {id} points elsewhere"));
            }
        }
        let gtd = self
            .orders
            .iter()
            .filter(|order| order.stage != Stage::Free && order.time_in_force == TimeInForce::Gtd)
            .count();
        let sorted = self.expiries.windows(2).all(|pair| pair[0] > pair[1]);
        if gtd != self.expiries.len() || !sorted {
            return Err("expiry list disagrees with GTD orders".to_string());
        }
        for order in self
            .orders
            .iter()
            .filter(|order| order.stage != Stage::Free)
        {
            if !order.reduce_only {
                continue;
            }
            let key = position_key(order.owner, order.instrument);
            let Some(position) = self.positions.get(&key) else {
                return Err(format!("reduce-only order {} has no position", order.id));
            };
            let listed = position
                .reduce_only
                .iter()
                .any(|&slot| self.orders[slot as usize].id == order.id);
            if !listed || i128::from(order.leaves) > reducible(position.net, order.side) {
                return Err(format!(
                    "reduce-only order {} exceeds or is unlisted",
                    order.id
                ));
            }
        }
        Ok(())
    }
}
