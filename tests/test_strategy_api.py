"""Strategy parameters, loading by path, and the node's cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from hftcore import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.node.cache import Cache
from hftcore.node.strategy import Strategy, StrategyError, load_strategy_class

FIXTURE = Path(__file__).parent / "fixtures" / "sample_strategy.py"


def test_strategies_load_by_file_path_with_validated_params() -> None:
    sample = load_strategy_class(f"{FIXTURE}:Sample")
    strategy = sample("S1", {"lookback": 5})
    assert strategy.params.lookback == 5
    assert strategy.params.threshold == 1.5
    with pytest.raises(ConfigError) as wrong_type:
        sample("S1", {"lookback": "many"})
    assert "lookback" in str(wrong_type.value)
    with pytest.raises(ConfigError) as unknown:
        sample("S1", {"lookbak": 5})
    assert "lookbak" in str(unknown.value)


@pytest.mark.parametrize(
    "path",
    ["no_colon", f"{FIXTURE}:Missing", "missing/file.py:X", "hftcore.nothere:X", "json:dumps"],
)
def test_bad_strategy_paths_are_named(path: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_strategy_class(path)
    assert error.value.code == "INVALID_STRATEGY_PATH"


def test_strategy_ids_and_binding_are_checked() -> None:
    with pytest.raises(ConfigError):
        Strategy("")
    with pytest.raises(ConfigError):
        Strategy("a.b")
    with pytest.raises(StrategyError) as error:
        _ = Strategy("S1").clock
    assert error.value.code == "NOT_BOUND"


def test_order_builders() -> None:
    market = Strategy.market("A.SIM", 0, 5)
    assert (market.order_type, market.time_in_force, market.price) == (
        OrderType.MARKET,
        TimeInForce.IOC,
        None,
    )
    limit = Strategy.limit("A.SIM", 1, 3, 10_000, post_only=1)
    assert (limit.order_type, limit.price, limit.post_only) == (OrderType.LIMIT, 10_000, 1)
    stop = Strategy.stop("A.SIM", 1, 3, 9_900)
    assert (stop.order_type, stop.trigger_price) == (OrderType.STOP, 9_900)


def test_cache_keeps_the_latest_state_and_refuses_unknown_instruments() -> None:
    cache = Cache()
    cache.add_instrument(Instrument("A.SIM", "0.01", 2, "1", 0))
    with pytest.raises(InvalidValue):
        cache.add_instrument(Instrument("A.SIM", "0.01", 2, "1", 0))
    with pytest.raises(InvalidValue):
        cache.book("B.SIM")
    assert cache.last_price("A.SIM") is None
    cache.update_bar(Bar("A.SIM", "1-DAY", 100, 110, 90, 105, 1000, 10, 10))
    assert cache.last_price("A.SIM") == 105
    cache.update_quote(Quote("A.SIM", 100, 5, 102, 7, 11, 11))
    assert cache.last_price("A.SIM") == 101
    cache.update_trade(Trade("A.SIM", 103, 1, 0, "t1", 12, 12))
    assert cache.last_price("A.SIM") == 103
    assert cache.book("A.SIM").best_bid() is None


def test_the_last_close_is_that_of_the_latest_bar_of_any_bar_type() -> None:
    cache = Cache()
    cache.add_instrument(Instrument("A.SIM", "0.01", 2, "1", 0))
    cache.add_instrument(Instrument("B.SIM", "0.01", 2, "1", 0))
    cache.update_bar(Bar("A.SIM", "1-DAY", 100, 110, 90, 105, 1000, 50, 50))
    cache.update_bar(Bar("A.SIM", "5-MINUTE", 100, 110, 90, 104, 10, 40, 40))
    assert cache.last_price("A.SIM") == 105  # the daily bar closed later
    cache.update_bar(Bar("A.SIM", "5-MINUTE", 100, 110, 90, 103, 10, 60, 60))
    assert cache.last_price("A.SIM") == 103
    assert cache.bar("A.SIM", "1-DAY").close == 105  # type: ignore[union-attr]
    assert cache.bar("A.SIM", "1-HOUR") is None
    assert cache.last_price("B.SIM") is None
    cache.update_bar(Bar("B.SIM", "1-DAY", 200, 210, 190, 201, 1000, 70, 70))
    assert (cache.last_price("A.SIM"), cache.last_price("B.SIM")) == (103, 201)
