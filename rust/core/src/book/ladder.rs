//! One side of a price ladder: levels sorted so that the best price is the last element.
//!
//! Market activity concentrates near the touch, so keeping the best level at the end of a
//! `Vec` makes the common inserts and removals near the touch cheap (a short memmove), lookups a
//! binary search, and iteration from the best level a reverse walk over contiguous memory.

use crate::types::{Price, Side};

/// Levels next to the touch searched linearly before the binary search.
const NEAR_TOUCH_LEVELS: usize = 8;

/// Sorted price levels of one side, each carrying a value `V` (a quantity for L2, a level handle
/// for L3). Bids ascend and asks descend, so the best price is always last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder<V> {
    side: Side,
    levels: Vec<(Price, V)>,
}

impl<V: Copy> Ladder<V> {
    pub fn new(side: Side) -> Self {
        Ladder {
            side,
            levels: Vec::new(),
        }
    }

    pub fn side(&self) -> Side {
        self.side
    }

    /// True when `a` sits strictly farther from the touch than `b` on this side.
    fn worse(&self, a: Price, b: Price) -> bool {
        match self.side {
            Side::Buy => a < b,
            Side::Sell => a > b,
        }
    }

    /// Index of `price`, or where it would be inserted. Most updates land within a few levels
    /// of the touch, so those are scanned from the best end before a binary search of the rest.
    fn position(&self, price: Price) -> Result<usize, usize> {
        let length = self.levels.len();
        let scanned = length.min(NEAR_TOUCH_LEVELS);
        for index in (length - scanned..length).rev() {
            let level_price = self.levels[index].0;
            if level_price == price {
                return Ok(index);
            }
            if self.worse(level_price, price) {
                return Err(index + 1);
            }
        }
        // The comparator keeps "worse than price" before it, matching the sort order.
        self.levels[..length - scanned].binary_search_by(|(level_price, _)| {
            if *level_price == price {
                std::cmp::Ordering::Equal
            } else if self.worse(*level_price, price) {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        })
    }

    pub fn get(&self, price: Price) -> Option<V> {
        self.position(price).ok().map(|index| self.levels[index].1)
    }

    pub fn get_mut(&mut self, price: Price) -> Option<&mut V> {
        match self.position(price) {
            Ok(index) => Some(&mut self.levels[index].1),
            Err(_) => None,
        }
    }

    /// Sets the value at `price`, inserting the level if absent.
    pub fn set(&mut self, price: Price, value: V) {
        match self.position(price) {
            Ok(index) => self.levels[index].1 = value,
            Err(index) => self.levels.insert(index, (price, value)),
        }
    }

    /// The value at `price`, inserting `make()` first if the level is absent (one search).
    pub fn get_or_insert_with(&mut self, price: Price, make: impl FnOnce() -> V) -> V {
        match self.position(price) {
            Ok(index) => self.levels[index].1,
            Err(index) => {
                let value = make();
                self.levels.insert(index, (price, value));
                value
            }
        }
    }

    /// Removes the level at `price`, returning its value.
    pub fn remove(&mut self, price: Price) -> Option<V> {
        match self.position(price) {
            Ok(index) => Some(self.levels.remove(index).1),
            Err(_) => None,
        }
    }

    pub fn best(&self) -> Option<(Price, V)> {
        self.levels.last().copied()
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Levels from the best price outward.
    pub fn iter(&self) -> impl Iterator<Item = (Price, V)> + '_ {
        self.levels.iter().rev().copied()
    }

    /// Allocated level slots (for memory accounting).
    pub fn capacity(&self) -> usize {
        self.levels.capacity()
    }

    /// Gives back memory beyond `keep` slots once a burst of levels has gone.
    pub fn shrink_if_sparse(&mut self, keep: usize) {
        if self.levels.capacity() > keep.max(64) * 4 && self.levels.len() <= keep {
            self.levels.shrink_to(keep.max(64));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_level_is_last_on_both_sides() {
        let mut bids = Ladder::new(Side::Buy);
        let mut asks = Ladder::new(Side::Sell);
        for price in [100, 98, 101, 99] {
            bids.set(price, price * 10);
            asks.set(price, price * 10);
        }
        assert_eq!(bids.best(), Some((101, 1010)));
        assert_eq!(asks.best(), Some((98, 980)));
        let bid_prices: Vec<_> = bids.iter().map(|(price, _)| price).collect();
        let ask_prices: Vec<_> = asks.iter().map(|(price, _)| price).collect();
        assert_eq!(bid_prices, vec![101, 100, 99, 98]);
        assert_eq!(ask_prices, vec![98, 99, 100, 101]);
        assert_eq!(bids.remove(101), Some(1010));
        assert_eq!(bids.best(), Some((100, 1000)));
        assert_eq!(bids.remove(101), None);
        assert_eq!(asks.get(100), Some(1000));
    }
}
