"""The message bus: typed topics, wildcard subscriptions, synchronous dispatch, request/response.

Topics are dot-separated (``data.quotes.BTCUSDT.BINANCE``, ``events.order.S1``). A subscription
pattern matches segment by segment: ``*`` matches exactly one segment and a final ``>`` matches
one or more remaining segments (``events.order.>``). Publishing calls every matching handler
synchronously, in subscription priority order (higher first, then subscription order), so the
hot path is one dict lookup and a loop over a cached tuple of handlers.

Endpoints serve request/response for commands: ``register_endpoint("exec.submit", handler)``
then ``request("exec.submit", command)`` returns the handler's answer.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hftcore.errors import InvalidValue

logger = logging.getLogger(__name__)

Handler = Callable[[Any], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    pattern: str
    handler: Handler
    priority: int
    order: int


def _validate_topic(topic: str, *, pattern: bool) -> tuple[str, ...]:
    if not isinstance(topic, str) or not topic:
        raise InvalidValue("INVALID_TOPIC", f"a topic must be a non-empty string, got {topic!r}")
    segments = tuple(topic.split("."))
    for index, segment in enumerate(segments):
        if not segment:
            raise InvalidValue("INVALID_TOPIC", f"topic {topic!r} has an empty segment")
        wildcard = segment in ("*", ">")
        if wildcard and not pattern:
            raise InvalidValue("INVALID_TOPIC", f"published topic {topic!r} has a wildcard")
        if segment == ">" and index != len(segments) - 1:
            raise InvalidValue("INVALID_TOPIC", f"'>' must be the last segment in {topic!r}")
        if not wildcard and ("*" in segment or ">" in segment):
            raise InvalidValue("INVALID_TOPIC", f"segment {segment!r} of {topic!r} mixes wildcards")
    return segments


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``pattern`` (with ``*`` / ``>`` wildcards) matches the concrete ``topic``."""
    pattern_segments = pattern.split(".")
    topic_segments = topic.split(".")
    for index, segment in enumerate(pattern_segments):
        if segment == ">":
            return len(topic_segments) > index
        if index >= len(topic_segments):
            return False
        if segment != "*" and segment != topic_segments[index]:
            return False
    return len(pattern_segments) == len(topic_segments)


class MessageBus:
    """In-process publish/subscribe and request/response."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._resolved: dict[str, tuple[Handler, ...]] = {}
        self._endpoints: dict[str, Callable[[Any], Any]] = {}
        self._order = itertools.count()
        self.published = 0

    def subscribe(self, pattern: str, handler: Handler, priority: int = 0) -> Subscription:
        """Calls ``handler(message)`` for every message published on a matching topic."""
        _validate_topic(pattern, pattern=True)
        if not callable(handler):
            raise InvalidValue("INVALID_HANDLER", f"handler for {pattern!r} is not callable")
        subscription = Subscription(pattern, handler, priority, next(self._order))
        self._subscriptions.append(subscription)
        self._resolved.clear()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        try:
            self._subscriptions.remove(subscription)
        except ValueError:
            raise InvalidValue(
                "UNKNOWN_SUBSCRIPTION", f"no subscription {subscription.pattern!r} to remove"
            ) from None
        self._resolved.clear()

    def handlers(self, topic: str) -> tuple[Handler, ...]:
        """The handlers a message on ``topic`` reaches, in call order (cached)."""
        cached = self._resolved.get(topic)
        if cached is None:
            _validate_topic(topic, pattern=False)
            matching = sorted(
                (s for s in self._subscriptions if topic_matches(s.pattern, topic)),
                key=lambda s: (-s.priority, s.order),
            )
            cached = tuple(s.handler for s in matching)
            self._resolved[topic] = cached
        return cached

    def publish(self, topic: str, message: Any) -> None:
        """Delivers ``message`` to every handler subscribed to ``topic``, synchronously."""
        self.published += 1
        handlers = self._resolved.get(topic)
        if handlers is None:  # an empty tuple is a resolved topic nobody listens to
            handlers = self.handlers(topic)
        for handler in handlers:
            handler(message)

    def register_endpoint(self, name: str, handler: Callable[[Any], Any]) -> None:
        _validate_topic(name, pattern=False)
        if name in self._endpoints:
            raise InvalidValue("DUPLICATE_ENDPOINT", f"endpoint {name!r} is already registered")
        self._endpoints[name] = handler

    def request(self, name: str, message: Any) -> Any:
        """Calls the endpoint ``name`` with ``message`` and returns its answer."""
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise InvalidValue("UNKNOWN_ENDPOINT", f"no endpoint named {name!r}")
        return endpoint(message)
