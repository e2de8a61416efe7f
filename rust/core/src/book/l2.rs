//! Price-level (L2) order book: aggregated quantity per price.

use crate::book::features::{self, BookView};
use crate::book::ladder::Ladder;
use crate::book::{BookError, SequenceTracker};
use crate::types::{Price, Quantity, Side};

/// An L2 book: for each side, the total quantity displayed at each price.
///
/// A delta sets a level's quantity (0 removes the level). The book accepts a crossed state,
/// since venues publish one transiently, and reports it through [`OrderBookL2::crossing`].
/// Two books are equal when their levels are; the sequence numbers they came from do not count.
#[derive(Debug, Clone)]
pub struct OrderBookL2 {
    bids: Ladder<Quantity>,
    asks: Ladder<Quantity>,
    sequence: SequenceTracker,
}

impl PartialEq for OrderBookL2 {
    fn eq(&self, other: &Self) -> bool {
        self.bids == other.bids && self.asks == other.asks
    }
}

impl Eq for OrderBookL2 {}

impl Default for OrderBookL2 {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderBookL2 {
    pub fn new() -> Self {
        OrderBookL2 {
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            sequence: SequenceTracker::default(),
        }
    }

    /// Takes `other`'s levels (reusing this book's memory); the sequence stays this book's.
    pub fn copy_levels_from(&mut self, other: &OrderBookL2) {
        self.bids.clone_from(&other.bids);
        self.asks.clone_from(&other.asks);
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder<Quantity> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    pub fn ladder(&self, side: Side) -> &Ladder<Quantity> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Sets the quantity displayed at `price` on `side`; 0 removes the level.
    pub fn apply_delta(
        &mut self,
        side: Side,
        price: Price,
        quantity: Quantity,
    ) -> Result<(), BookError> {
        if price <= 0 {
            return Err(BookError::InvalidPrice(price));
        }
        let ladder = self.ladder_mut(side);
        if quantity > 0 {
            ladder.set(price, quantity);
        } else if quantity == 0 {
            if ladder.remove(price).is_some() {
                ladder.shrink_if_sparse(ladder.len());
            }
        } else {
            return Err(BookError::InvalidQuantity(quantity));
        }
        Ok(())
    }

    /// Applies the changed levels of one venue update, all or none: every price must be
    /// positive and every quantity non-negative, or nothing changes.
    pub fn apply_changes(&mut self, changes: &[(Side, Price, Quantity)]) -> Result<(), BookError> {
        for &(_, price, quantity) in changes {
            if price <= 0 {
                return Err(BookError::InvalidPrice(price));
            }
            if quantity < 0 {
                return Err(BookError::InvalidQuantity(quantity));
            }
        }
        for &(side, price, quantity) in changes {
            self.apply_delta(side, price, quantity)?;
        }
        Ok(())
    }

    /// Applies a delta carrying a venue sequence number; a gap or a repeat is refused and leaves
    /// the book unchanged, so the caller can resynchronise from a snapshot.
    pub fn apply_delta_sequenced(
        &mut self,
        sequence: u64,
        side: Side,
        price: Price,
        quantity: Quantity,
    ) -> Result<(), BookError> {
        self.sequence.check(sequence)?;
        self.apply_delta(side, price, quantity)?;
        self.sequence.accept(sequence);
        Ok(())
    }

    /// Replaces the whole book. Every price must be positive and appear once per side, every
    /// quantity positive; otherwise nothing changes. `sequence`, when given, restarts gap
    /// detection from it.
    pub fn apply_snapshot(
        &mut self,
        bids: &[(Price, Quantity)],
        asks: &[(Price, Quantity)],
        sequence: Option<u64>,
    ) -> Result<(), BookError> {
        let build =
            |side: Side, levels: &[(Price, Quantity)]| -> Result<Ladder<Quantity>, BookError> {
                let mut ladder = Ladder::new(side);
                for &(price, quantity) in levels {
                    if price <= 0 {
                        return Err(BookError::InvalidPrice(price));
                    }
                    if quantity <= 0 {
                        return Err(BookError::InvalidQuantity(quantity));
                    }
                    if ladder.get(price).is_some() {
                        return Err(BookError::DuplicateLevel(price));
                    }
                    ladder.set(price, quantity);
                }
                Ok(ladder)
            };
        let new_bids = build(Side::Buy, bids)?;
        let new_asks = build(Side::Sell, asks)?;
        self.bids = new_bids;
        self.asks = new_asks;
        self.sequence.reset(sequence);
        Ok(())
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.bids.shrink_if_sparse(0);
        self.asks.shrink_if_sparse(0);
    }

    pub fn sequence_tracker(&self) -> SequenceTracker {
        self.sequence
    }

    /// Records `sequence` as the last one applied (bulk replay checks sequences itself).
    pub fn set_last_sequence(&mut self, sequence: u64) {
        self.sequence.accept(sequence);
    }

    /// Last sequence number applied, if any.
    pub fn last_sequence(&self) -> Option<u64> {
        self.sequence.last()
    }

    pub fn quantity_at(&self, side: Side, price: Price) -> Quantity {
        self.ladder(side).get(price).unwrap_or(0)
    }

    /// Levels of one side from the best price outward.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (Price, Quantity)> + '_ {
        self.ladder(side).iter()
    }

    /// Number of levels on each side.
    pub fn level_counts(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// Allocated level slots on both sides (memory accounting for long replays).
    pub fn allocated_levels(&self) -> usize {
        self.bids.capacity() + self.asks.capacity()
    }
}

impl BookView for OrderBookL2 {
    fn best_bid(&self) -> Option<(Price, Quantity)> {
        self.bids.best()
    }

    fn best_ask(&self) -> Option<(Price, Quantity)> {
        self.asks.best()
    }

    fn for_each_level(&self, side: Side, visit: &mut dyn FnMut(Price, Quantity) -> bool) {
        for (price, quantity) in self.ladder(side).iter() {
            if !visit(price, quantity) {
                break;
            }
        }
    }
}

impl OrderBookL2 {
    /// Top of book as (bid price, bid qty, ask price, ask qty); 0s for an empty side.
    pub fn top(&self) -> [i64; 4] {
        features::top(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::features::Crossing;

    fn book() -> OrderBookL2 {
        let mut book = OrderBookL2::new();
        book.apply_snapshot(
            &[(100, 5), (99, 10), (98, 20)],
            &[(101, 4), (102, 8), (104, 30)],
            Some(10),
        )
        .expect("valid snapshot");
        book
    }

    #[test]
    fn deltas_set_and_remove_levels() {
        let mut book = book();
        book.apply_delta(Side::Buy, 100, 7).expect("valid");
        assert_eq!(book.best_bid(), Some((100, 7)));
        book.apply_delta(Side::Buy, 100, 0).expect("valid");
        assert_eq!(book.best_bid(), Some((99, 10)));
        book.apply_delta(Side::Sell, 103, 1).expect("valid");
        let asks: Vec<_> = book.levels(Side::Sell).collect();
        assert_eq!(asks, vec![(101, 4), (102, 8), (103, 1), (104, 30)]);
        // Removing an absent level is a no-op, as venues send such deltas.
        book.apply_delta(Side::Sell, 150, 0).expect("valid");
        assert_eq!(book.level_counts(), (2, 4));
    }

    #[test]
    fn bad_deltas_are_refused_and_change_nothing() {
        let mut book = book();
        let before = book.clone();
        assert_eq!(
            book.apply_delta(Side::Buy, 0, 1),
            Err(BookError::InvalidPrice(0))
        );
        assert_eq!(
            book.apply_delta(Side::Buy, 99, -1),
            Err(BookError::InvalidQuantity(-1))
        );
        assert_eq!(
            book.apply_snapshot(&[(100, 1), (100, 2)], &[], None),
            Err(BookError::DuplicateLevel(100))
        );
        assert_eq!(book, before);
    }

    #[test]
    fn sequence_gaps_are_detected_and_refused() {
        let mut book = book();
        book.apply_delta_sequenced(11, Side::Buy, 100, 6)
            .expect("next in sequence");
        let before = book.clone();
        assert_eq!(
            book.apply_delta_sequenced(13, Side::Buy, 100, 1),
            Err(BookError::SequenceGap {
                expected: 12,
                received: 13
            })
        );
        assert_eq!(
            book.apply_delta_sequenced(11, Side::Buy, 100, 1),
            Err(BookError::StaleSequence {
                last: 11,
                received: 11
            })
        );
        assert_eq!(book, before);
        assert_eq!(book.last_sequence(), Some(11));
    }

    #[test]
    fn crossing_is_reported() {
        let mut book = book();
        assert_eq!(book.crossing(), Crossing::Normal);
        book.apply_delta(Side::Buy, 101, 1).expect("valid");
        assert_eq!(book.crossing(), Crossing::Locked);
        book.apply_delta(Side::Buy, 102, 1).expect("valid");
        assert_eq!(book.crossing(), Crossing::Crossed);
    }

    #[test]
    fn changes_apply_all_or_none() {
        let mut book = book();
        let before = book.clone();
        assert_eq!(
            book.apply_changes(&[(Side::Buy, 100, 1), (Side::Sell, 0, 1)]),
            Err(BookError::InvalidPrice(0))
        );
        assert_eq!(
            book.apply_changes(&[(Side::Buy, 100, 1), (Side::Sell, 101, -1)]),
            Err(BookError::InvalidQuantity(-1))
        );
        assert_eq!(book, before);
        book.apply_changes(&[(Side::Buy, 100, 0), (Side::Sell, 101, 9)])
            .expect("valid");
        assert_eq!(book.best_bid(), Some((99, 10)));
        assert_eq!(book.best_ask(), Some((101, 9)));
    }
}
