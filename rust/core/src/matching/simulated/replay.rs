//! Bulk replay of market data arrays through the simulated venue, one loop per call.
//!
//! L2 replays take the book deltas ([`L2DeltaRecord`]) and the trade prints ([`TradeRecord`])
//! as two arrays, each in timestamp order, and merge them by `ts_event`; at equal timestamps a
//! trade goes first, since venues print a trade before the book update that reflects it. L3
//! replays take [`L3MessageRecord`]s, whose executions are the trades. The venue uses
//! `ts_event`; sequence numbers are the book replay's business and are not checked here.

use bytemuck::{Pod, Zeroable};

use crate::book::{BookError, OrderBookL3, SequenceTracker};
use crate::matching::events::OrderEvent;
use crate::matching::simulated::venue::{check_market_event, MarketEvent, SimulatedVenue};
use crate::matching::simulated::VenueError;
use crate::replay::synthetic::l2_from_l3;
use crate::replay::{
    ErrorPolicy, L2DeltaRecord, L3MessageRecord, ACTION_ADD, ACTION_CANCEL, ACTION_CLEAR,
    ACTION_EXECUTE, ACTION_REDUCE, ACTION_REPLACE, FLAG_CLEAR,
};
use crate::types::{Quantity, Side};
use rustc_hash::FxHashMap;

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

fn delta_event(record: &L2DeltaRecord) -> Result<MarketEvent, VenueError> {
    Ok(MarketEvent::L2Delta {
        side: side_of(record.side)?,
        price: record.price,
        quantity: record.quantity,
    })
}

pub(crate) fn trade_event(record: &TradeRecord) -> Result<MarketEvent, VenueError> {
    Ok(MarketEvent::Trade {
        aggressor: side_of(record.aggressor_side)?,
        price: record.price,
        quantity: record.quantity,
    })
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
    pub(crate) fn apply_delta_record(
        &mut self,
        record: &L2DeltaRecord,
        events: &mut Vec<OrderEvent>,
    ) -> Result<i64, VenueError> {
        let delta = delta_event(record)?;
        if record.flags & FLAG_CLEAR != 0 {
            // Both halves of the record are checked before either is applied.
            self.validate_market(record.ts_event, &delta)?;
            self.on_market(record.ts_event, MarketEvent::L2Clear, events)?;
        }
        self.on_market(record.ts_event, delta, events)
    }

    /// Replays L2 deltas and trade prints, merged by timestamp. With [`ErrorPolicy::Raise`] the
    /// whole batch is checked first and the first bad record returned as the error, with the
    /// venue left as it was; with [`ErrorPolicy::Skip`] bad records are counted and skipped.
    pub fn replay_l2(
        &mut self,
        deltas: &[L2DeltaRecord],
        trades: &[TradeRecord],
        policy: ErrorPolicy,
        events: &mut Vec<OrderEvent>,
        mut feed: L2FeedColumns<'_>,
    ) -> Result<VenueReplaySummary, RecordError> {
        if policy == ErrorPolicy::Raise {
            self.check_l2_batch(deltas, trades, None)?;
        }
        let mut summary = VenueReplaySummary::default();
        for (array, index) in merged(deltas, trades) {
            let (outcome, column) = match array {
                RecordArray::Trades => {
                    let record = &trades[index];
                    let outcome = trade_event(record)
                        .and_then(|trade| self.on_market(record.ts_event, trade, events));
                    (outcome, feed.trades.as_deref_mut())
                }
                _ => (
                    self.apply_delta_record(&deltas[index], events),
                    feed.deltas.as_deref_mut(),
                ),
            };
            summary.account(array, index, outcome, column);
        }
        Ok(summary)
    }

    /// Replays L3 messages; error handling as in [`SimulatedVenue::replay_l2`].
    pub fn replay_l3(
        &mut self,
        messages: &[L3MessageRecord],
        policy: ErrorPolicy,
        events: &mut Vec<OrderEvent>,
        mut feed: Option<&mut [i64]>,
    ) -> Result<VenueReplaySummary, RecordError> {
        if policy == ErrorPolicy::Raise {
            self.check_l3_batch(messages)?;
        }
        let mut summary = VenueReplaySummary::default();
        for (index, record) in messages.iter().enumerate() {
            let outcome = message_event(record)
                .and_then(|event| self.on_market(record.ts_event, event, events));
            summary.account(RecordArray::Messages, index, outcome, feed.as_deref_mut());
        }
        Ok(summary)
    }

    /// Checks every record of an L2 batch before any is applied; with `sequence` (the
    /// tracker of a book the deltas will also go to), their sequence numbers too.
    pub(crate) fn check_l2_batch(
        &self,
        deltas: &[L2DeltaRecord],
        trades: &[TradeRecord],
        mut sequence: Option<SequenceTracker>,
    ) -> Result<(), RecordError> {
        let kind = self.config.data;
        let mut now = self.clock.now;
        let no_orders = |_| None;
        for (array, index) in merged(deltas, trades) {
            let (ts, event) = match array {
                RecordArray::Trades => (trades[index].ts_event, trade_event(&trades[index])),
                _ => (deltas[index].ts_event, delta_event(&deltas[index])),
            };
            let checked = event
                .and_then(|event| check_market_event(kind, now, ts, &event, &no_orders))
                .and_then(|()| match (array, sequence.as_mut()) {
                    (RecordArray::Deltas, Some(tracker)) if deltas[index].sequence != 0 => {
                        let number = deltas[index].sequence;
                        tracker.check(number)?;
                        tracker.accept(number);
                        Ok(())
                    }
                    _ => Ok(()),
                });
            checked.map_err(|error| RecordError {
                array,
                index,
                error,
            })?;
            now = ts;
        }
        Ok(())
    }

    /// Checks L3 messages against the book as the earlier messages of the batch leave it,
    /// tracking only the orders the batch touches.
    fn check_l3_batch(&self, messages: &[L3MessageRecord]) -> Result<(), RecordError> {
        let kind = self.config.data;
        let mut now = self.clock.now;
        let mut touched: FxHashMap<u64, Option<Quantity>> = FxHashMap::default();
        let mut cleared = false;
        for (index, record) in messages.iter().enumerate() {
            let resting = |order_id| match touched.get(&order_id) {
                Some(&state) => state,
                None if cleared => None,
                None => self.l3_quantity(order_id),
            };
            let event = message_event(record)
                .and_then(|event| {
                    check_market_event(kind, now, record.ts_event, &event, &resting)?;
                    Ok(event)
                })
                .map_err(|error| RecordError {
                    array: RecordArray::Messages,
                    index,
                    error,
                })?;
            let left = |order_id, taken| {
                resting(order_id)
                    .map(|quantity: Quantity| quantity - taken)
                    .filter(|&quantity| quantity > 0)
            };
            match event {
                MarketEvent::L3Add {
                    order_id, quantity, ..
                }
                | MarketEvent::L3Replace {
                    order_id, quantity, ..
                } => {
                    touched.insert(order_id, Some(quantity));
                }
                MarketEvent::L3Cancel { order_id } => {
                    touched.insert(order_id, None);
                }
                MarketEvent::L3Reduce {
                    order_id,
                    by: taken,
                }
                | MarketEvent::L3Execute {
                    order_id,
                    quantity: taken,
                } => {
                    let remaining = left(order_id, taken);
                    touched.insert(order_id, remaining);
                }
                MarketEvent::L3Clear => {
                    touched.clear();
                    cleared = true;
                }
                _ => {}
            }
            now = record.ts_event;
        }
        Ok(())
    }
}

/// Indices of two timestamp-ordered arrays in merged order; a trade goes first at equal
/// timestamps.
fn merged<'a>(
    deltas: &'a [L2DeltaRecord],
    trades: &'a [TradeRecord],
) -> impl Iterator<Item = (RecordArray, usize)> + 'a {
    let (mut delta_index, mut trade_index) = (0, 0);
    std::iter::from_fn(move || {
        let trade_next = trade_index < trades.len()
            && (delta_index == deltas.len()
                || trades[trade_index].ts_event <= deltas[delta_index].ts_event);
        if trade_next {
            trade_index += 1;
            Some((RecordArray::Trades, trade_index - 1))
        } else if delta_index < deltas.len() {
            delta_index += 1;
            Some((RecordArray::Deltas, delta_index - 1))
        } else {
            None
        }
    })
}

impl VenueReplaySummary {
    /// Books one record's outcome: its feed time, or the refusal.
    fn account(
        &mut self,
        array: RecordArray,
        index: usize,
        outcome: Result<i64, VenueError>,
        column: Option<&mut [i64]>,
    ) {
        match outcome {
            Ok(seen) => {
                self.applied += 1;
                if let Some(slot) = column.and_then(|column| column.get_mut(index)) {
                    *slot = seen;
                }
            }
            Err(error) => {
                self.rejected += 1;
                self.first_error.get_or_insert(RecordError {
                    array,
                    index,
                    error,
                });
            }
        }
    }
}

/// The L2 data an L3 stream implies, for L2 simulations of synthetic or recorded L3 flow: the
/// deltas of [`l2_from_l3`] (from an empty book) and one trade print per execution, at the
/// executed order's price with the aggressor on the other side.
pub fn l2_replay_from_l3(
    messages: &[L3MessageRecord],
) -> Result<(Vec<L2DeltaRecord>, Vec<TradeRecord>), BookError> {
    let deltas = l2_from_l3(&mut OrderBookL3::new(), messages, 1)?;
    let trades = messages
        .iter()
        .zip(&deltas)
        .filter(|(message, _)| message.action == ACTION_EXECUTE)
        .map(|(message, delta)| TradeRecord {
            ts_event: message.ts_event,
            ts_init: message.ts_init,
            price: delta.price,
            quantity: message.quantity,
            // l2_from_l3 only writes valid side codes (0 or 1).
            aggressor_side: 1 - delta.side,
            reserved: [0; 7],
        })
        .collect();
    Ok((deltas, trades))
}
