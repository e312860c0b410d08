"""``LocalExchange``: the aiohttp server that speaks the Hyperliquid protocol on 127.0.0.1.

In-process use (tests, ``run_live.py``)::

    exchange = LocalExchange(LocalExchangeConfig(accounts=(AccountConfig(addr, Decimal(100_000)),)))
    base_url = await exchange.start()          # http://127.0.0.1:<port>; exchange.ws_url is .../ws
    exchange.faults.drop(channel="l2Book", count=5)
    await exchange.restart(downtime_s=1.0)     # same port, accounts and orders kept
    await exchange.stop()

With ``manual_clock=True`` the market only moves when told (``step``, ``advance``, ``advance_until``).
Malformed requests get the venue's plain-text 400/415/422; an unexpected failure is logged with its
traceback and answered with a bare 500, never a traceback on the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange.clock import VenueClock
from adapters.hyperliquid.local_exchange.config import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.engine import Venue
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.local_exchange.exchange import ActionHandler
from adapters.hyperliquid.local_exchange.faults import FaultController
from adapters.hyperliquid.local_exchange.info import InfoHandler
from adapters.hyperliquid.local_exchange.ratelimit import IpWeightLimiter
from adapters.hyperliquid.local_exchange.replay import load_recording
from adapters.hyperliquid.local_exchange.ws import Hub
from adapters.hyperliquid.local_exchange.ws import WsEndpoint
from adapters.hyperliquid.meta import load_meta
from adapters.hyperliquid.weights import action_weight
from adapters.hyperliquid.weights import info_items_weight
from adapters.hyperliquid.weights import info_weight

log = logging.getLogger(__name__)

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.encode
_TIMER_PERIOD_S = 0.1
# How long a stop waits for in-flight handlers (a delayed action, a WS handshake) before cancelling them. aiohttp's
# default of 60 s kept the port closed that long after a 2 s restart fault.
_SHUTDOWN_TIMEOUT_S = 0.5


class LocalExchange:
    def __init__(self, config: LocalExchangeConfig | None = None) -> None:
        self.config = config or LocalExchangeConfig()
        self.clock = VenueClock(self.config.speed, self.config.manual_clock)
        self.venue = Venue(self.config, load_meta(self.config.meta), load_recording(self.config.data), self.clock)
        self.faults = FaultController()
        self.info = InfoHandler(self.venue)
        self.hub = Hub(self.config.user_fills_stream_snapshot_key, self.venue.candles.current, self.info.web_data)
        self.venue.sink = self.hub.deliver
        self.actions = ActionHandler(self.venue)
        self.ip_limiter = IpWeightLimiter(self.config.ip_weight_per_min)
        self.ws = WsEndpoint(self.venue, self.info, self.actions, self.hub, self.faults, self.config.ws_idle_timeout_s)
        self.port = self.config.port
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._started = False

    # ----------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/ws"

    async def start(self) -> str:
        """Bind (port 0 → an ephemeral port, kept across restarts) and start the replay; returns the URL."""
        if self._runner is not None:
            raise RuntimeError("the local exchange is already running")
        if not self._started:
            self.clock.start()
            self.venue.advance_to(0)
            self._started = True
        self._runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if not self.config.manual_clock:
            self._tasks = [asyncio.create_task(self._replay()), asyncio.create_task(self._timers())]
        log.info("local Hyperliquid exchange at %s (ws %s)", self.url, self.ws_url)
        return self.url

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._runner is not None:
            await self.ws.close_all()
            await self._runner.cleanup()
            self._runner = None

    async def restart(self, downtime_s: float = 0.5) -> None:
        """Stop, stay down ``downtime_s``, start again on the same port. Accounts, orders, nonces and the
        replay position survive; in real-time mode the market keeps moving while the server is down."""
        await self.stop()
        await asyncio.sleep(downtime_s)
        await self.start()

    async def drop_ws_connections(self, abrupt: bool = True) -> int:
        return await self.ws.drop_all(abrupt)

    async def _replay(self) -> None:
        while (position := self.venue.next_event_position()) is not None:
            delay = self.clock.wall_delay_s(position)
            if delay > 0:
                await asyncio.sleep(delay)
            self.venue.advance_to(self.clock.position_ns())

    async def _timers(self) -> None:
        while True:
            await asyncio.sleep(_TIMER_PERIOD_S)
            self.venue.run_timers(self.clock.now_ms())
            self.venue.flush()

    # --------------------------------------------------------------------------------- manual clock

    def step(self, events: int = 1) -> int:
        """Apply the next ``events`` recorded messages; returns the replay position reached (ns)."""
        for _ in range(events):
            position = self.venue.next_event_position()
            if position is None:
                break
            self._set_position(position)
        return self.venue.replay_position_ns

    def advance(self, seconds: float) -> int:
        """Play ``seconds`` more of the recording (and move venue time as much)."""
        return self._set_position(self.venue.replay_position_ns + int(seconds * 1e9))

    def advance_to(self, venue_time_ms: int) -> int:
        """Play the recording until venue time reaches ``venue_time_ms``."""
        return self._set_position(max(self.venue.replay_position_ns, self.clock.position_at(venue_time_ms)))

    def advance_until(self, predicate: Callable[[], bool], max_seconds: float) -> bool:
        """Step the replay until ``predicate()`` holds or ``max_seconds`` of market have passed."""
        limit = self.venue.replay_position_ns + int(max_seconds * 1e9)
        while not predicate():
            position = self.venue.next_event_position()
            if position is None or position > limit:
                return False
            self._set_position(position)
        return True

    def _set_position(self, position_ns: int) -> int:
        self.clock.set_position(position_ns)
        self.venue.advance_to(position_ns)
        return position_ns

    # ------------------------------------------------------------------------------------------ HTTP

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20, middlewares=[self._guard])
        app.router.add_post("/info", self._info)
        app.router.add_post("/exchange", self._exchange)
        app.router.add_get("/ws", self.ws.handle)
        if self.config.admin_endpoints:
            app.router.add_post("/_admin/faults", self._admin_faults)
            app.router.add_get("/_admin/faults", self._admin_list_faults)
            app.router.add_post("/_admin/clock", self._admin_clock)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as error:
            log.info("%s %s refused (%d): %s", request.method, request.path, error.status, error.text)
            return web.Response(status=error.status, text=error.text, content_type="text/plain")
        except web.HTTPException:
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return web.Response(status=500, text="Internal Server Error", content_type="text/plain")

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        if request.content_type != "application/json":
            raise BadRequest(415, "Expected request with `Content-Type: application/json`")
        raw = await request.read()
        try:
            return _decode(raw)
        except (msgspec.DecodeError, RecursionError) as error:  # RecursionError: nesting deeper than Python's stack
            raise BadRequest(400, errors.PARSE_JSON.format(detail=error)) from None

    async def _info(self, request: web.Request) -> web.StreamResponse:
        if self.faults.take_429():
            return _too_many_requests()
        info_request = self.info.parse(await self._json_body(request))
        ip = request.remote or "?"
        if not self.ip_limiter.allow(ip, info_weight(info_request.type)):
            return _too_many_requests()
        result = self.info.answer(info_request)
        if isinstance(result, list):
            self.ip_limiter.charge(ip, info_items_weight(info_request.type, len(result)))
        return _json(result)

    async def _exchange(self, request: web.Request) -> web.StreamResponse:
        if self.faults.take_429():
            return _too_many_requests()
        envelope = self.actions.parse(await self._json_body(request))
        if not self.ip_limiter.allow(request.remote or "?", action_weight(envelope.batch_length)):
            return _too_many_requests()
        rule = self.faults.for_action(envelope.action_type)
        if rule is not None and rule.kind == "delay":
            await asyncio.sleep(rule.delay_s)
        elif rule is not None and rule.phase == "request":
            log.info("fault: dropped a %s request before execution", envelope.action_type)
            return _cut(request)
        response = self.actions.execute(envelope)
        if rule is not None and rule.kind == "drop":
            log.info("fault: dropped the response to a %s request", envelope.action_type)
            return _cut(request)
        return _json(response)

    # ----------------------------------------------------------------------------------------- admin

    async def _admin_faults(self, request: web.Request) -> web.StreamResponse:
        """``{"fault": "drop"|"delay"|"reorder"|"http_429"|"clear"|"drop_ws"|"restart", ...}``; the other keys
        are the keyword arguments of the ``FaultController`` method of that name."""
        body = await self._admin_body(request)
        kind = body.pop("fault", None)
        try:
            if kind == "drop_ws":
                return _json({"dropped": await self.drop_ws_connections(bool(body.get("abrupt", True)))})
            if kind == "restart":
                task = asyncio.create_task(self.restart(float(body.get("downtime_s", 0.5))))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                return _json({"restarting": True})
            if kind == "clear":
                self.faults.clear()
                return _json({"cleared": True})
            arm = {
                "drop": self.faults.drop,
                "delay": self.faults.delay,
                "reorder": self.faults.reorder,
                "http_429": self.faults.http_429,
            }.get(kind)
            if arm is None:
                raise ValueError(f"unknown fault {kind!r}")
            return _json({"armed": arm(**body).describe()})
        except (TypeError, ValueError) as error:
            return web.Response(status=400, text=str(error), content_type="text/plain")

    async def _admin_body(self, request: web.Request) -> dict[str, Any]:
        body = await self._json_body(request)
        if not isinstance(body, dict):
            raise BadRequest(400, "expected a JSON object")
        return body

    async def _admin_list_faults(self, request: web.Request) -> web.StreamResponse:
        return _json({"faults": [rule.describe() for rule in self.faults.rules]})

    async def _admin_clock(self, request: web.Request) -> web.StreamResponse:
        """Manual clock only: ``{"advance_s": 1.5}`` or ``{"step": 10}``."""
        if not self.config.manual_clock:
            return web.Response(status=400, text="the clock is real-time", content_type="text/plain")
        body = await self._admin_body(request)
        if "advance_s" in body:
            position = self.advance(float(body["advance_s"]))
        else:
            position = self.step(int(body.get("step", 1)))
        return _json({"position_ns": position, "venue_time_ms": self.clock.now_ms()})


def _json(payload: Any) -> web.Response:
    return web.Response(body=_encode(payload), content_type="application/json")


def _too_many_requests() -> web.Response:
    return web.Response(status=429, text="Too Many Requests", content_type="text/plain")


def _cut(request: web.Request) -> web.StreamResponse:
    """Lose the answer: close the TCP stream without a response (the client sees a disconnect)."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)

