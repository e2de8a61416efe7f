"""Real return matrices from the bundled data (python/hftcore/data/bundled) for the risk tests."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from hftcore.data.loaders import load_bundled

Matrix = npt.NDArray[np.float64]


def _returns(name: str, columns: list[str] | None = None) -> tuple[list[str], Matrix, Matrix]:
    table = load_bundled(name)
    names = columns or [column for column in table.column_names if column != "ts"]
    prices = np.column_stack([table.column(column).to_numpy() for column in names])
    return names, prices[1:] / prices[:-1] - 1.0, table.column("ts").to_numpy()[1:]


@cache
def stocks() -> tuple[list[str], Matrix, Matrix]:
    """20 S&P 500 stocks, daily simple returns 1990-2022, and their timestamps (ns)."""
    return _returns("sp500_20_stocks_daily_adjclose")


@cache
def sp500() -> Matrix:
    """S&P 500 index daily returns on the same dates as :func:`stocks`."""
    return _returns("sp500_index_daily_close")[1][:, 0]


@cache
def factor_etfs() -> tuple[list[str], Matrix, Matrix]:
    return _returns("factor_etfs_daily_close")
