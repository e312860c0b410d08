"""``HyperliquidWebSocketClient``: one ``/ws`` connection that stays up, with its subscriptions.

Transport: aiohttp rather than ``nautilus_trader.network.WebSocketClient``. The venue's liveness rules are
application-level (a JSON ``{"method":"ping"}`` at least every 60 s; WS protocol pings do not count) and the
recovery after a reconnect is venue-specific (resubscribe, then reconcile over REST because ``orderUpdates``
and ``userEvents`` replay nothing, protocol §5.4/§9.9). Owning the reconnect loop in Python makes that sequence
explicit and testable against the local exchange's fault injection, and avoids the Rust client's shutdown
panic when the loop closes right after ``disconnect()`` (nautilus_conventions §4.4).

Behaviour:
- frames are handed to ``handler(text)`` in arrival order on the node's loop; a handler exception is logged and
  the connection stays up (one bad frame must never cost the stream);
- a ping goes out every ``heartbeat_secs`` (the venue closes a client silent for 60 s), and also as soon as the
  connection has been silent for ``probe_after_secs``; a ping that nothing answers within ``pong_timeout_secs``
  means the socket is dead though still open (half-open TCP, a stalled proxy) and it is recycled at once, without
  waiting for a close handshake that will never come: a dead socket is found within a few seconds, not minutes;
- on any loss the client first calls ``on_disconnected()`` (what was awaiting an answer on this socket will never
  get one: ``post.py``), then reconnects with exponential backoff and jitter, resends every subscription, then
  awaits ``on_reconnected()``, where the owner resyncs whatever the stream cannot replay;
- :meth:`send_frame` writes one text frame at once (an uncompressed aiohttp frame is written to the transport
  within the call), for requests the owner matches to their answers itself (WS ``post``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
from nautilus_trader.common.component import Logger

from adapters.hyperliquid.config import HyperliquidDataClientConfig
from adapters.hyperliquid.config import HyperliquidExecClientConfig

_encode = msgspec.json.encode
_PING = '{"method":"ping"}'
_MAX_FRAME_BYTES = 16 * 1024 * 1024
_CONNECT_TIMEOUT_S = 10.0
_LIVENESS_TICK_S = 0.25


class HyperliquidWebSocketClient:
    def __init__(
        self,
        url: str,
        handler: Callable[[str], None],
        logger: Logger,
        heartbeat_secs: float = 30.0,
        reconnect_delay_initial_secs: float = 0.25,
        reconnect_delay_max_secs: float = 5.0,
        on_reconnected: Callable[[], Awaitable[None]] | None = None,
        probe_after_secs: float = 2.0,
        pong_timeout_secs: float = 3.0,
        on_disconnected: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._handler = handler
        self._log = logger
        self._heartbeat_secs = heartbeat_secs
        self._probe_after_s = probe_after_secs
        self._pong_timeout_s = pong_timeout_secs
        self._delay_initial_s = reconnect_delay_initial_secs
        self._delay_max_s = reconnect_delay_max_secs
        self._on_reconnected = on_reconnected
        self._on_disconnected = on_disconnected
        self._subscriptions: dict[bytes, dict[str, Any]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._last_frame_s = 0.0
        self._last_ping_s = 0.0
        self._unanswered_ping_s: float | None = None  # when the oldest ping still awaiting any frame went out
        self.reconnects = 0
        self.dead_sockets = 0

    @classmethod
    def for_config(
        cls,
        config: HyperliquidDataClientConfig | HyperliquidExecClientConfig,
        handler: Callable[[str], None],
        logger: Logger,
        on_reconnected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[], None] | None = None,
    ) -> HyperliquidWebSocketClient:
        return cls(
            config.endpoints().ws_url,
            handler,
            logger,
            heartbeat_secs=config.heartbeat_secs,
            reconnect_delay_initial_secs=config.reconnect_delay_initial_secs,
            reconnect_delay_max_secs=config.reconnect_delay_max_secs,
            on_reconnected=on_reconnected,
            on_disconnected=on_disconnected,
        )

    @property
    def is_connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> None:
        """Open the connection; raises if the first attempt fails, so a bad URL fails the node's connect."""
        self._closing = False
        self._session = aiohttp.ClientSession()
        try:
            await self._open()
        except BaseException:
            await self._session.close()
            raise
        self._tasks = [asyncio.create_task(self._run()), asyncio.create_task(self._heartbeat())]

    async def disconnect(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._lost()
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        self._ws = self._session = None

    async def subscribe(self, subscription: dict[str, Any]) -> None:
        key = _identity(subscription)
        if key in self._subscriptions:
            return
        self._subscriptions[key] = subscription
        await self._send({"method": "subscribe", "subscription": subscription})

    async def unsubscribe(self, subscription: dict[str, Any]) -> None:
        if self._subscriptions.pop(_identity(subscription), None) is not None:
            await self._send({"method": "unsubscribe", "subscription": subscription})

    async def resubscribe(self, subscription: dict[str, Any]) -> None:
        """Unsubscribe and subscribe again: the venue answers with a fresh snapshot (stale-stream recovery)."""
        await self.unsubscribe(subscription)
        await self.subscribe(subscription)

    async def send_frame(self, payload: bytes) -> None:
        """Write ``payload`` as one text frame now; raises if the socket is not open or the write fails."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionError("the WebSocket is not connected")
        await ws.send_frame(payload, aiohttp.WSMsgType.TEXT)

    async def _send(self, message: dict[str, Any]) -> None:
        """Best effort: while disconnected the subscription is kept and sent by the reconnect."""
        if not self.is_connected:
            return
        try:
            await self._ws.send_str(_encode(message).decode())
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as error:
            self._log.warning(f"WebSocket send failed ({error}); the reconnect will resend subscriptions")

    async def _open(self) -> None:
        self._ws = await self._session.ws_connect(
            self._url,
            autoping=True,
            heartbeat=None,
            max_msg_size=_MAX_FRAME_BYTES,
            timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
            receive_timeout=None,
        )
        self._last_frame_s = self._last_ping_s = time.monotonic()
        self._unanswered_ping_s = None

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self._read_until_closed()
            except (aiohttp.ClientError, ConnectionError, OSError) as error:
                self._log.warning(f"WebSocket read failed ({type(error).__name__}: {error}); reconnecting")
            self._lost()
            if self._closing:
                return
            await self._reconnect()

    async def _read_until_closed(self) -> None:
        ws = self._ws
        async for message in ws:
            self._last_frame_s = time.monotonic()
            if message.type == aiohttp.WSMsgType.TEXT:
                self._dispatch(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                self._dispatch(message.data.decode("utf-8", "replace"))
            elif message.type == aiohttp.WSMsgType.ERROR:
                break
        if not self._closing:
            self._log.warning(f"WebSocket {self._url} closed (code {ws.close_code}); reconnecting")

    def _lost(self) -> None:
        if self._on_disconnected is not None:
            try:
                self._on_disconnected()
            except Exception as error:  # the reconnect must happen whatever the owner's hook does
                self._log.error(f"WebSocket disconnect hook failed: {type(error).__name__}: {error}")

    def _dispatch(self, text: str) -> None:
        try:
            self._handler(text)
        except Exception as error:  # a handler bug costs one frame, never the connection
            self._log.error(f"WebSocket frame handler failed: {type(error).__name__}: {error}")

    async def _reconnect(self) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        delay_s = self._delay_initial_s
        while not self._closing:
            try:
                async with asyncio.timeout(_CONNECT_TIMEOUT_S):
                    await self._open()
                break
            except (aiohttp.ClientError, OSError, TimeoutError) as error:
                self._log.warning(f"WebSocket reconnect failed ({type(error).__name__}); retrying in {delay_s:.2f} s")
                await asyncio.sleep(delay_s * (1 + random.random() / 4))
                delay_s = min(delay_s * 2, self._delay_max_s)
        if self._closing:
            return
        self.reconnects += 1
        for subscription in list(self._subscriptions.values()):
            await self._send({"method": "subscribe", "subscription": subscription})
        self._log.info(f"WebSocket reconnected ({len(self._subscriptions)} subscriptions resent)")
        if self._on_reconnected is not None:
            self._tasks = [task for task in self._tasks if not task.done()]
            self._tasks.append(asyncio.create_task(self._guarded(self._on_reconnected())))

    async def _guarded(self, coroutine: Awaitable[None]) -> None:
        try:
            await coroutine
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._log.error(f"post-reconnect recovery failed: {type(error).__name__}: {error}")

    async def _heartbeat(self) -> None:
        """Pings on schedule and on silence; any frame received after a ping answers it."""
        while not self._closing:
            await asyncio.sleep(min(_LIVENESS_TICK_S, self._heartbeat_secs))
            ws = self._ws
            if ws is None or ws.closed:
                continue
            now = time.monotonic()
            if self._unanswered_ping_s is not None and self._last_frame_s >= self._unanswered_ping_s:
                self._unanswered_ping_s = None
            if self._unanswered_ping_s is not None:
                if now - self._unanswered_ping_s >= self._pong_timeout_s:
                    self._recycle_dead(ws, now - self._last_frame_s)
                continue
            if now - self._last_ping_s >= self._heartbeat_secs or now - self._last_frame_s >= self._probe_after_s:
                self._last_ping_s = self._unanswered_ping_s = now
                try:
                    await ws.send_str(_PING)
                except (ConnectionError, RuntimeError, aiohttp.ClientError):
                    continue  # the reader sees the close and reconnects

    def _recycle_dead(self, ws: aiohttp.ClientWebSocketResponse, silent_s: float) -> None:
        """Close in the background: ``close()`` first ends the reader's wait, so the reconnect starts at once,
        while the close handshake the dead peer never answers times out on its own (``ws_close``)."""
        self.dead_sockets += 1
        self._unanswered_ping_s = None
        self._log.warning(f"WebSocket silent {silent_s:.1f} s, ping unanswered: presumed dead, reconnecting")
        self._tasks = [task for task in self._tasks if not task.done()]
        self._tasks.append(asyncio.create_task(ws.close()))


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; True if the full time passed. Background loops built on it
    end on their own at shutdown instead of being cancelled mid-request."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return True
    return False


def _identity(subscription: dict[str, Any]) -> bytes:
    return _encode(dict(sorted(subscription.items())))
