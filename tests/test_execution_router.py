"""Smart order routing: the routing decision on hand-made books, then the router on a node
with four matching-engine venues quoting one security."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
from execution_helpers import BUY, SELL, Market, instrument_config
from hftcore.errors import ConfigError, InvalidValue
from hftcore.execution.algos import AlgoStatus
from hftcore.execution.router import RouteSlice, SmartOrderRouter, VenueBook, plan_route
from hftcore.node.config import parse_config
from hftcore.node.kernel import TradingNode
from hftcore.venues import MatchingVenue

NOW = 10_000
FRESH = 9_950
STALE_AFTER = 100


def venue(
    name: str,
    *,
    asks: Sequence[tuple[int, int]] = (),
    bids: Sequence[tuple[int, int]] = (),
    fee: str = "0",
    latency_ns: int = 0,
    last_update_ns: int | None = FRESH,
) -> VenueBook:
    return VenueBook(name, list(bids), list(asks), Fraction(fee), latency_ns, last_update_ns)


def books() -> list[VenueBook]:
    return [
        venue("X.A", asks=[(10_000, 40)], fee="0.003"),  # lowest price, 30 bp: 100.30 a lot
        venue("X.B", asks=[(10_010, 20), (10_012, 10)], fee="0.0003"),  # 100.13, 100.15
        venue("X.C", asks=[(10_020, 100)]),  # 100.20, no fee
        venue("X.D", asks=[(9_990, 100)], last_update_ns=NOW - STALE_AFTER - 1),  # stale
        venue("X.E", bids=[(10_005, 10)], asks=[(10_000, 100)]),  # crossed
    ]


def route(side: int, quantity: int, venues: list[VenueBook], **options: Any) -> Any:
    return plan_route(side, quantity, venues, now_ns=NOW, stale_after_ns=STALE_AFTER, **options)


def test_the_cheapest_effective_price_including_fees_wins() -> None:
    plan = route(BUY, 50, books())
    assert [(s.instrument_id, s.quantity, s.price) for s in plan.slices] == [
        ("X.B", 30, 10_012),  # both B levels, one IOC at the worse price
        ("X.C", 20, 10_020),
    ]
    assert plan.slices[0].effective_cost == Fraction(10_010 * 20 + 10_012 * 10) * Fraction(
        10_003, 10_000
    )
    assert plan.unrouted == 0
    assert plan.skipped == {"X.D": "STALE", "X.E": "CROSSED"}
    # without fees the lowest raw price, A, comes first
    free = [
        venue(v.instrument_id, asks=v.asks, bids=v.bids, last_update_ns=v.last_update_ns)
        for v in books()
    ]
    assert [(s.instrument_id, s.quantity) for s in route(BUY, 50, free).slices] == [
        ("X.A", 40),
        ("X.B", 10),
    ]


def test_displayed_size_bounds_every_slice_and_the_rest_is_unrouted() -> None:
    plan = route(BUY, 500, books())
    assert {s.instrument_id: s.quantity for s in plan.slices} == {"X.B": 30, "X.C": 100, "X.A": 40}
    assert (plan.routed, plan.unrouted) == (170, 330)


def test_limit_price_excludes_levels_and_venues() -> None:
    plan = route(BUY, 50, books(), limit_price=10_010)
    assert [(s.instrument_id, s.quantity, s.price) for s in plan.slices] == [
        ("X.B", 20, 10_010),
        ("X.A", 30, 10_000),
    ]
    assert plan.skipped["X.C"] == "BEYOND_LIMIT"
    assert route(BUY, 50, [venue("X.Z", bids=[(9_000, 5)])]).skipped == {"X.Z": "NO_LIQUIDITY"}


def test_sells_take_the_highest_bid_net_of_fees() -> None:
    venues = [
        venue("X.A", bids=[(10_000, 10)], fee="0.001"),  # nets 99.90
        venue("X.B", bids=[(9_995, 10)]),  # nets 99.95
    ]
    plan = route(SELL, 15, venues)
    assert [(s.instrument_id, s.quantity, s.price) for s in plan.slices] == [
        ("X.B", 10, 9_995),
        ("X.A", 5, 10_000),
    ]


def test_latency_breaks_ties_and_can_be_priced() -> None:
    slow_cheap = venue("X.SLOW", asks=[(9_999, 10)], latency_ns=2_000_000)
    fast = venue("X.FAST", asks=[(10_000, 10)])
    assert route(BUY, 5, [slow_cheap, fast]).slices[0].instrument_id == "X.SLOW"
    # 1 bp per ms: 99.99 * (1 + 0.0002) = 100.01 is worse than 100.00 at once
    priced = route(BUY, 5, [slow_cheap, fast], latency_penalty_bps_per_ms=Fraction(1))
    assert priced.slices[0].instrument_id == "X.FAST"
    slow_same = venue("X.SLOW", asks=[(10_000, 10)], latency_ns=2_000_000)
    assert route(BUY, 5, [slow_same, fast]).slices[0].instrument_id == "X.FAST"


def test_a_venue_never_updated_is_stale() -> None:
    plan = route(BUY, 5, [venue("X.A", asks=[(10_000, 10)], last_update_ns=None)])
    assert (plan.slices, plan.unrouted, plan.skipped) == ((), 5, {"X.A": "STALE"})


@pytest.mark.parametrize(
    ("side", "quantity", "venues", "options", "code"),
    [
        (3, 5, [], {}, "INVALID_SIDE"),
        (BUY, 0, [], {}, "NON_POSITIVE_QUANTITY"),
        (BUY, 5, [], {"limit_price": 0}, "NON_POSITIVE_PRICE"),
        (BUY, 5, [venue("X.A", fee="1")], {}, "INVALID_FEE"),
        (BUY, 5, [venue("X.A", latency_ns=-1)], {}, "INVALID_LATENCY"),
        (BUY, 5, [venue("X.A"), venue("X.A")], {}, "DUPLICATE_VENUE"),
        (BUY, 5, [], {"latency_penalty_bps_per_ms": Fraction(-1)}, "INVALID_LATENCY"),
    ],
)
def test_plan_route_refuses_bad_input(
    side: int, quantity: int, venues: list[VenueBook], options: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        route(side, quantity, venues, **options)
    assert error.value.code == code
    with pytest.raises(InvalidValue) as negative:
        plan_route(BUY, 5, [], now_ns=NOW, stale_after_ns=-1)
    assert negative.value.code == "INVALID_INTERVAL"


SECOND = 1_000_000_000


def four_venues() -> Market:
    """A: 30 bp taker fee, B: 3 bp, C: no fee but its quote is crossed, D: no fee, cheapest
    ask, but quoted more than 500 ms ago."""
    market = Market({"XYZ.A": "0.003", "XYZ.B": "0.0003", "XYZ.C": "0", "XYZ.D": "0"})
    market.advance(SECOND)
    market.rest("XYZ.D", SELL, 9_980, 100)
    market.quote("XYZ.D", 9_970, 9_980)
    market.advance(2 * SECOND)
    market.rest("XYZ.A", SELL, 10_000, 30)  # the quote shows 40: 10 are gone on arrival
    market.quote("XYZ.A", 9_990, 10_000, ask_size=40)
    market.rest("XYZ.B", SELL, 10_010, 20)
    market.quote("XYZ.B", 9_995, 10_010, ask_size=20)
    market.rest("XYZ.C", SELL, 9_985, 100)
    market.quote("XYZ.C", 9_990, 9_985)
    return market


def test_router_on_a_node_splits_skips_and_reroutes_the_remainder() -> None:
    market = four_venues()
    router = SmartOrderRouter(
        "SOR", {"instrument_ids": ["XYZ.A", "XYZ.B", "XYZ.C", "XYZ.D"], "side": "BUY",
                "quantity": 60}
    )  # fmt: skip
    market.node.add_strategy(router)
    market.node.start()
    first = router.plans[0]
    assert first.slices == (
        RouteSlice("XYZ.B", 20, 10_010, Fraction(10_010 * 20) * Fraction(10_003, 10_000)),
        RouteSlice("XYZ.A", 40, 10_000, Fraction(10_000 * 40) * Fraction(10_030, 10_000)),
    )
    assert first.skipped == {"XYZ.C": "CROSSED", "XYZ.D": "STALE"}
    assert router.filled_quantity == 50  # A had 30 of the 40 it showed
    assert router.status is AlgoStatus.RUNNING
    assert len(router.plans) == 1  # no second round on books that have not changed
    market.rest("XYZ.B", SELL, 10_011, 50)
    market.quote("XYZ.B", 9_995, 10_011, ask_size=50)
    assert [(s.instrument_id, s.quantity) for s in router.plans[1].slices] == [("XYZ.B", 10)]
    assert router.status is AlgoStatus.COMPLETED
    fills = market.fills("SOR")
    assert sorted((f.instrument_id, f.last_price, f.last_quantity) for f in fills) == [
        ("XYZ.A", 10_000, 30),
        ("XYZ.B", 10_010, 20),
        ("XYZ.B", 10_011, 10),
    ]
    assert market.node.execution.oms.orders("SOR", instrument_id="XYZ.D") == []
    assert market.node.execution.oms.orders("SOR", instrument_id="XYZ.C") == []
    shortfall = router.shortfall()
    assert shortfall is not None
    # arrival: mid of the best bid (B 99.95) and ask (A 100.00) over usable venues
    assert shortfall.arrival_price == Fraction(9_995 + 10_000, 2)
    assert shortfall.filled_quantity == 60


def test_router_parameters_and_grids_are_checked() -> None:
    with pytest.raises(ConfigError) as empty:
        SmartOrderRouter("SOR", {"instrument_ids": [], "side": "BUY", "quantity": 5})
    assert "instrument_ids" in empty.value.message
    with pytest.raises(ConfigError) as latency:
        SmartOrderRouter(
            "SOR",
            {"instrument_ids": ["XYZ.A"], "side": "BUY", "quantity": 5,
             "latency_ns": {"XYZ.Q": 5}},
        )  # fmt: skip
    assert "latency_ns" in latency.value.message
    with pytest.raises(ConfigError) as stale:
        SmartOrderRouter(
            "SOR",
            {"instrument_ids": ["XYZ.A"], "side": "BUY", "quantity": 5, "stale_after_ns": -1},
        )
    assert "stale_after_ns" in stale.value.message


def test_listings_on_different_grids_stop_the_router_at_start() -> None:
    coarse = instrument_config("XYZ.B") | {"tick_size": "0.05"}
    node = TradingNode(parse_config({"instruments": [instrument_config("XYZ.A"), coarse]}))
    for instrument_id in ("XYZ.A", "XYZ.B"):
        name = instrument_id.split(".")[1]
        node.add_venue(name, MatchingVenue(name, {node.cache.instrument(instrument_id): "USD"}))
    router = SmartOrderRouter(
        "SOR", {"instrument_ids": ["XYZ.A", "XYZ.B"], "side": "BUY", "quantity": 5}
    )
    node.add_strategy(router)
    node.start()
    failure = node.failure("SOR")
    assert isinstance(failure, ConfigError)
    assert failure.code == "GRID_MISMATCH"
    assert router.children == {}
