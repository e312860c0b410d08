"""``HyperliquidHttpClient``: JSON over ``POST`` to one base URL, with the IP weight budget and retries.

Transport: aiohttp rather than ``nautilus_trader.network.HttpClient``. The Rust client would add nothing the
venue needs (every call is a JSON POST) and costs debuggability: errors surface as opaque FFI exceptions and
its keyed quotas cannot express per-request weights known only after the answer. aiohttp keeps the whole path
in Python, runs on the node's loop, is already the local exchange's stack (so tests exercise one HTTP
implementation end to end), and its keep-alive pool removes the connect cost from the order path.

Retries: a 429 means the request was refused at the door, so it is retried for actions as well, after pausing
the shared limiter. A timeout or 5xx on an *action* is not retried: the venue may have executed it, and a
resend could double an order. The caller gets ``HyperliquidHttpError(outcome_unknown=True)`` and resolves the
order by looking it up (``orderStatus`` by cloid). Idempotent info requests are retried on both.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import aiohttp

from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.http.ratelimit import WeightLimiter

_JSON_HEADERS = {"Content-Type": "application/json"}
_BACKOFF_BASE_S = 0.5
_BACKOFF_MAX_S = 10.0


class HyperliquidHttpClient:
    def __init__(
        self,
        base_url: str,
        limiter: WeightLimiter,
        timeout_secs: float = 10.0,
        max_retries: int = 3,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._limiter = limiter
        self._timeout = aiohttp.ClientTimeout(total=timeout_secs)
        self._max_retries = max_retries
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def limiter(self) -> WeightLimiter:
        return self._limiter

    async def post(
        self,
        path: str,
        body: bytes | Callable[[], bytes],
        weight: int,
        idempotent: bool,
        urgent: bool = True,
    ) -> bytes:
        """POST ``body`` to ``path`` and return the 200 answer's bytes; raises ``HyperliquidHttpError``.

        A callable body is built only once the request may go, on every attempt (a signed action gets its nonce
        then, see ``HyperliquidExchangeEndpoints.post``). ``urgent=False`` (new orders) waits behind every urgent
        request when the IP budget is tight (``WeightLimiter``)."""
        attempt = 0
        while True:
            if self._closed:
                raise HyperliquidHttpError(0, "the HTTP client is closed")
            await self._limiter.acquire(weight, urgent)
            try:
                return await self._send(path, body() if callable(body) else body)
            except HyperliquidHttpError as error:
                retryable = error.status == 429 or (idempotent and error.outcome_unknown)
                if not retryable or attempt >= self._max_retries:
                    raise
                delay = min(_BACKOFF_MAX_S, _BACKOFF_BASE_S * 2**attempt) * (1 + random.random() / 2)
                if error.status == 429:
                    self._limiter.pause(delay)
                else:
                    await asyncio.sleep(delay)
                attempt += 1

    async def _send(self, path: str, body: bytes) -> bytes:
        session = self._session_for_loop()
        try:
            async with session.post(self._base_url + path, data=body, headers=_JSON_HEADERS) as response:
                payload = await response.read()
                if response.status != 200:
                    raise HyperliquidHttpError(response.status, payload.decode("utf-8", "replace")[:500])
                return payload
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise HyperliquidHttpError(0, f"{type(error).__name__}: {error}") from None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        """One keep-alive session, created on first use inside the running loop (aiohttp binds it there)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        """Close for good: a late request fails instead of opening a session on a loop about to close."""
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
