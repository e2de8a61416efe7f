"""A sentiment agent: trades each instrument in the direction of its recent news.

Stories reach the agent through :meth:`SentimentAgent.on_news` (a live news adapter calls it;
in a backtest the stories of ``news_file``, JSON lines of :class:`NewsItem`, are delivered in
time order as the clock passes them). The :class:`~hftcore.signals.sentiment.NewsProcessor`
finds the instruments a story names (tickers of the agent's instruments: the part of the
instrument id before the dot; cashtags; ``aliases``) and scores it (the lexicon scorer, or any
``SentimentScorer`` named by ``scorer``). An instrument's sentiment is the sum of its story
scores decayed with a half-life of ``half_life_hours`` (news is absorbed within days: Tetlock
2007, "Giving content to investor sentiment", *Journal of Finance* 62(3)); the agent holds
``clip(sentiment, -1, 1)`` when ``|sentiment| >= threshold``, else nothing.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import msgspec

from hftcore.agents.base import AgentParams, BarAgent, Signal
from hftcore.errors import ConfigError, InvalidData
from hftcore.model.data import Bar
from hftcore.signals.sentiment import (
    NewsItem,
    NewsProcessor,
    SentimentScorer,
    SymbolExtractor,
    SymbolSentiment,
)

HOUR_NS = 3_600_000_000_000


class SentimentParams(AgentParams, frozen=True, kw_only=True):
    news_file: str | None = None
    aliases: dict[str, str] = msgspec.field(default_factory=dict)
    """Company name -> ticker (e.g. ``{"Apple": "AAPL"}``)."""
    scorer: str | None = None
    """``module:Class`` of a ``SentimentScorer`` built without arguments; None: the lexicon."""
    half_life_hours: float = 48.0
    threshold: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (math.isfinite(self.half_life_hours) and self.half_life_hours > 0):
            raise ValueError("half_life_hours must be positive")
        if not 0 <= self.threshold <= 1:
            raise ValueError("threshold must be in [0, 1]")


def load_news(path: str | Path) -> list[NewsItem]:
    """Stories from a JSON-lines file, sorted by time; a bad line raises naming it."""
    items = []
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as error:
        raise InvalidData("NEWS_UNREADABLE", f"{path}: {error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            items.append(msgspec.json.decode(line, type=NewsItem))
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as error:
            raise InvalidData("BAD_NEWS", f"{path} line {number}: {error}") from None
    return sorted(items, key=lambda item: item.ts)


def _scorer(path: str | None) -> SentimentScorer | None:
    if path is None:
        return None
    module_name, _, class_name = path.partition(":")
    try:
        candidate = getattr(importlib.import_module(module_name), class_name)()
    except (ImportError, AttributeError, TypeError, ValueError) as error:
        raise ConfigError("INVALID_SCORER", f"scorer {path!r}: {error}") from None
    if not isinstance(candidate, SentimentScorer):
        raise ConfigError("INVALID_SCORER", f"scorer {path!r} has no score(text) method")
    return candidate


class SentimentAgent(BarAgent):
    Params = SentimentParams
    style = "sentiment"

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, object] | None = None):
        super().__init__(strategy_id, params)
        self._build_processor()
        self.stories: dict[str, list[SymbolSentiment]] = {i: [] for i in self.params.instrument_ids}
        """Each instrument's stories still worth counting (within ten half-lives)."""
        self.stories_received = 0

    def on_start(self) -> None:
        super().on_start()
        self._news = [] if self.params.news_file is None else load_news(self.params.news_file)
        self._next_news = 0

    def _build_processor(self) -> None:
        p = self.params
        symbols = {instrument_id.split(".")[0]: instrument_id for instrument_id in p.instrument_ids}
        self.processor = NewsProcessor(SymbolExtractor(symbols, p.aliases), _scorer(p.scorer))

    def on_params_changed(self, old: object) -> None:
        super().on_params_changed(old)
        self._build_processor()

    def on_news(self, item: NewsItem) -> list[SymbolSentiment]:
        """Takes in one story; returns what it said about the agent's instruments."""
        found = self.processor.process(item)
        self.stories_received += 1
        for sentiment in found:
            self.stories[sentiment.instrument_id].append(sentiment)
        return found

    def sentiment(self, instrument_id: str, ts: int) -> float:
        """Decayed sum of the story scores of ``instrument_id`` published at or before ``ts``."""
        half_life = self.params.half_life_hours * HOUR_NS
        return math.fsum(
            story.score * 0.5 ** ((ts - story.ts) / half_life)
            for story in self.stories[instrument_id]
            if story.ts <= ts
        )

    def _forget_old_stories(self, ts: int) -> None:
        """Drops stories decayed below 1/1024 of their score (ten half-lives)."""
        horizon = ts - 10 * self.params.half_life_hours * HOUR_NS
        for instrument_id, stories in self.stories.items():
            if stories and stories[0].ts < horizon:
                self.stories[instrument_id] = [s for s in stories if s.ts >= horizon]

    def evaluate(self, bar: Bar) -> Signal | None:
        self._forget_old_stories(bar.ts_event)
        while self._next_news < len(self._news) and self._news[self._next_news].ts <= bar.ts_event:
            self.on_news(self._news[self._next_news])
            self._next_news += 1
        value = self.sentiment(bar.instrument_id, bar.ts_event)
        direction = max(-1.0, min(1.0, value)) if abs(value) >= self.params.threshold else 0.0
        count = len(self.stories[bar.instrument_id])
        return self.signal(
            bar, direction, min(1.0, abs(value)), f"sentiment {value:+.2f}, {count} stories"
        )
