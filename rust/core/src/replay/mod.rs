//! Bulk replay of market data over arrays of fixed-size records.
//!
//! The records are `#[repr(C)]` and match the NumPy structured dtypes exported to Python, so a
//! whole array crosses the language boundary as one slice and is applied in one loop.

pub mod synthetic;

use bytemuck::{Pod, Zeroable};

use crate::book::{BookError, OrderBookL2, OrderBookL3, SequenceTracker};
use crate::types::Side;

/// One L2 update: set the quantity at a price (0 removes the level).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct L2DeltaRecord {
    /// When it happened at the venue, ns since the epoch.
    pub ts_event: i64,
    /// When we received it, ns since the epoch.
    pub ts_init: i64,
    /// Venue sequence number; 0 when the feed has none (no gap detection).
    pub sequence: u64,
    pub price: i64,
    pub quantity: i64,
    /// 0 buy (bid), 1 sell (ask).
    pub side: u8,
    /// [`FLAG_CLEAR`]: clear the book before applying (first delta of a snapshot).
    pub flags: u8,
    pub reserved: [u8; 6],
}

/// One L3 message: an action on one order.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct L3MessageRecord {
    pub ts_event: i64,
    pub ts_init: i64,
    /// Venue sequence number; 0 when the feed has none.
    pub sequence: u64,
    pub order_id: u64,
    pub price: i64,
    /// ADD: size; REDUCE / EXECUTE: lots taken off; REPLACE: new size; CANCEL, CLEAR: unused.
    pub quantity: i64,
    pub side: u8,
    /// One of the `ACTION_*` codes.
    pub action: u8,
    pub reserved: [u8; 6],
}

/// L2 flag: clear the book before this delta.
pub const FLAG_CLEAR: u8 = 1;

pub const ACTION_ADD: u8 = 0;
pub const ACTION_CANCEL: u8 = 1;
pub const ACTION_REDUCE: u8 = 2;
pub const ACTION_REPLACE: u8 = 3;
pub const ACTION_EXECUTE: u8 = 4;
pub const ACTION_CLEAR: u8 = 5;

/// What to do with a record that cannot be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPolicy {
    /// Refuse the whole batch and leave the book as it was.
    Raise,
    /// Count the record, leave the book as the record found it, and go on. A sequence gap is
    /// counted and the record applied (the feed moved on; a snapshot will repair the book).
    Skip,
}

/// Outcome of a bulk replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplaySummary {
    pub applied: usize,
    pub rejected: usize,
    pub gaps: usize,
    /// The first refused record and why.
    pub first_error: Option<(usize, BookError)>,
}

impl ReplaySummary {
    fn reject(&mut self, index: usize, error: BookError) {
        self.rejected += 1;
        self.first_error.get_or_insert((index, error));
    }
}

/// Top of book after each record, one column per field (0 for an empty side).
pub struct TopColumns<'a> {
    pub bid_price: &'a mut [i64],
    pub bid_quantity: &'a mut [i64],
    pub ask_price: &'a mut [i64],
    pub ask_quantity: &'a mut [i64],
}

impl TopColumns<'_> {
    fn write(&mut self, index: usize, top: [i64; 4]) {
        self.bid_price[index] = top[0];
        self.bid_quantity[index] = top[1];
        self.ask_price[index] = top[2];
        self.ask_quantity[index] = top[3];
    }

    fn fits(&self, length: usize) -> bool {
        [
            self.bid_price.len(),
            self.bid_quantity.len(),
            self.ask_price.len(),
            self.ask_quantity.len(),
        ]
        .iter()
        .all(|&column| column >= length)
    }
}

/// Top-of-book columns must hold a row per record: a caller bug, not bad data.
fn check_columns(tops: &Option<TopColumns<'_>>, records: usize) {
    if let Some(columns) = tops {
        assert!(
            columns.fits(records),
            "top-of-book columns shorter than the records"
        );
    }
}

/// Checks what can be checked without the book: side codes, prices, quantities, and sequence
/// numbers from the book's current one onward.
fn validate_l2(
    records: &[L2DeltaRecord],
    mut sequence: SequenceTracker,
) -> Result<(), (usize, BookError)> {
    for (index, record) in records.iter().enumerate() {
        let fail = |error| Err((index, error));
        if record.side > 1 {
            return fail(BookError::UnknownAction(record.side));
        }
        if record.price <= 0 {
            return fail(BookError::InvalidPrice(record.price));
        }
        if record.quantity < 0 {
            return fail(BookError::InvalidQuantity(record.quantity));
        }
        if record.sequence != 0 {
            if let Err(error) = sequence.check(record.sequence) {
                return fail(error);
            }
            sequence.accept(record.sequence);
        }
    }
    Ok(())
}

/// Applies L2 deltas in order. With [`ErrorPolicy::Raise`] the batch is validated first and
/// nothing is applied if any record is bad.
pub fn apply_l2(
    book: &mut OrderBookL2,
    records: &[L2DeltaRecord],
    policy: ErrorPolicy,
    mut tops: Option<TopColumns<'_>>,
) -> ReplaySummary {
    let mut summary = ReplaySummary::default();
    check_columns(&tops, records.len());
    if policy == ErrorPolicy::Raise {
        if let Err((index, error)) = validate_l2(records, book.sequence_tracker()) {
            summary.reject(index, error);
            return summary;
        }
    }
    for (index, record) in records.iter().enumerate() {
        match apply_l2_record(book, record) {
            Ok(gap) => {
                summary.applied += 1;
                summary.gaps += usize::from(gap);
            }
            Err(error) => summary.reject(index, error),
        }
        if let Some(columns) = tops.as_mut() {
            columns.write(index, book.top());
        }
    }
    summary
}

/// Applies one record; returns whether it jumped a sequence gap.
fn apply_l2_record(book: &mut OrderBookL2, record: &L2DeltaRecord) -> Result<bool, BookError> {
    let side = Side::from_code(record.side).map_err(|_| BookError::UnknownAction(record.side))?;
    let mut gap = false;
    if record.sequence != 0 {
        match book.sequence_tracker().check(record.sequence) {
            Ok(()) => {}
            Err(BookError::SequenceGap { .. }) => gap = true,
            Err(stale) => return Err(stale),
        }
    }
    if record.flags & FLAG_CLEAR != 0 {
        if record.price <= 0 {
            return Err(BookError::InvalidPrice(record.price));
        }
        if record.quantity < 0 {
            return Err(BookError::InvalidQuantity(record.quantity));
        }
        book.clear();
    }
    book.apply_delta(side, record.price, record.quantity)?;
    if record.sequence != 0 {
        book.set_last_sequence(record.sequence);
    }
    Ok(gap)
}

/// Applies L3 messages in order. With [`ErrorPolicy::Raise`] the book is restored to its state
/// before the call when any message is refused (this costs one copy of the book).
pub fn apply_l3(
    book: &mut OrderBookL3,
    records: &[L3MessageRecord],
    policy: ErrorPolicy,
    mut tops: Option<TopColumns<'_>>,
) -> ReplaySummary {
    let mut summary = ReplaySummary::default();
    check_columns(&tops, records.len());
    let backup = (policy == ErrorPolicy::Raise).then(|| book.clone());
    let mut sequence = book.sequence_tracker();
    for (index, record) in records.iter().enumerate() {
        let mut gap = false;
        let outcome = if record.sequence != 0 {
            match sequence.check(record.sequence) {
                Ok(()) => Ok(()),
                Err(BookError::SequenceGap { .. }) if policy == ErrorPolicy::Skip => {
                    gap = true;
                    Ok(())
                }
                Err(error) => Err(error),
            }
        } else {
            Ok(())
        }
        .and_then(|()| apply_l3_record(book, record));
        match outcome {
            Ok(()) => {
                summary.applied += 1;
                summary.gaps += usize::from(gap);
                if record.sequence != 0 {
                    sequence.accept(record.sequence);
                }
            }
            Err(error) => {
                summary.reject(index, error);
                if let Some(saved) = backup {
                    *book = saved;
                    return summary;
                }
            }
        }
        if let Some(columns) = tops.as_mut() {
            columns.write(index, book.top());
        }
    }
    book.set_sequence_tracker(sequence);
    summary
}

pub(crate) fn apply_l3_record(
    book: &mut OrderBookL3,
    record: &L3MessageRecord,
) -> Result<(), BookError> {
    let side = || Side::from_code(record.side).map_err(|_| BookError::UnknownAction(record.side));
    match record.action {
        ACTION_ADD => book.add(record.order_id, side()?, record.price, record.quantity),
        ACTION_CANCEL => book.cancel(record.order_id).map(|_| ()),
        ACTION_REDUCE => book.reduce(record.order_id, record.quantity).map(|_| ()),
        ACTION_EXECUTE => book.execute(record.order_id, record.quantity).map(|_| ()),
        ACTION_REPLACE => book.replace(record.order_id, record.price, record.quantity),
        ACTION_CLEAR => {
            book.clear();
            Ok(())
        }
        other => Err(BookError::UnknownAction(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookView;

    fn delta(sequence: u64, side: u8, price: i64, quantity: i64) -> L2DeltaRecord {
        L2DeltaRecord {
            ts_event: 0,
            ts_init: 0,
            sequence,
            price,
            quantity,
            side,
            flags: 0,
            reserved: [0; 6],
        }
    }

    fn message(action: u8, order_id: u64, side: u8, price: i64, quantity: i64) -> L3MessageRecord {
        L3MessageRecord {
            ts_event: 0,
            ts_init: 0,
            sequence: 0,
            order_id,
            price,
            quantity,
            side,
            action,
            reserved: [0; 6],
        }
    }

    #[test]
    fn l2_bulk_apply_writes_top_after_each_record() {
        let mut book = OrderBookL2::new();
        let records = [
            delta(1, 0, 100, 5),
            delta(2, 1, 102, 7),
            delta(3, 0, 101, 1),
            delta(4, 0, 101, 0),
        ];
        let mut columns = [[0i64; 4]; 4];
        let [bid_price, bid_quantity, ask_price, ask_quantity] = &mut columns;
        let summary = apply_l2(
            &mut book,
            &records,
            ErrorPolicy::Raise,
            Some(TopColumns {
                bid_price,
                bid_quantity,
                ask_price,
                ask_quantity,
            }),
        );
        assert_eq!(summary.applied, 4);
        assert_eq!(columns[0], [100, 100, 101, 100]);
        assert_eq!(columns[1], [5, 5, 1, 5]);
        assert_eq!(columns[2], [0, 102, 102, 102]);
        assert_eq!(book.last_sequence(), Some(4));
    }

    #[test]
    fn l2_raise_policy_applies_nothing_from_a_bad_batch() {
        let mut book = OrderBookL2::new();
        let summary = apply_l2(
            &mut book,
            &[delta(1, 0, 100, 5), delta(3, 0, 99, 5)],
            ErrorPolicy::Raise,
            None,
        );
        assert_eq!(summary.applied, 0);
        assert_eq!(
            summary.first_error,
            Some((
                1,
                BookError::SequenceGap {
                    expected: 2,
                    received: 3
                }
            ))
        );
        assert_eq!(book, OrderBookL2::new());
    }

    #[test]
    fn l2_skip_policy_counts_bad_records_and_gaps() {
        let mut book = OrderBookL2::new();
        let records = [
            delta(1, 0, 100, 5),
            delta(0, 7, 99, 5),
            delta(5, 0, 99, 5),
            delta(4, 0, 98, 1),
        ];
        let summary = apply_l2(&mut book, &records, ErrorPolicy::Skip, None);
        assert_eq!(summary.applied, 2);
        assert_eq!(summary.rejected, 2);
        assert_eq!(summary.gaps, 1);
        assert_eq!(summary.first_error, Some((1, BookError::UnknownAction(7))));
        assert_eq!(
            book.levels(Side::Buy).collect::<Vec<_>>(),
            vec![(100, 5), (99, 5)]
        );
    }

    #[test]
    fn l3_raise_policy_restores_the_book() {
        let mut book = OrderBookL3::new();
        book.add(1, Side::Buy, 100, 5).expect("add");
        let before = book.clone();
        let records = [
            message(ACTION_ADD, 2, 0, 100, 3),
            message(ACTION_CANCEL, 42, 0, 0, 0),
        ];
        let summary = apply_l3(&mut book, &records, ErrorPolicy::Raise, None);
        assert_eq!(summary.first_error, Some((1, BookError::UnknownOrder(42))));
        assert_eq!(book, before);
        let summary = apply_l3(&mut book, &records, ErrorPolicy::Skip, None);
        assert_eq!((summary.applied, summary.rejected), (1, 1));
        assert_eq!(book.best_bid(), Some((100, 8)));
    }
}
