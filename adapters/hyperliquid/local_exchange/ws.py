"""``/ws``: subscriptions, pushes, ``post`` requests, ping/pong and the idle close (reference §5).

Every server frame is ``{"channel", "data"}`` (``pong`` has no data). ``userEvents`` is pushed on channel
``user``. ``userFills`` starts with an ``isSnapshot: true`` frame of past fills; ``orderUpdates`` and
``userEvents`` have no snapshot, so a client that reconnects must reconcile over REST. ``l2Book``, ``bbo``,
``allMids`` and ``activeAssetCtx`` send the current state right after the ack, ``trades`` the last 30 trades.
``candle`` pushes the current candle of its interval on every trade; ``webData2`` (the front end's account
aggregate) pushes on subscribing and after every change to the account; ``notification`` is accepted and stays
quiet (nothing here is notified), so the official SDK's subscriptions all work.
The venue closes a connection that has sent nothing for 60 s; only an application ``{"method":"ping"}`` (or
any other message) counts, WS protocol pings do not.

Each connection has its own send queue and writer task, so one slow client never stalls the engine, and
frames pass the fault controller on their way out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import WSMsgType
from aiohttp import web

from adapters.hyperliquid.actions import lower_address
from adapters.hyperliquid.constants import BOOK_LEVELS
from adapters.hyperliquid.constants import FAST_BOOK_LEVELS
from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange.book import BookSnapshot
from adapters.hyperliquid.local_exchange.candles import INTERVAL_MS
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.local_exchange.events import Message
from adapters.hyperliquid.local_exchange.faults import REORDER_TIMEOUT_S
from adapters.hyperliquid.local_exchange.faults import FaultController
from adapters.hyperliquid.local_exchange.info import book_aggregation

log = logging.getLogger(__name__)

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder().decode
CHANNEL_OF = {"userEvents": "user"}
_COIN_TYPES = ("l2Book", "trades", "bbo", "activeAssetCtx")
_USER_TYPES = ("orderUpdates", "userEvents", "userFills", "webData2", "notification")
_ACCOUNT_MESSAGES = ("orderUpdates", "fills", "userEvent")  # engine messages that change what webData2 shows
_CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Subscription:
    type: str
    key: str | None
    raw: dict[str, Any]
    identity: bytes
    n_sig_figs: int | None = None
    mantissa: int | None = None
    n_levels: int = BOOK_LEVELS
    interval: str | None = None  # candle

    @property
    def channel(self) -> str:
        return CHANNEL_OF.get(self.type, self.type)


def parse_subscription(raw: Any, known_coins: dict) -> Subscription:
    """Raises ``ValueError`` with the venue-style reason for anything it cannot serve."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ValueError("missing subscription type")
    kind = raw["type"]
    identity = _encode(dict(sorted(raw.items())))
    if kind == "allMids":
        return Subscription(kind, None, raw, identity)
    if kind == "candle":
        coin = _known(raw.get("coin"), known_coins, "coin")
        return Subscription(kind, coin, raw, identity, interval=_known(raw.get("interval"), INTERVAL_MS, "interval"))
    if kind in _COIN_TYPES:
        coin = _known(raw.get("coin"), known_coins, "coin")
        if kind != "l2Book":
            return Subscription(kind, coin, raw, identity)
        try:
            n_sig_figs, mantissa = book_aggregation(raw)
        except BadRequest as error:
            raise ValueError(error.text) from None
        n_levels = FAST_BOOK_LEVELS if raw.get("fast") is True else BOOK_LEVELS
        return Subscription(kind, coin, raw, identity, n_sig_figs, mantissa, n_levels)
    if kind in _USER_TYPES:
        return Subscription(kind, lower_address(raw.get("user")), raw, identity)
    raise ValueError(f"unsupported subscription type {kind!r}")


def _known(value: Any, names: dict, what: str) -> str:
    """``value`` if it is one of ``names``' keys; checked as a string first (a list is not even hashable)."""
    if not isinstance(value, str) or value not in names:
        raise ValueError(f"unknown {what} {value!r}")
    return value


def frame(channel: str, data: Any) -> bytes:
    return _encode({"channel": channel, "data": data})


PONG = _encode({"channel": "pong"})


class Session:
    """One client connection: its subscriptions, its outgoing queue and its idle clock."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None, faults: FaultController):
        self.ws = ws
        self.transport = transport
        self.faults = faults
        self.subs: dict[bytes, Subscription] = {}
        self.last_client_message = time.monotonic()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._held: dict[str, tuple[bytes, asyncio.TimerHandle]] = {}
        self._loop = asyncio.get_running_loop()

    def send(self, channel: str, payload: bytes) -> None:
        """Queue a frame, through the fault rules for its channel (a rule's count spans all connections)."""
        rule = self.faults.for_channel(channel)
        if rule is None:
            self._queue.put_nowait(payload)
            self._release_held(channel)
        elif rule.kind == "drop":
            log.info("fault: dropped a %s frame", channel)
        elif rule.kind == "delay":
            self._loop.call_later(rule.delay_s, self._queue.put_nowait, payload)
        elif channel in self._held:  # reorder while one is already held: release it first
            self._release_held(channel)
            self._hold(channel, payload)
        else:
            self._hold(channel, payload)

    def _hold(self, channel: str, payload: bytes) -> None:
        handle = self._loop.call_later(REORDER_TIMEOUT_S, self._release_held, channel)
        self._held[channel] = (payload, handle)

    def _release_held(self, channel: str) -> None:
        held = self._held.pop(channel, None)
        if held is not None:
            held[1].cancel()
            self._queue.put_nowait(held[0])

    async def writer(self) -> None:
        while (item := await self._queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_frame(item, WSMsgType.TEXT)
            except (ConnectionError, RuntimeError):
                return

    def stop(self) -> None:
        for _, handle in self._held.values():
            handle.cancel()
        self._held.clear()
        self._queue.put_nowait(None)


class Hub:
    """Routes the engine's messages to subscribed sessions, encoding each payload once per variant. Views that
    are computed rather than pushed by the engine (the current candle, an account's webData2) come from the
    ``candle`` and ``web_data`` callables."""

    def __init__(
        self,
        user_fills_stream_snapshot_key: bool,
        candle: Callable[[str, str], dict[str, Any] | None],
        web_data: Callable[[str], dict[str, Any]],
    ) -> None:
        self.sessions: set[Session] = set()
        self._index: dict[tuple[str, str | None], set[Session]] = {}
        self._stream_snapshot_key = user_fills_stream_snapshot_key
        self.candle = candle
        self.web_data = web_data

    def add(self, session: Session) -> None:
        self.sessions.add(session)

    def remove(self, session: Session) -> None:
        self.sessions.discard(session)
        for sub in session.subs.values():
            self._index.get((sub.type, sub.key), set()).discard(session)

    def subscribe(self, session: Session, sub: Subscription) -> None:
        session.subs[sub.identity] = sub
        self._index.setdefault((sub.type, sub.key), set()).add(session)

    def unsubscribe(self, session: Session, sub: Subscription) -> None:
        session.subs.pop(sub.identity, None)
        if not any((s.type, s.key) == (sub.type, sub.key) for s in session.subs.values()):
            self._index.get((sub.type, sub.key), set()).discard(session)

    def subscribers(self, kind: str, key: str | None) -> set[Session]:
        return self._index.get((kind, key), set())

    def deliver(self, messages: list[Message]) -> None:
        changed_accounts: set[str] = set()
        for message in messages:
            if message.kind in _ACCOUNT_MESSAGES:
                changed_accounts.add(message.key)
            if message.kind == "l2Book":
                self._deliver_book(message.key, message.payload)
            elif message.kind in ("bbo", "trades", "allMids", "activeAssetCtx", "orderUpdates"):
                self._broadcast(message.kind, message.key, message.kind, message.payload)
                if message.kind == "trades":
                    self._deliver_candles(message.key)
            elif message.kind == "fills":
                user_fills = {"user": message.key, "fills": message.payload}
                if self._stream_snapshot_key:
                    user_fills = {"isSnapshot": False, **user_fills}
                self._broadcast("userFills", message.key, "userFills", user_fills)
                self._broadcast("userEvents", message.key, "user", {"fills": message.payload})
            elif message.kind == "userEvent":
                self._broadcast("userEvents", message.key, "user", message.payload)
        for user in changed_accounts:
            if self.subscribers("webData2", user):
                self._broadcast("webData2", user, "webData2", self.web_data(user))

    def _deliver_candles(self, coin: str) -> None:
        encoded: dict[str, bytes | None] = {}
        for session in self.subscribers("candle", coin):
            for sub in session.subs.values():
                if sub.type != "candle" or sub.key != coin:
                    continue
                if sub.interval not in encoded:
                    candle = self.candle(coin, sub.interval)
                    encoded[sub.interval] = frame("candle", candle) if candle is not None else None
                if encoded[sub.interval] is not None:
                    session.send("candle", encoded[sub.interval])

    def _broadcast(self, kind: str, key: str | None, channel: str, data: Any) -> None:
        sessions = self.subscribers(kind, key)
        if sessions:
            payload = frame(channel, data)
            for session in sessions:
                session.send(channel, payload)

    def _deliver_book(self, coin: str, snapshot: BookSnapshot) -> None:
        encoded: dict[tuple, bytes] = {}
        for session in self.subscribers("l2Book", coin):
            for sub in session.subs.values():
                if sub.type != "l2Book" or sub.key != coin:
                    continue
                variant = (sub.n_sig_figs, sub.mantissa, sub.n_levels)
                if variant not in encoded:
                    encoded[variant] = frame("l2Book", book_wire(snapshot, *variant))
                session.send("l2Book", encoded[variant])


def book_wire(snapshot: BookSnapshot, n_sig_figs: int | None, mantissa: int | None, n_levels: int) -> dict:
    return {"coin": snapshot.coin, "time": snapshot.time_ms, "levels": snapshot.wire(n_sig_figs, mantissa, n_levels)}


def ws_error(text: str) -> bytes:
    return frame("error", text)


def decode_client_message(text: str) -> dict[str, Any]:
    message = _decode(text)
    if not isinstance(message, dict) or not isinstance(message.get("method"), str):
        raise ValueError("not a websocket request")
    return message



class WsEndpoint:
    """Serves one ``/ws`` connection at a time per call; shares the venue, handlers and hub."""

    def __init__(self, venue, info, actions, hub: Hub, faults: FaultController, idle_timeout_s: float) -> None:
        self.venue = venue
        self.info = info
        self.actions = actions
        self.hub = hub
        self.faults = faults
        self.idle_timeout_s = idle_timeout_s

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, timeout=_CLOSE_TIMEOUT_S)
        transport = request.transport
        await ws.prepare(request)
        session = Session(ws, transport, self.faults)
        self.hub.add(session)
        writer = asyncio.create_task(session.writer())
        idle = asyncio.create_task(self._close_when_idle(session))
        try:
            async for message in ws:
                session.last_client_message = time.monotonic()
                if message.type == WSMsgType.TEXT:
                    await self._on_text(session, message.data)
                elif message.type == WSMsgType.BINARY:
                    session.send("error", ws_error(errors.WS_PARSE.format(raw="<binary frame>")))
        finally:
            self.hub.remove(session)
            session.stop()
            idle.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        return ws

    async def _close_when_idle(self, session: Session) -> None:
        while not session.ws.closed:
            remaining = session.last_client_message + self.idle_timeout_s - time.monotonic()
            if remaining <= 0:
                log.info("closing a websocket idle for %.0f s", self.idle_timeout_s)
                await session.ws.close()
                return
            await asyncio.sleep(remaining)

    async def _on_text(self, session: Session, text: str) -> None:
        try:
            message = decode_client_message(text)
        except (msgspec.DecodeError, ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            log.info("malformed websocket message: %.200s", text)
            session.send("error", ws_error(errors.WS_PARSE.format(raw=text)))
            return
        method = message["method"]
        try:
            if method == "ping":
                session.send("pong", PONG)
            elif method in ("subscribe", "unsubscribe"):
                self._on_subscription(session, method, message.get("subscription"))
            elif method == "post":
                await self._on_post(session, message)
            else:
                session.send("error", ws_error(errors.WS_PARSE.format(raw=text)))
        except Exception:  # a bug must cost one answer, never the connection or a traceback on the wire
            log.exception("websocket %s failed", method)
            session.send("error", ws_error("Internal server error"))

    def _on_subscription(self, session: Session, method: str, raw: Any) -> None:
        try:
            sub = parse_subscription(raw, self.venue.markets)
        except ValueError as reason:
            log.info("refused subscription %r: %s", raw, reason)
            session.send("error", ws_error(f"Invalid subscription {_encode(raw).decode()}"))
            return
        subscribed = sub.identity in session.subs
        if method == "subscribe" and subscribed:
            session.send("error", ws_error(f"Already subscribed: {_encode(raw).decode()}"))
            return
        if method == "unsubscribe" and not subscribed:
            session.send("error", ws_error(f"Already unsubscribed: {_encode(raw).decode()}"))
            return
        if method == "subscribe":
            self.hub.subscribe(session, sub)
        else:
            self.hub.unsubscribe(session, sub)
        ack = {"method": method, "subscription": raw}
        session.send("subscriptionResponse", frame("subscriptionResponse", ack))
        if method == "subscribe":
            self._send_initial(session, sub)

    def _send_initial(self, session: Session, sub: Subscription) -> None:
        """What the venue sends right after the ack: current state, the last trades, or the fills snapshot."""
        data = self._initial_data(sub)
        if data is not None:
            session.send(sub.channel, frame(sub.channel, data))

    def _initial_data(self, sub: Subscription) -> Any:
        venue = self.venue
        if sub.type == "allMids":
            return {"mids": venue.mids()} if venue.mids() else None
        if sub.type == "userFills":
            account = venue.accounts.get(sub.key)
            return {"isSnapshot": True, "user": sub.key, "fills": account.fills[-2000:] if account is not None else []}
        if sub.type == "webData2":
            return self.hub.web_data(sub.key)
        if sub.type == "candle":
            return self.hub.candle(sub.key, sub.interval)
        if sub.type not in _COIN_TYPES:
            return None  # orderUpdates and userEvents have no snapshot
        market = venue.markets[sub.key]
        if sub.type == "trades":
            return list(market.recent_trades) or None
        book = market.book
        if book is None:
            return None
        if sub.type == "l2Book":
            return book_wire(book, sub.n_sig_figs, sub.mantissa, sub.n_levels)
        if sub.type == "bbo":
            return {"coin": book.coin, "time": book.time_ms, "bbo": book.bbo_wire()}
        return {"coin": market.coin, "ctx": venue.asset_ctx(market)}

    async def _on_post(self, session: Session, message: dict[str, Any]) -> None:
        post_id = message.get("id")
        request = message.get("request")
        if type(post_id) is not int or not isinstance(request, dict) or request.get("type") not in ("info", "action"):
            session.send("error", ws_error(errors.WS_PARSE.format(raw=_encode(message).decode())))
            return
        try:
            if request["type"] == "info":
                info_request = self.info.parse(request.get("payload"))
                data = self.info.answer(info_request)
                response = {"type": "info", "payload": {"type": info_request.type, "data": data}}
            else:
                envelope = self.actions.parse(request.get("payload"))
                rule = self.faults.for_action(envelope.action_type)
                if rule is not None and rule.kind == "delay":
                    asyncio.create_task(self._delayed_action(session, post_id, envelope, rule.delay_s))
                    return
                if rule is not None and rule.phase == "request":
                    log.info("fault: dropped a %s post before execution", envelope.action_type)
                    return
                response = {"type": "action", "payload": self.actions.execute(envelope)}
                if rule is not None:
                    log.info("fault: dropped the response to a %s post", envelope.action_type)
                    return
        except BadRequest as error:
            log.info("bad post request: %s", error.text)
            response = {"type": "error", "payload": f"{error.status} {error.text}"}
        session.send("post", frame("post", {"id": post_id, "response": response}))

    async def _delayed_action(self, session: Session, post_id: int, envelope, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        response = {"type": "action", "payload": self.actions.execute(envelope)}
        session.send("post", frame("post", {"id": post_id, "response": response}))

    async def close_all(self) -> None:
        """Shutdown: a polite 1012 close to every connection at once, then abort whatever has not closed within
        the close timeout, so no connection can hold the server (and its port) open."""
        sessions = list(self.hub.sessions)
        closes = [session.ws.close(code=1012, message=b"service restart") for session in sessions]
        await asyncio.gather(*closes, return_exceptions=True)
        for session in sessions:
            if session.transport is not None and not session.transport.is_closing():
                session.transport.abort()

    async def drop_all(self, abrupt: bool = True) -> int:
        """Cut every connection: ``abrupt`` aborts the TCP stream (the client sees 1006), else a 1012 close."""
        sessions = list(self.hub.sessions)
        for session in sessions:
            if abrupt and session.transport is not None:
                session.transport.abort()
            else:
                await session.ws.close(code=1012, message=b"service restart")
        return len(sessions)
