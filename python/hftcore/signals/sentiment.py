"""News sentiment per symbol: which instruments a story is about, and how good or bad it is.

* :class:`SymbolExtractor` finds instruments in text by cashtag (``$AAPL``), exchange-qualified
  ticker (``NYSE: GE``, ``(NASDAQ:MSFT)``), bare upper-case ticker (``AAPL``; tickers that are
  also common words, like ``KO`` or ``ALL``, and one-letter ones only count as cashtags or
  qualified) and company aliases (``Apple``, ``Johnson & Johnson``; whole words, any case,
  longest alias first).
* :class:`SentimentScorer` is the interface of a scorer: ``score(text) -> float`` in
  ``[-1, 1]``. :class:`LexiconScorer` implements it with a small finance word list in the style
  of Loughran and McDonald (2011, "When is a liability not a liability?", *Journal of Finance*
  66(1)): domain words, not general-purpose ones, so "liability" or "tax" are not negative.
  A transformer (e.g. FinBERT, Araci 2019) can implement the same protocol later.
* Negation: a sentiment word within ``negation_window`` words after a negator (``not``,
  ``no``, ``never``, ``without``, ``n't`` ...) and before the end of its clause (punctuation,
  ``but``) counts with the opposite sign, the rule of Das and Chen (2007) and Hutto and
  Gilbert's VADER (2014).
* :class:`NewsProcessor` scores each sentence and attributes it to the symbols it names (a
  sentence naming none counts for every symbol of the story): one :class:`SymbolSentiment` per
  instrument per story.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

import msgspec

from hftcore.errors import InvalidValue


class NewsItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A story: ``ts`` in ns since the epoch (UTC) when it was published."""

    ts: int
    headline: str
    body: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.ts, bool) or not isinstance(self.ts, int) or self.ts < 0:
            raise InvalidValue("INVALID_TIMESTAMP", f"news ts must be an int >= 0: {self.ts!r}")
        if not self.headline.strip():
            raise InvalidValue("EMPTY_HEADLINE", "a news item needs a headline")


class SymbolSentiment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    instrument_id: str
    score: float
    ts: int
    headline: str


@runtime_checkable
class SentimentScorer(Protocol):
    """Scores a text in ``[-1, 1]`` (negative .. positive); 0 for nothing to say."""

    def score(self, text: str) -> float: ...


POSITIVE_WORDS = frozenset(
    [
        "beat",
        "beats",
        "exceeded",
        "exceeds",
        "outperform",
        "outperformed",
        "outperforms",
        "record",
        "strong",
        "stronger",
        "strongest",
        "growth",
        "grew",
        "gain",
        "gains",
        "gained",
        "surge",
        "surged",
        "surges",
        "rally",
        "rallied",
        "soar",
        "soared",
        "upgrade",
        "upgraded",
        "upgrades",
        "profit",
        "profitable",
        "profits",
        "improve",
        "improved",
        "improvement",
        "improves",
        "boost",
        "boosted",
        "raise",
        "raised",
        "raises",
        "optimistic",
        "robust",
        "rebound",
        "rebounded",
        "expand",
        "expanded",
        "expansion",
        "win",
        "wins",
        "won",
        "approval",
        "approved",
        "breakthrough",
        "dividend",
        "bullish",
        "upbeat",
        "accelerate",
        "accelerated",
        "momentum",
        "success",
        "successful",
    ]
)
NEGATIVE_WORDS = frozenset(
    [
        "miss",
        "missed",
        "misses",
        "loss",
        "losses",
        "lost",
        "decline",
        "declined",
        "declines",
        "drop",
        "dropped",
        "drops",
        "fall",
        "fell",
        "falls",
        "plunge",
        "plunged",
        "plunges",
        "slump",
        "slumped",
        "weak",
        "weaker",
        "weakest",
        "downgrade",
        "downgraded",
        "downgrades",
        "cut",
        "cuts",
        "lawsuit",
        "sued",
        "fraud",
        "probe",
        "investigation",
        "recall",
        "recalled",
        "bankruptcy",
        "default",
        "defaulted",
        "warning",
        "warns",
        "warned",
        "layoffs",
        "layoff",
        "restructuring",
        "impairment",
        "writedown",
        "shortfall",
        "bearish",
        "pessimistic",
        "slowdown",
        "delay",
        "delayed",
        "halt",
        "halted",
        "fine",
        "fined",
        "penalty",
        "scandal",
        "resign",
        "resigned",
        "resigns",
        "crash",
        "crashed",
        "disappointing",
        "disappoint",
        "disappointed",
    ]
)
NEGATORS = frozenset(
    ["not", "no", "never", "without", "neither", "nor", "none", "cannot", "hardly", "barely"]
)
COMMON_WORD_TICKERS = frozenset(
    [
        "A",
        "ALL",
        "ARE",
        "BE",
        "CAN",
        "FOR",
        "GO",
        "IT",
        "KO",
        "NOW",
        "ON",
        "ONE",
        "OR",
        "OUT",
        "SO",
        "TV",
        "US",
    ]
)

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[.,;:!?]")
_SCOPE_ENDS = frozenset({".", ",", ";", ":", "!", "?", "but"})
"""Punctuation and contrast words end a negation's scope."""
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_CASHTAG = re.compile(r"\$([A-Z][A-Z0-9.]{0,9})\b")
_QUALIFIED = re.compile(r"\b(?:NYSE|NASDAQ|Nasdaq|AMEX|LSE|TSX)\s*:\s*([A-Z][A-Z0-9.]{0,9})\b")
_UPPER_WORD = re.compile(r"(?<![$\w])([A-Z][A-Z0-9]{0,5})(?![\w])")


class LexiconScorer:
    """``(positive - negative) / (positive + negative)`` over the text's sentiment words, a word
    after a negator (within ``negation_window`` words, in the same clause) counting with the
    opposite sign."""

    def __init__(
        self,
        positive: Iterable[str] = POSITIVE_WORDS,
        negative: Iterable[str] = NEGATIVE_WORDS,
        negators: Iterable[str] = NEGATORS,
        negation_window: int = 3,
    ) -> None:
        if isinstance(negation_window, bool) or not isinstance(negation_window, int):
            raise InvalidValue("INVALID_WINDOW", "negation_window must be an int")
        if negation_window < 0:
            raise InvalidValue("INVALID_WINDOW", "negation_window must be >= 0")
        self.positive = frozenset(word.lower() for word in positive)
        self.negative = frozenset(word.lower() for word in negative)
        if self.positive & self.negative:
            raise InvalidValue(
                "INVALID_LEXICON", f"words in both lists: {sorted(self.positive & self.negative)}"
            )
        self.negators = frozenset(word.lower() for word in negators)
        self.negation_window = negation_window

    def _is_negator(self, token: str) -> bool:
        return token in self.negators or token.endswith("n't")

    def score(self, text: str) -> float:
        positive = negative = 0
        since_negator: int | None = None
        for token in _TOKEN.findall(text.lower().replace("\u2019", "'")):
            if token in _SCOPE_ENDS:
                since_negator = None
                continue
            if self._is_negator(token):
                since_negator = 0
                continue
            polarity = 1 if token in self.positive else -1 if token in self.negative else 0
            negated = since_negator is not None and since_negator < self.negation_window
            if polarity and negated:
                polarity = -polarity
            if polarity > 0:
                positive += 1
            elif polarity < 0:
                negative += 1
            if since_negator is not None:
                since_negator += 1
        total = positive + negative
        return 0.0 if total == 0 else (positive - negative) / total


class SymbolExtractor:
    """Finds the instruments a text mentions (see the module docs).

    ``symbols`` maps a ticker (``"AAPL"``) to its instrument id (``"AAPL.SIM"``); ``aliases``
    maps a company name (``"Apple"``) to a ticker of ``symbols``."""

    def __init__(self, symbols: Mapping[str, str], aliases: Mapping[str, str] | None = None):
        if not symbols:
            raise InvalidValue("EMPTY_UNIVERSE", "a symbol extractor needs at least one symbol")
        self.symbols = {ticker.upper(): instrument for ticker, instrument in symbols.items()}
        alias_map = dict(aliases or {})
        for alias, ticker in alias_map.items():
            if ticker.upper() not in self.symbols:
                raise InvalidValue(
                    "UNKNOWN_SYMBOL", f"alias {alias!r} names {ticker!r}, not a known symbol"
                )
            if not alias.strip():
                raise InvalidValue("EMPTY_ALIAS", f"an empty alias for {ticker!r}")
        ordered = sorted(alias_map, key=len, reverse=True)
        self._aliases = [
            (re.compile(r"(?<!\w)" + re.escape(alias) + r"(?!\w)", re.IGNORECASE), ticker.upper())
            for alias, ticker in ((alias, alias_map[alias]) for alias in ordered)
        ]

    def extract(self, text: str) -> list[str]:
        """Instrument ids mentioned in ``text``, in order of first mention."""
        found: list[tuple[int, str]] = []
        for pattern in (_CASHTAG, _QUALIFIED):
            for match in pattern.finditer(text):
                ticker = match.group(1).upper()
                if ticker in self.symbols:
                    found.append((match.start(), ticker))
        for match in _UPPER_WORD.finditer(text):
            ticker = match.group(1)
            if ticker in self.symbols and ticker not in COMMON_WORD_TICKERS and len(ticker) > 1:
                found.append((match.start(), ticker))
        for pattern, ticker in self._aliases:
            mention = pattern.search(text)
            if mention is not None:
                found.append((mention.start(), ticker))
        ordered: dict[str, None] = {}
        for _, ticker in sorted(found):
            ordered.setdefault(self.symbols[ticker], None)
        return list(ordered)


class NewsProcessor:
    """Turns stories into per-instrument sentiment (see the module docs)."""

    def __init__(self, extractor: SymbolExtractor, scorer: SentimentScorer | None = None):
        self.extractor = extractor
        self.scorer: SentimentScorer = LexiconScorer() if scorer is None else scorer

    def process(self, item: NewsItem) -> list[SymbolSentiment]:
        text = f"{item.headline.strip().rstrip('.')}. {item.body}".strip()
        everyone = self.extractor.extract(text)
        if not everyone:
            return []
        scores: dict[str, list[float]] = {instrument: [] for instrument in everyone}
        for sentence in _SENTENCE.split(text):
            if not sentence.strip():
                continue
            value = self.scorer.score(sentence)
            if not -1.0 <= value <= 1.0:
                raise InvalidValue("SCORE_OUT_OF_RANGE", f"scorer returned {value!r}")
            for instrument in self.extractor.extract(sentence) or everyone:
                scores[instrument].append(value)
        return [
            SymbolSentiment(instrument, sum(values) / len(values), item.ts, item.headline)
            for instrument, values in scores.items()
            if values
        ]
