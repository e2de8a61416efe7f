//! Order storage and price levels of the matching engine.
//!
//! Orders live in one slab (`Vec<Order>` plus a free list) and are addressed by slot. Each side
//! of an instrument keeps its price levels in a sorted `Vec` with the best level at the END, so
//! the touch, where almost all activity happens, is found, grown and popped without shifting the
//! rest. A level's orders form an intrusive doubly linked FIFO list threaded through the slab.

use crate::matching::order::{OrderId, OrderType, SelfTradePrevention, TimeInForce};
use crate::types::{Price, Quantity, Side};

use super::PostOnly;

/// Marks the end of an intrusive list.
pub(crate) const NIL: u32 = u32::MAX;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The slot is on the free list.
    Free,
    /// Being matched as the aggressor of the current call.
    Incoming,
    /// Resting in a price level.
    Resting,
    /// A stop or stop-limit waiting for its trigger.
    Waiting,
}

/// One working order in the slab.
#[derive(Debug, Clone)]
pub(crate) struct Order {
    pub id: OrderId,
    pub owner: u32,
    pub instrument: u32,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub post_only: PostOnly,
    pub reduce_only: bool,
    pub self_trade_prevention: SelfTradePrevention,
    /// Limit price; 0 while the order has none (market, stop, market-to-limit before its
    /// first fill).
    pub price: Price,
    pub trigger_price: Price,
    /// Total quantity including what has been filled.
    pub quantity: Quantity,
    /// Quantity still working.
    pub leaves: Quantity,
    /// Part of `leaves` shown in the book and holding the order's queue place.
    pub visible: Quantity,
    /// Iceberg display quantity; 0 when the whole order is shown.
    pub display: Quantity,
    pub expire_ts: i64,
    /// Arrival number: orders the engine's own sweeps (cancel-all, expiry, stops, reduce-only
    /// trims) deterministically.
    pub seq: u64,
    pub stage: Stage,
    pub prev: u32,
    pub next: u32,
}

impl Order {
    /// The slice of `leaves` shown at once.
    pub fn slice(&self) -> Quantity {
        if self.display == 0 {
            self.leaves
        } else {
            self.display.min(self.leaves)
        }
    }

    pub fn filled(&self) -> Quantity {
        self.quantity - self.leaves
    }
}

/// One price level: aggregate visible quantity and the FIFO of its orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level {
    pub price: Price,
    pub visible: Quantity,
    pub count: u32,
    pub head: u32,
    pub tail: u32,
}

/// The levels of one side, best last.
#[derive(Debug, Clone)]
pub(crate) struct SideBook {
    pub side: Side,
    pub levels: Vec<Level>,
}

impl SideBook {
    pub fn new(side: Side) -> Self {
        SideBook {
            side,
            levels: Vec::new(),
        }
    }

    /// Index of the level at `price`, or where it would be inserted.
    pub fn find(&self, price: Price) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self
                .levels
                .binary_search_by(|level| level.price.cmp(&price)),
            Side::Sell => self
                .levels
                .binary_search_by(|level| price.cmp(&level.price)),
        }
    }

    pub fn best(&self) -> Option<&Level> {
        self.levels.last()
    }

    /// Levels from the best outward.
    pub fn best_first(&self) -> impl Iterator<Item = &Level> {
        self.levels.iter().rev()
    }

    /// Appends the order in `slot` at the back of the queue at its price.
    pub fn push_back(&mut self, orders: &mut [Order], slot: u32) {
        let (price, visible) = {
            let order = &orders[slot as usize];
            (order.price, order.visible)
        };
        let index = match self.find(price) {
            Ok(index) => index,
            Err(index) => {
                self.levels.insert(
                    index,
                    Level {
                        price,
                        visible: 0,
                        count: 0,
                        head: NIL,
                        tail: NIL,
                    },
                );
                index
            }
        };
        let level = &mut self.levels[index];
        let order = &mut orders[slot as usize];
        order.prev = level.tail;
        order.next = NIL;
        if level.tail == NIL {
            level.head = slot;
        } else {
            orders[level.tail as usize].next = slot;
        }
        level.tail = slot;
        level.visible += visible;
        level.count += 1;
    }

    /// Takes the order in `slot` out of its level, dropping the level if it empties.
    pub fn unlink(&mut self, orders: &mut [Order], slot: u32) {
        let (price, visible, prev, next) = {
            let order = &orders[slot as usize];
            (order.price, order.visible, order.prev, order.next)
        };
        let Ok(index) = self.find(price) else {
            unreachable!("a resting order's level exists");
        };
        if prev == NIL {
            self.levels[index].head = next;
        } else {
            orders[prev as usize].next = next;
        }
        if next == NIL {
            self.levels[index].tail = prev;
        } else {
            orders[next as usize].prev = prev;
        }
        let level = &mut self.levels[index];
        level.visible -= visible;
        level.count -= 1;
        if level.count == 0 {
            self.levels.remove(index);
        }
    }

    /// Executes `quantity` against the order at the head of the best level (the maker of the
    /// current trade) without searching for its level: a finished head leaves the queue, an
    /// iceberg whose slice is used up is refilled at the back. Returns true if the head finished.
    pub fn fill_best_head(&mut self, orders: &mut [Order], quantity: Quantity) -> bool {
        let Some(level) = self.levels.last_mut() else {
            unreachable!("a maker rests at the best level");
        };
        let slot = level.head;
        let head = &mut orders[slot as usize];
        head.visible -= quantity;
        head.leaves -= quantity;
        level.visible -= quantity;
        if head.visible > 0 {
            return false;
        }
        let finished = head.leaves == 0;
        let next = head.next;
        if !finished {
            head.visible = head.slice();
            level.visible += head.visible;
            if next == NIL {
                return false;
            }
            head.prev = level.tail;
            head.next = NIL;
            orders[level.tail as usize].next = slot;
            level.tail = slot;
        } else {
            level.count -= 1;
            if level.count == 0 {
                self.levels.pop();
                return true;
            }
        }
        level.head = next;
        orders[next as usize].prev = NIL;
        finished
    }

    /// Changes the visible quantity of a resting order in place (no change of priority).
    pub fn adjust_visible(&mut self, orders: &mut [Order], slot: u32, visible: Quantity) {
        let order = &mut orders[slot as usize];
        if let Ok(index) = self.find(order.price) {
            self.levels[index].visible += visible - order.visible;
        }
        order.visible = visible;
    }

    /// Slots of the orders at the level with index `index`, front to back.
    pub fn queue<'a>(&self, orders: &'a [Order], index: usize) -> QueueIter<'a> {
        QueueIter {
            orders,
            slot: self.levels[index].head,
        }
    }
}

/// Walks a level's FIFO.
pub(crate) struct QueueIter<'a> {
    orders: &'a [Order],
    slot: u32,
}

impl Iterator for QueueIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if self.slot == NIL {
            return None;
        }
        let slot = self.slot;
        self.slot = self.orders[slot as usize].next;
        Some(slot)
    }
}

/// A waiting stop, keyed so that sorting puts the next one to trigger at the END.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StopEntry {
    pub trigger_price: Price,
    pub seq: u64,
    pub slot: u32,
}

/// Waiting stops of one side, next to trigger last: buy stops by trigger ascending (lowest
/// triggers first), sell stops by trigger descending, each price in arrival order.
#[derive(Debug, Clone)]
pub(crate) struct StopBook {
    pub side: Side,
    pub entries: Vec<StopEntry>,
}

impl StopBook {
    pub fn new(side: Side) -> Self {
        StopBook {
            side,
            entries: Vec::new(),
        }
    }

    /// Trigger rank, smaller = triggers earlier; `entries` is sorted by it descending.
    fn key(&self, entry: &StopEntry) -> (Price, u64) {
        let price = match self.side {
            Side::Buy => entry.trigger_price,
            Side::Sell => -entry.trigger_price,
        };
        (price, entry.seq)
    }

    fn position(&self, entry: &StopEntry) -> Result<usize, usize> {
        let key = self.key(entry);
        self.entries
            .binary_search_by(|probe| key.cmp(&self.key(probe)))
    }

    pub fn insert(&mut self, entry: StopEntry) {
        let index = match self.position(&entry) {
            Ok(index) | Err(index) => index,
        };
        self.entries.insert(index, entry);
    }

    pub fn remove(&mut self, entry: &StopEntry) {
        if let Ok(index) = self.position(entry) {
            self.entries.remove(index);
        }
    }

    /// The next stop to trigger if the last trade price `last` triggers it.
    pub fn triggered(&self, last: Price) -> Option<StopEntry> {
        let entry = *self.entries.last()?;
        let reached = match self.side {
            Side::Buy => last >= entry.trigger_price,
            Side::Sell => last <= entry.trigger_price,
        };
        reached.then_some(entry)
    }
}
