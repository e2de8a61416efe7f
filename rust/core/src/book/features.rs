//! Book features computed the same way for L2 and L3 books (and any other ladder-shaped view).

use crate::types::{Price, Quantity, Side};

/// State of the touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// Best bid below best ask, or a side empty.
    Normal,
    /// Best bid equals best ask.
    Locked,
    /// Best bid above best ask.
    Crossed,
}

/// Result of walking one side of the book to trade a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    /// Quantity the book could supply (less than asked when it ran out).
    pub filled: Quantity,
    /// Sum of price x quantity over the levels used, in ticks x lots.
    pub cost: i128,
    /// Number of levels touched.
    pub levels_used: usize,
    /// Worst price reached (0 when nothing filled).
    pub worst_price: Price,
}

impl Walk {
    /// Volume-weighted average price in ticks (None when nothing filled).
    pub fn average_price(&self) -> Option<f64> {
        (self.filled > 0).then(|| self.cost as f64 / self.filled as f64)
    }
}

/// What a book must expose for its features to be computed.
pub trait BookView {
    fn best_bid(&self) -> Option<(Price, Quantity)>;
    fn best_ask(&self) -> Option<(Price, Quantity)>;
    /// Visits levels of `side` from the best price outward until `visit` returns false.
    fn for_each_level(&self, side: Side, visit: &mut dyn FnMut(Price, Quantity) -> bool);

    fn best(&self, side: Side) -> Option<(Price, Quantity)> {
        match side {
            Side::Buy => self.best_bid(),
            Side::Sell => self.best_ask(),
        }
    }

    /// Best ask minus best bid in ticks.
    fn spread(&self) -> Option<Price> {
        Some(self.best_ask()?.0 - self.best_bid()?.0)
    }

    /// Midpoint in ticks (may be a half tick).
    fn mid(&self) -> Option<f64> {
        Some((self.best_ask()?.0 as f64 + self.best_bid()?.0 as f64) / 2.0)
    }

    /// Size-weighted mid: leans toward the side with less quantity, where the price is likelier
    /// to move. In ticks.
    fn microprice(&self) -> Option<f64> {
        let (bid, bid_quantity) = self.best_bid()?;
        let (ask, ask_quantity) = self.best_ask()?;
        let total = (bid_quantity + ask_quantity) as f64;
        Some((bid as f64 * ask_quantity as f64 + ask as f64 * bid_quantity as f64) / total)
    }

    /// (bid quantity - ask quantity) / (bid + ask quantity) over the best `levels` levels of each
    /// side, in [-1, 1]; None when both are empty.
    fn imbalance(&self, levels: usize) -> Option<f64> {
        let bid = depth_quantity(self, Side::Buy, levels);
        let ask = depth_quantity(self, Side::Sell, levels);
        let total = bid + ask;
        (total > 0).then(|| (bid - ask) as f64 / total as f64)
    }

    /// Touch state.
    fn crossing(&self) -> Crossing {
        match (self.best_bid(), self.best_ask()) {
            (Some((bid, _)), Some((ask, _))) if bid > ask => Crossing::Crossed,
            (Some((bid, _)), Some((ask, _))) if bid == ask => Crossing::Locked,
            _ => Crossing::Normal,
        }
    }

    /// Walks the side a `taker_side` order would trade against (asks for a buy) to fill
    /// `quantity`.
    fn walk(&self, taker_side: Side, quantity: Quantity) -> Walk {
        let mut walk = Walk {
            filled: 0,
            cost: 0,
            levels_used: 0,
            worst_price: 0,
        };
        let mut remaining = quantity;
        self.for_each_level(taker_side.opposite(), &mut |price, available| {
            if remaining <= 0 {
                return false;
            }
            let take = remaining.min(available);
            walk.filled += take;
            walk.cost += price as i128 * take as i128;
            walk.levels_used += 1;
            walk.worst_price = price;
            remaining -= take;
            remaining > 0
        });
        walk
    }

    /// Writes up to `prices.len()` levels of `side` (best first) and returns how many; the rest
    /// of both slices is zeroed.
    fn depth_into(&self, side: Side, prices: &mut [Price], quantities: &mut [Quantity]) -> usize {
        let capacity = prices.len().min(quantities.len());
        let mut written = 0;
        self.for_each_level(side, &mut |price, quantity| {
            if written == capacity {
                return false;
            }
            prices[written] = price;
            quantities[written] = quantity;
            written += 1;
            written < capacity
        });
        prices[written..].fill(0);
        quantities[written..].fill(0);
        written
    }
}

fn depth_quantity<B: BookView + ?Sized>(book: &B, side: Side, levels: usize) -> Quantity {
    let mut total = 0;
    let mut seen = 0;
    book.for_each_level(side, &mut |_, quantity| {
        if seen == levels {
            return false;
        }
        total += quantity;
        seen += 1;
        seen < levels
    });
    total
}

/// Top of book as (bid price, bid qty, ask price, ask qty); 0s for an empty side.
pub fn top<B: BookView + ?Sized>(book: &B) -> [i64; 4] {
    let (bid, bid_quantity) = book.best_bid().unwrap_or((0, 0));
    let (ask, ask_quantity) = book.best_ask().unwrap_or((0, 0));
    [bid, bid_quantity, ask, ask_quantity]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::OrderBookL2;

    fn book() -> OrderBookL2 {
        let mut book = OrderBookL2::new();
        book.apply_snapshot(
            &[(100, 30), (99, 10)],
            &[(102, 10), (103, 5), (105, 20)],
            None,
        )
        .expect("valid snapshot");
        book
    }

    #[test]
    fn touch_features() {
        let book = book();
        assert_eq!(book.spread(), Some(2));
        assert_eq!(book.mid(), Some(101.0));
        // (100 * 10 + 102 * 30) / 40 = 101.5: leans to the ask, where less size stands.
        assert_eq!(book.microprice(), Some(101.5));
        assert_eq!(book.imbalance(1), Some(0.5));
        assert_eq!(book.imbalance(2), Some((40.0 - 15.0) / 55.0));
        assert_eq!(OrderBookL2::new().imbalance(5), None);
        assert_eq!(OrderBookL2::new().mid(), None);
    }

    #[test]
    fn walking_the_book() {
        let book = book();
        let walk = book.walk(Side::Buy, 12);
        assert_eq!(walk.filled, 12);
        assert_eq!(walk.cost, 102 * 10 + 103 * 2);
        assert_eq!(walk.levels_used, 2);
        assert_eq!(walk.worst_price, 103);
        assert_eq!(walk.average_price(), Some((1020.0 + 206.0) / 12.0));
        let short = book.walk(Side::Sell, 100);
        assert_eq!(short.filled, 40);
        assert_eq!(short.levels_used, 2);
    }

    #[test]
    fn depth_arrays() {
        let book = book();
        let mut prices = [0; 4];
        let mut quantities = [7; 4];
        assert_eq!(book.depth_into(Side::Sell, &mut prices, &mut quantities), 3);
        assert_eq!(prices, [102, 103, 105, 0]);
        assert_eq!(quantities, [10, 5, 20, 0]);
    }
}
