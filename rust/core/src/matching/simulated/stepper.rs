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
//! The venue never gets ahead of a local time at which the node may act: an order event, a
//! print the node acts on, a timer (`held_until`). A step stops before the venue's next record
//! or command arrival after such a time ([`StepEnd::Due`]), so whatever the node sends then
//! reaches the venue in time, after exactly the records that happened before.
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
use crate::replay::{apply_l2, ErrorPolicy, L2DeltaRecord};

/// Why a step stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEnd {
    /// A delta changed the top of book.
    TopChange,
    /// Something the node may act on is due (`seen`: its local time) before the venue's next
    /// record: the node handles it first, so what it sends reaches the venue in time.
    Due,
    /// The step replayed as many deltas as it may (`max_deltas`); records remain.
    Paused,
    /// Every record is replayed and in the node's book.
    Done,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub end: StepEnd,
    /// Local time at which the node sees the delta the step stopped on (otherwise: the latest
    /// market data of the venue).
    pub seen: i64,
    /// Prints (indices into the trades) the venue replayed during the step; their local times
    /// are [`L2Stepper::print_feed`].
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

/// L2 data: deltas and prints, each in time order. The caller keeps the records and passes the
/// same ones to every call of one [`L2Stepper`].
#[derive(Debug, Clone, Copy)]
pub struct L2Chunk<'a> {
    pub deltas: &'a [L2DeltaRecord],
    pub trades: &'a [TradeRecord],
}

/// How far one [`L2Stepper::step`] may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepLimits {
    /// Stop at the next change of the top of book (someone reads the book at each).
    pub detect_changes: bool,
    /// At most this many deltas in a step without a change.
    pub max_deltas: usize,
    /// The earliest local time at which the node acts on what it already holds (its held
    /// order events, actionable prints, timers); `i64::MAX`: nothing.
    pub held_until: i64,
    /// The node acts on each print (someone reads them, or orders may trigger on them): a
    /// print's feed time bounds the venue's run ahead like an order event's.
    pub prints_act: bool,
}

impl StepLimits {
    /// Nothing watched, nothing held: as far as `max_deltas`.
    pub fn unwatched(max_deltas: usize) -> Self {
        StepLimits {
            detect_changes: false,
            max_deltas,
            held_until: i64::MAX,
            prints_act: false,
        }
    }

    /// Stop at every change of the top of book; nothing held.
    pub fn changes() -> Self {
        StepLimits {
            detect_changes: true,
            ..StepLimits::unwatched(usize::MAX)
        }
    }
}

/// Cursors of L2 data through a venue and a node's book. Memory is bounded by one step, not by
/// the data: feed times are kept only for what the node has not been handed yet.
#[derive(Debug)]
pub struct L2Stepper {
    sizes: (usize, usize),
    venue_delta: usize,
    venue_trade: usize,
    /// Deltas before this are in the node's book; those before `book_end` are due in it.
    book_delta: usize,
    book_end: usize,
    /// First print of the current step, and the local times of the step's prints.
    step_trade: usize,
    print_feed: Vec<i64>,
    /// Deltas the venue replayed that changed its top, with their feed times, not yet stepped
    /// to; the first of them once taken, until the step that publishes it.
    changes: VecDeque<(usize, i64)>,
    next_change: Option<(usize, i64)>,
    top: [i64; 4],
    /// The node's book held the venue's market levels when the stepper was made: where every
    /// delta the venue replayed is due in the book, copying the venue's levels is cheaper than
    /// applying the deltas again.
    mirrors_venue: bool,
}

impl L2Stepper {
    /// A stepper for `data` through `venue` and the node's `book`. The data is checked as a
    /// whole first (records by the venue, sequence numbers against the book): a bad record is
    /// returned before anything is replayed.
    pub fn new(
        venue: &SimulatedVenue,
        book: &OrderBookL2,
        data: L2Chunk<'_>,
    ) -> Result<Self, StepError> {
        if !plainly_valid(venue, book, data) {
            // The exact check names the first bad record (in merged time order).
            venue.check_l2_batch(data.deltas, data.trades, Some(book.sequence_tracker()))?;
        }
        Ok(Self {
            sizes: (data.deltas.len(), data.trades.len()),
            mirrors_venue: venue.market_l2() == Some(book),
            venue_delta: 0,
            venue_trade: 0,
            book_delta: 0,
            book_end: 0,
            step_trade: 0,
            print_feed: Vec::new(),
            changes: VecDeque::new(),
            next_change: None,
            top: venue.top(),
        })
    }

    /// Deltas and prints of the data this stepper was made for.
    pub fn sizes(&self) -> (usize, usize) {
        self.sizes
    }

    /// Local times at which the node sees the prints of the last step.
    pub fn print_feed(&self) -> &[i64] {
        &self.print_feed
    }

    /// Whether every record is replayed and in the node's book (commands may still be in
    /// flight to the venue).
    pub fn is_done(&self) -> bool {
        (self.book_delta, self.venue_trade) == self.sizes && self.venue_delta == self.sizes.0
    }

    /// Replays records up to the next top-of-book change (when `limits.detect_changes`), to
    /// the end of the data, through at most `limits.max_deltas` deltas, or up to a local time
    /// at which the node may act, whichever comes first; see the module docs. The venue must be
    /// the one the stepper was made for, `book` the node's book of its instrument and `data`
    /// the stepper's data.
    pub fn step(
        &mut self,
        venue: &mut SimulatedVenue,
        book: &mut OrderBookL2,
        data: L2Chunk<'_>,
        limits: StepLimits,
        events: &mut Vec<OrderEvent>,
    ) -> Result<Step, StepError> {
        assert!(self.fits(data), "data other than the stepper's");
        self.apply_pending(venue, book, data)?;
        self.step_trade = self.venue_trade;
        self.print_feed.clear();
        let first_event = events.len();
        let deltas = data.deltas.len();
        let limit = deltas.min(self.venue_delta.saturating_add(limits.max_deltas.max(1)));
        // The earliest local time at which the node may act (and send to the venue): the
        // venue replays no record that happened after it before the node has acted.
        let mut due = limits.held_until;
        if !limits.detect_changes && !limits.prints_act && due == i64::MAX {
            self.replay_unwatched(venue, data, limit, events)?;
            for event in &events[first_event..] {
                due = due.min(event.ts());
            }
        }
        let (end, seen) = loop {
            if self.next_change.is_none() && limits.detect_changes {
                self.next_change = self.changes.pop_front();
            }
            // The venue's timeline: its next record and the next command reaching it.
            let record = next_ts(data, self.venue_delta, self.venue_trade);
            let arrival = venue.next_arrival();
            let next = match (record, arrival) {
                (Some(record), Some(arrival)) => Some(record.min(arrival)),
                (record, arrival) => record.or(arrival),
            };
            if let Some((index, seen)) = self.next_change {
                if seen <= due && next.is_none_or(|ts| ts > seen) {
                    // Everything that happened by the time the node sees the change is done.
                    self.next_change = None;
                    self.book_end = index + 1;
                    break (StepEnd::TopChange, seen);
                }
            }
            if next.is_some_and(|ts| ts > due) {
                break (StepEnd::Due, due);
            }
            if self.next_change.is_none()
                && (record.is_none() || (self.venue_delta >= limit && limit < deltas))
                && arrival.is_none_or(|ts| record.is_some_and(|record| ts > record))
            {
                self.top = venue.top();
                self.changes.clear();
                self.book_end = self.venue_delta;
                let end = if record.is_none() && arrival.is_none() {
                    StepEnd::Done
                } else {
                    StepEnd::Paused
                };
                break (end, venue.last_feed_ts().max(venue.now()));
            }
            let (start_events, start_prints) = (events.len(), self.print_feed.len());
            match (record, arrival) {
                (record, Some(arrival)) if record.is_none_or(|record| arrival <= record) => {
                    venue.run_commands_until(arrival, events);
                }
                _ => {
                    self.replay_next(venue, data, limits.detect_changes, events)?;
                }
            }
            for event in &events[start_events..] {
                due = due.min(event.ts());
            }
            if limits.prints_act {
                for &feed in &self.print_feed[start_prints..] {
                    due = due.min(feed);
                }
            }
        };
        let prints = self.step_trade..self.venue_trade;
        let due_first = end != StepEnd::Due
            && (limits.held_until <= seen
                || events[first_event..].iter().any(|event| event.ts() <= seen)
                || self.print_feed.iter().any(|&feed| feed <= seen));
        if !due_first {
            self.apply_pending(venue, book, data)?;
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
        data: L2Chunk<'_>,
    ) -> Result<(), StepError> {
        assert!(self.fits(data), "data other than the stepper's");
        let from = self.book_delta;
        if from == self.book_end {
            return Ok(());
        }
        let due = &data.deltas[from..self.book_end];
        match venue.market_l2() {
            // The venue replayed exactly the deltas due in the book: the same levels.
            Some(market) if self.mirrors_venue && self.venue_delta == self.book_end => {
                book.copy_levels_from(market);
                if let Some(sequence) = due.iter().rev().find(|record| record.sequence != 0) {
                    book.set_last_sequence(sequence.sequence);
                }
            }
            _ => {
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

    fn fits(&self, data: L2Chunk<'_>) -> bool {
        (data.deltas.len(), data.trades.len()) == self.sizes
    }

    /// Nobody watches the book or the prints and the node holds nothing: records go to the
    /// venue in a tight loop up to delta `limit` (and the trailing prints, at the end), until a
    /// command is in flight or an event comes, which the general loop of [`L2Stepper::step`]
    /// then handles.
    fn replay_unwatched(
        &mut self,
        venue: &mut SimulatedVenue,
        data: L2Chunk<'_>,
        limit: usize,
        events: &mut Vec<OrderEvent>,
    ) -> Result<(), RecordError> {
        let start = events.len();
        let everything = limit == data.deltas.len();
        while events.len() == start
            && venue.next_arrival().is_none()
            && (self.venue_delta < limit || (everything && self.venue_trade < data.trades.len()))
        {
            self.replay_next(venue, data, false, events)?;
        }
        Ok(())
    }

    /// The venue replays one record; false when none is left.
    fn replay_next(
        &mut self,
        venue: &mut SimulatedVenue,
        data: L2Chunk<'_>,
        detect_changes: bool,
        events: &mut Vec<OrderEvent>,
    ) -> Result<bool, RecordError> {
        let trade_next = data.trades.get(self.venue_trade).is_some_and(|trade| {
            data.deltas
                .get(self.venue_delta)
                .is_none_or(|delta| trade.ts_event <= delta.ts_event)
        });
        if trade_next {
            let index = self.venue_trade;
            let record = &data.trades[index];
            let seen = trade_event(record)
                .and_then(|trade| venue.on_market(record.ts_event, trade, events))
                .map_err(|error| RecordError {
                    array: RecordArray::Trades,
                    index,
                    error,
                })?;
            self.print_feed.push(seen);
            self.venue_trade += 1;
            return Ok(true);
        }
        let index = self.venue_delta;
        let Some(record) = data.deltas.get(index) else {
            return Ok(false);
        };
        let seen = venue
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
                self.changes.push_back((index, seen));
            }
        }
        Ok(true)
    }
}

/// A quick pass that accepts data [`SimulatedVenue::check_l2_batch`] would accept, when nothing
/// is wrong with it: each array on its own in time order from the venue's time, valid sides,
/// prices and quantities, and sequence numbers that follow the book's.
fn plainly_valid(venue: &SimulatedVenue, book: &OrderBookL2, data: L2Chunk<'_>) -> bool {
    if venue.market_l2().is_none() {
        return false;
    }
    // One pass per array, every check on a record at once.
    let mut previous = venue.now();
    let mut last_sequence = book.sequence_tracker().last();
    for record in data.deltas {
        if record.side > 1 || record.price <= 0 || record.quantity < 0 || record.ts_event < previous
        {
            return false;
        }
        previous = record.ts_event;
        if record.sequence != 0 {
            if last_sequence.is_some_and(|last| record.sequence != last.wrapping_add(1)) {
                return false;
            }
            last_sequence = Some(record.sequence);
        }
    }
    let mut previous = venue.now();
    for record in data.trades {
        if record.aggressor_side > 1
            || record.price <= 0
            || record.quantity <= 0
            || record.ts_event < previous
        {
            return false;
        }
        previous = record.ts_event;
    }
    true
}

/// Exchange time of the next record in merged order (a print first at equal times).
fn next_ts(data: L2Chunk<'_>, delta: usize, trade: usize) -> Option<i64> {
    let delta = data.deltas.get(delta).map(|record| record.ts_event);
    let trade = data.trades.get(trade).map(|record| record.ts_event);
    match (delta, trade) {
        (Some(delta), Some(trade)) => Some(delta.min(trade)),
        (delta, trade) => delta.or(trade),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookView;
    use crate::matching::order::TimeInForce;
    use crate::matching::simulated::LatencyModel;
    use crate::matching::simulated::{l2_replay_from_l3, L2FeedColumns, QueueModel, VenueConfig};
    use crate::matching::simulated::{NewOrder, VenueError};
    use crate::replay::synthetic::OrderFlowModel;
    use crate::types::InstrumentSpec;
    use crate::types::Side;

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
                    StepLimits::changes(),
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
            if step.end == StepEnd::Done {
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
    fn without_detection_steps_pause_every_max_deltas_and_copy_the_venue_levels() {
        let (deltas, trades) = stream(5_000);
        let mut venue = venue();
        let mut book = OrderBookL2::new();
        let data = L2Chunk {
            deltas: &deltas,
            trades: &trades,
        };
        let mut stepper = L2Stepper::new(&venue, &book, data).expect("stepper");
        let mut steps = 0;
        let mut prints = 0;
        loop {
            let step = stepper
                .step(
                    &mut venue,
                    &mut book,
                    data,
                    StepLimits::unwatched(1_000),
                    &mut Vec::new(),
                )
                .expect("step");
            steps += 1;
            assert_eq!(step.prints.start, prints);
            prints = step.prints.end;
            assert_eq!(stepper.print_feed().len(), step.prints.len());
            if step.book_pending {
                stepper
                    .apply_pending(&venue, &mut book, data)
                    .expect("pending deltas");
            }
            // The book holds exactly the deltas replayed so far, and their last sequence.
            let replayed = (steps * 1_000).min(deltas.len());
            let mut expected = OrderBookL2::new();
            apply_l2(&mut expected, &deltas[..replayed], ErrorPolicy::Raise, None);
            assert_eq!(book, expected);
            assert_eq!(book.last_sequence(), expected.last_sequence());
            if step.end == StepEnd::Done {
                break;
            }
            assert_eq!(step.end, StepEnd::Paused);
        }
        assert_eq!(steps, deltas.len().div_ceil(1_000));
        assert_eq!(prints, trades.len());
        assert!(stepper.is_done());
    }

    /// With orders working, the venue stops before any record that happened after the local
    /// time of an event the node may act on: a command sent then reaches it in time.
    #[test]
    fn the_venue_never_runs_past_a_time_the_node_may_act_at() {
        let (deltas, trades) = stream(20_000);
        let mut venue = venue();
        let data = L2Chunk {
            deltas: &deltas,
            trades: &trades,
        };
        let mut book = OrderBookL2::new();
        let mut stepper = L2Stepper::new(&venue, &book, data).expect("stepper");
        let mut events = Vec::new();
        let limits = StepLimits {
            prints_act: true,
            ..StepLimits::changes()
        };
        let (mut due_steps, mut order_id) = (0, 0);
        while !stepper.is_done() {
            events.clear();
            let step = stepper
                .step(&mut venue, &mut book, data, limits, &mut events)
                .expect("step");
            eprintln!(
                "{step:?} now {} feed {:?}",
                venue.now(),
                stepper.print_feed()
            );
            assert!(
                venue.now() <= step.seen,
                "{step:?} at venue time {}",
                venue.now()
            );
            if step.end == StepEnd::Due {
                due_steps += 1;
                let earliest = events
                    .iter()
                    .map(OrderEvent::ts)
                    .chain(stepper.print_feed().iter().copied())
                    .min();
                assert_eq!(earliest, Some(step.seen));
            }
            if step.book_pending {
                stepper
                    .apply_pending(&venue, &mut book, data)
                    .expect("pending deltas");
            }
            // Act where the node may: a one-lot bid at the touch, sent at the step's time.
            if let Some((price, _)) = book.best_bid() {
                order_id += 1;
                venue
                    .submit(
                        step.seen,
                        NewOrder::limit(order_id, Side::Buy, price, 1, TimeInForce::Ioc),
                        &mut events,
                    )
                    .expect("a command at the step's time is never before the venue's");
            }
        }
        assert!(due_steps > 100, "prints bound the run ahead: {due_steps}");
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
                &refused,
                StepError::Venue(RecordError {
                    array: RecordArray::Deltas,
                    index: 0,
                    error: VenueError::Book(BookError::StaleSequence { .. }),
                })
            ),
            "{refused:?}"
        );
        assert_eq!(venue.last_feed_ts(), i64::MIN);
    }
}
