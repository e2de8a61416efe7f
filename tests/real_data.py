"""Loaders of the real market data bundled in tests/data (provenance in tests/data/README.md)."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

DATA = Path(__file__).parent / "data"


class Closes:
    """Daily closes of some columns, with their dates as ns since the epoch (UTC midnight)."""

    def __init__(
        self, timestamps: npt.NDArray[np.int64], columns: dict[str, npt.NDArray[np.float64]]
    ):
        self.timestamps = timestamps
        self.columns = columns


def _rows(name: str) -> tuple[list[str], list[list[str]]]:
    with gzip.open(DATA / name, "rt", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def _ns(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def daily_closes(name: str) -> Closes:
    """A ``Date,<col>,<col>...`` file of ISO dates and prices."""
    header, rows = _rows(name)
    timestamps = np.array([_ns(datetime.fromisoformat(row[0])) for row in rows], dtype=np.int64)
    columns = {
        column: np.array([float(row[i]) for row in rows]) for i, column in enumerate(header) if i
    }
    return Closes(timestamps, columns)


def sp500() -> Closes:
    return daily_closes("sp500_index_daily_close.csv.gz")


def factor_etfs() -> Closes:
    return daily_closes("factor_etfs_daily_close.csv.gz")


def fama_french_monthly() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Monthly US market returns (Mkt-RF + RF) and risk-free returns, as fractions."""
    header, rows = _rows("fama_french_3_monthly.csv.gz")
    excess = np.array([float(row[header.index("Mkt-RF")]) for row in rows]) / 100.0
    risk_free = np.array([float(row[header.index("RF")]) for row in rows]) / 100.0
    return excess + risk_free, risk_free


def simple_returns(prices: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return prices[1:] / prices[:-1] - 1.0
