"""hftcore.reports.backtest: a backtest result built from real prices, its statistics (the shared
measures, never re-implemented), the JSON round trip, the self-contained HTML report read back
with html.parser, and bad input."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hftcore.errors import InvalidData, InvalidValue
from hftcore.reports import BacktestResult, FillRecord, OrderRecord, PerformanceStatistics
from hftcore.reports.backtest import statistic_text
from hftcore.reports.charts import PLOT_WIDTH, Line, Marker, time_chart
from hftcore.risk import performance as perf

from tests import real_data

MOMENTUM = "MTUM.ARCA"
LOW_VOL = "USMV.ARCA"
FEE_RATE = 0.0005
INITIAL_CASH = 100_000.0


def _trend_backtest(name: str = "trend <MTUM/USMV> & co", strategy_id: str = "trend") -> dict:
    """A small, fully deterministic trend rule run on real ETF closes (2014..2022): hold 100
    shares of an ETF while its 20-day mean is above its 60-day mean, trading at the close."""
    etfs = real_data.factor_etfs()
    prices = {MOMENTUM: etfs.columns["MTUM"], LOW_VOL: etfs.columns["USMV"]}
    steps = etfs.timestamps.size
    positions = {instrument: np.zeros(steps) for instrument in prices}
    fills: list[FillRecord] = []
    orders: list[OrderRecord] = []
    cash = INITIAL_CASH
    equity = np.zeros(steps)
    for t in range(steps):
        for instrument, closes in prices.items():
            held = positions[instrument][t - 1] if t else 0.0
            target = held
            if t >= 60:
                fast, slow = closes[t - 19 : t + 1].mean(), closes[t - 59 : t + 1].mean()
                target = 100.0 if fast > slow else 0.0
            if target != held:
                quantity = abs(target - held)
                side = "BUY" if target > held else "SELL"
                price = float(closes[t])
                fee = quantity * price * FEE_RATE
                cash -= (target - held) * price + fee
                order_id = f"O-{len(orders)}"
                ts = int(etfs.timestamps[t])
                fills.append(
                    FillRecord(ts, instrument, side, price, quantity, fee, order_id, strategy_id)
                )
                orders.append(
                    OrderRecord(
                        order_id,
                        strategy_id,
                        instrument,
                        side,
                        "MARKET",
                        quantity,
                        quantity,
                        "FILLED",
                        ts,
                        ts,
                        price,
                    )
                )
            positions[instrument][t] = target
        equity[t] = cash + sum(positions[i][t] * prices[i][t] for i in prices)
    first = int(etfs.timestamps[0])
    orders.append(
        OrderRecord(
            "O-cancel", strategy_id, MOMENTUM, "BUY", "LIMIT", 5, 0, "CANCELED", first, first
        )
    )
    orders.append(
        OrderRecord(
            "O-reject", strategy_id, LOW_VOL, "SELL", "LIMIT", 5, 0, "REJECTED", first, first
        )
    )
    return {
        "instrument_ids": [MOMENTUM, LOW_VOL],
        "timestamps": etfs.timestamps,
        "equity": equity,
        "positions": positions,
        "prices": prices,
        "fills": fills,
        "orders": orders,
        "periods_per_year": 252,
        "risk_free_rate": 0.02,
        "name": name,
    }


@pytest.fixture(scope="module")
def run() -> dict:
    return _trend_backtest()


@pytest.fixture(scope="module")
def result(run: dict) -> BacktestResult:
    return BacktestResult.build(**run)


# --- content and statistics ---------------------------------------------------------------


def test_result_holds_the_run(run: dict, result: BacktestResult) -> None:
    assert result.instrument_ids == [MOMENTUM, LOW_VOL]
    assert result.timestamps == run["timestamps"].tolist()
    assert result.equity == run["equity"].tolist()
    np.testing.assert_allclose(result.returns, run["equity"][1:] / run["equity"][:-1] - 1)
    assert result.positions[MOMENTUM] == run["positions"][MOMENTUM].tolist()
    assert result.prices[LOW_VOL] == run["prices"][LOW_VOL].tolist()
    assert result.fills == sorted(run["fills"], key=lambda f: f.ts)
    assert len(result.fills) > 20
    assert result.contract_multipliers == {MOMENTUM: 1.0, LOW_VOL: 1.0}
    assert result.order_counts() == {"FILLED": len(run["fills"]), "CANCELED": 1, "REJECTED": 1}
    assert result.position_matrix().shape == (len(result.timestamps), 2)
    np.testing.assert_array_equal(result.drawdown(), perf.drawdown_series(run["equity"]))


def test_statistics_are_the_shared_measures(run: dict, result: BacktestResult) -> None:
    equity, times = run["equity"], run["timestamps"]
    returns = perf.returns_from_equity(equity)
    daily = {"periods_per_year": 252}
    stats = result.statistics
    assert stats.periods == returns.size
    assert stats.total_return == perf.total_return(returns)
    assert stats.annual_return == perf.annual_return(returns, **daily)
    assert stats.annual_volatility == perf.annual_volatility(returns, **daily)
    assert stats.sharpe_ratio == perf.sharpe_ratio(returns, **daily, risk_free_rate=0.02)
    assert stats.sortino_ratio == perf.sortino_ratio(returns, **daily, risk_free_rate=0.02)
    assert stats.calmar_ratio == perf.calmar_ratio(returns, **daily)
    assert stats.omega_ratio == perf.omega_ratio(returns, **daily)
    assert stats.max_drawdown == perf.max_drawdown(equity)
    assert stats.max_drawdown_duration_periods == perf.max_drawdown_duration(equity)
    assert stats.max_drawdown_duration_ns == perf.max_drawdown_duration_time(equity, times)
    assert stats.tail_ratio == perf.tail_ratio(returns)
    assert stats.hit_ratio == perf.hit_ratio(returns)
    assert stats.exposure == perf.exposure(
        np.column_stack([run["positions"][MOMENTUM], run["positions"][LOW_VOL]]), times
    )
    assert stats.total_fees == pytest.approx(sum(f.fee for f in run["fills"]), rel=1e-12)
    notional = sum(f.price * f.quantity for f in run["fills"])
    assert stats.turnover == pytest.approx(notional / equity.mean(), rel=1e-12)
    assert stats.fills == len(run["fills"])
    assert stats.orders == len(run["orders"])
    # Tail risk by the risk module's historical VaR, checked here from the definition.
    cutoff = np.quantile(returns, 0.05)
    assert stats.value_at_risk_95 == pytest.approx(-cutoff, rel=1e-12)
    assert stats.expected_shortfall_95 == pytest.approx(-returns[returns <= cutoff].mean())
    assert stats.expected_shortfall_95 >= stats.value_at_risk_95 > 0


def test_trade_statistics_come_from_round_trips(run: dict, result: BacktestResult) -> None:
    # Every entry buys 100 and every exit sells 100: a round trip is an entry and its exit.
    pnls = []
    for instrument in (MOMENTUM, LOW_VOL):
        fills = [f for f in run["fills"] if f.instrument_id == instrument]
        for entry, exit_ in zip(fills[::2], fills[1::2], strict=False):
            assert (entry.side, exit_.side) == ("BUY", "SELL")
            pnls.append(100 * (exit_.price - entry.price) - entry.fee - exit_.fee)
    stats = result.statistics
    assert stats.trades == len(pnls) > 10
    assert stats.win_rate == pytest.approx(np.mean(np.array(pnls) > 0))
    assert stats.profit_factor == pytest.approx(
        sum(p for p in pnls if p > 0) / -sum(p for p in pnls if p < 0)
    )
    assert stats.expectancy == pytest.approx(np.mean(pnls))
    assert stats.average_win == pytest.approx(np.mean([p for p in pnls if p > 0]))
    assert stats.average_loss == pytest.approx(np.mean([p for p in pnls if p < 0]))


def test_contract_multipliers_scale_trades_and_turnover(run: dict, result: BacktestResult) -> None:
    scaled = BacktestResult.build(**run, contract_multipliers={MOMENTUM: 10.0, LOW_VOL: 1.0})
    assert scaled.statistics.turnover > result.statistics.turnover
    assert scaled.statistics.expectancy != result.statistics.expectancy
    assert scaled.statistics.sharpe_ratio == result.statistics.sharpe_ratio


def test_undefined_statistics_are_none() -> None:
    flat = BacktestResult.build(
        instrument_ids=["X.SIM"],
        timestamps=[0, 1, 2],
        equity=[100.0, 100.0, 100.0],
        positions={"X.SIM": [0.0, 0.0, 0.0]},
        prices={"X.SIM": [1.0, 1.0, 1.0]},
        periods_per_year=252,
    )
    stats = flat.statistics
    assert stats.sharpe_ratio is None
    assert stats.sortino_ratio is None
    assert stats.calmar_ratio is None
    assert stats.hit_ratio is None
    assert stats.win_rate is None
    assert stats.profit_factor is None
    assert stats.trades == 0
    assert stats.total_return == 0.0
    assert stats.exposure == 0.0
    assert stats.max_drawdown == 0.0
    assert stats.value_at_risk_95 is None  # two periods leave no 5 % tail
    assert stats.expected_shortfall_95 is None
    assert BacktestResult.from_json(flat.to_json()) == flat


def test_numbers_of_any_kind_are_stored_as_python_numbers() -> None:
    fill = FillRecord(np.int64(5), "X.SIM", "BUY", Decimal("10.25"), np.float64(2), 0, "O", "")
    assert (type(fill.ts), type(fill.price), type(fill.quantity), type(fill.fee)) == (
        int,
        float,
        float,
        float,
    )
    assert fill.price == 10.25
    assert fill.signed_quantity == 2.0
    assert msgspec.json.decode(msgspec.json.encode(fill), type=FillRecord) == fill


# --- JSON ----------------------------------------------------------------------------------


def test_json_round_trip_is_exact(result: BacktestResult) -> None:
    data = result.to_json()
    again = BacktestResult.from_json(data)
    assert again == result
    assert again.to_json() == data
    assert BacktestResult.from_json(data.decode()) == result


def test_json_is_plain_and_complete(result: BacktestResult) -> None:
    document = json.loads(result.to_json())
    assert document["format_version"] == 1
    assert document["statistics"]["sharpe_ratio"] == result.statistics.sharpe_ratio
    assert set(document["statistics"]) == set(PerformanceStatistics.__struct_fields__)
    assert document["fills"][0] == {
        "ts": result.fills[0].ts,
        "instrument_id": result.fills[0].instrument_id,
        "side": result.fills[0].side,
        "price": result.fills[0].price,
        "quantity": result.fills[0].quantity,
        "fee": result.fills[0].fee,
        "order_id": result.fills[0].order_id,
        "strategy_id": result.fills[0].strategy_id,
    }
    assert len(document["equity"]) == len(document["timestamps"]) == len(result.equity)


def _tampered(result: BacktestResult, change: object) -> bytes:
    document = json.loads(result.to_json())
    assert callable(change)
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["equity"].__setitem__(3, -1.0), "NON_POSITIVE_EQUITY"),
        (lambda d: d["equity"].pop(), "LENGTH_MISMATCH"),
        (lambda d: d["returns"].__setitem__(0, 0.5), "RETURNS_MISMATCH"),
        (lambda d: d["timestamps"].__setitem__(1, 0), "NOT_INCREASING"),
        (lambda d: d["fills"][0].__setitem__("side", "HOLD"), "HOLD"),
        (lambda d: d["fills"][0].__setitem__("quantity", 0), "NON_POSITIVE"),
        (lambda d: d["fills"][0].__setitem__("instrument_id", "ZZZ.SIM"), "UNKNOWN_INSTRUMENT"),
        (lambda d: d["positions"].pop("MTUM.ARCA"), "UNKNOWN_INSTRUMENT"),
        (lambda d: d.__setitem__("format_version", 2), "UNSUPPORTED_VERSION"),
        (lambda d: d.__setitem__("surprise", 1), "surprise"),
        (lambda d: d["statistics"].pop("sharpe_ratio"), "sharpe_ratio"),
        (lambda d: d.__setitem__("periods_per_year", 0), "NON_POSITIVE"),
    ],
)
def test_bad_json_is_refused(result: BacktestResult, change: object, reason: str) -> None:
    with pytest.raises(InvalidData, match=rf"^BAD_JSON: .*{reason}"):
        BacktestResult.from_json(_tampered(result, change))


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"null", "not json"])
def test_malformed_json_is_refused(data: bytes | str) -> None:
    with pytest.raises(InvalidData, match=r"^BAD_JSON: "):
        BacktestResult.from_json(data)


# --- HTML ----------------------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str]):
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node] = []
        self.text = ""

    def walk(self) -> list[Node]:
        nodes = [self]
        for child in self.children:
            nodes += child.walk()
        return nodes

    def all_text(self) -> str:
        return self.text + "".join(child.all_text() for child in self.children)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())


VOID = {"meta", "br", "img", "input", "link", "hr"}


class TreeBuilder(HTMLParser):
    """A strict tree of the document: every element must be closed by its own end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.declarations: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse(html: str, *, document: bool = True) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], "unclosed elements"
    assert builder.declarations == (["DOCTYPE html"] if document else [])
    return builder.root


@pytest.fixture(scope="module")
def report(result: BacktestResult, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Node]:
    path = result.to_html(tmp_path_factory.mktemp("report") / "backtest.html")
    assert path.name == "backtest.html"
    html = Path(path).read_text(encoding="utf-8")
    return html, parse(html)


def test_html_is_self_contained(report: tuple[str, Node]) -> None:
    html, tree = report
    assert not re.search(r"https?:|//[a-z]|@import|<script|javascript:", html, re.IGNORECASE)
    tags = {node.tag for node in tree.walk()}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base"}
    for node in tree.walk():
        for name, value in node.attrs.items():
            assert name not in ("src", "href", "xlink:href", "srcset", "action")
            assert not name.startswith("on")
            if "url(" in value:
                assert re.fullmatch(r"url\(#[\w-]+\)", value)
    assert tags >= {"html", "head", "style", "body", "svg", "table"}


def test_html_shows_every_statistic(report: tuple[str, Node], result: BacktestResult) -> None:
    _, tree = report
    rows = {
        node.attrs["data-statistic"]: node
        for node in tree.walk()
        if node.tag == "tr" and "data-statistic" in node.attrs
    }
    assert set(rows) == set(PerformanceStatistics.__struct_fields__)
    sharpe_cells = [n for n in rows["sharpe_ratio"].walk() if n.tag == "td"]
    assert sharpe_cells[0].all_text() == f"{result.statistics.sharpe_ratio:.3f}"
    drawdown_cell = next(n for n in rows["max_drawdown"].walk() if n.tag == "td")
    assert drawdown_cell.all_text() == statistic_text(result.statistics.max_drawdown, "percent")
    assert drawdown_cell.all_text().endswith(" %")
    fills_cell = next(n for n in rows["fills"].walk() if n.tag == "td")
    assert fills_cell.all_text() == str(len(result.fills))


def test_html_has_the_charts(report: tuple[str, Node], result: BacktestResult) -> None:
    _, tree = report
    figures = {node.attrs["id"]: node for node in tree.walk() if node.tag == "figure"}
    assert set(figures) == {"equity", "drawdown", "price-0", "price-1"}
    for figure in figures.values():
        lines = [n for n in figure.walk() if n.tag == "polyline"]
        assert len(lines) == 1
        points = lines[0].attrs["points"].split()
        assert len(points) == len(result.timestamps)
        xs = [float(p.split(",")[0]) for p in points]
        assert xs == sorted(xs)
    drawdown = figures["drawdown"]
    assert [n for n in drawdown.walk() if n.tag == "polygon" and "area" in n.classes()]
    captions = [n.all_text() for n in tree.walk() if n.tag == "figcaption"]
    assert f"{MOMENTUM}: price and fills" in captions


def test_html_has_one_marker_per_fill(report: tuple[str, Node], result: BacktestResult) -> None:
    _, tree = report
    figures = {node.attrs["id"]: node for node in tree.walk() if node.tag == "figure"}
    for index, instrument in enumerate(result.instrument_ids):
        markers = [n for n in figures[f"price-{index}"].walk() if "fill-marker" in n.classes()]
        fills = [f for f in result.fills if f.instrument_id == instrument]
        assert len(markers) == len(fills)
        for marker, fill in zip(markers, fills, strict=True):
            assert fill.side.lower() in marker.classes()
            title = marker.children[0]
            assert title.tag == "title"
            assert title.all_text().startswith(f"{fill.side} {fill.quantity:g} @ {fill.price:g}")
            assert fill.order_id in title.all_text()
    all_markers = [n for n in tree.walk() if "fill-marker" in n.classes()]
    assert len(all_markers) == len(result.fills)
    fill_rows = [n for n in tree.walk() if n.tag == "tr" and n.classes() & {"buy", "sell"}]
    assert len(fill_rows) == len(result.fills)


def test_html_escapes_all_text(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script> & <b>bold</b>'
    run = _trend_backtest(name=hostile, strategy_id='s"><img src=x onerror=alert(1)>')
    run["instrument_ids"] = ["<i>MTUM</i>.ARCA", LOW_VOL]
    run["prices"] = {"<i>MTUM</i>.ARCA": run["prices"][MOMENTUM], LOW_VOL: run["prices"][LOW_VOL]}
    run["positions"] = {
        "<i>MTUM</i>.ARCA": run["positions"][MOMENTUM],
        LOW_VOL: run["positions"][LOW_VOL],
    }
    run["fills"] = [
        msgspec.structs.replace(f, instrument_id="<i>MTUM</i>.ARCA")
        if f.instrument_id == MOMENTUM
        else f
        for f in run["fills"]
    ]
    run["orders"] = [
        msgspec.structs.replace(o, instrument_id="<i>MTUM</i>.ARCA")
        if o.instrument_id == MOMENTUM
        else o
        for o in run["orders"]
    ]
    result = BacktestResult.build(**run)
    html = result.to_html(tmp_path / "hostile.html").read_text(encoding="utf-8")
    tree = parse(html)
    tags = {node.tag for node in tree.walk()}
    assert not tags & {"script", "img", "b", "i"}
    titles = [n.all_text() for n in tree.walk() if n.tag == "title"]
    assert titles[0] == hostile
    assert [n.all_text() for n in tree.walk() if n.tag == "h1"] == [hostile]
    assert any('s"><img src=x onerror=alert(1)>' in t for t in titles)
    assert "<i>MTUM</i>.ARCA: price and fills" in [
        n.all_text() for n in tree.walk() if n.tag == "figcaption"
    ]


def test_long_series_are_thinned_keeping_extremes() -> None:
    steps = 200_000
    rng = np.random.default_rng(7)
    values = 100 + np.cumsum(rng.normal(0, 1, steps))
    high, low = int(np.argmax(values)), int(np.argmin(values))
    times = np.arange(steps, dtype=np.int64) * 60_000_000_000
    # Markers at the extremes: their centres are the extremes' pixel heights.
    svg = time_chart(
        "long",
        "long",
        times,
        [Line(values, "price", "price")],
        value_text=str,
        markers=[
            Marker(int(times[high]), float(values[high]), "BUY", "high"),
            Marker(int(times[low]), float(values[low]), "SELL", "low"),
        ],
    )
    tree = parse(svg, document=False)
    line = next(n for n in tree.walk() if n.tag == "polyline")
    ys = [float(p.split(",")[1]) for p in line.attrs["points"].split()]
    assert len(ys) <= 4 * PLOT_WIDTH
    markers = [n for n in tree.walk() if "fill-marker" in n.classes()]
    tips = [float(m.attrs["d"].split()[0].split(",")[1]) for m in markers]
    assert min(ys) == pytest.approx(tips[0] + 5.0, abs=0.11)
    assert max(ys) == pytest.approx(tips[1] - 5.0, abs=0.11)


def test_single_instrument_without_fills_renders(tmp_path: Path) -> None:
    result = BacktestResult.build(
        instrument_ids=["BTCUSDT.BINANCE"],
        timestamps=[0, 3_600_000_000_000],
        equity=[1000.0, 1010.0],
        positions={"BTCUSDT.BINANCE": [0.5, 0.5]},
        prices={"BTCUSDT.BINANCE": [60000.0, 61000.0]},
        periods_per_year=365 * 24,
    )
    tree = parse(result.to_html(tmp_path / "r.html").read_text(encoding="utf-8"))
    assert not [n for n in tree.walk() if "fill-marker" in n.classes()]
    assert "no orders" in tree.all_text()
    assert result.statistics.total_return == pytest.approx(0.01)
    assert result.statistics.exposure == 1.0


# --- bad input -----------------------------------------------------------------------------


def _small(**changes: object) -> dict:
    run: dict = {
        "instrument_ids": ["X.SIM"],
        "timestamps": [0, 1, 2],
        "equity": [100.0, 101.0, 99.0],
        "positions": {"X.SIM": [0.0, 1.0, 0.0]},
        "prices": {"X.SIM": [10.0, 11.0, 9.0]},
        "fills": [FillRecord(1, "X.SIM", "BUY", 11.0, 1.0, 0.01, "O-1", "s")],
        "periods_per_year": 252,
    }
    run.update(changes)
    return run


@pytest.mark.parametrize(
    ("changes", "code", "argument"),
    [
        ({"equity": [100.0]}, "TOO_SHORT", "equity"),
        ({"equity": [100.0, 0.0, 99.0]}, "NON_POSITIVE_EQUITY", r"equity\[1\]"),
        ({"equity": [100.0, math.nan, 99.0]}, "NOT_FINITE", r"equity\[1\]"),
        ({"timestamps": [0, 1]}, "LENGTH_MISMATCH", "timestamps"),
        ({"timestamps": [0, 2, 2]}, "NOT_INCREASING", "timestamps"),
        ({"timestamps": [0.0, 1.0, 2.0]}, "NOT_INTEGER", "timestamps"),
        ({"positions": {"X.SIM": [0.0, 1.0]}}, "LENGTH_MISMATCH", "positions"),
        ({"positions": {"Y.SIM": [0.0, 1.0, 0.0]}}, "UNKNOWN_INSTRUMENT", "positions"),
        ({"prices": {"X.SIM": [10.0, -1.0, 9.0]}}, "NON_POSITIVE", "prices"),
        ({"prices": {"X.SIM": [10.0, 9.0]}}, "LENGTH_MISMATCH", "prices"),
        ({"instrument_ids": ["X.SIM", "X.SIM"]}, "DUPLICATE_INSTRUMENT", "instrument_ids"),
        ({"instrument_ids": [""]}, "BAD_TEXT", r"instrument_ids\[0\]"),
        (
            {"fills": [FillRecord(1, "Y.SIM", "BUY", 11.0, 1.0, 0.0, "O", "s")]},
            "UNKNOWN_INSTRUMENT",
            r"fills\[0\]",
        ),
        ({"fills": [{"ts": 1}]}, "BAD_RECORD", r"fills\[0\] is a dict"),
        ({"orders": [None]}, "BAD_RECORD", r"orders\[0\] is a NoneType"),
        ({"contract_multipliers": {"X.SIM": 0.0}}, "NON_POSITIVE", "contract_multipliers"),
        ({"periods_per_year": 0}, "NON_POSITIVE", "periods_per_year"),
        ({"risk_free_rate": -1.0}, "OUT_OF_RANGE", "risk_free_rate"),
        ({"name": None}, "BAD_TEXT", "name"),
    ],
)
def test_bad_runs_are_refused(changes: dict, code: str, argument: str) -> None:
    with pytest.raises(InvalidValue, match=rf"^{code}: .*{argument}"):
        BacktestResult.build(**_small(**changes))


def test_direct_construction_checks_fields(result: BacktestResult) -> None:
    fields = {name: getattr(result, name) for name in BacktestResult.__struct_fields__}
    with pytest.raises(InvalidValue, match=r"^RETURNS_MISMATCH: returns\[0\]"):
        BacktestResult(**{**fields, "returns": [r + 0.5 for r in result.returns]})
    with pytest.raises(InvalidValue, match=r"^UNSUPPORTED_VERSION"):
        BacktestResult(**{**fields, "format_version": 0})
    rebuilt = BacktestResult(**{**fields, "equity": np.asarray(result.equity)})
    assert rebuilt == result
    assert type(rebuilt.equity) is list


@pytest.mark.parametrize(
    ("fields", "code", "argument"),
    [
        ({"ts": 1.5}, "NOT_INTEGER", "ts"),
        ({"ts": True}, "NOT_INTEGER", "ts"),
        ({"side": "HOLD"}, "BAD_SIDE", "side"),
        ({"price": 0.0}, "NON_POSITIVE", "price"),
        ({"price": "10"}, "NOT_NUMERIC", "price"),
        ({"quantity": -1.0}, "NON_POSITIVE", "quantity"),
        ({"fee": math.nan}, "NOT_FINITE", "fee"),
        ({"instrument_id": ""}, "BAD_TEXT", "instrument_id"),
        ({"order_id": 7}, "BAD_TEXT", "order_id"),
    ],
)
def test_bad_fills_are_refused(fields: dict, code: str, argument: str) -> None:
    good = {
        "ts": 1,
        "instrument_id": "X.SIM",
        "side": "BUY",
        "price": 11.0,
        "quantity": 1.0,
        "fee": 0.0,
        "order_id": "O",
        "strategy_id": "s",
    }
    with pytest.raises(InvalidValue, match=rf"^{code}: .*{argument}"):
        FillRecord(**{**good, **fields})


@pytest.mark.parametrize(
    ("fields", "code", "argument"),
    [
        ({"filled_quantity": 6.0}, "OUT_OF_RANGE", "filled_quantity"),
        ({"filled_quantity": -1.0}, "OUT_OF_RANGE", "filled_quantity"),
        ({"ts_last": 0}, "NOT_INCREASING", "ts_last"),
        ({"status": ""}, "BAD_TEXT", "status"),
        ({"average_fill_price": 0.0}, "NON_POSITIVE", "average_fill_price"),
        ({"side": "buy"}, "BAD_SIDE", "side"),
    ],
)
def test_bad_orders_are_refused(fields: dict, code: str, argument: str) -> None:
    good = {
        "order_id": "O",
        "strategy_id": "s",
        "instrument_id": "X.SIM",
        "side": "SELL",
        "order_type": "LIMIT",
        "quantity": 5.0,
        "filled_quantity": 5.0,
        "status": "FILLED",
        "ts_init": 1,
        "ts_last": 2,
        "average_fill_price": 10.0,
    }
    with pytest.raises(InvalidValue, match=rf"^{code}: .*{argument}"):
        OrderRecord(**{**good, **fields})


def test_refused_build_leaves_inputs_unchanged() -> None:
    run = _small(positions={"X.SIM": np.array([0.0, 1.0, 0.0])})
    equity = np.array([100.0, 101.0, -1.0])
    run["equity"] = equity
    with pytest.raises(InvalidValue):
        BacktestResult.build(**run)
    np.testing.assert_array_equal(equity, [100.0, 101.0, -1.0])
    np.testing.assert_array_equal(run["positions"]["X.SIM"], [0.0, 1.0, 0.0])
    assert len(run["fills"]) == 1
