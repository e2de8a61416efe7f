//! Order-by-order (L3) book: every resting order in a FIFO queue at its price.
//!
//! Orders and levels live in slabs (vectors with free lists) linked into per-level queues, so an
//! add, cancel or execute allocates nothing in steady state and memory is bounded by the peak
//! number of live orders and levels, however long the replay: finished orders and empty levels
//! return their slots for reuse.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use crate::book::features::{self, BookView};
use crate::book::ladder::Ladder;
use crate::book::{BookError, SequenceTracker};
use crate::matching::OrderId;
use crate::types::{Price, Quantity, Side};

const NIL: u32 = u32::MAX;

/// A resting order as seen from outside the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookOrder {
    pub order_id: OrderId,
    pub side: Side,
    pub price: Price,
    pub quantity: Quantity,
    /// Arrival counter: lower is earlier in the queue. Reassigned when priority is lost.
    pub priority: u64,
}

#[derive(Debug, Clone)]
struct OrderSlot {
    order: BookOrder,
    level: u32,
    previous: u32,
    next: u32,
}

#[derive(Debug, Clone)]
struct Level {
    price: Price,
    quantity: Quantity,
    count: u32,
    head: u32,
    tail: u32,
}

/// An L3 book with FIFO queues per price level and an L2 view derived from it.
#[derive(Debug, Clone)]
pub struct OrderBookL3 {
    orders: Vec<OrderSlot>,
    free_orders: Vec<u32>,
    levels: Vec<Level>,
    free_levels: Vec<u32>,
    index: FxHashMap<OrderId, u32>,
    bids: Ladder<u32>,
    asks: Ladder<u32>,
    next_priority: u64,
    sequence: SequenceTracker,
}

impl Default for OrderBookL3 {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBookL3 {
    pub fn new() -> Self {
        OrderBookL3 {
            orders: Vec::new(),
            free_orders: Vec::new(),
            levels: Vec::new(),
            free_levels: Vec::new(),
            index: FxHashMap::default(),
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            next_priority: 0,
            sequence: SequenceTracker::default(),
        }
    }

    pub fn sequence_tracker(&self) -> SequenceTracker {
        self.sequence
    }

    pub fn set_sequence_tracker(&mut self, sequence: SequenceTracker) {
        self.sequence = sequence;
    }

    /// Last sequence number applied by a bulk replay, if any.
    pub fn last_sequence(&self) -> Option<u64> {
        self.sequence.last()
    }

    fn ladder(&self, side: Side) -> &Ladder<u32> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder<u32> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn slot_of(&self, order_id: OrderId) -> Result<u32, BookError> {
        self.index
            .get(&order_id)
            .copied()
            .ok_or(BookError::UnknownOrder(order_id))
    }

    /// Adds an order at the back of the queue at its price.
    pub fn add(
        &mut self,
        order_id: OrderId,
        side: Side,
        price: Price,
        quantity: Quantity,
    ) -> Result<(), BookError> {
        if price <= 0 {
            return Err(BookError::InvalidPrice(price));
        }
        if quantity <= 0 {
            return Err(BookError::NonPositiveOrderQuantity(quantity));
        }
        let priority = self.next_priority;
        let slot = match self.index.entry(order_id) {
            Entry::Occupied(_) => return Err(BookError::DuplicateOrderId(order_id)),
            Entry::Vacant(vacant) => {
                let slot = allocate(
                    &mut self.orders,
                    &mut self.free_orders,
                    OrderSlot {
                        order: BookOrder {
                            order_id,
                            side,
                            price,
                            quantity,
                            priority,
                        },
                        level: NIL,
                        previous: NIL,
                        next: NIL,
                    },
                );
                vacant.insert(slot);
                slot
            }
        };
        self.next_priority += 1;
        self.enqueue(slot);
        Ok(())
    }

    /// Removes an order, returning it.
    pub fn cancel(&mut self, order_id: OrderId) -> Result<BookOrder, BookError> {
        let slot = self
            .index
            .remove(&order_id)
            .ok_or(BookError::UnknownOrder(order_id))?;
        self.remove_slot(slot);
        Ok(self.orders[slot as usize].order)
    }

    fn remove_slot(&mut self, slot: u32) {
        self.unlink(slot);
        self.free_orders.push(slot);
    }

    /// Takes `by` lots off an order, keeping its place in the queue; taking all removes it.
    /// Returns the quantity left.
    pub fn reduce(&mut self, order_id: OrderId, by: Quantity) -> Result<Quantity, BookError> {
        let slot = self.slot_of(order_id)?;
        let available = self.orders[slot as usize].order.quantity;
        if by <= 0 {
            return Err(BookError::NonPositiveOrderQuantity(by));
        }
        if by > available {
            return Err(BookError::QuantityExceedsOrder {
                order_id,
                available,
                requested: by,
            });
        }
        if by == available {
            self.index.remove(&order_id);
            self.remove_slot(slot);
            return Ok(0);
        }
        let level = self.orders[slot as usize].level;
        self.orders[slot as usize].order.quantity -= by;
        self.levels[level as usize].quantity -= by;
        Ok(available - by)
    }

    /// An execution against a resting order: the same bookkeeping as a reduce.
    pub fn execute(
        &mut self,
        order_id: OrderId,
        quantity: Quantity,
    ) -> Result<Quantity, BookError> {
        self.reduce(order_id, quantity)
    }

    /// Changes an order's price and quantity. A size decrease at the same price keeps the order's
    /// place; a price change or size increase sends it to the back of its (new) queue.
    pub fn replace(
        &mut self,
        order_id: OrderId,
        price: Price,
        quantity: Quantity,
    ) -> Result<(), BookError> {
        let slot = self.slot_of(order_id)?;
        if price <= 0 {
            return Err(BookError::InvalidPrice(price));
        }
        if quantity <= 0 {
            return Err(BookError::NonPositiveOrderQuantity(quantity));
        }
        let current = self.orders[slot as usize].order;
        if price == current.price && quantity <= current.quantity {
            if quantity < current.quantity {
                self.reduce(order_id, current.quantity - quantity)?;
            }
            return Ok(());
        }
        self.unlink(slot);
        let order = &mut self.orders[slot as usize].order;
        order.price = price;
        order.quantity = quantity;
        order.priority = self.next_priority;
        self.next_priority += 1;
        self.enqueue(slot);
        Ok(())
    }

    /// Quantity resting ahead of an order in its queue.
    pub fn queue_ahead(&self, order_id: OrderId) -> Result<Quantity, BookError> {
        let slot = self.slot_of(order_id)?;
        let level = &self.levels[self.orders[slot as usize].level as usize];
        let mut ahead = 0;
        let mut cursor = level.head;
        while cursor != slot {
            let entry = &self.orders[cursor as usize];
            ahead += entry.order.quantity;
            cursor = entry.next;
        }
        Ok(ahead)
    }

    pub fn order(&self, order_id: OrderId) -> Option<BookOrder> {
        self.index
            .get(&order_id)
            .map(|&slot| self.orders[slot as usize].order)
    }

    pub fn contains(&self, order_id: OrderId) -> bool {
        self.index.contains_key(&order_id)
    }

    /// Number of resting orders.
    pub fn order_count(&self) -> usize {
        self.index.len()
    }

    /// The order at the front of the best level of `side`.
    pub fn front(&self, side: Side) -> Option<BookOrder> {
        let (_, level) = self.ladder(side).best()?;
        let head = self.levels[level as usize].head;
        Some(self.orders[head as usize].order)
    }

    /// Orders queued at a price, front first.
    pub fn queue(&self, side: Side, price: Price) -> Vec<BookOrder> {
        let mut queue = Vec::new();
        if let Some(level) = self.ladder(side).get(price) {
            let mut cursor = self.levels[level as usize].head;
            while cursor != NIL {
                let entry = &self.orders[cursor as usize];
                queue.push(entry.order);
                cursor = entry.next;
            }
        }
        queue
    }

    /// Levels of one side (price, total quantity) from the best price outward: the L2 view.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (Price, Quantity)> + '_ {
        self.ladder(side)
            .iter()
            .map(move |(price, level)| (price, self.levels[level as usize].quantity))
    }

    /// Total quantity resting at a price (0 if no level).
    pub fn quantity_at(&self, side: Side, price: Price) -> Quantity {
        self.ladder(side)
            .get(price)
            .map_or(0, |level| self.levels[level as usize].quantity)
    }

    /// Number of orders resting at a price.
    pub fn order_count_at(&self, side: Side, price: Price) -> usize {
        self.ladder(side)
            .get(price)
            .map_or(0, |level| self.levels[level as usize].count as usize)
    }

    /// Removes every order, keeping the allocated slots for reuse (priority counter and
    /// sequence tracking carry on).
    pub fn clear(&mut self) {
        self.orders.clear();
        self.free_orders.clear();
        self.levels.clear();
        self.free_levels.clear();
        self.index.clear();
        self.bids.clear();
        self.asks.clear();
    }

    /// Makes room for `additional` more live orders without reallocating.
    pub fn reserve(&mut self, additional: usize) {
        self.index.reserve(additional);
        self.orders
            .reserve(additional.saturating_sub(self.free_orders.len()));
    }

    /// Slots allocated for orders and levels (memory accounting for long replays).
    pub fn allocated_slots(&self) -> (usize, usize) {
        (self.orders.len(), self.levels.len())
    }

    /// Top of book as (bid price, bid qty, ask price, ask qty); 0s for an empty side.
    pub fn top(&self) -> [i64; 4] {
        features::top(self)
    }

    /// Appends a slot to the tail of the queue at its order's price, creating the level.
    fn enqueue(&mut self, slot: u32) {
        let BookOrder {
            side,
            price,
            quantity,
            ..
        } = self.orders[slot as usize].order;
        let (ladder, levels, free_levels) = match side {
            Side::Buy => (&mut self.bids, &mut self.levels, &mut self.free_levels),
            Side::Sell => (&mut self.asks, &mut self.levels, &mut self.free_levels),
        };
        let level = ladder.get_or_insert_with(price, || {
            allocate(
                levels,
                free_levels,
                Level {
                    price,
                    quantity: 0,
                    count: 0,
                    head: NIL,
                    tail: NIL,
                },
            )
        });
        let tail = self.levels[level as usize].tail;
        {
            let entry = &mut self.orders[slot as usize];
            entry.level = level;
            entry.previous = tail;
            entry.next = NIL;
        }
        if tail == NIL {
            self.levels[level as usize].head = slot;
        } else {
            self.orders[tail as usize].next = slot;
        }
        let level_entry = &mut self.levels[level as usize];
        level_entry.tail = slot;
        level_entry.quantity += quantity;
        level_entry.count += 1;
    }

    /// Takes a slot out of its queue, removing the level when it empties.
    fn unlink(&mut self, slot: u32) {
        let OrderSlot {
            order,
            level,
            previous,
            next,
        } = self.orders[slot as usize].clone();
        if previous == NIL {
            self.levels[level as usize].head = next;
        } else {
            self.orders[previous as usize].next = next;
        }
        if next == NIL {
            self.levels[level as usize].tail = previous;
        } else {
            self.orders[next as usize].previous = previous;
        }
        let level_entry = &mut self.levels[level as usize];
        level_entry.quantity -= order.quantity;
        level_entry.count -= 1;
        if level_entry.count == 0 {
            let ladder = self.ladder_mut(order.side);
            ladder.remove(order.price);
            ladder.shrink_if_sparse(ladder.len());
            self.free_levels.push(level);
        }
    }
}

/// Puts `entry` in a free slot of `slab`, or a new one.
fn allocate<T>(slab: &mut Vec<T>, free: &mut Vec<u32>, entry: T) -> u32 {
    match free.pop() {
        Some(slot) => {
            slab[slot as usize] = entry;
            slot
        }
        None => {
            slab.push(entry);
            (slab.len() - 1) as u32
        }
    }
}

impl BookView for OrderBookL3 {
    fn best_bid(&self) -> Option<(Price, Quantity)> {
        self.bids
            .best()
            .map(|(price, level)| (price, self.levels[level as usize].quantity))
    }

    fn best_ask(&self) -> Option<(Price, Quantity)> {
        self.asks
            .best()
            .map(|(price, level)| (price, self.levels[level as usize].quantity))
    }

    fn for_each_level(&self, side: Side, visit: &mut dyn FnMut(Price, Quantity) -> bool) {
        for (price, level) in self.ladder(side).iter() {
            let level = &self.levels[level as usize];
            debug_assert_eq!(level.price, price);
            if !visit(price, level.quantity) {
                break;
            }
        }
    }
}

/// Two books are equal when they hold the same orders in the same queue order; slot layout and
/// priority counters are internal.
impl PartialEq for OrderBookL3 {
    fn eq(&self, other: &Self) -> bool {
        let queues = |book: &OrderBookL3, side: Side| -> Vec<(OrderId, Price, Quantity)> {
            book.ladder(side)
                .iter()
                .flat_map(|(price, _)| book.queue(side, price))
                .map(|order| (order.order_id, order.price, order.quantity))
                .collect()
        };
        [Side::Buy, Side::Sell]
            .iter()
            .all(|&side| queues(self, side) == queues(other, side))
    }
}

impl Eq for OrderBookL3 {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(book: &OrderBookL3, side: Side, price: Price) -> Vec<OrderId> {
        book.queue(side, price)
            .iter()
            .map(|order| order.order_id)
            .collect()
    }

    #[test]
    fn fifo_queues_and_queue_position() {
        let mut book = OrderBookL3::new();
        book.add(1, Side::Buy, 100, 5).expect("add");
        book.add(2, Side::Buy, 100, 7).expect("add");
        book.add(3, Side::Buy, 100, 2).expect("add");
        book.add(4, Side::Sell, 101, 9).expect("add");
        assert_eq!(ids(&book, Side::Buy, 100), vec![1, 2, 3]);
        assert_eq!(book.queue_ahead(3), Ok(12));
        assert_eq!(book.best_bid(), Some((100, 14)));
        assert_eq!(book.best_ask(), Some((101, 9)));
        book.cancel(2).expect("cancel");
        assert_eq!(book.queue_ahead(3), Ok(5));
        assert_eq!(book.execute(1, 5), Ok(0));
        assert_eq!(book.queue_ahead(3), Ok(0));
        assert!(!book.contains(1));
    }

    #[test]
    fn reduce_keeps_priority_and_replace_loses_it_when_it_should() {
        let mut book = OrderBookL3::new();
        book.add(1, Side::Sell, 100, 5).expect("add");
        book.add(2, Side::Sell, 100, 5).expect("add");
        assert_eq!(book.reduce(1, 2), Ok(3));
        assert_eq!(ids(&book, Side::Sell, 100), vec![1, 2]);
        book.replace(1, 100, 2).expect("size down");
        assert_eq!(ids(&book, Side::Sell, 100), vec![1, 2]);
        book.replace(1, 100, 4).expect("size up");
        assert_eq!(ids(&book, Side::Sell, 100), vec![2, 1]);
        book.replace(2, 99, 5).expect("price change");
        assert_eq!(book.best_ask(), Some((99, 5)));
        assert_eq!(book.order(2).map(|order| order.price), Some(99));
        assert_eq!(
            book.levels(Side::Sell).collect::<Vec<_>>(),
            vec![(99, 5), (100, 4)]
        );
    }

    #[test]
    fn bad_operations_are_refused_and_change_nothing() {
        let mut book = OrderBookL3::new();
        book.add(1, Side::Buy, 100, 5).expect("add");
        let before = book.clone();
        assert_eq!(
            book.add(1, Side::Buy, 100, 5),
            Err(BookError::DuplicateOrderId(1))
        );
        assert_eq!(
            book.add(2, Side::Buy, 0, 5),
            Err(BookError::InvalidPrice(0))
        );
        assert_eq!(
            book.add(2, Side::Buy, 100, 0),
            Err(BookError::NonPositiveOrderQuantity(0))
        );
        assert_eq!(book.cancel(9), Err(BookError::UnknownOrder(9)));
        assert_eq!(
            book.execute(1, 6),
            Err(BookError::QuantityExceedsOrder {
                order_id: 1,
                available: 5,
                requested: 6
            })
        );
        assert_eq!(
            book.reduce(1, -1),
            Err(BookError::NonPositiveOrderQuantity(-1))
        );
        assert_eq!(book.replace(1, -5, 1), Err(BookError::InvalidPrice(-5)));
        assert_eq!(book.queue_ahead(9), Err(BookError::UnknownOrder(9)));
        assert_eq!(book, before);
        assert_eq!(book.order(1).map(|order| order.quantity), Some(5));
    }

    #[test]
    fn slots_are_reused_so_memory_stays_bounded() {
        let mut book = OrderBookL3::new();
        for round in 0..10_000u64 {
            for offset in 0..10u64 {
                let id = round * 10 + offset;
                book.add(id, Side::Buy, 100 + offset as i64, 1)
                    .expect("add");
            }
            for offset in 0..10u64 {
                book.cancel(round * 10 + offset).expect("cancel");
            }
        }
        assert_eq!(book.order_count(), 0);
        assert_eq!(book.allocated_slots(), (10, 10));
    }
}
