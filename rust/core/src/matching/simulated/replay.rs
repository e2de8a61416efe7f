//! Bulk replay of market data arrays through the simulated venue, one loop per call.
//!
//! L2 replays take the book deltas ([`L2DeltaRecord`]) and the trade prints ([`TradeRecord`])
//! as two arrays, each in timestamp order, and merge them by `ts_event`; at equal timestamps a
//! trade goes first, since venues print a trade before the book update that reflects it. L3
//! replays take [`L3MessageRecord`]s, whose executions are the trades. The venue uses
//! `ts_event`; sequence numbers are the book replay's business and are not checked here.

use bytemuck::{Pod, Zeroable};

use crate::book::BookError;
use crate::matching::events::OrderEvent;
use crate::matching::simulated::venue::{MarketEvent, SimulatedVenue};
use crate::matching::simulated::VenueError;
use crate::replay::{
    ErrorPolicy, L2DeltaRecord, L3MessageRecord, ACTION_ADD, ACTION_CANCEL, ACTION_CLEAR,
    ACTION_EXECUTE, ACTION_REDUCE, ACTION_REPLACE, FLAG_CLEAR,
};
use crate::types::Side;

/// One trade print (L2 data): `quantity` lots traded at `price`, the aggressor on
/// `aggressor_side`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct TradeRecord {
    /// When it happened at the venue, ns since the epoch.
    pub ts_event: i64,
    /// When we received it, ns since the epoch.
    pub ts_init: i64,
    pub price: i64,
    pub quantity: i64,
    /// 0 buy (the buyer lifted the ask), 1 sell (the seller hit the bid).
    pub aggressor_side: u8,
    pub reserved: [u8; 7],
}

/// Which input array a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordArray {
    Deltas,
    Trades,
    Messages,
}

impl RecordArray {
    pub fn name(self) -> &'static str {
        match self {
            RecordArray::Deltas => "deltas",
            RecordArray::Trades => "trades",
            RecordArray::Messages => "messages",
        }
    }
}

/// A record the venue refused.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub array: RecordArray,
    pub index: usize,
    pub error: VenueError,
}

/// Outcome of a bulk replay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VenueReplaySummary {
    pub applied: usize,
    pub rejected: usize,
    /// The first refused record (only with [`ErrorPolicy::Skip`]; `Raise` returns it as the
    /// error).
    pub first_error: Option<RecordError>,
}

/// Optional outputs of an L2 replay: the local time each record is seen at.
#[derive(Debug, Default)]
pub struct L2FeedColumns<'a> {
    pub deltas: Option<&'a mut [i64]>,
    pub trades: Option<&'a mut [i64]>,
}

fn side_of(code: u8) -> Result<Side, VenueError> {
    Side::from_code(code).map_err(|_| VenueError::UnknownSide(code))
}

fn message_event(record: &L3MessageRecord) -> Result<MarketEvent, VenueError> {
    let order_id = record.order_id;
    Ok(match record.action {
        ACTION_ADD => MarketEvent::L3Add {
            order_id,
            side: side_of(record.side)?,
            price: record.price,
            quantity: record.quantity,
        },
        ACTION_CANCEL => MarketEvent::L3Cancel { order_id },
        ACTION_REDUCE => MarketEvent::L3Reduce {
            order_id,
            by: record.quantity,
        },
        ACTION_REPLACE => MarketEvent::L3Replace {
            order_id,
            price: record.price,
            quantity: record.quantity,
        },
        ACTION_EXECUTE => MarketEvent::L3Execute {
            order_id,
            quantity: record.quantity,
        },
        ACTION_CLEAR => MarketEvent::L3Clear,
        other => return Err(BookError::UnknownAction(other).into()),
    })
}

impl SimulatedVenue {
    fn apply_delta_record(
        &mut self,
        record: &L2DeltaRecord,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let delta = MarketEvent::L2Delta {
            side: side_of(record.side)?,
            price: record.price,
            quantity: record.quantity,
        };
        if record.flags & FLAG_CLEAR != 0 {
            // Both halves of the record are checked before either is applied.
            self.validate_market(record.ts_event, &delta)?;
            self.on_market(record.ts_event, MarketEvent::L2Clear, events)?;
        }
        self.on_market(record.ts_event, delta, events)
    }

    fn apply_trade_record(
        &mut self,
        record: &TradeRecord,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let trade = MarketEvent::Trade {
            aggressor: side_of(record.aggressor_side)?,
            price: record.price,
            quantity: record.quantity,
        };
        self.on_market(record.ts_event, trade, events)
    }

    /// Replays L2 deltas and trade prints, merged by timestamp. With [`ErrorPolicy::Raise`] the
    /// first bad record is returned as the error and the venue (and `events`) are left as they
    /// were; with [`ErrorPolicy::Skip`] bad records are counted and skipped.
    pub fn replay_l2(
        &mut self,
        deltas: &[L2DeltaRecord],
        trades: &[TradeRecord],
        policy: ErrorPolicy,
        events: &mut Vec<OrderEvent>,
        mut feed: L2FeedColumns<'_>,
    ) -> Result<VenueReplaySummary, RecordError> {
        let mut run = ReplayRun::start(self, policy, events);
        let (mut delta_index, mut trade_index) = (0, 0);
        while delta_index < deltas.len() || trade_index < trades.len() {
            let trade_next = trade_index < trades.len()
                && (delta_index == deltas.len()
                    || trades[trade_index].ts_event <= deltas[delta_index].ts_event);
            if trade_next {
                let outcome = self.apply_trade_record(&trades[trade_index], run.events);
                let column = feed.trades.as_deref_mut();
                run.account(self, RecordArray::Trades, trade_index, outcome, column)?;
                trade_index += 1;
            } else {
                let outcome = self.apply_delta_record(&deltas[delta_index], run.events);
                let column = feed.deltas.as_deref_mut();
                run.account(self, RecordArray::Deltas, delta_index, outcome, column)?;
                delta_index += 1;
            }
        }
        Ok(run.summary)
    }

    /// Replays L3 messages; error handling as in [`SimulatedVenue::replay_l2`].
    pub fn replay_l3(
        &mut self,
        messages: &[L3MessageRecord],
        policy: ErrorPolicy,
        events: &mut Vec<OrderEvent>,
        mut feed: Option<&mut [i64]>,
    ) -> Result<VenueReplaySummary, RecordError> {
        let mut run = ReplayRun::start(self, policy, events);
        for (index, record) in messages.iter().enumerate() {
            let outcome = message_event(record)
                .and_then(|event| self.on_market(record.ts_event, event, run.events));
            run.account(
                self,
                RecordArray::Messages,
                index,
                outcome,
                feed.as_deref_mut(),
            )?;
        }
        Ok(run.summary)
    }
}

/// Bookkeeping of one bulk replay.
struct ReplayRun<'e> {
    /// Under the raise policy: the venue and the event count before the replay.
    backup: Option<(SimulatedVenue, usize)>,
    summary: VenueReplaySummary,
    events: &'e mut Vec<OrderEvent>,
}

impl<'e> ReplayRun<'e> {
    fn start(venue: &SimulatedVenue, policy: ErrorPolicy, events: &'e mut Vec<OrderEvent>) -> Self {
        ReplayRun {
            backup: (policy == ErrorPolicy::Raise).then(|| (venue.clone(), events.len())),
            summary: VenueReplaySummary::default(),
            events,
        }
    }

    /// Books one record's outcome: writes its feed time, or counts the refusal (under the
    /// raise policy: restores the venue and the events, and stops).
    fn account(
        &mut self,
        venue: &mut SimulatedVenue,
        array: RecordArray,
        index: usize,
        outcome: Result<i64, VenueError>,
        column: Option<&mut [i64]>,
    ) -> Result<(), RecordError> {
        match outcome {
            Ok(seen) => {
                self.summary.applied += 1;
                if let Some(slot) = column.and_then(|column| column.get_mut(index)) {
                    *slot = seen;
                }
                Ok(())
            }
            Err(error) => {
                let refused = RecordError {
                    array,
                    index,
                    error,
                };
                if let Some((saved, length)) = self.backup.take() {
                    *venue = saved;
                    self.events.truncate(length);
                    return Err(refused);
                }
                self.summary.rejected += 1;
                self.summary.first_error.get_or_insert(refused);
                Ok(())
            }
        }
    }
}
