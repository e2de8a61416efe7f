"""Instrument specs and the one conversion path from Python numbers to ticks and lots."""

from __future__ import annotations

import pickle
from decimal import Decimal

import pytest
from hftcore import Instrument
from hftcore.errors import InvalidValue
from hypothesis import given
from hypothesis import strategies as st

ETH = Instrument("ETHUSDT.BINANCE", "0.05", 2, "0.001", 3, min_quantity="0.001", max_quantity="500")


@given(st.integers(1, 10**12))
def test_on_grid_values_round_trip_exactly_from_every_type(ticks: int) -> None:
    text = ETH.ticks_to_str(ticks)
    assert ETH.price_to_ticks(text) == ticks
    assert ETH.price_to_ticks(Decimal(text)) == ticks
    assert ETH.price_to_ticks(float(text)) == ticks


@given(st.integers(1, 10**12), st.integers(1, 4))
def test_off_grid_values_are_rejected_unless_rounding_is_asked_for(ticks: int, off: int) -> None:
    # One hundredth between grid points (the tick is 0.05): never on the grid.
    value = Decimal(ETH.ticks_to_str(ticks)) + Decimal(off) / 100
    with pytest.raises(InvalidValue) as error:
        ETH.price_to_ticks(value)
    assert error.value.code == "OFF_GRID"
    assert ETH.price_to_ticks(value, "down") == ticks
    assert ETH.price_to_ticks(value, "up") == ticks + 1
    assert ETH.price_to_ticks(value, "nearest") == (ticks if off <= 2 else ticks + 1)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (float("nan"), "NOT_A_NUMBER"),
        (Decimal("NaN"), "NOT_A_NUMBER"),
        (float("inf"), "INFINITE"),
        ("-Infinity", "INFINITE"),
        ("abc", "NOT_A_NUMBER"),
        ("", "NOT_A_NUMBER"),
        (-1, "NON_POSITIVE_PRICE"),
        (0, "NON_POSITIVE_PRICE"),
        ("1e40", "OVERFLOW"),
        (10**30, "OVERFLOW"),
    ],
)
def test_bad_prices_get_specific_errors(value: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        ETH.price_to_ticks(value)  # type: ignore[arg-type]
    assert error.value.code == code


@pytest.mark.parametrize(
    ("value", "code"),
    [(0, "NON_POSITIVE_QUANTITY"), ("-0.001", "NON_POSITIVE_QUANTITY"), ("0.0005", "OFF_GRID")],
)
def test_bad_quantities_get_specific_errors(value: object, code: str) -> None:
    with pytest.raises(InvalidValue) as error:
        ETH.quantity_to_lots(value)  # type: ignore[arg-type]
    assert error.value.code == code


def test_wrong_types_and_rounding_modes_are_refused() -> None:
    with pytest.raises(TypeError):
        ETH.price_to_ticks(True)
    with pytest.raises(TypeError):
        ETH.price_to_ticks([1.0])  # type: ignore[arg-type]
    with pytest.raises(InvalidValue) as error:
        ETH.price_to_ticks("1.00", "sideways")  # type: ignore[arg-type]
    assert error.value.code == "INVALID_INSTRUMENT"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tick_size": "0"},
        {"tick_size": "0.001"},
        {"price_precision": 12},
        {"min_quantity": "10", "max_quantity": "1"},
        {"maker_fee": "1.5"},
        {"instrument_id": ""},
        {"tick_size": float("nan")},
    ],
)
def test_invalid_instrument_specs_are_refused(kwargs: dict[str, object]) -> None:
    spec: dict[str, object] = {
        "instrument_id": "X.SIM",
        "tick_size": "0.01",
        "price_precision": 2,
        "lot_size": "1",
        "size_precision": 0,
        **kwargs,
    }
    with pytest.raises(InvalidValue):
        Instrument(**spec)  # type: ignore[arg-type]


def test_notional_is_exact_and_instruments_pickle() -> None:
    assert ETH.notional(ETH.price_to_ticks("2000.05"), ETH.quantity_to_lots("1.5")) == (
        "3000.075000000000"
    )
    assert pickle.loads(pickle.dumps(ETH)) == ETH
    assert ETH.min_quantity == 1
    assert ETH.max_quantity == 500_000
