//! Kraken WebSocket v2 book checksum ("Book checksum (WebSocket v2)" in Kraken's docs): CRC32
//! of the top 10 asks (low to high) then the top 10 bids (high to low), each level written as
//! its price then its quantity, at the pair's precision with the `.` removed and leading zeros
//! stripped.

use std::fmt::Write;

use crate::book::OrderBookL2;
use crate::types::{InstrumentSpec, Side};

/// Levels per side the checksum covers.
pub const CHECKSUM_LEVELS: usize = 10;

/// Kraken's checksum of `book`, whose prices and quantities are ticks and lots of `spec`.
pub fn book_checksum(book: &OrderBookL2, spec: &InstrumentSpec) -> u32 {
    // A value at the pair's precision without its point and leading zeros is the integer
    // count of 10^-precision: ticks (lots) times the tick's (lot's) units.
    let mut text = String::with_capacity(CHECKSUM_LEVELS * 2 * 2 * 12);
    for side in [Side::Sell, Side::Buy] {
        for (price, quantity) in book.levels(side).take(CHECKSUM_LEVELS) {
            let price_units = i128::from(price) * i128::from(spec.tick.units);
            let quantity_units = i128::from(quantity) * i128::from(spec.lot.units);
            // Writing to a String cannot fail.
            let _ = write!(text, "{price_units}{quantity_units}");
        }
    }
    crc32fast::hash(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kraken's rule applied to the wire text itself, as its guide states it.
    fn checksum_of_text(asks: &[(&str, &str)], bids: &[(&str, &str)]) -> u32 {
        let strip = |text: &str| text.replace('.', "").trim_start_matches('0').to_string();
        let text: String = asks
            .iter()
            .chain(bids)
            .take(2 * CHECKSUM_LEVELS)
            .map(|(price, quantity)| strip(price) + &strip(quantity))
            .collect();
        crc32fast::hash(text.as_bytes())
    }

    #[test]
    fn equals_the_rule_applied_to_the_wire_text() {
        let spec = InstrumentSpec::simple("0.1", 1, "0.00000001", 8);
        let asks = [
            ("45285.2", "0.00100000"),
            ("45286.4", "1.54582015"),
            ("45286.6", "1.54592586"),
            ("45286.8", "1.54604000"),
            ("45287.0", "1.54615000"),
            ("45287.2", "1.54626000"),
            ("45287.4", "1.54637000"),
            ("45287.6", "1.54648000"),
            ("45287.8", "1.54659000"),
            ("45288.0", "1.54670000"),
        ];
        let bids = [
            ("45283.5", "0.10000000"),
            ("45283.4", "1.54582015"),
            ("45282.1", "0.10000000"),
            ("45281.0", "0.10000000"),
            ("45280.3", "1.54592586"),
            ("45279.0", "0.07990000"),
            ("45277.6", "0.03310103"),
            ("45277.5", "0.30000000"),
            ("45277.3", "1.54602737"),
            ("45276.6", "0.15445238"),
        ];
        let exact = |levels: &[(&str, &str)]| -> Vec<(i64, i64)> {
            levels
                .iter()
                .map(|(price, quantity)| {
                    (
                        spec.price_from_str(price, crate::Rounding::Exact)
                            .expect("price"),
                        spec.quantity_from_str(quantity, crate::Rounding::Exact)
                            .expect("quantity"),
                    )
                })
                .collect()
        };
        let mut book = OrderBookL2::new();
        book.apply_snapshot(&exact(&bids), &exact(&asks), None)
            .expect("valid snapshot");
        assert_eq!(book_checksum(&book, &spec), checksum_of_text(&asks, &bids));
    }

    #[test]
    fn covers_ten_levels_a_side_and_steps_that_are_not_one_unit() {
        let spec = InstrumentSpec::simple("0.05", 2, "0.001", 3);
        let mut book = OrderBookL2::new();
        let bids: Vec<_> = (1..=12).map(|ticks| (ticks, 1_000)).collect();
        book.apply_snapshot(&bids, &[(20, 1)], None).expect("valid");
        // Asks: 1.00 x 0.001 -> "100" "1"; bids 0.60 .. 0.15 x 1.000 -> "60" "1000" ...
        let mut expected = String::from("1001");
        for ticks in (3..=12).rev() {
            expected.push_str(&format!("{}1000", ticks * 5));
        }
        assert_eq!(
            book_checksum(&book, &spec),
            crc32fast::hash(expected.as_bytes())
        );
    }
}
