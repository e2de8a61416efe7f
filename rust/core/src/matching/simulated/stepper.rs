//! An L2 replay stepped from one top-of-book change to the next, for backtests whose
//! strategies react to the book.
//!
//! Three clocks meet in such a backtest (see `docs/book-backtest.md`): the exchange's, at which
//! records happen and our orders match; the node's, which sees a record one feed latency after
//! it happens; and the venue's own pending commands. [`L2Stepper::step`] does, in one call,
//! what a node needs between two strategy callbacks:
//!
//! 1. the venue replays records (deltas and prints merged by time) until a delta changes the
//!    market's top of book (best bid or ask price or quantity); that delta is seen by the node
//!    at its feed time `seen`;
//! 2. the venue goes on through every record that happened at or before `seen` (it cannot know
//!    later ones; changes found on the way are queued for the next steps);
//! 3. the node's book applies the deltas up to the changing one, never a later one.
//!
//! The venue's order events and the prints it replayed are handed back with the step, for the
//! node to deliver at their own local times. When something is due at or before `seen` (an
//! event or print of the step, or one the node holds from earlier: `held_until`), the node
//! delivers it first, with its book as it was, and then calls [`L2Stepper::apply_pending`]; so
//! no callback ever sees a delta before its time. Without change detection a step replays the
//! rest of the chunk.

use std::collections::VecDeque;
use std::ops::Range;

use thiserror::Error;

use crate::book::{BookError, OrderBookL2};
use crate::matching::events::OrderEvent;
use crate::matching::simulated::replay::{trade_event, RecordArray, RecordError, TradeRecord};
use crate::matching::simulated::venue::SimulatedVenue;
use crate::replay::{apply_l2, validate_l2, ErrorPolicy, L2DeltaRecord};

/// Why a step stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEnd {
    /// A delta changed the top of book.
    TopChange,
    /// Every record of the chunk is replayed and in the node's book.
    ChunkEnd,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub end: StepEnd,
    /// Local time at which the node sees the delta the step stopped on (for
    /// [`StepEnd::ChunkEnd`]: the latest market data of the venue).
    pub seen: i64,
    /// Prints (indices into the chunk's trades) the venue replayed during the step.
    pub prints: Range<usize>,
    /// The step's deltas wait for [`L2Stepper::apply_pending`]: something is due first.
    pub book_pending: bool,
}

/// A record the venue refused, or a delta the node's book refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StepError {
    #[error("{}[{}]: {}", .0.array.name(), .0.index, .0.error)]
    Venue(RecordError),
    #[error("deltas[{index}]: {error}")]
    Book { index: usize, error: BookError },
}

impl From<RecordError> for StepError {
    fn from(refused: RecordError) -> Self {
        StepError::Venue(refused)
    }
}

/// One chunk of L2 data: deltas and prints, each in time order. The caller keeps the records
/// and passes the same chunk to every call of one [`L2Stepper`].
#[derive(Debug, Clone, Copy)]
pub struct L2Chunk<'a> {
    pub deltas: &'a [L2DeltaRecord],
    pub trades: &'a [TradeRecord],
}

/// Cursors of one chunk of L2 data through a venue and a node's book.
#[derive(Debug)]
pub struct L2Stepper {
    delta_feed: Vec<i64>,
    trade_feed: Vec<i64>,
    venue_delta: usize,
    venue_trade: usize,
    /// Deltas before this are in the node's book; those before `book_end` are due in it.
    book_delta: usize,
    book_end: usize,
    reported_trade: usize,
    /// Deltas the venue replayed that changed its top, not yet stepped to.
    changes: VecDeque<usize>,
    top: [i64; 4],
    /// The node's book held the venue's market levels when the chunk began: once every delta
    /// is due, copying the venue's levels is cheaper than applying the deltas again.
    mirrors_venue: bool,
    last_sequence: Option<u64>,
}

impl L2Stepper {
    /// A stepper for `chunk` through `venue` and the node's `book`. The chunk is checked as a
    /// whole first (records by the venue, sequence numbers against the book): a bad record is
    /// returned before anything is replayed.
    pub fn new(
        venue: &SimulatedVenue,
        book: &OrderBookL2,
        chunk: L2Chunk<'_>,
    ) -> Result<Self, StepError> {
        venue.check_l2_batch(chunk.deltas, chunk.trades)?;
        validate_l2(chunk.deltas, book.sequence_tracker())
            .map_err(|(index, error)| StepError::Book { index, error })?;
        Ok(Self {
            mirrors_venue: venue.market_l2() == Some(book),
            last_sequence: chunk
                .deltas
                .iter()
                .rev()
                .find(|record| record.sequence != 0)
                .map(|record| record.sequence),
            delta_feed: vec![0; chunk.deltas.len()],
            trade_feed: vec![0; chunk.trades.len()],
            venue_delta: 0,
            venue_trade: 0,
            book_delta: 0,
            book_end: 0,
            reported_trade: 0,
            changes: VecDeque::new(),
            top: venue.top(),
        })
    }

    /// Deltas and prints in the chunk this stepper was made for.
    pub fn sizes(&self) -> (usize, usize) {
        (self.delta_feed.len(), self.trade_feed.len())
    }

    fn fits(&self, chunk: L2Chunk<'_>) -> bool {
        (chunk.deltas.len(), chunk.trades.len()) == self.sizes()
    }

    /// When the node sees print `index` of the chunk (once replayed).
    pub fn print_seen(&self, index: usize) -> i64 {
        self.trade_feed[index]
    }

    /// Whether every record is replayed and in the node's book.
    pub fn is_done(&self) -> bool {
        self.book_delta == self.delta_feed.len()
            && self.venue_delta == self.delta_feed.len()
            && self.venue_trade == self.trade_feed.len()
    }

    /// Replays records up to the next top-of-book change (when `detect_changes`) or to the end
    /// of the chunk; see the module docs. `held_until` is the earliest local time of what the
    /// node holds to deliver (`i64::MAX`: nothing). The venue must be the one the stepper was
    /// made for, `book` the node's book of its instrument and `chunk` the stepper's chunk.
    pub fn step(
        &mut self,
        venue: &mut SimulatedVenue,
        book: &mut OrderBookL2,
        chunk: L2Chunk<'_>,
        detect_changes: bool,
        held_until: i64,
        events: &mut Vec<OrderEvent>,
    ) -> Result<Step, StepError> {
        assert!(self.fits(chunk), "a chunk other than the stepper's");
        self.apply_pending(venue, book, chunk)?;
        let first_event = events.len();
        let change = loop {
            if let Some(index) = self.changes.pop_front() {
                break Some(index);
            }
            if !detect_changes || !self.replay_next(venue, chunk, true, events)? {
                break None;
            }
        };
        let (end, seen) = match change {
            Some(index) => {
                let seen = self.delta_feed[index];
                while next_ts(chunk, self.venue_delta, self.venue_trade)
                    .is_some_and(|ts| ts <= seen)
                {
                    self.replay_next(venue, chunk, true, events)?;
                }
                self.book_end = index + 1;
                (StepEnd::TopChange, seen)
            }
            None => {
                while self.replay_next(venue, chunk, false, events)? {}
                self.top = venue.top();
                self.changes.clear();
                self.book_end = chunk.deltas.len();
                (StepEnd::ChunkEnd, venue.last_feed_ts())
            }
        };
        let prints = self.reported_trade..self.venue_trade;
        self.reported_trade = self.venue_trade;
        let due_first = held_until <= seen
            || events[first_event..].iter().any(|event| event.ts() <= seen)
            || self.trade_feed[prints.clone()]
                .iter()
                .any(|&feed| feed <= seen);
        if !due_first {
            self.apply_pending(venue, book, chunk)?;
        }
        Ok(Step {
            end,
            seen,
            prints,
            book_pending: due_first,
        })
    }

    /// Applies the deltas of the last step to the node's book, if they wait.
    pub fn apply_pending(
        &mut self,
        venue: &SimulatedVenue,
        book: &mut OrderBookL2,
        chunk: L2Chunk<'_>,
    ) -> Result<(), StepError> {
        assert!(self.fits(chunk), "a chunk other than the stepper's");
        let from = self.book_delta;
        if from == self.book_end {
            return Ok(());
        }
        let market = venue.market_l2().filter(|_| self.mirrors_venue);
        match market {
            // Every delta is replayed at the venue and due in the book: the same levels.
            Some(market) if self.book_end == chunk.deltas.len() => {
                book.copy_levels_from(market);
                if let Some(sequence) = self.last_sequence {
                    book.set_last_sequence(sequence);
                }
            }
            _ => {
                let due = &chunk.deltas[from..self.book_end];
                let summary = apply_l2(book, due, ErrorPolicy::Raise, None);
                if let Some((index, error)) = summary.first_error {
                    return Err(StepError::Book {
                        index: from + index,
                        error,
                    });
                }
            }
        }
        self.book_delta = self.book_end;
        Ok(())
    }

    /// The venue replays one record; false when none is left.
    fn replay_next(
        &mut self,
        venue: &mut SimulatedVenue,
        chunk: L2Chunk<'_>,
        detect_changes: bool,
        events: &mut Vec<OrderEvent>,
    ) -> Result<bool, RecordError> {
        let trade_next = chunk.trades.get(self.venue_trade).is_some_and(|trade| {
            chunk
                .deltas
                .get(self.venue_delta)
                .is_none_or(|delta| trade.ts_event <= delta.ts_event)
        });
        if trade_next {
            let index = self.venue_trade;
            let record = &chunk.trades[index];
            self.trade_feed[index] = trade_event(record)
                .and_then(|trade| venue.on_market(record.ts_event, trade, events))
                .map_err(|error| RecordError {
                    array: RecordArray::Trades,
                    index,
                    error,
                })?;
            self.venue_trade += 1;
            return Ok(true);
        }
        let index = self.venue_delta;
        let Some(record) = chunk.deltas.get(index) else {
            return Ok(false);
        };
        self.delta_feed[index] =
            venue
                .apply_delta_record(record, events)
                .map_err(|error| RecordError {
                    array: RecordArray::Deltas,
                    index,
                    error,
                })?;
        self.venue_delta += 1;
        if detect_changes {
            let top = venue.top();
            if top != self.top {
                self.top = top;
                self.changes.push_back(index);
            }
        }
        Ok(true)
    }
}

/// Exchange time of the next record in merged order (a print first at equal times).
fn next_ts(chunk: L2Chunk<'_>, delta: usize, trade: usize) -> Option<i64> {
    let delta = chunk.deltas.get(delta).map(|record| record.ts_event);
    let trade = chunk.trades.get(trade).map(|record| record.ts_event);
    match (delta, trade) {
        (Some(delta), Some(trade)) => Some(delta.min(trade)),
        (delta, trade) => delta.or(trade),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::simulated::LatencyModel;
    use crate::matching::simulated::{l2_replay_from_l3, L2FeedColumns, QueueModel, VenueConfig};
    use crate::replay::synthetic::OrderFlowModel;
    use crate::types::InstrumentSpec;

    fn venue() -> SimulatedVenue {
        let spec = InstrumentSpec::new("0.01", 2, "1", 0, "1", "1000000", "0", "-0.0001", "0.0002")
            .expect("valid spec");
        let mut config = VenueConfig::l2(QueueModel::RiskAverse);
        config.feed_latency = LatencyModel::Constant(200_000);
        SimulatedVenue::new(spec, config).expect("valid config")
    }

    fn stream(messages: usize) -> (Vec<L2DeltaRecord>, Vec<TradeRecord>) {
        let model = OrderFlowModel {
            seed: 11,
            ..OrderFlowModel::default()
        };
        let flow = model.generate_l3(messages).expect("order flow");
        l2_replay_from_l3(&flow).expect("L2 stream")
    }

    /// Stepping ends where one bulk replay ends, stops exactly at the deltas that change the
    /// top, and the node's book never holds a delta past the one stepped to.
    #[test]
    fn steps_stop_at_every_top_change_and_end_like_a_bulk_replay() {
        let (deltas, trades) = stream(20_000);
        let mut bulk_venue = venue();
        let mut bulk_events = Vec::new();
        let mut bulk_feed = vec![0; deltas.len()];
        bulk_venue
            .replay_l2(
                &deltas,
                &trades,
                ErrorPolicy::Raise,
                &mut bulk_events,
                L2FeedColumns {
                    deltas: Some(&mut bulk_feed),
                    trades: None,
                },
            )
            .expect("bulk replay");

        let mut reference = OrderBookL2::new();
        let mut expected_changes = Vec::new();
        let mut previous = reference.top();
        for (index, record) in deltas.iter().enumerate() {
            apply_l2(
                &mut reference,
                std::slice::from_ref(record),
                ErrorPolicy::Raise,
                None,
            );
            if reference.top() != previous {
                previous = reference.top();
                expected_changes.push(index);
            }
        }

        let mut stepped_venue = venue();
        let mut book = OrderBookL2::new();
        let chunk = L2Chunk {
            deltas: &deltas,
            trades: &trades,
        };
        let mut stepper = L2Stepper::new(&stepped_venue, &book, chunk).expect("stepper");
        let mut events = Vec::new();
        let mut stops = Vec::new();
        let mut prints = 0;
        let mut last_top = book.top();
        let mut pending_steps = 0;
        loop {
            let step = stepper
                .step(
                    &mut stepped_venue,
                    &mut book,
                    chunk,
                    true,
                    i64::MAX,
                    &mut events,
                )
                .expect("step");
            if step.book_pending {
                // Held back: what is due first must see the book without the step's deltas.
                assert_eq!(book.top(), last_top);
                pending_steps += 1;
                stepper
                    .apply_pending(&stepped_venue, &mut book, chunk)
                    .expect("pending deltas");
            }
            last_top = book.top();
            assert_eq!(step.prints.start, prints);
            prints = step.prints.end;
            if step.end == StepEnd::ChunkEnd {
                break;
            }
            let index = stepper.book_delta - 1;
            assert_eq!(step.seen, bulk_feed[index]);
            let mut expected = OrderBookL2::new();
            apply_l2(&mut expected, &deltas[..=index], ErrorPolicy::Raise, None);
            assert_eq!(book.top(), expected.top());
            stops.push(index);
        }
        assert_eq!(stops, expected_changes);
        assert!(pending_steps > 0, "prints are due before some changes");
        assert_eq!(prints, trades.len());
        assert!(stepper.is_done());
        assert_eq!(book.top(), bulk_venue.top());
        assert_eq!(stepped_venue.last_feed_ts(), bulk_venue.last_feed_ts());
    }

    #[test]
    fn without_detection_one_step_replays_the_chunk() {
        let (deltas, trades) = stream(5_000);
        let mut venue = venue();
        let mut book = OrderBookL2::new();
        let chunk = L2Chunk {
            deltas: &deltas,
            trades: &trades,
        };
        let mut stepper = L2Stepper::new(&venue, &book, chunk).expect("stepper");
        let step = stepper
            .step(
                &mut venue,
                &mut book,
                chunk,
                false,
                i64::MAX,
                &mut Vec::new(),
            )
            .expect("step");
        assert!(
            step.book_pending,
            "the prints are due before the chunk's last delta"
        );
        stepper
            .apply_pending(&venue, &mut book, chunk)
            .expect("pending deltas");
        assert_eq!(step.end, StepEnd::ChunkEnd);
        assert_eq!(step.prints, 0..trades.len());
        assert!(stepper.is_done());
        // Copied from the venue's market, the book equals one that applied every delta.
        let mut expected = OrderBookL2::new();
        apply_l2(&mut expected, &deltas, ErrorPolicy::Raise, None);
        assert_eq!(book, expected);
        assert_eq!(book.last_sequence(), expected.last_sequence());
        assert!(book.last_sequence().is_some());
    }

    #[test]
    fn a_bad_record_is_refused_before_anything_is_replayed() {
        let (mut deltas, trades) = stream(1_000);
        deltas[10].price = -5;
        let venue = venue();
        let refused = L2Stepper::new(
            &venue,
            &OrderBookL2::new(),
            L2Chunk {
                deltas: &deltas,
                trades: &trades,
            },
        )
        .expect_err("bad price");
        let StepError::Venue(refused) = refused else {
            panic!("the venue refuses a bad price first, got {refused:?}");
        };
        assert_eq!(refused.array, RecordArray::Deltas);
        assert_eq!(refused.index, 10);
        assert_eq!(venue.last_feed_ts(), i64::MIN);
    }

    #[test]
    fn a_sequence_the_book_has_passed_is_refused_before_anything_is_replayed() {
        let (deltas, trades) = stream(1_000);
        let venue = venue();
        let mut book = OrderBookL2::new();
        apply_l2(&mut book, &deltas[..100], ErrorPolicy::Raise, None);
        let refused = L2Stepper::new(
            &venue,
            &book,
            L2Chunk {
                deltas: &deltas[50..],
                trades: &trades,
            },
        )
        .expect_err("stale sequence");
        assert!(
            matches!(
                refused,
                StepError::Book {
                    index: 0,
                    error: BookError::StaleSequence { .. }
                }
            ),
            "{refused:?}"
        );
        assert_eq!(venue.last_feed_ts(), i64::MIN);
    }
}
