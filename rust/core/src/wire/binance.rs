//! Binance spot `<symbol>@depth` updates from a combined-stream frame
//! (`{"stream": "...", "data": {"e": "depthUpdate", "E": ..., "U": ..., "u": ..., "b": [...],
//! "a": [...]}}`) into the changed levels of one instrument's book.

use std::borrow::Cow;

use serde::Deserialize;

use super::MalformedFrame;
use crate::types::{InstrumentSpec, Price, Quantity, Rounding, Side, ValueError};

/// One changed level: the quantity now at `price` on `side`; zero removes the level.
pub type LevelChange = (Side, Price, Quantity);

/// A decoded depth update. Its ids are always known, so the book's synchronisation can follow
/// the sequence even when a value in it is unusable (`changes` is then the first bad value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepthUpdate {
    /// Binance's event time, ms since the epoch.
    pub event_time_ms: i64,
    pub first_update_id: u64,
    pub final_update_id: u64,
    /// Bids then asks, in the frame's order.
    pub changes: Result<Vec<LevelChange>, ValueError>,
}

#[derive(Deserialize)]
struct CombinedFrame<'a> {
    #[serde(borrow)]
    data: WireDepthUpdate<'a>,
}

/// Decimal text borrowed from the frame (copied only if it holds an escape): serde borrows a
/// `Cow` only when it is a field marked `borrow`, not inside a tuple.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

type WireLevel<'a> = (Text<'a>, Text<'a>);

#[derive(Deserialize)]
struct WireDepthUpdate<'a> {
    #[serde(rename = "E")]
    event_time_ms: i64,
    #[serde(rename = "U")]
    first_update_id: u64,
    #[serde(rename = "u")]
    final_update_id: u64,
    #[serde(rename = "b", borrow)]
    bids: Vec<WireLevel<'a>>,
    #[serde(rename = "a", borrow)]
    asks: Vec<WireLevel<'a>>,
}

/// How Binance starts a combined-stream frame: `{"stream":"<name>","data":{...}}`.
const STREAM_PREFIX: &[u8] = br#"{"stream":""#;
const DATA_KEY: &[u8] = br#","data":"#;

fn malformed(error: serde_json::Error) -> MalformedFrame {
    MalformedFrame {
        message: "Binance depth update",
        detail: error.to_string(),
    }
}

/// The update of a frame laid out as Binance writes it, parsed from its `data` object on (the
/// envelope is a fifth of the frame's bytes); None when the frame has another layout, which
/// the general parse then reads (or refuses).
fn data_of_binance_layout(frame: &[u8]) -> Option<Result<WireDepthUpdate<'_>, MalformedFrame>> {
    let name = frame.strip_prefix(STREAM_PREFIX)?;
    // A stream name has no quote or backslash, so its end is the first quote.
    let name_end = name.iter().position(|&byte| byte == b'"')?;
    if name[..name_end].contains(&b'\\') {
        return None;
    }
    let data = name[name_end + 1..].strip_prefix(DATA_KEY)?;
    let mut updates = serde_json::Deserializer::from_slice(data).into_iter::<WireDepthUpdate>();
    let update = match updates.next()? {
        Ok(update) => update,
        Err(error) => return Some(Err(malformed(error))),
    };
    // Anything but the envelope's end after the data (a field Binance adds later, garbage)
    // is for the general parse to read or refuse.
    let ends_after_data = data[updates.byte_offset()..].trim_ascii() == b"}";
    ends_after_data.then_some(Ok(update))
}

/// Decodes a combined-stream depth frame; fields Binance adds later are ignored.
pub fn decode_depth_update(
    frame: &[u8],
    spec: &InstrumentSpec,
) -> Result<DepthUpdate, MalformedFrame> {
    let update = match data_of_binance_layout(frame) {
        Some(update) => update?,
        None => {
            serde_json::from_slice::<CombinedFrame<'_>>(frame)
                .map_err(malformed)?
                .data
        }
    };
    Ok(DepthUpdate {
        event_time_ms: update.event_time_ms,
        first_update_id: update.first_update_id,
        final_update_id: update.final_update_id,
        changes: level_changes(spec, &update.bids, &update.asks),
    })
}

/// Exact ticks and lots of `[price text, quantity text]` levels, bids then asks.
fn level_changes(
    spec: &InstrumentSpec,
    bids: &[WireLevel<'_>],
    asks: &[WireLevel<'_>],
) -> Result<Vec<LevelChange>, ValueError> {
    let mut changes = Vec::with_capacity(bids.len() + asks.len());
    for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
        for (price, quantity) in levels {
            changes.push((
                side,
                spec.price_from_str(&price.0, Rounding::Exact)?,
                spec.level_quantity_from_str(&quantity.0)?,
            ));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> InstrumentSpec {
        InstrumentSpec::simple("0.01", 2, "0.00001", 5)
    }

    fn frame(bids: &str, asks: &str) -> String {
        format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1700000000123,"s":"BTCUSDT","U":157,"u":160,"b":{bids},"a":{asks},"x":"a later field"}}}}"#
        )
    }

    #[test]
    fn decodes_ids_and_exact_levels_bids_first() {
        let text = frame(
            r#"[["24000.01000000","10.00000000"],["23999.99","0.00000000"]]"#,
            r#"[["24000.02","0.5"]]"#,
        );
        let update = decode_depth_update(text.as_bytes(), &spec()).expect("decodes");
        assert_eq!(update.event_time_ms, 1_700_000_000_123);
        assert_eq!((update.first_update_id, update.final_update_id), (157, 160));
        assert_eq!(
            update.changes,
            Ok(vec![
                (Side::Buy, 2_400_001, 1_000_000),
                (Side::Buy, 2_399_999, 0),
                (Side::Sell, 2_400_002, 50_000),
            ])
        );
    }

    #[test]
    fn a_bad_value_keeps_the_ids_and_names_the_value() {
        let off_grid = frame(r#"[["24000.001","1"]]"#, "[]");
        let update = decode_depth_update(off_grid.as_bytes(), &spec()).expect("decodes");
        assert_eq!(update.final_update_id, 160);
        assert!(matches!(update.changes, Err(ValueError::OffGrid { .. })));
        let negative = frame("[]", r#"[["24000.01","-1"]]"#);
        let update = decode_depth_update(negative.as_bytes(), &spec()).expect("decodes");
        assert!(matches!(
            update.changes,
            Err(ValueError::NonPositiveQuantity(_))
        ));
        let text = frame(r#"[["abc","1"]]"#, "[]");
        let update = decode_depth_update(text.as_bytes(), &spec()).expect("decodes");
        assert!(matches!(update.changes, Err(ValueError::NotANumber(_))));
    }

    #[test]
    fn malformed_frames_are_errors() {
        for text in [
            "",
            "{",
            r#"{"stream":"x"}"#,
            r#"{"data":{"E":1,"U":1,"u":2,"b":[["1","1","1"]],"a":[]}}"#,
            r#"{"data":{"E":1,"U":"1","u":2,"b":[],"a":[]}}"#,
            r#"{"data":{"E":1,"U":1,"u":2,"b":[[1.5,"1"]],"a":[]}}"#,
        ] {
            let error = decode_depth_update(text.as_bytes(), &spec()).expect_err(text);
            assert_eq!(error.message, "Binance depth update");
        }
    }

    #[test]
    fn any_layout_of_the_envelope_decodes_alike_and_garbage_after_it_is_refused() {
        let binance = frame(r#"[["24000.01","1"]]"#, "[]");
        let expected = decode_depth_update(binance.as_bytes(), &spec()).expect("decodes");
        let data_first = format!(
            r#"{{ "data" : {} , "stream" : "btcusdt@depth"}}"#,
            &binance[39..binance.len() - 1]
        );
        let update = decode_depth_update(data_first.as_bytes(), &spec()).expect("decodes");
        assert_eq!(update, expected);
        let spaced = format!("{} \n", &binance[..binance.len() - 1]) + "}\n";
        assert_eq!(
            decode_depth_update(spaced.as_bytes(), &spec()).expect("decodes"),
            expected
        );
        let later_field = format!("{},\"x\":1}}", &binance[..binance.len() - 1]);
        assert_eq!(
            decode_depth_update(later_field.as_bytes(), &spec()).expect("decodes"),
            expected
        );
        for trailing in ["}}", "} {}", ""] {
            let text = format!("{}{trailing}", &binance[..binance.len() - 1]);
            assert!(
                decode_depth_update(text.as_bytes(), &spec()).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn escaped_text_decodes_like_plain_text() {
        let text = frame(r#"[["2400\u0030.01","1"]]"#, "[]");
        let update = decode_depth_update(text.as_bytes(), &spec()).expect("decodes");
        assert_eq!(update.changes, Ok(vec![(Side::Buy, 2_400_001, 100_000)]));
    }
}
