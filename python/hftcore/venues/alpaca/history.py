"""Historical bars from Alpaca's market data API (alpaca-py's ``StockHistoricalDataClient`` /
``CryptoHistoricalDataClient``, every page) into model bars and the Parquet data catalog.

Alpaca stamps a bar with its start; a model bar's ``ts_event`` is its close (start + length).
A bar that does not convert (a price off the instrument's grid, bad OHLC) is counted, logged
and skipped; the rest is kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import msgspec

from hftcore._core import Instrument
from hftcore.data.bars import parse_bar_type
from hftcore.data.catalog import DataCatalog, DatasetInfo
from hftcore.data.timestamps import to_ns
from hftcore.errors import HftcoreError, InvalidValue
from hftcore.model.data import Bar
from hftcore.venues.alpaca import _sdk as sdk
from hftcore.venues.alpaca.config import AlpacaConfig, AlpacaCredentials, bound_rest_calls
from hftcore.venues.alpaca.wire import check_bar

logger = logging.getLogger(__name__)

_TIME_FRAME_UNITS = {"MINUTE": (59, "Minute"), "HOUR": (23, "Hour"), "DAY": (1, "Day")}


class WireHistoricalBar(msgspec.Struct, frozen=True):
    t: str
    o: float
    h: float
    l: float  # noqa: E741 - Alpaca's field name
    c: float
    v: float


@dataclass(frozen=True, slots=True)
class HistoricalBars:
    """Bars in time order, and how many were skipped as malformed."""

    bars: list[Bar]
    skipped: int


def _time_frame(bar_type: str) -> tuple[Any, int]:
    spec = parse_bar_type(bar_type)
    limits = _TIME_FRAME_UNITS.get(spec.unit)
    if limits is None or spec.step > limits[0]:
        raise InvalidValue(
            "UNSUPPORTED_BAR_TYPE",
            f"Alpaca serves 1-59 MINUTE, 1-23 HOUR and 1-DAY bars, not {bar_type}",
        )
    return sdk.TimeFrame(spec.step, sdk.TimeFrameUnit(limits[1])), spec.duration_ns


def download_bars(
    config: AlpacaConfig,
    instrument: Instrument,
    start: object,
    end: object,
    *,
    bar_type: str = "1-DAY",
    credentials: AlpacaCredentials | None = None,
) -> HistoricalBars:
    """``bar_type`` bars of ``instrument`` starting in ``[start, end)`` (ns, ISO text or an
    aware datetime), every page of them."""
    if not isinstance(instrument, Instrument):
        raise InvalidValue("BAD_INSTRUMENT", f"expected an Instrument, got {instrument!r}")
    time_frame, duration_ns = _time_frame(bar_type)
    start_ns, end_ns = to_ns(start, name="start"), to_ns(end, name="end")
    if end_ns <= start_ns:
        raise InvalidValue("BAD_RANGE", f"end {end_ns} is not after start {start_ns}")
    keys = credentials if credentials is not None else AlpacaCredentials.from_environment()
    symbol = config.symbol_of(instrument.instrument_id)
    window = {
        "symbol_or_symbols": symbol,
        "timeframe": time_frame,
        "start": _utc(start_ns),
        "end": _utc(end_ns),
    }
    raw: Any
    if config.asset_class == "crypto":
        crypto = sdk.CryptoHistoricalDataClient(
            keys.key_id, keys.secret_key, raw_data=True, url_override=config.data_url
        )
        bound_rest_calls(crypto, config.rest_timeout_s)
        raw = crypto.get_crypto_bars(sdk.CryptoBarsRequest(**window))
    else:
        stock = sdk.StockHistoricalDataClient(
            keys.key_id, keys.secret_key, raw_data=True, url_override=config.data_url
        )
        bound_rest_calls(stock, config.rest_timeout_s)
        raw = stock.get_stock_bars(sdk.StockBarsRequest(feed=sdk.DataFeed(config.feed), **window))
    bars: list[Bar] = []
    skipped = 0
    for row in raw.get(symbol, []) if isinstance(raw, dict) else []:
        try:
            wire = msgspec.convert(row, WireHistoricalBar)
            close_ns = to_ns(wire.t, name="t") + duration_ns
            bar = Bar(
                instrument.instrument_id,
                bar_type,
                instrument.price_to_ticks(wire.o),
                instrument.price_to_ticks(wire.h),
                instrument.price_to_ticks(wire.l),
                instrument.price_to_ticks(wire.c),
                instrument.quantity_to_lots(wire.v),
                close_ns,
                close_ns,
            )
            check_bar(bar)
        except (msgspec.ValidationError, HftcoreError) as error:
            skipped += 1
            logger.warning("alpaca history: skipped bar %r of %s: %s", row, symbol, error)
            continue
        bars.append(bar)
    bars.sort(key=lambda bar: bar.ts_event)
    return HistoricalBars(bars, skipped)


def import_bars(
    catalog: DataCatalog,
    config: AlpacaConfig,
    instrument: Instrument,
    start: object,
    end: object,
    *,
    bar_type: str = "1-DAY",
    credentials: AlpacaCredentials | None = None,
) -> tuple[DatasetInfo, HistoricalBars]:
    """Downloads bars (:func:`download_bars`) and appends them to ``catalog`` as the
    instrument's ``bars`` dataset of ``bar_type`` (merged in time order with what is stored)."""
    if not isinstance(catalog, DataCatalog):
        raise InvalidValue("BAD_CATALOG", f"expected a DataCatalog, got {catalog!r}")
    history = download_bars(
        config, instrument, start, end, bar_type=bar_type, credentials=credentials
    )
    info = catalog.write(
        instrument,
        "bars",
        history.bars,
        bar_type=bar_type,
        sort=True,
        source=f"alpaca {config.symbol_of(instrument.instrument_id)} {bar_type}",
    )
    return info, history


def _utc(ns: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ns // 1_000)


__all__ = ["HistoricalBars", "WireHistoricalBar", "download_bars", "import_bars"]
