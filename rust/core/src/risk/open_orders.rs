//! The open orders the gate counts against position limits: a fixed-capacity open-addressing
//! table keyed by client order id.
//!
//! A general hash map may rehash or grow on an insert even below its reserved capacity (deleted
//! markers pile up); this table uses linear probing with backward-shift deletion, so it never
//! holds tombstones and never allocates while it holds at most half its slots. The gate sizes it
//! for the account's maximum open orders, which keeps allocation off the check path.

use crate::types::{Quantity, Side};

/// One open order as the gate tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOrder {
    pub order_id: u64,
    pub instrument: u32,
    pub side: Side,
    /// Quantity not yet filled, in lots.
    pub open_quantity: Quantity,
}

const MIN_SLOTS: usize = 8;

#[derive(Debug, Clone)]
pub struct OpenOrderTable {
    slots: Vec<Option<OpenOrder>>,
    len: usize,
    shift: u32,
}

impl OpenOrderTable {
    /// A table that holds `orders` entries without allocating again.
    pub fn with_capacity(orders: usize) -> Self {
        let slot_count = orders
            .saturating_mul(2)
            .max(MIN_SLOTS)
            .checked_next_power_of_two()
            .unwrap_or(usize::MAX / 2 + 1);
        OpenOrderTable {
            slots: vec![None; slot_count],
            len: 0,
            shift: u64::BITS - slot_count.trailing_zeros(),
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries the table holds without allocating.
    pub fn capacity(&self) -> usize {
        self.slots.len() / 2
    }

    /// Grows (allocating) so that `orders` entries fit without further allocation.
    pub fn reserve_for(&mut self, orders: usize) {
        if orders > self.capacity() {
            let mut bigger = OpenOrderTable::with_capacity(orders);
            for order in self.slots.iter().flatten() {
                bigger.place(*order);
            }
            *self = bigger;
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Fibonacci hashing: spreads sequential ids (the common case) evenly over the slots.
    fn home(&self, order_id: u64) -> usize {
        (order_id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    fn find(&self, order_id: u64) -> Option<usize> {
        let mask = self.mask();
        let mut index = self.home(order_id);
        // Terminates: at most half the slots are full, so an empty slot is always reached.
        loop {
            match &self.slots[index] {
                None => return None,
                Some(order) if order.order_id == order_id => return Some(index),
                Some(_) => index = (index + 1) & mask,
            }
        }
    }

    pub fn get(&self, order_id: u64) -> Option<&OpenOrder> {
        self.find(order_id)
            .and_then(|index| self.slots[index].as_ref())
    }

    pub fn get_mut(&mut self, order_id: u64) -> Option<&mut OpenOrder> {
        let index = self.find(order_id)?;
        self.slots[index].as_mut()
    }

    pub fn contains(&self, order_id: u64) -> bool {
        self.find(order_id).is_some()
    }

    /// Inserts a new order; returns false (and changes nothing) if the id is already open.
    /// Allocates only when the table is already at capacity.
    pub fn insert(&mut self, order: OpenOrder) -> bool {
        if self.contains(order.order_id) {
            return false;
        }
        if self.len + 1 > self.capacity() {
            self.reserve_for((self.len + 1).saturating_mul(2));
        }
        self.place(order);
        true
    }

    fn place(&mut self, order: OpenOrder) {
        let mask = self.mask();
        let mut index = self.home(order.order_id);
        while self.slots[index].is_some() {
            index = (index + 1) & mask;
        }
        self.slots[index] = Some(order);
        self.len += 1;
    }

    /// Removes and returns an order, shifting later entries of its probe run back so that no
    /// tombstone is left.
    pub fn remove(&mut self, order_id: u64) -> Option<OpenOrder> {
        let mut hole = self.find(order_id)?;
        let removed = self.slots[hole].take();
        self.len -= 1;
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        while let Some(candidate) = self.slots[next] {
            let home = self.home(candidate.order_id);
            // The candidate may move into the hole if its home is not inside (hole, next].
            let candidate_distance = next.wrapping_sub(home) & mask;
            let hole_distance = next.wrapping_sub(hole) & mask;
            if candidate_distance >= hole_distance {
                self.slots[hole] = self.slots[next].take();
                hole = next;
            }
            next = (next + 1) & mask;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = &OpenOrder> {
        self.slots.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn order(order_id: u64, open_quantity: Quantity) -> OpenOrder {
        OpenOrder {
            order_id,
            instrument: 0,
            side: Side::Buy,
            open_quantity,
        }
    }

    #[test]
    fn inserts_finds_and_removes() {
        let mut table = OpenOrderTable::with_capacity(4);
        assert!(table.insert(order(7, 1)));
        assert!(!table.insert(order(7, 2)));
        assert_eq!(table.get(7).map(|o| o.open_quantity), Some(1));
        if let Some(found) = table.get_mut(7) {
            found.open_quantity = 5;
        }
        assert_eq!(table.remove(7).map(|o| o.open_quantity), Some(5));
        assert_eq!(table.remove(7), None);
        assert_eq!(table.len(), 0);
    }

    #[test]
    fn grows_past_its_capacity_keeping_every_entry() {
        let mut table = OpenOrderTable::with_capacity(1);
        let first_capacity = table.capacity();
        for id in 0..100u64 {
            assert!(table.insert(order(id * 1_000_003, id as i64 + 1)));
        }
        assert!(table.capacity() > first_capacity);
        assert_eq!(table.len(), 100);
        for id in 0..100u64 {
            assert_eq!(
                table.get(id * 1_000_003).map(|o| o.open_quantity),
                Some(id as i64 + 1)
            );
        }
    }

    #[derive(Debug, Clone)]
    enum Operation {
        Insert(u64),
        Remove(u64),
    }

    fn operation() -> impl Strategy<Value = Operation> {
        // A small id space makes collisions, duplicates and long probe runs common.
        prop_oneof![
            (0u64..64).prop_map(Operation::Insert),
            (0u64..64).prop_map(Operation::Remove),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_a_hash_map(operations in proptest::collection::vec(operation(), 0..400)) {
            let mut table = OpenOrderTable::with_capacity(16);
            let mut model: HashMap<u64, i64> = HashMap::new();
            for (step, operation) in operations.into_iter().enumerate() {
                match operation {
                    Operation::Insert(id) => {
                        let inserted = table.insert(order(id, step as i64 + 1));
                        prop_assert_eq!(inserted, !model.contains_key(&id));
                        model.entry(id).or_insert(step as i64 + 1);
                    }
                    Operation::Remove(id) => {
                        let removed = table.remove(id).map(|o| o.open_quantity);
                        prop_assert_eq!(removed, model.remove(&id));
                    }
                }
                prop_assert_eq!(table.len(), model.len());
                for (id, quantity) in &model {
                    prop_assert_eq!(table.get(*id).map(|o| o.open_quantity), Some(*quantity));
                }
                let mut listed: Vec<u64> = table.iter().map(|o| o.order_id).collect();
                listed.sort_unstable();
                let mut expected: Vec<u64> = model.keys().copied().collect();
                expected.sort_unstable();
                prop_assert_eq!(listed, expected);
            }
        }
    }
}
