"""The strategy API: one base class for backtest, paper and live.

A strategy declares its parameters as a msgspec Struct (``Params``), reacts to market data and
order events through ``on_*`` callbacks, and acts through ``submit_order``, ``modify_order``,
``cancel_order``, ``cancel_all`` and ``close_position``. It reads the world through
``self.clock``, ``self.cache`` and ``self.portfolio``. The node binds those when the strategy is
added; the strategy never knows which mode it runs in.

Strategies load by import path (``package.module:Class``) or file path
(``strategies/momentum.py:Momentum``) with :func:`load_strategy_class`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any, ClassVar, Protocol

import msgspec

from hftcore.errors import ConfigError, HftcoreError
from hftcore.model.data import Bar, Quote, Trade
from hftcore.model.events import OrderEvent, OrderFilled, OrderSpec
from hftcore.model.orders import OrderType, TimeInForce
from hftcore.node.clock import Clock, TimeEvent


class StrategyContext(Protocol):
    """What the node gives a strategy: time, state, and the paths for its requests."""

    @property
    def clock(self) -> Clock: ...
    @property
    def cache(self) -> Any: ...
    @property
    def portfolio(self) -> Any: ...
    def subscribe(
        self, strategy: Strategy, kind: str, instrument_id: str, bar_type: str | None = None
    ) -> None: ...
    def submit(self, strategy: Strategy, order: OrderSpec) -> str: ...
    def modify(
        self,
        strategy: Strategy,
        client_order_id: str,
        quantity: int | None,
        price: int | None,
        trigger_price: int | None,
    ) -> None: ...
    def cancel(self, strategy: Strategy, client_order_id: str) -> None: ...
    def cancel_all(self, strategy: Strategy, instrument_id: str, side: int | None) -> None: ...
    def close_position(self, strategy: Strategy, instrument_id: str) -> str | None: ...


logger = logging.getLogger(__name__)


# Read once: a member read off its Enum class costs about 100 ns in Python 3.11, and an order
# is built on every signal.
_MARKET = OrderType.MARKET
_LIMIT = OrderType.LIMIT
_STOP = OrderType.STOP
_IOC = TimeInForce.IOC


class NoParams(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A strategy without parameters."""


class StrategyError(HftcoreError):
    """A strategy used the API wrongly (not started, unknown instrument, ...)."""


class Strategy:
    """Base class of every strategy and agent.

    Subclasses set ``Params`` to a frozen msgspec Struct with typed, defaulted fields; the
    values from config are validated into it (a wrong field raises ``ConfigError`` naming it)
    and are available as ``self.params``.
    """

    Params: ClassVar[type[msgspec.Struct]] = NoParams

    def __init__(self, strategy_id: str, params: msgspec.Struct | dict[str, Any] | None = None):
        if not strategy_id or "." in strategy_id:
            raise ConfigError(
                "INVALID_STRATEGY_ID", f"strategy id {strategy_id!r} must be non-empty, no dots"
            )
        self.strategy_id = strategy_id
        self.params: Any = self._validate_params(params)
        self._context: StrategyContext | None = None
        self.log = logging.getLogger(f"hftcore.strategy.{strategy_id}")

    @classmethod
    def _validate_params(cls, params: msgspec.Struct | dict[str, Any] | None) -> msgspec.Struct:
        if isinstance(params, cls.Params):
            return params
        try:
            return msgspec.convert(params or {}, cls.Params, strict=False)
        except msgspec.ValidationError as error:
            raise ConfigError("INVALID_PARAMS", f"{cls.__name__} params: {error}") from None

    # -- bound by the node ---------------------------------------------------------------

    def bind(self, context: StrategyContext) -> None:
        """Called by the node when the strategy is added."""
        if self._context is not None:
            raise StrategyError("ALREADY_BOUND", f"strategy {self.strategy_id} is on a node")
        self._context = context

    @property
    def context(self) -> StrategyContext:
        if self._context is None:
            raise StrategyError("NOT_BOUND", f"strategy {self.strategy_id} is not on a node")
        return self._context

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @property
    def cache(self) -> Any:
        return self.context.cache

    @property
    def portfolio(self) -> Any:
        return self.context.portfolio

    # -- callbacks (override what you need) ----------------------------------------------

    def on_start(self) -> None:
        """The node started (subscribe to data and set timers here)."""

    def on_stop(self) -> None:
        """The node is stopping, or this strategy was stopped."""

    def on_quote(self, quote: Quote) -> None:
        """A new top of book of a subscribed instrument."""

    def on_trade(self, trade: Trade) -> None:
        """A print on a subscribed instrument."""

    def on_book(self, instrument_id: str) -> None:
        """The order book of a subscribed instrument changed (read it from the cache)."""

    def on_bar(self, bar: Bar) -> None:
        """A bar closed."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Any state change of one of this strategy's orders."""

    def on_fill(self, fill: OrderFilled) -> None:
        """A fill of one of this strategy's orders (after the portfolio applied it)."""

    def on_timer(self, event: TimeEvent) -> None:
        """A timer or alert set by this strategy fired."""

    # -- actions --------------------------------------------------------------------------

    def subscribe_quotes(self, instrument_id: str) -> None:
        self.context.subscribe(self, "quotes", instrument_id)

    def subscribe_trades(self, instrument_id: str) -> None:
        self.context.subscribe(self, "trades", instrument_id)

    def subscribe_book(self, instrument_id: str) -> None:
        self.context.subscribe(self, "book", instrument_id)

    def subscribe_bars(self, instrument_id: str, bar_type: str = "1-DAY") -> None:
        self.context.subscribe(self, "bars", instrument_id, bar_type)

    def set_timer(self, name: str, interval_ns: int, start_ns: int | None = None) -> None:
        """A repeating timer delivered to :meth:`on_timer`."""
        self.clock.set_timer(f"{self.strategy_id}.{name}", interval_ns, self.on_timer, start_ns)

    def submit_order(self, order: OrderSpec) -> str:
        """Sends an order through the OMS and the risk gate; returns its client order id.
        A refusal arrives as an ``OrderDenied`` event to :meth:`on_order_event`."""
        return self.context.submit(self, order)

    def modify_order(
        self,
        client_order_id: str,
        quantity: int | None = None,
        price: int | None = None,
        trigger_price: int | None = None,
    ) -> None:
        self.context.modify(self, client_order_id, quantity, price, trigger_price)

    def cancel_order(self, client_order_id: str) -> None:
        self.context.cancel(self, client_order_id)

    def cancel_all(self, instrument_id: str, side: int | None = None) -> None:
        self.context.cancel_all(self, instrument_id, side)

    def close_position(self, instrument_id: str) -> str | None:
        """Sends a market order that flattens this strategy's position; None when flat."""
        return self.context.close_position(self, instrument_id)

    # -- order builders (ticks and lots) --------------------------------------------------

    @staticmethod
    def market(
        instrument_id: str, side: int, quantity: int, *, reduce_only: bool = False
    ) -> OrderSpec:
        return OrderSpec(
            instrument_id,
            side,
            _MARKET,
            quantity,
            time_in_force=_IOC,
            reduce_only=reduce_only,
        )

    @staticmethod
    def limit(
        instrument_id: str,
        side: int,
        quantity: int,
        price: int,
        *,
        time_in_force: int = TimeInForce.GTC,
        post_only: int = 0,
        reduce_only: bool = False,
    ) -> OrderSpec:
        return OrderSpec(
            instrument_id,
            side,
            _LIMIT,
            quantity,
            price=price,
            time_in_force=time_in_force,
            post_only=post_only,
            reduce_only=reduce_only,
        )

    @staticmethod
    def stop(instrument_id: str, side: int, quantity: int, trigger_price: int) -> OrderSpec:
        return OrderSpec(instrument_id, side, _STOP, quantity, trigger_price=trigger_price)


def load_strategy_class(path: str) -> type[Strategy]:
    """Loads ``package.module:Class`` or ``path/to/file.py:Class``; errors name the path."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name:
        raise ConfigError("INVALID_STRATEGY_PATH", f"{path!r}: expected 'module:Class'")
    try:
        if module_name.endswith(".py"):
            file = Path(module_name)
            if not file.is_file():
                raise ConfigError("INVALID_STRATEGY_PATH", f"{path!r}: no file {file}")
            spec = importlib.util.spec_from_file_location(f"hftcore_user.{file.stem}", file)
            if spec is None or spec.loader is None:
                raise ConfigError("INVALID_STRATEGY_PATH", f"{path!r}: cannot load {file}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError("INVALID_STRATEGY_PATH", f"{path!r}: {error}") from None
    candidate = getattr(module, class_name, None)
    if not (isinstance(candidate, type) and issubclass(candidate, Strategy)):
        raise ConfigError("INVALID_STRATEGY_PATH", f"{path!r}: {class_name} is not a Strategy")
    return candidate
