from __future__ import annotations

import pytest
from hftcore import Instrument


@pytest.fixture
def instrument() -> Instrument:
    return Instrument("TEST.SIM", "0.01", 2, "1", 0, maker_fee="-0.0001", taker_fee="0.0003")
