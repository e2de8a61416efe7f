//! The fill-or-kill check: would an order fill completely, right now, with nothing else
//! changing? It replays the matching loop on copies of the queues it would meet, so it agrees
//! with the real loop on every rule that can stop or shrink liquidity along the way:
//!
//! - self-trade prevention: with cancel-oldest the order's own orders vanish and matching goes
//!   on; with any other mode the first own order met ends matching (the order would be
//!   canceled, or decremented, there), so the order is not fully fillable: only executed
//!   quantity counts toward a fill-or-kill order's whole, and decremented lots are not executed;
//! - icebergs: a used-up slice comes back at the back of its level, so the hidden quantity is
//!   reachable, after the orders behind it;
//! - reduce-only makers: each fill moves the maker's position, and the maker's later
//!   reduce-only orders are capped by what is left of it (capping them when met gives the
//!   same result as trimming them at once, because along one sweep a maker's position only
//!   moves one way).

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::matching::order::SelfTradePrevention;
use crate::types::{Quantity, Side};

use super::{crosses, position_key, reducible, MatchingEngine};

#[derive(Debug, Clone, Copy)]
struct QueuedOrder {
    owner: u32,
    side: Side,
    leaves: Quantity,
    visible: Quantity,
    display: Quantity,
    reduce_only: bool,
}

/// Reusable buffers of the check.
#[derive(Debug, Clone, Default)]
pub(super) struct Simulation {
    queue: VecDeque<QueuedOrder>,
    positions: FxHashMap<u32, i128>,
}

impl MatchingEngine {
    /// Whether the incoming order in `slot` would fill completely against the book as it is.
    pub(super) fn can_fill_completely(&mut self, slot: u32) -> bool {
        let taker = &self.orders[slot as usize];
        let (instrument, side, owner, limit, stp) = (
            taker.instrument,
            taker.side,
            taker.owner,
            taker.price,
            taker.self_trade_prevention,
        );
        let mut need = taker.leaves;
        let Simulation { queue, positions } = &mut self.scratch.fill_or_kill;
        positions.clear();
        let engine_positions = &self.positions;
        let position_of = |positions: &mut FxHashMap<u32, i128>, who: u32| -> i128 {
            *positions.entry(who).or_insert_with(|| {
                engine_positions
                    .get(&position_key(who, instrument))
                    .map_or(0, |position| position.net)
            })
        };
        let opposite = self.instruments[instrument as usize].side(side.opposite());
        for index in (0..opposite.levels.len()).rev() {
            if limit != 0 && !crosses(side, limit, opposite.levels[index].price) {
                break;
            }
            queue.clear();
            queue.extend(opposite.queue(&self.orders, index).map(|maker_slot| {
                let maker = &self.orders[maker_slot as usize];
                QueuedOrder {
                    owner: maker.owner,
                    side: maker.side,
                    leaves: maker.leaves,
                    visible: maker.visible,
                    display: maker.display,
                    reduce_only: maker.reduce_only,
                }
            }));
            while let Some(mut maker) = queue.pop_front() {
                let leaves = if maker.reduce_only {
                    let cap = reducible(position_of(positions, maker.owner), maker.side);
                    Quantity::try_from(cap.clamp(0, i128::from(maker.leaves))).unwrap_or(0)
                } else {
                    maker.leaves
                };
                if leaves == 0 {
                    continue;
                }
                if maker.owner == owner && stp != SelfTradePrevention::None {
                    if stp == SelfTradePrevention::CancelOldest {
                        continue;
                    }
                    return false;
                }
                let quantity = need.min(maker.visible.min(leaves));
                need -= quantity;
                if need == 0 {
                    return true;
                }
                if maker.owner != owner {
                    let moved = i128::from(quantity);
                    let maker_net = position_of(positions, maker.owner);
                    positions.insert(
                        maker.owner,
                        maker_net + i128::from(maker.side.sign()) * moved,
                    );
                    let own = position_of(positions, owner);
                    positions.insert(owner, own + i128::from(side.sign()) * moved);
                }
                maker.leaves = leaves - quantity;
                if maker.leaves > 0 {
                    maker.visible = if maker.display == 0 {
                        maker.leaves
                    } else {
                        maker.display.min(maker.leaves)
                    };
                    queue.push_back(maker);
                }
            }
        }
        false
    }
}
