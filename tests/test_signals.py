"""Indicators, regimes and news sentiment (hftcore.signals)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from agent_helpers import ornstein_uhlenbeck, random_walk
from hftcore.data.loaders import load_bundled
from hftcore.errors import InvalidValue
from hftcore.signals.indicators import (
    average_true_range,
    donchian_channel,
    log_return,
    ou_half_life,
    simple_moving_average,
    volatility,
    z_score,
)
from hftcore.signals.regime import RegimeDetector, hurst_exponent, trend_t_statistic
from hftcore.signals.sentiment import (
    LexiconScorer,
    NewsItem,
    NewsProcessor,
    SentimentScorer,
    SymbolExtractor,
)


def test_indicators_match_their_definitions() -> None:
    closes = [10.0, 11.0, 12.0, 11.0, 13.0]
    assert simple_moving_average(closes, 3) == pytest.approx(12.0)
    assert log_return(closes, 2, skip=1) == pytest.approx(math.log(11 / 11))
    assert log_return(closes, 4) == pytest.approx(math.log(13 / 10))
    tail = np.array(closes[-4:])
    assert z_score(closes, 4) == pytest.approx((13 - tail.mean()) / tail.std(ddof=1))
    returns = np.diff(np.log(closes))
    assert volatility(closes, 4) == pytest.approx(returns.std(ddof=1))
    highs, lows = [11.0, 12.0, 13.0, 12.0, 14.0], [9.0, 10.0, 11.0, 10.0, 12.0]
    # true ranges of the last 3 bars: max(h, prev c) - min(l, prev c)
    ranges = [13 - 11, 12 - 10, 14 - 11]
    assert average_true_range(highs, lows, closes, 3) == pytest.approx(sum(ranges) / 3)
    assert donchian_channel(highs, lows, 3) == (13.0, 10.0)
    assert simple_moving_average(closes, 6) is None
    assert z_score([5.0, 5.0, 5.0], 3) is None


def test_ou_half_life_recovers_the_simulated_one() -> None:
    for half_life in (3.0, 10.0):
        estimates = [
            ou_half_life(ornstein_uhlenbeck(3000, seed, half_life), 3000) for seed in range(3)
        ]
        assert all(e is not None for e in estimates)
        assert np.mean([e for e in estimates if e is not None]) == pytest.approx(
            half_life, rel=0.25
        )
    trend = 100.0 * np.exp(np.arange(200) * 0.01)
    assert ou_half_life(trend, 200) is None


def test_hurst_separates_mean_reversion_random_walk_and_persistence() -> None:
    walk = [hurst_exponent(random_walk(2000, seed)) for seed in range(4)]
    reverting = [hurst_exponent(ornstein_uhlenbeck(2000, seed, 3.0)) for seed in range(4)]
    rng = np.random.default_rng(1)
    increments = np.zeros(2000)
    for index in range(1, 2000):  # positively autocorrelated returns: persistent
        increments[index] = 0.6 * increments[index - 1] + rng.normal(0, 0.01)
    persistent = hurst_exponent(100 * np.exp(np.cumsum(increments)))
    assert all(0.42 < h < 0.58 for h in walk if h is not None)
    assert all(h is not None for h in reverting)
    assert max(h for h in reverting if h is not None) < 0.35
    assert persistent is not None
    assert persistent > 0.6


def test_regimes_on_real_sp500_closes_mark_2008_as_high_volatility() -> None:
    table = load_bundled("sp500_index_daily_close")
    closes = table.column("SP500").to_numpy()
    ts = table.column("ts").to_numpy()
    detector = RegimeDetector()
    october_2008 = int(np.searchsorted(ts, np.datetime64("2008-10-31", "ns").astype(np.int64)))
    calm_2017 = int(np.searchsorted(ts, np.datetime64("2017-11-30", "ns").astype(np.int64)))
    crash = detector.classify(closes[october_2008 - 300 : october_2008])
    calm = detector.classify(closes[calm_2017 - 300 : calm_2017])
    assert crash.volatility == "high"
    assert crash.trend_t is not None
    assert crash.trend_t < 0
    assert crash.volatility_ratio is not None
    assert crash.volatility_ratio > 2
    assert calm.volatility != "high"
    assert calm.trend == "up"
    assert trend_t_statistic(closes[:calm_2017], 60) is not None


def test_bad_windows_and_series_raise() -> None:
    with pytest.raises(InvalidValue, match="INVALID_WINDOW"):
        z_score([1.0, 2.0], 1)
    with pytest.raises(InvalidValue, match="INVALID_SERIES"):
        simple_moving_average([1.0, float("nan"), 2.0], 2)
    with pytest.raises(InvalidValue, match="INVALID_SERIES"):
        volatility([1.0, -2.0, 3.0], 2)
    with pytest.raises(InvalidValue, match="LENGTH_MISMATCH"):
        average_true_range([1.0, 2.0], [1.0], [1.0, 2.0], 2)
    with pytest.raises(InvalidValue, match="INVALID_WINDOW"):
        RegimeDetector(short_window=300, long_window=250)


UNIVERSE = {"AAPL": "AAPL.SIM", "MSFT": "MSFT.SIM", "KO": "KO.SIM", "JNJ": "JNJ.SIM"}
ALIASES = {"Apple": "AAPL", "Microsoft": "MSFT", "Coca-Cola": "KO", "Johnson & Johnson": "JNJ"}


def test_symbols_are_found_by_cashtag_ticker_qualified_ticker_and_alias() -> None:
    extractor = SymbolExtractor(UNIVERSE, ALIASES)
    assert extractor.extract("$AAPL beats; MSFT flat") == ["AAPL.SIM", "MSFT.SIM"]
    assert extractor.extract("Shares of Coca-Cola (NYSE: KO) rose") == ["KO.SIM"]
    assert extractor.extract("johnson & johnson settles") == ["JNJ.SIM"]
    # KO is also a word: a bare "KO" is not a mention, the cashtag is.
    assert extractor.extract("a KO in the third round") == []
    assert extractor.extract("$KO upgraded") == ["KO.SIM"]
    # Unknown tickers and lower-case words are not mentions.
    assert extractor.extract("IBM and apple pie") == ["AAPL.SIM"]
    assert extractor.extract("GOOG rallies") == []
    with pytest.raises(InvalidValue, match="UNKNOWN_SYMBOL"):
        SymbolExtractor(UNIVERSE, {"Tesla": "TSLA"})
    with pytest.raises(InvalidValue, match="EMPTY_UNIVERSE"):
        SymbolExtractor({})


def test_lexicon_scores_with_negation() -> None:
    scorer = LexiconScorer()
    assert scorer.score("Earnings beat estimates on strong growth") == 1.0
    assert scorer.score("Revenue missed, shares plunged") == -1.0
    assert scorer.score("The company did not miss estimates") == 1.0
    assert scorer.score("Results were not strong") == -1.0
    assert scorer.score("Sales didn't fall") == 1.0
    assert scorer.score("Sales didn\u2019t fall") == 1.0  # a typographic apostrophe
    assert scorer.score("No growth this year, and revenue fell") == -1.0
    # A clause boundary ends the negation: "growth" is not negated.
    assert scorer.score("Sales did not fall; growth resumed") == 1.0
    assert scorer.score("Sales did not fall, but growth stalled") == 1.0
    # Negation reaches three tokens only.
    assert scorer.score("not in any of the regions was growth") == 1.0
    assert scorer.score("Board meets on Tuesday") == 0.0
    assert scorer.score("strong growth but a lawsuit") == pytest.approx(1 / 3)
    with pytest.raises(InvalidValue, match="INVALID_LEXICON"):
        LexiconScorer(positive=["gain"], negative=["gain"])


def test_news_processor_attributes_sentences_to_their_symbols() -> None:
    processor = NewsProcessor(SymbolExtractor(UNIVERSE, ALIASES))
    item = NewsItem(
        ts=5,
        headline="Apple and Microsoft report",
        body="Apple beat estimates with record sales. Microsoft missed and cut its outlook.",
    )
    scores = {s.instrument_id: s.score for s in processor.process(item)}
    assert scores["AAPL.SIM"] > 0 > scores["MSFT.SIM"]
    assert processor.process(NewsItem(ts=1, headline="Markets rally")) == []
    with pytest.raises(ValueError, match="EMPTY_HEADLINE"):
        NewsItem(ts=1, headline="  ")


def test_a_scorer_is_any_object_with_score() -> None:
    class Constant:
        def score(self, text: str) -> float:
            return 0.25

    class Broken:
        def score(self, text: str) -> float:
            return 3.0

    assert isinstance(Constant(), SentimentScorer)
    processor = NewsProcessor(SymbolExtractor(UNIVERSE), Constant())
    [result] = processor.process(NewsItem(ts=1, headline="$AAPL today"))
    assert result.score == 0.25
    with pytest.raises(InvalidValue, match="SCORE_OUT_OF_RANGE"):
        NewsProcessor(SymbolExtractor(UNIVERSE), Broken()).process(
            NewsItem(ts=1, headline="$AAPL today")
        )
