"""Market data: a Parquet catalog, CSV import, bar aggregation and bundled real data.

See ``docs/data.md``. The pieces:

* :class:`DataCatalog` -- one Parquet dataset per instrument and data type (``bars`` per bar
  type, ``quotes``, ``trades``, ``l2_deltas``, ``l3_messages``), validated writes, range reads
  and a bounded-memory merge of many datasets in timestamp order (:meth:`DataCatalog.stream`).
* :func:`read_csv` / :func:`import_csv` -- CSV text to integer ticks, lots and ns, exactly.
* :mod:`hftcore.data.bars` -- the ``"N-UNIT"`` bar type grammar and time, tick and volume bar
  aggregation, incremental (:class:`BarAggregator`) and in bulk (:func:`aggregate_trades`).
* :func:`load_bundled`, :func:`bundled_bars`, :func:`import_bundled` -- the real daily and
  hourly market data shipped with the package.
"""

from __future__ import annotations

from hftcore.data.bars import (
    BAR_DTYPE,
    BarAggregator,
    BarSpec,
    aggregate_quotes,
    aggregate_trades,
    bar_aggregator,
    bars_to_events,
    mid_prices,
    parse_bar_type,
)
from hftcore.data.catalog import DataCatalog, DatasetInfo, MergedChunk
from hftcore.data.csv_import import import_csv, read_csv
from hftcore.data.loaders import (
    BUNDLED,
    bundled_bars,
    bundled_instrument,
    bundled_path,
    import_bundled,
    load_bundled,
)
from hftcore.data.schema import (
    DATA_TYPES,
    SCHEMAS,
    DatasetKey,
    DataType,
    instrument_of,
    to_events,
    to_records,
)
from hftcore.data.timestamps import parse_timestamps, to_ns

__all__ = [
    "BAR_DTYPE",
    "BUNDLED",
    "DATA_TYPES",
    "SCHEMAS",
    "BarAggregator",
    "BarSpec",
    "DataCatalog",
    "DataType",
    "DatasetInfo",
    "DatasetKey",
    "MergedChunk",
    "aggregate_quotes",
    "aggregate_trades",
    "bar_aggregator",
    "bars_to_events",
    "bundled_bars",
    "bundled_instrument",
    "bundled_path",
    "import_bundled",
    "import_csv",
    "instrument_of",
    "load_bundled",
    "mid_prices",
    "parse_bar_type",
    "parse_timestamps",
    "read_csv",
    "to_events",
    "to_ns",
    "to_records",
]
