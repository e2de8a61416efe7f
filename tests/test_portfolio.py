"""Portfolio: positions, P&L, balances and equity against hand computations; bad input."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hftcore import Instrument
from hftcore.errors import ConfigError, InvalidValue
from hftcore.model.events import OrderFilled
from hftcore.model.money import round_half_away
from hftcore.model.orders import OrderType
from hftcore.node.portfolio import Portfolio, PortfolioSnapshot
from hftcore.venues import BarVenue, BarVenueConfig, PerLotCommission
from hypothesis import given, settings
from hypothesis import strategies as st
from venue_helpers import Recorder, bar, spec

BUY, SELL = 0, 1
USD = 10**12  # money units per currency unit
AAPL = Instrument("AAPL.XNAS", "0.01", 2, "1", 0)
SAP = Instrument("SAP.XETR", "0.01", 2, "1", 0)
BTC = Instrument("BTCUSDT.BINANCE", "0.01", 2, "0.001", 3)


def money(text: str) -> int:
    """Money units of a decimal amount, computed by hand from the text."""
    return int(Decimal(text) * USD)


class Fills:
    """Builds OrderFilled events with fresh trade ids."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(
        self,
        side: int,
        price: int,
        quantity: int,
        *,
        instrument: Instrument = AAPL,
        strategy: str = "S",
        commission: int = 0,
        currency: str = "USD",
        ts: int | None = None,
    ) -> OrderFilled:
        self.count += 1
        return OrderFilled(
            strategy_id=strategy,
            instrument_id=instrument.instrument_id,
            client_order_id=f"O-{self.count}",
            venue_order_id=str(self.count),
            trade_id=f"T-{self.count}",
            side=side,
            last_price=price,
            last_quantity=quantity,
            liquidity="TAKER",
            commission=commission,
            currency=currency,
            ts_event=self.count if ts is None else ts,
            ts_init=self.count if ts is None else ts,
        )


def usd_portfolio(balance: str = "10000") -> Portfolio:
    return Portfolio({AAPL: "USD", SAP: "EUR", BTC: "USDT"}, "USD", {"USD": balance})


def test_long_position_average_price_realized_and_unrealized_pnl() -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.apply_fill(fill(BUY, 10_000, 10, commission=money("1")))
    portfolio.apply_fill(fill(BUY, 10_100, 10, commission=money("1")))
    after_sell = portfolio.apply_fill(fill(SELL, 10_200, 5, commission=money("0.5")))
    # average 100.50; 5 sold at 102.00 realize 7.50
    assert after_sell.quantity == 15
    assert after_sell.average_price == Decimal("100.5000000000")
    assert after_sell.realized_pnl == money("7.5")
    assert after_sell.commissions == {"USD": money("2.5")}
    assert (after_sell.ts_opened, after_sell.ts_closed, after_sell.ts_last) == (1, None, 3)
    portfolio.mark("AAPL.XNAS", 9_900)
    position = portfolio.position("S", "AAPL.XNAS")
    assert position is not None
    assert position.unrealized_pnl == money("-22.5")  # 15 x (99.00 - 100.50)
    assert position.mark_price == 9_900
    # cash 10000 - 1000 - 1 - 1010 - 1 + 510 - 0.5 = 8497.5; holding 15 x 99 = 1485
    assert portfolio.balance("USD") == money("8497.5")
    assert portfolio.equity() == money("9982.5")
    assert portfolio.equity() - money("10000") == money("7.5") + money("-22.5") - money("2.5")


def test_short_position() -> None:
    portfolio, fill = usd_portfolio("1000"), Fills()
    portfolio.apply_fill(fill(SELL, 5_000, 10))
    portfolio.apply_fill(fill(BUY, 4_500, 4))
    portfolio.mark("AAPL.XNAS", 4_700)
    position = portfolio.position("S", "AAPL.XNAS")
    assert position is not None
    assert position.quantity == -6
    assert position.average_price == Decimal("50.0000000000")
    assert position.realized_pnl == money("20")  # 4 x (50 - 45)
    assert position.unrealized_pnl == money("18")  # 6 x (50 - 47)
    assert portfolio.balance("USD") == money("1320")  # 1000 + 500 - 180
    assert portfolio.equity() == money("1038")  # 1320 - 6 x 47


def test_flip_through_zero_closes_then_opens_at_the_fill_price() -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.apply_fill(fill(BUY, 10_000, 10, ts=1))
    flipped = portfolio.apply_fill(fill(SELL, 11_000, 25, ts=5))
    assert (flipped.quantity, flipped.average_price) == (-15, Decimal("110.0000000000"))
    assert flipped.realized_pnl == money("100")  # 10 x (110 - 100)
    assert (flipped.ts_opened, flipped.ts_closed) == (5, None)
    assert flipped.unrealized_pnl == 0  # marked at the last fill price without a mark
    closed = portfolio.apply_fill(fill(BUY, 10_500, 15, ts=6))
    assert (closed.quantity, closed.average_price, closed.unrealized_pnl) == (0, None, 0)
    assert closed.realized_pnl == money("175")  # + 15 x (110 - 105)
    assert (closed.ts_opened, closed.ts_closed) == (5, 6)
    assert portfolio.average_price_ticks("S", "AAPL.XNAS") is None
    assert portfolio.equity() == money("10175")


def test_partial_close_at_a_non_terminating_average_is_exact_and_rounded_once() -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.apply_fill(fill(BUY, 10_000, 1))
    portfolio.apply_fill(fill(BUY, 10_001, 2))
    assert portfolio.average_price_ticks("S", "AAPL.XNAS") == Fraction(30_002, 3)
    one = portfolio.apply_fill(fill(SELL, 10_002, 1))
    # 100.02 - 300.02 / 3 = 0.04 / 3 = 0.013333... -> 13 333 333 333.33 money units
    assert one.realized_pnl == 13_333_333_333
    assert one.average_price == Decimal("100.0066666667")
    rest = portfolio.apply_fill(fill(SELL, 10_002, 2))
    # in all: 3 x 100.02 - 300.02 = 0.04, exactly: no rounding carried over
    assert rest.realized_pnl == money("0.04")
    assert portfolio.equity() == money("10000.04")


def test_fractional_lots_value_exactly() -> None:
    portfolio = Portfolio({BTC: "USDT"}, "USDT", {"USDT": "100000"})
    fill = Fills()
    portfolio.apply_fill(fill(BUY, 6_500_025, 1_500, instrument=BTC, currency="USDT"))
    portfolio.mark("BTCUSDT.BINANCE", 6_600_000)
    # 1.5 BTC at 65000.25 = 97500.375; marked at 66000: +1499.625
    assert portfolio.balance("USDT") == money("2499.625")
    [position] = portfolio.positions()
    assert position.unrealized_pnl == money("1499.625")
    assert portfolio.equity() == money("101499.625")


def test_several_strategies_keep_their_own_positions_and_share_cash() -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.apply_fill(fill(BUY, 10_000, 10, strategy="S"))
    portfolio.apply_fill(fill(SELL, 10_100, 4, strategy="T"))
    assert portfolio.net_quantity("AAPL.XNAS") == 6
    assert portfolio.net_quantity("AAPL.XNAS", "T") == -4
    assert portfolio.net_quantities() == {"AAPL.XNAS": 6}
    assert [p.strategy_id for p in portfolio.positions(instrument_id="AAPL.XNAS")] == ["S", "T"]
    assert portfolio.position("T", "AAPL.XNAS").realized_pnl == 0  # type: ignore[union-attr]
    assert portfolio.position("U", "AAPL.XNAS") is None
    assert portfolio.balance("USD") == money("9404")  # 10000 - 1000 + 404
    portfolio.mark("AAPL.XNAS", 10_100)
    only_s = portfolio.snapshot(9, strategy_id="S")
    assert (only_s.unrealized_pnl, len(only_s.positions)) == (money("10"), 1)
    assert only_s.equity == portfolio.equity() == money("10010")


def test_multi_currency_equity_with_exact_conversion() -> None:
    portfolio = Portfolio({AAPL: "USD", SAP: "EUR"}, "USD", {"USD": "10000", "EUR": "5000"})
    fill = Fills()
    portfolio.apply_fill(
        fill(BUY, 20_000, 10, instrument=SAP, commission=money("2"), currency="EUR")
    )
    portfolio.mark("SAP.XETR", 21_000)
    with pytest.raises(InvalidValue) as missing:
        portfolio.equity()
    assert missing.value.code == "NO_CONVERSION_RATE"
    portfolio.set_rate("EUR", "USD", Decimal("1.1"))
    assert portfolio.balances() == {"USD": money("10000"), "EUR": money("2998")}
    # 10000 + (2998 + 10 x 210) x 1.1 = 15607.8
    assert portfolio.equity() == money("15607.8")
    # In EUR: 10000 / 1.1 + 5098 = 14188.90909090909090..., rounded to 1e-12 once
    assert portfolio.equity("EUR") == 14_188_909_090_909_091
    assert portfolio.convert(money("1"), "USD", "EUR") == 909_090_909_091
    snapshot = portfolio.snapshot(5)
    assert snapshot.unrealized_pnl == money("110")  # 10 x 10 EUR x 1.1
    assert snapshot.commissions == money("2.2")
    portfolio.set_rate("USD", "EUR", "0.5")  # replaces EUR/USD: 1 EUR = 2 USD now
    assert portfolio.equity() == money("20196")  # 10000 + 5098 x 2


def test_commission_in_a_third_currency() -> None:
    portfolio = Portfolio({BTC: "USDT"}, "USDT", {"USDT": "1000", "BNB": "1"})
    fill = Fills()
    position = portfolio.apply_fill(
        fill(BUY, 100_000, 1_000, instrument=BTC, commission=money("0.001"), currency="BNB")
    )
    assert position.commissions == {"BNB": money("0.001")}
    assert portfolio.balances() == {"USDT": 0, "BNB": money("0.999")}
    with pytest.raises(InvalidValue):
        portfolio.snapshot(1)
    portfolio.set_rate("BNB", "USDT", "600")
    snapshot = portfolio.snapshot(1)
    assert (snapshot.commissions, snapshot.equity) == (money("0.6"), money("1599.4"))


def test_samples_make_the_equity_curve_and_encode_to_json() -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.sample(100)
    portfolio.apply_fill(fill(BUY, 10_000, 10))
    portfolio.mark("AAPL.XNAS", 10_050)
    portfolio.sample(200)
    assert portfolio.equity_curve() == ([100, 200], [money("10000"), money("10005")])
    with pytest.raises(InvalidValue) as back:
        portfolio.sample(150)
    assert back.value.code == "TIMESTAMP_BEFORE_LAST_SAMPLE"
    assert len(portfolio.history) == 2
    last = portfolio.history[-1]
    assert msgspec.json.decode(msgspec.json.encode(last), type=PortfolioSnapshot) == last


def bad_fills() -> list[tuple[OrderFilled, str]]:
    fill = Fills()
    good = fill(BUY, 100, 1)
    return [
        (msgspec.structs.replace(good, instrument_id="MSFT.XNAS"), "UNKNOWN_INSTRUMENT"),
        (msgspec.structs.replace(good, last_price=0), "NON_POSITIVE_PRICE"),
        (msgspec.structs.replace(good, last_price=-5), "NON_POSITIVE_PRICE"),
        (msgspec.structs.replace(good, last_quantity=-1), "NON_POSITIVE_QUANTITY"),
        (msgspec.structs.replace(good, last_quantity=1.5), "NOT_AN_INTEGER"),
        (msgspec.structs.replace(good, side=2), "UNKNOWN_SIDE"),
        (msgspec.structs.replace(good, commission=0.5), "NOT_AN_INTEGER"),
        (msgspec.structs.replace(good, currency=""), "INVALID_CURRENCY"),
        (msgspec.structs.replace(good, strategy_id=""), "INVALID_ID"),
        (good, "DUPLICATE_FILL"),
    ]


@pytest.mark.parametrize(("bad", "code"), bad_fills())
def test_bad_fills_raise_and_change_nothing(bad: OrderFilled, code: str) -> None:
    portfolio, fill = usd_portfolio(), Fills()
    portfolio.apply_fill(fill(BUY, 100, 1))  # the same ids as the "good" fill of bad_fills
    before = portfolio.snapshot(0)
    with pytest.raises(InvalidValue) as error:
        portfolio.apply_fill(bad)
    assert error.value.code == code
    assert portfolio.snapshot(0) == before


def test_bad_marks_rates_and_configuration() -> None:
    portfolio = usd_portfolio()
    portfolio.mark("AAPL.XNAS", 100)
    calls: list[tuple[Any, str]] = [
        (lambda: portfolio.mark("AAPL.XNAS", -1), "NON_POSITIVE_PRICE"),
        (lambda: portfolio.mark("AAPL.XNAS", 1.5), "NOT_AN_INTEGER"),
        (lambda: portfolio.mark("MSFT.XNAS", 100), "UNKNOWN_INSTRUMENT"),
        (lambda: portfolio.set_rate("EUR", "USD", 0), "NON_POSITIVE_RATE"),
        (lambda: portfolio.set_rate("EUR", "USD", "abc"), "NOT_A_NUMBER"),
        (lambda: portfolio.set_rate("EUR", "EUR", 1), "SAME_CURRENCY"),
        (lambda: portfolio.set_rate("", "USD", 1), "INVALID_CURRENCY"),
        (lambda: portfolio.position("S", "MSFT.XNAS"), "UNKNOWN_INSTRUMENT"),
    ]
    for call, code in calls:
        with pytest.raises(InvalidValue) as error:
            call()
        assert error.value.code == code
    assert portfolio.mark_price("AAPL.XNAS") == 100
    with pytest.raises(InvalidValue):
        portfolio.equity("EUR")  # no rate was stored
    configs: list[tuple[Any, str]] = [
        (lambda: Portfolio({AAPL: "USD"}, "USD", {"USD": "0.0000000000001"}), "INVALID_BALANCE"),
        (lambda: Portfolio({AAPL: "USD"}, ""), "INVALID_CURRENCY"),
        (lambda: Portfolio({AAPL: ""}, "USD"), "INVALID_CURRENCY"),
        (lambda: Portfolio([AAPL], "USD"), "INVALID_INSTRUMENTS"),
    ]
    for build, code in configs:
        with pytest.raises(ConfigError) as config_error:
            build()
        assert config_error.value.code == code


def test_bar_venue_fills_booked_by_the_portfolio_add_up() -> None:
    instrument = Instrument("TEST.SIM", "0.01", 2, "1", 0)
    portfolio = Portfolio({instrument: "USD"}, "USD", {"USD": "100000"})
    recorder = Recorder()
    config = BarVenueConfig(PerLotCommission(per_lot=Decimal("0.005"), minimum=Decimal("1")))
    venue = BarVenue("BARS", {instrument: "USD"}, config, event_sink=recorder)
    venue.submit("BUY", spec(BUY, OrderType.MARKET, 100), 0, strategy_id="S")
    venue.on_bar(bar(100, 5_000, 5_100, 4_900, 5_050))
    venue.submit("SELL", spec(SELL, OrderType.MARKET, 100), 100, strategy_id="S")
    venue.on_bar(bar(200, 5_200, 5_300, 5_100, 5_250))
    for event in recorder.take():
        if isinstance(event, OrderFilled):
            portfolio.apply_fill(event)
    [position] = portfolio.positions()
    assert position.realized_pnl == money("200")  # 100 x (52 - 50)
    assert position.commissions == {"USD": money("2")}  # the 1.00 minimum, twice
    assert portfolio.equity() == money("100198")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([BUY, SELL]),
            st.integers(9_000, 11_000),
            st.integers(1, 25),
            st.integers(0, 3 * USD),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(9_000, 11_000),
)
def test_position_matches_a_lot_by_lot_reference(
    trades: list[tuple[int, int, int, int]], mark: int
) -> None:
    """A reference that books one lot at a time (each lot either adds at the running average
    or closes one lot against it) agrees with the portfolio exactly, and equity moves by
    realized + unrealized - commissions."""
    portfolio, fill = usd_portfolio("0"), Fills()
    quantity, average, realized = 0, Fraction(0), Fraction(0)
    per_lot = Fraction(USD, 100)  # money units per lot at one tick (0.01 USD)
    for side, price, lots, commission in trades:
        portfolio.apply_fill(fill(side, price, lots, commission=commission))
        step = 1 if side == BUY else -1
        for _ in range(lots):
            if quantity == 0 or (quantity > 0) == (step > 0):
                average = (average * abs(quantity) + price) / (abs(quantity) + 1)
            else:
                realized += (price - average) * (1 if quantity > 0 else -1) * per_lot
            quantity += step
            if quantity == 0:
                average = Fraction(0)
    portfolio.mark("AAPL.XNAS", mark)
    position = portfolio.position("S", "AAPL.XNAS")
    assert position is not None
    assert position.quantity == quantity
    assert portfolio.average_price_ticks("S", "AAPL.XNAS") == (average if quantity else None)
    assert position.realized_pnl == round_half_away(realized)
    unrealized = (mark - average) * quantity * per_lot
    assert position.unrealized_pnl == round_half_away(unrealized)
    commissions = sum(trade[3] for trade in trades)
    assert portfolio.equity() == round_half_away(realized + unrealized) - commissions
