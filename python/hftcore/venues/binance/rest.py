"""Binance spot REST: public requests, API-key requests and HMAC-SHA256 signed requests, under
token-bucket limits on request weight and on orders (a request waits for its turn; nothing is
dropped), with HTTP 429/418 answered by waiting ``Retry-After`` and trying again."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlencode

import msgspec

from hftcore.errors import ConfigError
from hftcore.venues.binance.wire import ERROR_BODY, SERVER_TIME
from hftcore.venues.live import LIVE_EXTRA_HINT, RateLimit, TokenBucket, VenueRequestError

try:
    import aiohttp
except ImportError as missing:
    raise ImportError(LIVE_EXTRA_HINT) from missing

logger = logging.getLogger(__name__)

Method = Literal["GET", "POST", "PUT", "DELETE"]
Params = list[tuple[str, str]]

MAX_RATE_LIMITED_TRIES = 5
TIMESTAMP_OUTSIDE_RECV_WINDOW = -1021


def sign(secret: str, payload: str) -> str:
    """Binance's ``signature``: hex HMAC-SHA256 of the query string with the API secret."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class BinanceRest:
    """One HTTP session (``aiohttp``) to Binance's REST API."""

    def __init__(
        self,
        base_url: str,
        weight_limit: RateLimit,
        order_limit: RateLimit,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        recv_window_ms: int = 5000,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.weight = TokenBucket(weight_limit)
        self.orders = TokenBucket(order_limit)
        self._api_key = api_key
        self._api_secret = api_secret
        self.recv_window_ms = recv_window_ms
        self._clock_ms = clock_ms
        self._timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self.time_offset_ms = 0
        """Binance's clock minus ours, learnt when a request is refused for its timestamp."""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout_s)
            )
        return self._session

    async def close(self) -> None:
        session = self._session
        self._session = None
        if session is not None:
            await session.close()

    async def public(self, path: str, params: Params, weight: int = 1) -> bytes:
        return await self._request("GET", path, params, weight, key=False, signed=False)

    async def with_key(self, method: Method, path: str, params: Params, weight: int = 1) -> bytes:
        """A request that needs the API key but no signature (user data stream keys)."""
        return await self._request(method, path, params, weight, key=True, signed=False)

    async def signed(
        self, method: Method, path: str, params: Params, weight: int = 1, *, order: bool = False
    ) -> bytes:
        """A ``SIGNED`` request: ``timestamp`` and ``recvWindow`` added, then ``signature``.
        ``order=True`` also takes a token of the order-rate bucket."""
        if order:
            await self.orders.acquire()
        try:
            return await self._request(method, path, params, weight, key=True, signed=True)
        except VenueRequestError as error:
            if error.venue_code != TIMESTAMP_OUTSIDE_RECV_WINDOW:
                raise
        # Our clock and Binance's disagree: learn the offset, then try once more (the
        # request was refused, so nothing was done).
        await self.synchronise_time()
        return await self._request(method, path, params, weight, key=True, signed=True)

    async def synchronise_time(self) -> int:
        """Sets :attr:`time_offset_ms` from ``GET /api/v3/time``; returns it."""
        before = self._clock_ms()
        server_time = SERVER_TIME.decode(await self.public("/api/v3/time", [])).server_time
        self.time_offset_ms = server_time - (before + self._clock_ms()) // 2
        logger.info("binance: clock offset %d ms", self.time_offset_ms)
        return self.time_offset_ms

    async def _request(
        self, method: Method, path: str, params: Params, weight: int, *, key: bool, signed: bool
    ) -> bytes:
        headers = {}
        if key:
            if not self._api_key or (signed and not self._api_secret):
                raise ConfigError("MISSING_CREDENTIALS", "Binance API key and secret are needed")
            headers["X-MBX-APIKEY"] = self._api_key
        for _ in range(MAX_RATE_LIMITED_TRIES):
            await self.weight.acquire(min(weight, self.weight.limit.burst))
            query = list(params)
            if signed:
                assert self._api_secret is not None
                query.append(("recvWindow", str(self.recv_window_ms)))
                query.append(("timestamp", str(self._clock_ms() + self.time_offset_ms)))
                payload = urlencode(query)
                query_string = f"{payload}&signature={sign(self._api_secret, payload)}"
            else:
                query_string = urlencode(query)
            url = f"{self.base_url}{path}" + (f"?{query_string}" if query_string else "")
            try:
                async with self._client().request(method, url, headers=headers) as response:
                    body = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as error:
                raise VenueRequestError("UNREACHABLE", f"{method} {path}: {error!r}") from None
            if status in (418, 429):
                delay = float(retry_after) if retry_after and retry_after.isdigit() else 1.0
                logger.warning(
                    "binance %s %s: HTTP %d, waiting %.1f s", method, path, status, delay
                )
                await asyncio.sleep(delay)
                continue
            if status >= 400:
                raise _error(method, path, status, body)
            return body
        raise VenueRequestError("RATE_LIMITED", f"{method} {path}: still rate limited")


def _error(method: str, path: str, status: int, body: bytes) -> VenueRequestError:
    try:
        error = ERROR_BODY.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return VenueRequestError(f"HTTP_{status}", f"{method} {path}: {body[:200]!r}")
    return VenueRequestError(
        f"HTTP_{status}", f"{method} {path}: {error.code} {error.msg}", venue_code=error.code
    )
