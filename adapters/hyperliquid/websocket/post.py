"""``WsActionPoster``: signed ``/exchange`` actions as WebSocket ``post`` requests on an open socket (protocol §5.3).

Why: on the order path a post is one WS frame on a socket that is already open, written synchronously from the
caller's task; the REST request spends a few hundred µs more in aiohttp's HTTP client before its bytes reach the
socket (``benchmarks/tick_to_wire.py`` prints both paths). REST stays the fallback, so a post is sent only when
it can go at once:

- the socket is connected (else REST: nothing was sent, so nothing can be doubled);
- the venue's WS limits leave room: at most ``max_inflight`` posts awaiting an answer (the venue allows 100
  across all connections) and ``per_minute`` post messages (the venue allows 2000 messages of any kind per
  minute across all connections; the default leaves room for the pings and subscriptions of both sockets).
  A post does not spend REST weight, so an action refused here goes by REST and its own IP budget.

Answers: ``{"channel":"post","data":{"id":N,"response":{"type":"action"|"error","payload":…}}}``. An ``action``
payload is the ``/exchange`` answer itself; an ``error`` payload is a string that mirrors an HTTP status and text.
Every way a post can end without a readable answer raises ``HyperliquidHttpError(0, …)`` (outcome unknown),
exactly as a lost REST answer does, so the caller looks the order up by cloid and never resends it: no answer
within ``timeout_secs``, the socket lost with the post in flight (the venue gives no way to re-attach to it),
or an answer whose id is readable but whose body is not. :meth:`WsActionPoster.on_answer` names what was wrong
with a malformed answer, for the owner to count and log; one whose id cannot be read is skipped, and its post
ends on its timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from collections.abc import Callable

import msgspec

from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.schemas.exchange import ExchangeResponse

VENUE_MAX_INFLIGHT = 100
# The venue's 2000 WS messages per minute are shared with pings and subscriptions (a few per minute per socket).
DEFAULT_POSTS_PER_MIN = 1800


class _PostResponse(msgspec.Struct, frozen=True):
    type: str
    payload: msgspec.Raw


class _PostAnswer(msgspec.Struct, frozen=True):
    id: int
    response: _PostResponse


class _PostId(msgspec.Struct, frozen=True):
    id: int


_decode_answer = msgspec.json.Decoder(_PostAnswer).decode
_decode_id = msgspec.json.Decoder(_PostId).decode
_decode_exchange = msgspec.json.Decoder(ExchangeResponse).decode
_decode_text = msgspec.json.Decoder(str).decode
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError)


class WsActionPoster:
    """Posts over ``send`` (a connected socket's frame writer) and matches the answers the socket's reader hands
    to :meth:`on_answer`; the owner calls :meth:`on_disconnected` whenever the socket is lost."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        is_connected: Callable[[], bool],
        timeout_secs: float,
        per_minute: int = DEFAULT_POSTS_PER_MIN,
        max_inflight: int = VENUE_MAX_INFLIGHT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._is_connected = is_connected
        self._timeout_s = timeout_secs
        self._capacity = float(per_minute)
        self._rate_per_s = per_minute / 60.0
        self._level = self._capacity
        self._clock = clock
        self._stamp = clock()
        self._max_inflight = max_inflight
        self._pending: dict[int, asyncio.Future[ExchangeResponse]] = {}
        self._next_id = 0
        self.posted = 0

    @property
    def inflight(self) -> int:
        return len(self._pending)

    def can_post(self) -> bool:
        """True when a post may go now (connected, under both WS limits); False means: use REST."""
        if not self._is_connected() or len(self._pending) >= self._max_inflight:
            return False
        now = self._clock()
        self._level = min(self._capacity, self._level + (now - self._stamp) * self._rate_per_s)
        self._stamp = now
        return self._level >= 1.0

    async def post(self, body: bytes, on_sent: Callable[[], None] | None = None) -> ExchangeResponse:
        """Post one signed ``/exchange`` body (call only after :meth:`can_post` said yes, in the same step) and
        await its answer; raises ``HyperliquidHttpError``. ``on_sent`` runs once the frame is written (or its write
        failed, when it may have gone out all the same), before any answer can be handled."""
        self._level -= 1.0
        self._next_id += 1
        post_id = self._next_id
        future: asyncio.Future[ExchangeResponse] = asyncio.get_running_loop().create_future()
        self._pending[post_id] = future
        frame = b'{"method":"post","id":%d,"request":{"type":"action","payload":%b}}' % (post_id, body)
        try:
            try:
                await self._send(frame)
            except Exception as error:  # noqa: BLE001  (a send that fails after the write began may have gone out)
                raise HyperliquidHttpError(0, f"WebSocket post failed: {type(error).__name__}: {error}") from None
            finally:
                if on_sent is not None:
                    on_sent()
            self.posted += 1
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await future
            except TimeoutError:
                raise HyperliquidHttpError(0, f"no answer to WS post {post_id} within {self._timeout_s} s") from None
        finally:
            self._pending.pop(post_id, None)

    def on_answer(self, data: bytes) -> str | None:
        """Settle the post a ``post`` channel frame's ``data`` answers. Never raises; returns what was wrong with a
        malformed answer (None for a good one, or one that came after its post timed out)."""
        try:
            answer = _decode_answer(data)
        except _DECODE_ERRORS as error:
            problem = f"unreadable WS post answer: {error}"
            self._fail_readable_id(data, problem)
            return problem
        future = self._pending.get(answer.id)
        try:
            response = _response(answer.response)
        except _Malformed as error:
            problem = str(error)
            if future is not None and not future.done():
                future.set_exception(HyperliquidHttpError(0, problem))
            return problem
        except HyperliquidHttpError as error:
            response = error
        if future is None or future.done():
            return None  # answered after its timeout: the look-up of the unknown outcome settles it
        if isinstance(response, HyperliquidHttpError):
            future.set_exception(response)
        else:
            future.set_result(response)
        return None

    def on_disconnected(self) -> None:
        """The socket is gone: no post in flight will ever be answered, so each ends now as outcome unknown."""
        for post_id, future in list(self._pending.items()):
            if not future.done():
                future.set_exception(HyperliquidHttpError(0, f"WebSocket lost with post {post_id} in flight"))

    def _fail_readable_id(self, data: bytes, reason: str) -> None:
        try:
            post_id = _decode_id(data).id
        except _DECODE_ERRORS:
            return
        future = self._pending.get(post_id)
        if future is not None and not future.done():
            future.set_exception(HyperliquidHttpError(0, reason))


class _Malformed(Exception):
    """An answer that names its post but cannot be read."""


def _response(response: _PostResponse) -> ExchangeResponse:
    """The ``/exchange`` answer inside a post answer; raises ``HyperliquidHttpError`` for an ``error`` answer and
    ``_Malformed`` for one that cannot be read."""
    if response.type == "action":
        try:
            return _decode_exchange(response.payload)
        except _DECODE_ERRORS as error:
            raise _Malformed(f"unreadable WS post answer: {error}") from None
    if response.type == "error":
        raise _error_answer(response.payload)
    raise _Malformed(f"unexpected WS post answer type {response.type!r}")


def _error_answer(payload: msgspec.Raw) -> HyperliquidHttpError:
    """An ``error`` answer's payload mirrors the HTTP status and text ("400 …"). A status it does not name is
    taken as unknown (0): the venue may have processed the action, so the order is looked up, never resent."""
    try:
        text = _decode_text(payload)
    except _DECODE_ERRORS:
        text = bytes(payload).decode("utf-8", "replace")
    head, _, rest = text.partition(" ")
    status = int(head) if head.isdigit() and len(head) == 3 else 0
    return HyperliquidHttpError(status, rest if status else text)
