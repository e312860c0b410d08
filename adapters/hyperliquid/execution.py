"""``HyperliquidExecutionClient``: orders, cancels and modifies for one account, and the events they produce.

Order path: a WS ``post`` on the user stream's socket when one can go at once, else REST ``/exchange`` (why:
``http/exchange.py``). Commands on the quoting path (submit, cancel, modify) run in an eagerly started task:
NautilusTrader's ``LiveExecutionClient`` creates a task per command, so the request would wait a loop iteration
(behind whatever else is ready) before it is even signed; started eagerly it is signed and written within the
execution engine's call, and the task only carries the wait for the answer. The orders' states and their
``OrderSubmitted`` events are made once the post is written (before any answer can be handled), off its path.
Every order carries the deterministic cloid of its ``ClientOrderId`` (``keccak(coid)[:16]``), so any venue message
maps back to the order without a stored table, and the map is rebuilt from the cache on connect. A submit list is
one ``order`` action; a batch cancel, a cancel-all and the shutdown sweep are one ``cancelByCloid``/``cancel``
action each; the ModifyOrder commands that reach the client in one pass of the execution engine's queue are one
``batchModify`` (:meth:`HyperliquidExecutionClient._flush_modifies`).

Events come from three sources that race each other: the REST answer, the ``orderUpdates``/``userFills``/
``userEvents`` streams, and REST look-ups (reconnect resync, unknown outcomes). The rules that make any arrival
order safe (at most one ACCEPTED/REJECTED/CANCELED, fills once by ``tid``, a cancel held for its fills, a modify's
two legs, a lost answer) are the pure ``order_state`` module; this client gathers the news, hands it to the
order's :class:`OrderState` and emits the effects it returns. A REST cancel ``success`` has no size, so the
stream's cancel closes the order, or a short-delay ``orderStatus`` look-up does if the stream missed it. A timeout
or 5xx on an order or a modify leaves its outcome unknown: the order is looked up by cloid, never resent.

After every reconnect of the user stream the client resyncs over REST, since ``orderUpdates``/``userEvents``
replay nothing (protocol §9.9): fills since the previous resync's read (``userFillsByTime``), then the open orders
(``frontendOpenOrders``), then an ``orderStatus`` for each order the node believes open that the venue no longer
lists. An order the venue shows live while the node holds it closed (rejected as never placed after a lost
answer the venue then executed late, or cancelled by Nautilus's in-flight check after a cancel that could not be
confirmed) is cancelled at the venue by cloid, from whichever news shows it (stream, resync, a cancel's
confirmation); its fills are still emitted, so the position stays the venue's.

On connect the account's fee rates (``userFees``) replace the base tier's in the instruments the strategies price
with (``_apply_account_fees``).

One node trades an account. On connect, before the dead-man switch (``scheduleCancel``) is armed, every open
order the node's cache does not hold is cancelled (a crashed session's, whose in-memory cache is gone). The switch
is refreshed while running, except while a cancel the node asked for stays unconfirmed: then the venue's cancel is
the node's backstop, so it is brought forward to the venue's minimum lead, never postponed
(:meth:`HyperliquidExecutionClient._keep_dead_man_switch`). A clean disconnect cancels every open order at the
venue and clears the switch only once none is left.

A node quotes for days (thousands of orders an hour), so the client forgets an order's state once the order has
been terminal for ``closed_order_retention_secs`` with nothing left to settle (:meth:`_prune_states`, at each
resync). Its trade ids stay in the recent-fills set and its cloid in a second window of the same length, so a
late duplicate fill is never applied again and late news of it is dropped instead of reported as external.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections import OrderedDict
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import msgspec
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.enums import LogColor
from nautilus_trader.common.component import LiveClock
from nautilus_trader.common.component import MessageBus
from nautilus_trader.execution.messages import BatchCancelOrders
from nautilus_trader.execution.messages import CancelAllOrders
from nautilus_trader.execution.messages import CancelOrder
from nautilus_trader.execution.messages import GenerateFillReports
from nautilus_trader.execution.messages import GenerateOrderStatusReport
from nautilus_trader.execution.messages import GenerateOrderStatusReports
from nautilus_trader.execution.messages import GeneratePositionStatusReports
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.execution.messages import QueryAccount
from nautilus_trader.execution.messages import SubmitOrder
from nautilus_trader.execution.messages import SubmitOrderList
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import AccountType
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import OmsType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderType
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity
from nautilus_trader.model.orders import Order

from adapters.hyperliquid import actions
from adapters.hyperliquid import parsing
from adapters.hyperliquid.config import HyperliquidExecClientConfig
from adapters.hyperliquid.constants import ADDRESS_LIMIT_PREFIX
from adapters.hyperliquid.constants import DEAD_MAN_VOLUME_PREFIX
from adapters.hyperliquid.constants import HYPERLIQUID_ACCOUNT_ID
from adapters.hyperliquid.constants import HYPERLIQUID_CLIENT_ID
from adapters.hyperliquid.constants import MIN_DEAD_MAN_SWITCH_SECS
from adapters.hyperliquid.constants import STATUS_FILLED
from adapters.hyperliquid.constants import STATUS_OPEN
from adapters.hyperliquid.constants import STATUS_TRIGGERED
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.http.error import HyperliquidNotSentError
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.info import HyperliquidInfoEndpoints
from adapters.hyperliquid.http.ratelimit import AddressBudget
from adapters.hyperliquid.instruments import BASE_MAKER_FEE
from adapters.hyperliquid.instruments import BASE_TAKER_FEE
from adapters.hyperliquid.instruments import HYPERLIQUID_VENUE
from adapters.hyperliquid.order_state import Accepted
from adapters.hyperliquid.order_state import Canceled
from adapters.hyperliquid.order_state import Effect
from adapters.hyperliquid.order_state import Filled
from adapters.hyperliquid.order_state import FillNews
from adapters.hyperliquid.order_state import ModifyRejected
from adapters.hyperliquid.order_state import NewsKind
from adapters.hyperliquid.order_state import OrderNews
from adapters.hyperliquid.order_state import OrderState
from adapters.hyperliquid.order_state import Rejected
from adapters.hyperliquid.order_state import Updated
from adapters.hyperliquid.providers import HyperliquidInstrumentProvider
from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import Rounding
from adapters.hyperliquid.rules import is_valid_price
from adapters.hyperliquid.rules import is_valid_size
from adapters.hyperliquid.rules import round_price
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.schemas.exchange import ItemStatus
from adapters.hyperliquid.schemas.user import OrderStatusResponse
from adapters.hyperliquid.schemas.user import OrderUpdate
from adapters.hyperliquid.schemas.user import UserEvent
from adapters.hyperliquid.schemas.user import UserFill
from adapters.hyperliquid.schemas.user import UserFills
from adapters.hyperliquid.schemas.user import UserFunding
from adapters.hyperliquid.schemas.ws import WsMessage
from adapters.hyperliquid.websocket.client import HyperliquidWebSocketClient
from adapters.hyperliquid.websocket.client import wait_or_stop
from adapters.hyperliquid.websocket.post import WsActionPoster
from adapters.hyperliquid.weights import MAX_ACTION_ITEMS
from mm_strategy.messages import FundingPayment
from mm_strategy.messages import data_topic

_decode_message = msgspec.json.Decoder(WsMessage).decode
_decode_order_updates = msgspec.json.Decoder(list[OrderUpdate]).decode
_decode_user_fills = msgspec.json.Decoder(UserFills).decode
_decode_user_event = msgspec.json.Decoder(UserEvent).decode
_DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError)

# A REST cancel ``success`` is normally followed within milliseconds by the stream's CANCELED (which carries the
# remaining size); after this long without it the order is looked up instead.
CANCEL_CONFIRM_S = 2.0
# A look-up that fails (REST /info down, 429s) is retried after these waits, doubling up to the cap, until the
# venue answers: a cancel left unconfirmed would be resolved by Nautilus's in-flight check as CANCELED, whatever
# the venue holds.
LOOKUP_RETRY_FIRST_S = 0.5
LOOKUP_RETRY_MAX_S = 8.0
# After a lost answer, a cloid the venue does not know yet is looked up once more after this long before the order
# is taken as never placed: the venue may still be executing an action it received (a socket lost mid-post).
NOT_PLACED_GRACE_S = 2.0
# With the address budget used up, its count is re-read at most this often: the period of the one action per 10 s
# the venue still allows a limited address.
BUDGET_REREAD_LIMITED_S = 10.0
# Fills the venue reported (a cancel's or a status's size) that the stream has not delivered after this long
# trigger a resync; still missing after it, they are given up (a cancel held for them then closes the order).
FILLS_OVERDUE_S = 5.0
HOUSEKEEPING_PERIOD_S = 1.0
# A cancel the node asked for that the venue has neither answered as done (success, or the order no longer open) nor
# closed by its news within this long is taken as not working: the dead-man switch is then no longer refreshed and
# its deadline is brought forward to the venue's minimum (_keep_dead_man_switch). A working cancel is settled by its
# answer (well under 1 s on a WS post) or by the stream's CANCELED; this is the grace the client already gives the
# stream before it asks the venue for the order's record (CANCEL_CONFIRM_S), and the venue's cancel comes only the
# minimum lead later, so a cancel that recovers within that lead costs no trigger (the venue allows 10 a day).
CANCEL_UNCONFIRMED_S = CANCEL_CONFIRM_S
# How often the dead-man loop checks the node's cancels (one dict scan; a venue read only when one is overdue).
DEAD_MAN_CHECK_PERIOD_S = 1.0
# A deadline brought forward is set this far beyond the venue's minimum lead, for the action's transit and the
# clocks' skew: one set below the minimum on arrival is refused (and retried at the next check).
DEAD_MAN_LEAD_MARGIN_S = 1.0
# While a cancel is overdue, the venue's open orders (``frontendOpenOrders``: 20 weight of the IP's 1200 a minute)
# are read at most this often to settle the ones the venue shows closed: the switch's minimum lead, the soonest the
# venue's own cancel can change what a read would show.
DEAD_MAN_READ_PERIOD_S = MIN_DEAD_MAN_SWITCH_SECS
# Resync reads fills from this far before the newest fill its previous read returned (times are inclusive and
# fills are deduplicated; the overlap also covers a fill the venue had not yet listed when it was read).
RESYNC_OVERLAP_MS = 2_000
RESYNC_ON_RECONNECT = "user stream reconnected"
# Reconciliation with no start: fills of the last day.
DEFAULT_FILL_LOOKBACK_MS = 86_400_000
_FILL_IDS_KEPT = 50_000
_ZERO = Decimal(0)


class HyperliquidExecutionClient(LiveExecutionClient):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        http_client: HyperliquidHttpClient,
        info: HyperliquidInfoEndpoints,
        exchange: HyperliquidExchangeEndpoints,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: HyperliquidInstrumentProvider,
        config: HyperliquidExecClientConfig,
        name: str | None = None,
    ) -> None:
        super().__init__(
            loop=loop,
            client_id=ClientId(name) if name else HYPERLIQUID_CLIENT_ID,
            venue=HYPERLIQUID_VENUE,
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=USDC,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(HYPERLIQUID_ACCOUNT_ID)
        self._config = config
        self._provider = instrument_provider
        self._http = http_client
        self._info = info
        self._exchange = exchange
        # Queries and user streams name the account, never an agent signing for it (protocol §9.5).
        self._user = actions.lower_address(config.account_address or exchange.signer_address)
        self._poster: WsActionPoster | None = None
        self._ws = HyperliquidWebSocketClient.for_config(
            config, self._on_frame, self._log, self._on_reconnected, on_disconnected=self._on_ws_lost
        )
        if config.ws_post:
            self._poster = WsActionPoster(self._ws.send_frame, lambda: self._ws.is_connected, config.ws_post_timeout_secs)
            exchange.post_over(self._poster)
        self._pending_modifies: list[ModifyOrder] = []  # this pass's, for one batchModify (_flush_modifies)
        self._modify_flush: asyncio.Handle | None = None
        self._states: dict[str, OrderState] = {}  # by cloid
        self._by_coid: dict[ClientOrderId, OrderState] = {}  # the same states: a command's order without hashing
        self._by_oid: dict[int, OrderState] = {}  # every oid an order has had
        self._awaiting: set[str] = set()  # cloids of orders with venue fills not received yet
        self._stray_cancels: set[str] = set()  # cloids of node-closed orders with a venue cancel in flight
        # The orders the node asked the venue to cancel and when it first asked, until the venue confirms each gone
        # (its answer, its news, or its open orders) or the node modifies it instead: see _keep_dead_man_switch.
        self._cancels_asked: dict[ClientOrderId, tuple[OrderState, float]] = {}
        # Bounded; older ones are in the states' trade ids, and a pruned state leaves its own here (_forget).
        self._seen_trades = parsing.RecentKeys(_FILL_IDS_KEPT)
        self._terminal: deque[tuple[float, str]] = deque()  # (terminal since, cloid), oldest first: see _index
        self._pruned: OrderedDict[str, float] = OrderedDict()  # cloid -> when its state was dropped, oldest first
        self._dead_man_armed = False  # a scheduleCancel deadline is set at the venue (as far as its answers say)
        self._dead_man_refused: str | None = None  # the venue's volume refusal: no switch for this account
        self._budget = AddressBudget()
        self._budget_read_s = 0.0
        self._budget_rereading = False  # a re-read started by a refusal is in flight (_budget_allows)
        self._fills_read_ms = 0  # the newest fill time a complete resync read returned; 0 = none yet
        self._session_start_ms = 0
        self._resync_lock = asyncio.Lock()
        self._account_refresh_pending = False
        self._resync_requested = False
        self._stopping = asyncio.Event()
        self.malformed_frames = 0
        self.resyncs: Counter[str] = Counter()  # by reason

    @property
    def user(self) -> str:
        return self._user

    @property
    def ws(self) -> HyperliquidWebSocketClient:
        return self._ws

    @property
    def resyncing(self) -> bool:
        return self._resync_lock.locked()

    # -- connection ------------------------------------------------------------------------------------

    async def _connect(self) -> None:
        await self._provider.initialize()
        await self._apply_account_fees()
        self._session_start_ms = self._now_ms()
        self._rebuild_states()
        await self._set_leverage()
        await self._refresh_account()
        await self._await_account_registered()
        await self._read_budget()
        if self._config.cancel_unknown_orders_on_connect:
            await self._cancel_unknown_open_orders()
        await self._ws.connect()
        self._stopping.clear()
        for subscription in self._user_subscriptions():
            await self._ws.subscribe(subscription)
        if self._config.dead_man_switch_secs is not None:
            self.create_task(self._keep_dead_man_switch(), log_msg="dead-man switch")
        self.create_task(self._housekeeping(), log_msg="account housekeeping")
        signer = self._exchange.signer_address
        agent = f" via agent {signer}" if signer != self._user else ""
        self._log.info(f"trading for {self._user}{agent}; {len(self._states)} known orders")

    async def _apply_account_fees(self) -> None:
        """Quote with the account's fee rates (``userFees``), not the base tier's: the shared provider rebuilds its
        instruments with them and they go to the data engine as the data client sends its own. That client sends
        the same provider's instruments, so the cache ends with these rates whichever connects first, and the
        strategies start only once every client has connected (``NautilusKernel.start_async``). Rates that cannot
        be read leave the provider's (the base tier's) in effect: an error, and the node still starts."""
        try:
            fees = await self._info.user_fees(self._user)
        except HyperliquidHttpError as error:
            in_effect = _rates_bps(self._provider.maker_fee, self._provider.taker_fee)
            self._log.error(f"userFees for {self._user} failed ({error}): quoting with fee rates {in_effect}")
            return
        for instrument in self._provider.set_fee_rates(fees.userAddRate, fees.userCrossRate):
            self._msgbus.send(endpoint="DataEngine.process", msg=instrument)
        self._log.info(f"account fee rates: {_rates_bps(fees.userAddRate, fees.userCrossRate)}")

    async def _disconnect(self) -> None:
        self._stopping.set()
        if self._config.cancel_all_on_disconnect:
            await self._sweep_open_orders()
        elif self._dead_man_armed:
            await self._set_dead_man_switch(None)
        # Fills still in flight on the stream when it closes would be lost: read them before closing.
        await self._resync_or_log("disconnect")
        await self._ws.disconnect()
        await self._http.close()

    async def _cancel_unknown_open_orders(self) -> None:
        """Cancel every open order of a loaded coin that maps to no order in the node's cache, before the dead-man
        switch is armed. One node trades an account (its shutdown sweep and the switch cover every order of it), so
        such an order is one of a session that crashed within the switch's window (the cache lives in memory): it
        would come back as EXTERNAL, unmanaged by any strategy, and this session's switch would keep it alive.
        Raises ``HyperliquidHttpError`` when the venue cannot be read: better not to start than to start blind."""
        open_orders = await self._info.frontend_open_orders(self._user)
        unknown = [
            order
            for order in open_orders
            if self._state_for(order.cloid, order.oid) is None and self._asset_of_coin(order.coin) is not None
        ]
        if not unknown:
            return
        for order in unknown:
            self._log.warning(
                f"cancelling {order.coin} {order.side} {order.sz} @ {order.limitPx} (oid {order.oid}, cloid "
                f"{order.cloid}): open at the venue but unknown to this node (left by a previous session?)"
            )
        refused = await self._cancel_venue_orders(unknown)
        if refused:
            self._log.error(f"cancelling unknown open orders: {refused}")

    async def _cancel_venue_orders(self, open_orders: list) -> list[str]:
        """Cancel these venue open orders, all of loaded coins, by oid (one ``cancel`` action per
        ``MAX_ACTION_ITEMS``, one after the other); returns what the venue refused."""
        refused: list[str] = []
        for part in _parts(open_orders):
            pairs = [(self._asset_of_coin(order.coin), order.oid) for order in part]
            refused += _refusals(await self._post(actions.cancel_action(pairs), len(pairs)))
        return refused

    def _user_subscriptions(self) -> list[dict[str, Any]]:
        return [
            {"type": "orderUpdates", "user": self._user},
            {"type": "userFills", "user": self._user, "aggregateByTime": False},
            {"type": "userEvents", "user": self._user},
        ]

    def _rebuild_states(self) -> None:
        """Track every order of this venue in the cache (cloids are derived, so nothing needs storing)."""
        for order in self._cache.orders(venue=HYPERLIQUID_VENUE):
            self._track(order)

    def _track(self, order: Order, cloid: str | None = None) -> OrderState:
        """The state of ``order``, created from what the cache knows the first time (a new order, or one from
        before a restart, with the fills it holds). ``cloid``: the order's, when the caller has derived it (a
        keccak: ~8 µs an order on the quoting path)."""
        state = self._by_coid.get(order.client_order_id)
        if state is None:
            cloid = cloid or actions.cloid_from_client_order_id(order.client_order_id.value)
            state = OrderState(
                order.client_order_id,
                order.strategy_id,
                order.instrument_id,
                cloid,
                order.quantity.as_decimal(),
                accepted=order.venue_order_id is not None,
                closed=order.is_closed,
            )
            if order.venue_order_id is not None and order.venue_order_id.value.isdigit():
                state.oid = int(order.venue_order_id.value)
            for fill in (event for event in order.events if isinstance(event, OrderFilled)):
                oid = _oid_of(fill.venue_order_id, state.oid)
                state.seed_fill(oid, fill.trade_id.value, fill.last_qty.as_decimal())
            self._states[cloid] = state
            self._by_coid[order.client_order_id] = state
            self._index(state)
        return state

    def _index(self, state: OrderState) -> None:
        """Index ``state`` after any change; an order that just became terminal joins the pruning queue (a fill
        that reopens it takes it out: a later close queues it again, and the stale entry is skipped). A forgotten
        state a straggling task still holds is not indexed again."""
        if self._states.get(state.cloid) is not state:
            return
        if state.oid is not None:
            self._by_oid[state.oid] = state
        if state.awaited:
            self._awaiting.add(state.cloid)
        else:
            self._awaiting.discard(state.cloid)
        if not state.terminal:
            state.terminal_since_s = None
        elif state.terminal_since_s is None:
            state.terminal_since_s = now_s = time.monotonic()
            self._terminal.append((now_s, state.cloid))

    def _state_for(self, cloid: str | None, oid: int) -> OrderState | None:
        """The order a venue message is about: by cloid (ours carry one), else by venue order id."""
        state = self._states.get(cloid) if cloid is not None else None
        return state if state is not None else self._by_oid.get(oid)

    # -- commands: started at once ---------------------------------------------------------------------

    def submit_order(self, command: SubmitOrder) -> None:
        self._flush_modifies()
        self._start_now(self._submit_order(command), f"submit_order {command.order.client_order_id}")

    def submit_order_list(self, command: SubmitOrderList) -> None:
        self._flush_modifies()
        self._start_now(self._submit_order_list(command), f"submit_order_list {command.order_list.id}")

    def modify_order(self, command: ModifyOrder) -> None:
        self._queue_modify(command)

    def cancel_order(self, command: CancelOrder) -> None:
        self._flush_modifies()
        self._start_now(self._cancel_order(command), f"cancel_order {command.client_order_id}")

    def batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        self._flush_modifies()
        self._start_now(self._batch_cancel_orders(command), f"batch_cancel_orders {len(command.cancels)}")

    def cancel_all_orders(self, command: CancelAllOrders) -> None:
        self._flush_modifies()
        self._start_now(self._cancel_all_orders(command), f"cancel_all_orders {command.instrument_id}")

    async def _in_parts(self, items: list, send: Callable[[list], Awaitable[None]], action_type: str) -> None:
        """Send ``items`` (orders, cancels or modifies) with ``send``, one signed action per ``MAX_ACTION_ITEMS``:
        the venue refuses a longer action whole ("Signed action over weight limit of 200."). The parts start at
        once, in order, each settling its own items from its own answer."""
        if len(items) <= MAX_ACTION_ITEMS:
            await send(items)
            return
        parts = _parts(items)
        await asyncio.gather(
            *(self._start_now(send(part), f"{action_type} part {n + 1}/{len(parts)}") for n, part in enumerate(parts))
        )

    def _start_now(self, coroutine, name: str) -> asyncio.Task:
        """``create_task`` with an eager start: the coroutine runs in this call up to its first real wait (the
        venue's answer), then continues as a task tracked and reported like NautilusTrader's own. The order
        events the start emits are queued for the engine as from any task, never handled re-entrantly. The
        task name carries the command's ids, not its full text (formatting a command costs more than sending
        it); the engine logs every command and event already."""
        task = asyncio.Task(coroutine, loop=self._loop, name=name, eager_start=True)
        task.add_done_callback(partial(self._on_task_completed, None, None, LogColor.NORMAL))
        if not task.done():
            self._tasks.add(task)
        return task

    # -- submit ----------------------------------------------------------------------------------------

    async def _submit_order(self, command: SubmitOrder) -> None:
        await self._submit([command.order])

    async def _submit_order_list(self, command: SubmitOrderList) -> None:
        await self._submit(list(command.order_list.orders))

    async def _submit(self, orders: list[Order]) -> None:
        await self._in_parts(orders, self._submit_part, "order")

    async def _submit_part(self, orders: list[Order]) -> None:
        """Deny what the venue would refuse anyway, then send the rest as ONE ``order`` action. Only what the wire
        needs comes before the post: the orders' states and their ``OrderSubmitted`` events follow once it is
        written (``_submitted``), still before any answer can be handled, so they cost the post nothing. A post
        that fails before its write (``HyperliquidNotSentError``: signing raised) submits them too, then rejects
        them: nothing reached the venue, so unlike a lost answer nothing needs looking up."""
        ts_now = self._clock.timestamp_ns()
        batch: list[tuple[Order, str, dict[str, Any]]] = []
        for order in orders:
            cloid = actions.cloid_from_client_order_id(order.client_order_id.value)
            wire, reason = self._order_wire(order, cloid)
            if wire is None:
                self.generate_order_denied(
                    order.strategy_id, order.instrument_id, order.client_order_id, reason, ts_now
                )
                continue
            batch.append((order, cloid, wire))
        if not batch:
            return
        if not self._budget_allows(len(batch)):
            reason = self._budget_refusal()
            for state in self._submitted(batch):
                self._run(state, state.on_place_answer(None, reason, ts_now))
            return
        states: list[OrderState] = []

        def on_sent() -> None:
            states.extend(self._submitted(batch))
            for state in states:
                state.submit_in_flight = True

        try:
            response = await self._post(actions.order_action([w for _, _, w in batch]), len(batch), on_sent)
        except HyperliquidHttpError as error:
            if not states:  # failed before the write (signing): the orders are submitted, then settled below
                states.extend(self._submitted(batch))
            self._on_submit_error(states, error)
            return
        finally:
            for state in states:
                state.submit_in_flight = False
        self._apply_place_response(states, response)

    def _submitted(self, batch: list[tuple[Order, str, dict[str, Any]]]) -> list[OrderState]:
        """Track the batch's orders and emit their ``OrderSubmitted``."""
        ts_now = self._clock.timestamp_ns()
        states = [self._track(order, cloid) for order, cloid, _ in batch]
        for state in states:
            self.generate_order_submitted(state.strategy_id, state.instrument_id, state.client_order_id, ts_now)
        return states

    def _order_wire(self, order: Order, cloid: str) -> tuple[dict[str, Any] | None, str]:
        """The venue wire of ``order``, or ``(None, reason)`` for an order the venue cannot take."""
        instrument = self._provider.find(order.instrument_id)
        if instrument is None:
            return None, f"{order.instrument_id} is not a loaded {HYPERLIQUID_VENUE} instrument"
        sz_decimals = instrument.size_precision
        if order.order_type == OrderType.MARKET:
            tif = "Ioc"
            price = self._market_order_price(instrument, order.side)
            if price is None:
                return None, "no book or quote to price a MARKET order"
        elif order.order_type == OrderType.LIMIT:
            tif = parsing.venue_tif(order.time_in_force, order.is_post_only)
            if tif is None:
                return None, f"unsupported time in force for Hyperliquid: {order.time_in_force.name}"
            price = order.price.as_decimal()
        else:
            return None, f"unsupported order type for Hyperliquid: {order.order_type.name}"
        size = order.leaves_qty.as_decimal()
        if not is_valid_price(price, sz_decimals):
            return None, f"price {price} breaks Hyperliquid's 5-significant-figure/decimals rule"
        if not is_valid_size(size, sz_decimals):
            return None, f"size {size} is not a positive multiple of 1e-{sz_decimals}"
        if not order.is_reduce_only and price * size < MIN_NOTIONAL_USD:
            return None, f"notional {price * size} below the venue minimum of ${MIN_NOTIONAL_USD}"
        asset = self._provider.asset_of(instrument)
        is_buy = order.side == OrderSide.BUY
        wire = actions.limit_order_wire(asset, is_buy, price, size, order.is_reduce_only, tif, cloid)
        return wire, ""

    def _market_order_price(self, instrument: Instrument, side: OrderSide) -> Decimal | None:
        """An IOC limit ``market_order_slippage_bps`` through the touch, rounded away from the market."""
        book = self._cache.order_book(instrument.id)
        touch = None
        if book is not None:
            touch = book.best_ask_price() if side == OrderSide.BUY else book.best_bid_price()
        if touch is None and (quote := self._cache.quote_tick(instrument.id)) is not None:
            touch = quote.ask_price if side == OrderSide.BUY else quote.bid_price
        if touch is None:
            return None
        slippage = Decimal(self._config.market_order_slippage_bps) / Decimal(10_000)
        factor = 1 + slippage if side == OrderSide.BUY else 1 - slippage
        rounding = Rounding.UP if side == OrderSide.BUY else Rounding.DOWN
        return round_price(touch.as_decimal() * factor, instrument.size_precision, rounding)

    def _on_submit_error(self, states: list[OrderState], error: HyperliquidHttpError) -> None:
        ts_now = self._clock.timestamp_ns()
        if error.outcome_unknown:
            self._log.warning(f"order outcome unknown ({error}); looking the orders up by cloid")
            for state in states:
                self._look_up_order(state, str(error), ts_now)
            return
        self._log_if_not_sent(error, f"order action for {len(states)} orders")
        for state in states:
            self._run(state, state.on_place_answer(None, error.message, ts_now))

    def _log_if_not_sent(self, error: HyperliquidHttpError, what: str) -> None:
        """A local failure before the write (the signer's, say) is no venue refusal and may repeat on every
        action: it is logged as an error next to the rejections it causes."""
        if isinstance(error, HyperliquidNotSentError):
            self._log.error(f"{what} rejected, never sent: {error.message}")

    def _apply_place_response(self, states: list[OrderState], response: ExchangeResponse) -> None:
        ts_now = self._clock.timestamp_ns()
        if response.error is not None:
            for state in states:
                self._run(state, state.on_place_answer(None, response.error, ts_now))
            return
        statuses = response.statuses()
        if (batch_error := _batch_error(statuses, len(states))) is not None:
            for state in states:
                self._run(state, state.on_place_answer(None, batch_error, ts_now))
            return
        for index, state in enumerate(states):
            status = statuses[index] if index < len(statuses) else None
            if status is not None and _is_readable_item(status):
                self._run(state, state.on_place_answer(status.oid, status.error, ts_now))
            else:
                # No status (an answer shorter than the batch whose statuses placed orders: not one error for the
                # whole batch), or one with neither an oid nor a refusal: the venue's record decides now, not the
                # in-flight check in 5 s. Rejected, an order the venue placed would rest there as a stray.
                self._log.warning(f"no readable status {status!r} for {state.client_order_id}; looking it up")
                self._look_up_order(state, f"no readable order status ({status!r})", ts_now)

    def _look_up_order(self, state: OrderState, reason: str, ts_answer: int) -> None:
        self.create_task(self._resolve_unknown(state, reason, ts_answer), log_msg=f"resolve {state.client_order_id}")

    async def _resolve_unknown(self, state: OrderState, reason: str, ts_answer: int | None = None) -> None:
        """After a lost answer: the venue's record of the cloid decides; never resubmit. An order the venue does
        not know is looked up once more after a grace before it is rejected as never placed (if the venue takes it
        later all the same, its news makes it a stray that is cancelled there: :meth:`_check_stray`).

        ``ts_answer``: when the answer was lost (or unreadable). The batch's orders found never placed are rejected
        at that one time, each after its own look-up: one lost request, one answer for the kill switch, which would
        otherwise count a lost batch of eight orders as eight rejects (``KillSwitch.on_error``)."""
        try:
            response = await self._info.order_status(self._user, state.cloid)
            if response.order is None and not state.accepted and await wait_or_stop(self._stopping, NOT_PLACED_GRACE_S):
                response = await self._info.order_status(self._user, state.cloid)
        except HyperliquidHttpError as error:
            self._log.error(f"cannot look up {state.client_order_id} ({error}); the in-flight check will retry")
            return
        if response.order is None:
            ts_ns = self._clock.timestamp_ns() if ts_answer is None else ts_answer
            self._run(state, state.on_not_placed(f"not placed: {reason}", ts_ns))
        else:
            self._apply_lookup(state, response.order)

    def _apply_lookup(self, state: OrderState, venue: OrderUpdate) -> None:
        """Apply the venue's record of an order; if it shows fills this node has not received, the stream lost
        them, so fetch them now rather than at the next periodic resync."""
        news = _news(venue)
        if news is None:
            self._log.warning(f"unknown order status {venue.status!r} for {state.client_order_id}")
            return
        self._run(state, state.on_news(news, time.monotonic()))
        if state.awaited:
            self._request_resync("a look-up found fills the stream did not deliver")

    def _request_resync(self, reason: str) -> None:
        if self._resync_lock.locked() or self._resync_requested:
            return
        self._resync_requested = True

        async def resync() -> None:
            self._resync_requested = False
            await self._resync_or_log(reason)

        self.create_task(resync(), log_msg="resync")

    # -- cancel ----------------------------------------------------------------------------------------

    async def _cancel_order(self, command: CancelOrder) -> None:
        await self._cancel([self._state_or_track(command.client_order_id)])

    async def _batch_cancel_orders(self, command: BatchCancelOrders) -> None:
        await self._cancel([self._state_or_track(cancel.client_order_id) for cancel in command.cancels])

    async def _cancel_all_orders(self, command: CancelAllOrders) -> None:
        query = {"instrument_id": command.instrument_id, "strategy_id": command.strategy_id, "side": command.order_side}
        orders = {
            order.client_order_id: order
            for order in (*self._cache.orders_open(**query), *self._cache.orders_inflight(**query))
        }
        await self._cancel([self._track(order) for order in orders.values()])

    def _state_or_track(self, client_order_id: ClientOrderId) -> OrderState | None:
        order = self._cache.order(client_order_id)
        return self._track(order) if order is not None else None

    async def _cancel(self, candidates: list[OrderState | None]) -> None:
        states = [state for state in candidates if state is not None and not state.terminal]
        if not states:
            return
        self._note_cancels_asked(states)
        await self._in_parts(states, self._cancel_part, "cancelByCloid")

    async def _cancel_part(self, states: list[OrderState]) -> None:
        pairs = [(self._asset(state.instrument_id), state.cloid) for state in states]
        try:
            response = await self._post(actions.cancel_by_cloid_action(pairs), len(pairs))
        except HyperliquidHttpError as error:
            self._log_if_not_sent(error, f"cancel of {len(states)} orders")
            for state in states:
                if error.outcome_unknown:
                    self._confirm_cancel(state, 0.0, str(error))
                else:
                    self._emit_cancel_rejected(state, str(error))
            return
        if response.error is not None:
            for state in states:
                self._emit_cancel_rejected(state, response.error)
            return
        statuses = response.statuses()
        batch_error = _batch_error(statuses, len(states))
        if batch_error is not None and not parsing.is_missing_order(batch_error):  # that one names its order: below
            for state in states:
                self._emit_cancel_rejected(state, batch_error)
            return
        for index, state in enumerate(states):
            status = statuses[index] if index < len(statuses) else None
            if status is None:  # a shorter answer than the batch: the venue's record says whether it was cancelled
                self._confirm_cancel(state, 0.0, "no answer for this cancel")
                continue
            error = _status_error(status)
            if error is None or parsing.is_missing_order(error):
                self._cancels_asked.pop(state.client_order_id, None)  # no longer open at the venue either way
            if error is None:
                # The stream's CANCELED carries the remaining size (fills first); the look-up covers a lost one.
                self._confirm_cancel(state, CANCEL_CONFIRM_S, None)
            elif parsing.is_missing_order(error):
                # Filled or cancelled already, its news possibly still in flight: the venue's record decides.
                self._confirm_cancel(state, 0.0, error)
            else:
                self._emit_cancel_rejected(state, error)

    def _confirm_cancel(self, state: OrderState, delay_s: float, refusal: str | None) -> None:
        """Settle a cancel from the venue's record of the order: closed there → apply it (after its fills); still
        open → the cancel did not happen, so report ``refusal`` (or a lost cancel) as a cancel rejection."""

        async def confirm() -> None:
            if self._stopping.is_set() or (delay_s and not await wait_or_stop(self._stopping, delay_s)):
                return  # at shutdown the disconnect's sweep and resync settle every order
            response = await self._look_up_until_answered(state)
            if response is None:
                return
            venue = response.order
            live = venue is not None and venue.status in (STATUS_OPEN, STATUS_TRIGGERED)
            if live and self._check_stray(state, venue.order.oid):
                return  # closed by the node meanwhile: cancelled at the venue instead
            if venue is None or live:
                self._emit_cancel_rejected(state, refusal or "cancel acknowledged but the order is still open")
            else:
                self._apply_lookup(state, venue)

        self.create_task(confirm(), log_msg=f"confirm cancel of {state.client_order_id}")

    async def _look_up_until_answered(self, state: OrderState, oid: int | None = None) -> OrderStatusResponse | None:
        """The venue's record of the order (of its leg ``oid`` if given, else of its cloid's latest), retried with a
        capped backoff while the look-up fails; None once the order is settled by other news or the client stops."""
        retry_s = LOOKUP_RETRY_FIRST_S
        while not state.terminal:
            try:
                return await self._info.order_status(self._user, state.cloid if oid is None else oid)
            except HyperliquidHttpError as error:
                self._log.warning(f"cannot look up {state.client_order_id} ({error}); again in {retry_s:.1f} s")
            if not await wait_or_stop(self._stopping, retry_s):
                return None
            retry_s = min(2 * retry_s, LOOKUP_RETRY_MAX_S)
        return None

    def _check_stray(self, state: OrderState, live_oid: int | None = None) -> bool:
        """Called when the venue shows the order live (as ``live_oid`` when known): if the node holds it closed
        (rejected as never placed after a lost answer, cancelled by Nautilus's in-flight check after a cancel it
        could not confirm, or closed by venue news while the venue shows another leg of it live: a modify rejected
        as lost that the venue executed after all), nothing manages it any more, so cancel it at the venue by cloid.
        True if it is such a stray."""
        if not state.closed_without_venue:
            order = self._cache.order(state.client_order_id)
            if order is None or not order.is_closed:
                return False
            if state.terminal and live_oid in (None, state.oid):
                return False  # closed by venue news (a resync's snapshot read just before may still list it)
            state.closed_by_node()
            self._index(state)
        if state.cloid in self._stray_cancels:
            return True
        self._stray_cancels.add(state.cloid)
        self._log.warning(
            f"{state.client_order_id} (cloid {state.cloid}) is closed in the node but live at the venue: "
            f"cancelling it there"
        )

        async def cancel() -> None:
            self._note_cancels_asked([state])
            try:
                pairs = [(self._asset(state.instrument_id), state.cloid)]
                refused = _refusals(await self._post(actions.cancel_by_cloid_action(pairs), 1))
                if refused:
                    self._log.warning(f"stray cancel of cloid {state.cloid}: {refused[0]}")
                if not refused or parsing.is_missing_order(refused[0]):
                    self._cancels_asked.pop(state.client_order_id, None)
            except HyperliquidHttpError as error:
                self._log.warning(f"stray cancel of cloid {state.cloid} failed ({error}); the next resync retries")
            finally:
                self._stray_cancels.discard(state.cloid)

        self.create_task(cancel(), log_msg=f"cancel stray {state.cloid}")
        return True

    def _asset(self, instrument_id: InstrumentId) -> int:
        instrument = self._provider.find(instrument_id)
        if instrument is None:
            raise ValueError(f"{instrument_id} is not a loaded {HYPERLIQUID_VENUE} instrument")
        return self._provider.asset_of(instrument)

    # -- modify ----------------------------------------------------------------------------------------

    def _queue_modify(self, command: ModifyOrder) -> None:
        """Hold ``command`` for this pass's ``batchModify`` (see :meth:`_flush_modifies` for when it goes)."""
        self._pending_modifies.append(command)
        self._cancels_asked.pop(command.client_order_id, None)  # the node wants the order live again
        if self._modify_flush is None:
            self._modify_flush = self._loop.call_soon(self._flush_modifies)

    def _flush_modifies(self) -> None:
        """Send the modifies held in this pass as ONE ``batchModify`` action (one nonce, one signature, one post),
        started eagerly like any quoting command. Nautilus has no batch-modify command, so the client coalesces.

        When: ``LiveExecutionEngine._run_cmd_queue`` takes its queued commands in one task step (``await
        queue.get()`` does not suspend while the queue holds one), and the commands a strategy handler issued
        together enter that queue together (one ``call_soon_threadsafe`` put each, run in one loop iteration).
        So a requote's modifies reach the client back to back within one step, with nothing else running between
        them. The flush is a ``call_soon`` from the first of them: it runs as soon as that step is over, ahead of
        every callback scheduled after it (the I/O the loop polls next included), never on a timer. Another
        command of this client within the step (a cancel, an order list) flushes first, so the wire keeps the
        commands' order: a requote's modifies go out before its new orders, and a modify then a cancel of the
        same order reach the venue in that order, as when each modify was its own action (with the address budget
        used up the modifies are refused at once, never held for its re-read: :meth:`_budget_allows`). (From a
        strategy, a cancel issued with modifies reaches the client before them: Nautilus sends cancels straight to
        the execution engine and modifies through the risk engine's queue, which denies a modify of an order then
        pending cancel. Either way each order's rules hold: a modify of an order closed or not yet accepted is
        rejected here, and one the venue refuses because a cancel overtook it is rejected, the held CANCELED
        then closing the order.)

        Orders of several assets share one action (each order wire carries its asset); a pass of more than
        ``MAX_ACTION_ITEMS`` modifies goes as several actions, as any batch does (:meth:`_in_parts`)."""
        if self._modify_flush is not None:
            self._modify_flush.cancel()
            self._modify_flush = None
        if self._pending_modifies:
            commands, self._pending_modifies = self._pending_modifies, []
            self._start_now(self._modify(commands), f"batch_modify {len(commands)}")

    def _begin_modify(self, command: ModifyOrder, ts_now: int) -> tuple[OrderState, dict[str, Any]] | None:
        """The order's state and its new wire, the modify recorded in the state; or None once the modify is
        rejected (unknown order, not modifiable now, nothing left to rest, an invalid price). A second modify of
        one order in a pass is refused as one in flight, as it was when the first had its own action."""
        order = self._cache.order(command.client_order_id)
        state = self._track(order) if order is not None else None
        refusal = "unknown order" if state is None else state.modify_refusal()
        if refusal is not None:
            self._emit_modify_rejected(command, refusal, ts_now)
            return None
        price = command.price or order.price
        price_decimal = price.as_decimal()  # each conversion costs ~1 µs (the quantity's ~2): once each
        quantity_decimal = (command.quantity or order.quantity).as_decimal()
        instrument = self._provider.find(order.instrument_id)
        remaining = quantity_decimal - state.filled_qty
        if remaining <= 0 or instrument is None or not is_valid_price(price_decimal, instrument.size_precision):
            self._emit_modify_rejected(command, f"invalid modify (price {price}, remaining {remaining})", ts_now)
            return None
        tif = parsing.venue_tif(order.time_in_force, order.is_post_only) or "Gtc"
        leg_size = state.begin_modify(command, price, quantity_decimal)
        wire = actions.limit_order_wire(
            self._provider.asset_of(instrument),
            order.side == OrderSide.BUY,
            price_decimal,
            leg_size,
            order.is_reduce_only,
            tif,
            state.cloid,
        )
        return state, wire

    async def _modify(self, commands: list[ModifyOrder]) -> None:
        await self._in_parts(commands, self._modify_part, "batchModify")

    async def _modify_part(self, commands: list[ModifyOrder]) -> None:
        """Post the modifies that can go as one ``batchModify`` and settle each from its own status (positional,
        as for an ``order`` batch). A lost answer is resolved per order by its cloid; a failure before the write
        (signing) rejects every modify of the batch, the orders staying as they were."""
        ts_now = self._clock.timestamp_ns()
        batch = [prepared for command in commands if (prepared := self._begin_modify(command, ts_now)) is not None]
        if not batch:
            return
        states = [state for state, _ in batch]
        if not self._budget_allows(len(batch)):  # a modify counts on the address budget as a new order does
            self._refuse_modifies(states, self._budget_refusal(), self._clock.timestamp_ns())
            return
        action = actions.batch_modify_action([(state.cloid, wire) for state, wire in batch])
        try:
            response = await self._post(action, len(batch))
        except HyperliquidHttpError as error:
            if error.outcome_unknown:
                self._log.warning(f"modify outcome unknown ({error}); looking {len(states)} orders up by cloid")
                for state in states:
                    self._look_up_modify(state)
            else:
                self._log_if_not_sent(error, f"modify of {len(states)} orders")
                self._refuse_modifies(states, str(error), self._clock.timestamp_ns())
            return
        # One time for the whole answer: its refusals are one answer's (the kill switch counts them once, by it)
        ts_answer = self._clock.timestamp_ns()
        if response.error is not None:
            self._refuse_modifies(states, response.error, ts_answer)
            return
        raw_statuses = response.statuses()
        if (batch_error := _batch_error(raw_statuses, len(states))) is not None:
            self._refuse_modifies(states, batch_error, ts_answer)
            return
        statuses = [status if _is_readable_item(status) else None for status in raw_statuses]
        for index, state in enumerate(states):
            status = statuses[index] if index < len(statuses) else None
            if status is None:
                # No status, or one naming neither a new leg nor a refusal (a bare string such as "waitingForFill"):
                # the venue may have replaced the order, so its record under the cloid decides. Read as a refusal,
                # the old leg's cancel would then close an order the venue still holds under a new oid.
                self._log.warning(f"no readable status for the modify of {state.client_order_id}; looking it up")
                self._look_up_modify(state)
                continue
            self._modify_answer(state, status.oid, status.error, ts_answer)

    def _refuse_modifies(self, states: list[OrderState], reason: str, ts_answer: int) -> None:
        for state in states:
            self._modify_answer(state, None, reason, ts_answer)

    def _modify_answer(self, state: OrderState, new_oid: int | None, error: str | None, ts_ns: int) -> None:
        old_oid, pending = state.oid, state.modify is not None
        self._run(state, state.on_modify_answer(new_oid, error, ts_ns, time.monotonic()))
        if pending and parsing.modify_canceled_old_order(error) and not state.closed and old_oid is not None:
            self._confirm_old_leg_canceled(state, old_oid)

    def _confirm_old_leg_canceled(self, state: OrderState, old_oid: int) -> None:
        """The venue refused a modify's new order after its cancel half took the old leg off the book ("Error
        placing new order during modify: Post only order would have immediately matched…", the usual requote
        failure at the touch). The old leg's CANCELED on the stream closes the order (after its fills); if the stream
        lost it, the venue's record of that oid does, ``CANCEL_CONFIRM_S`` later. By oid, not cloid: the cloid may
        name the refused new order. Without this the node would hold open a quote the venue no longer has."""

        async def confirm() -> None:
            if not await wait_or_stop(self._stopping, CANCEL_CONFIRM_S) or state.closed:
                return
            response = await self._look_up_until_answered(state, old_oid)
            if response is None or state.oid != old_oid:
                return  # settled by other news, or the client is stopping
            if response.order is None:
                self._log.warning(f"{state.client_order_id}: the venue has no record of oid {old_oid}")
                return
            self._apply_lookup(state, response.order)

        self.create_task(confirm(), log_msg=f"confirm old leg of {state.client_order_id} canceled")

    def _look_up_modify(self, state: OrderState) -> None:
        self.create_task(self._resolve_modify(state), log_msg=f"resolve modify of {state.client_order_id}")

    async def _resolve_modify(self, state: OrderState) -> None:
        """After a lost modify answer: the venue's latest order under the cloid shows whether it was replaced. A
        record still showing the old leg is read again after ``NOT_PLACED_GRACE_S``, as for a lost order: the venue
        may still be executing the action (a WS post whose socket dropped in flight). Rejected at once, the modify
        executed later would close the order in the node (the old leg's CANCELED) while its new leg rests at the
        venue (review: for an hour, until the closed order was pruned).

        A look-up that fails is retried with the capped backoff until the venue answers, as a cancel's confirmation
        is; the modify stays in flight meanwhile (a further modify of the order is refused, a cancel goes). Rejected
        on the failure, as it was, the node kept the old leg's oid and price for good when the venue had replaced the
        order: the new leg's own news (a resync's open orders, the look-up of the old oid gone from them) is an OPEN
        under the order's cloid, which changes nothing once no modify is pending (review: a resync after the outage
        left the node on the old leg's price while the venue rested the new one)."""
        response = await self._look_up_until_answered(state)
        if response is not None and self._shows_old_leg(state, response):
            if await wait_or_stop(self._stopping, NOT_PLACED_GRACE_S):
                response = await self._look_up_until_answered(state)
        if response is None:  # settled by other news meanwhile, or the client is stopping
            if state.modify is not None:
                self._modify_answer(state, None, "modify outcome unknown: not looked up", self._clock.timestamp_ns())
            return
        news = _news(response.order) if response.order is not None else None
        self._run(state, state.on_modify_lookup(news, self._clock.timestamp_ns(), time.monotonic()))

    @staticmethod
    def _shows_old_leg(state: OrderState, response: OrderStatusResponse) -> bool:
        """The modify is still unresolved and the venue's record names no other leg than the current one."""
        return state.modify is not None and (response.order is None or response.order.order.oid == state.oid)

    # -- emitting (the only place events are generated) --------------------------------------------------

    def _run(self, state: OrderState, effects: list[Effect], fill: _ParsedFill | None = None) -> None:
        """Emit what an arrival called for, in order; ``fill`` is the venue fill behind a ``Filled`` effect."""
        for effect in effects:
            if isinstance(effect, Filled):
                self._emit_fill(state, fill)
            elif isinstance(effect, Accepted):
                self.generate_order_accepted(
                    state.strategy_id, state.instrument_id, state.client_order_id, _venue_id(effect.oid), effect.ts_ns
                )
            elif isinstance(effect, Canceled):
                self.generate_order_canceled(
                    state.strategy_id, state.instrument_id, state.client_order_id, _venue_id(state.oid), effect.ts_ns
                )
            elif isinstance(effect, Rejected):
                self.generate_order_rejected(
                    state.strategy_id,
                    state.instrument_id,
                    state.client_order_id,
                    effect.reason,
                    effect.ts_ns,
                    due_post_only=parsing.is_post_only_reject(effect.reason) or effect.reason == "badAloPxRejected",
                )
            elif isinstance(effect, Updated):
                self._emit_updated(state, effect)
            elif isinstance(effect, ModifyRejected):
                self._emit_modify_rejected(effect.command, effect.reason, effect.ts_ns)
        self._index(state)

    def _emit_updated(self, state: OrderState, update: Updated) -> None:
        instrument = self._provider.find(state.instrument_id)
        self.generate_order_updated(
            state.strategy_id,
            state.instrument_id,
            state.client_order_id,
            _venue_id(update.oid),
            Quantity(update.quantity, instrument.size_precision),
            update.price,
            None,
            update.ts_ns,
            venue_order_id_modified=update.oid_changed,
        )

    def _emit_cancel_rejected(self, state: OrderState, reason: str) -> None:
        if state.terminal:
            return
        if not parsing.is_missing_order(reason):
            self._log.warning(f"cancel of {state.client_order_id} refused: {reason}")
        self.generate_order_cancel_rejected(
            state.strategy_id,
            state.instrument_id,
            state.client_order_id,
            _venue_id(state.oid),
            reason,
            self._clock.timestamp_ns(),
        )

    def _emit_modify_rejected(self, command: ModifyOrder, reason: str, ts_event: int) -> None:
        self.generate_order_modify_rejected(
            command.strategy_id,
            command.instrument_id,
            command.client_order_id,
            command.venue_order_id,
            reason,
            ts_event,
        )

    def _emit_fill(self, state: OrderState, fill: _ParsedFill) -> None:
        order = self._cache.order(state.client_order_id)
        self.generate_order_filled(
            strategy_id=state.strategy_id,
            instrument_id=state.instrument_id,
            client_order_id=state.client_order_id,
            venue_order_id=_venue_id(state.oid),
            venue_position_id=None,
            trade_id=fill.trade_id,
            order_side=order.side,
            order_type=order.order_type,
            last_qty=fill.last_qty,
            last_px=fill.last_px,
            quote_currency=fill.quote_currency,
            commission=fill.commission,
            liquidity_side=fill.liquidity_side,
            ts_event=fill.ts_ns,
        )

    # -- venue messages --------------------------------------------------------------------------------

    def _on_frame(self, text: str) -> None:
        """Decode the whole frame first (a malformed frame is skipped whole, counted and logged), then act on
        each item, so one item that cannot be applied does not cost the others."""
        try:
            message = _decode_message(text)
            handlers = self._frame_actions(message)
        except _DECODE_ERRORS as error:
            self.malformed_frames += 1
            self._log.warning(f"skipped a malformed frame ({type(error).__name__}: {error}): {text[:200]!r}")
            return
        for handle in handlers:
            try:
                handle()
            except _DECODE_ERRORS as error:
                self.malformed_frames += 1
                self._log.error(f"skipped one item of a {message.channel} frame: {error}")

    def _frame_actions(self, message: WsMessage) -> list[Callable[[], Any]]:
        channel = message.channel
        if channel == "orderUpdates":
            return [partial(self._on_order_update, update) for update in _decode_order_updates(message.data)]
        if channel == "userFills":
            fills = _decode_user_fills(message.data)
            if fills.user.lower() != self._user:
                return []
            return [partial(self._process_fill, fill, fills.isSnapshot) for fill in fills.fills]
        if channel == "user":
            return self._user_event_actions(_decode_user_event(message.data))
        if channel == "error":
            self._log.warning(f"venue error on the user stream: {bytes(message.data)[:300]!r}")
            return []
        if channel == "post" and self._poster is not None:
            problem = self._poster.on_answer(message.data)
            if problem is not None:
                self.malformed_frames += 1
                self._log.warning(f"skipped a malformed post answer ({problem}): {bytes(message.data)[:200]!r}")
            return []
        if channel in ("pong", "subscriptionResponse"):
            return []
        raise ValueError(f"unknown channel {channel!r}")

    def _user_event_actions(self, event: UserEvent) -> list[Callable[[], Any]]:
        if event.fills:
            return [partial(self._process_fill, fill, False) for fill in event.fills]
        if event.nonUserCancel:
            # The venue cancelled on its own (dead-man switch, reduce-only, margin): orderUpdates normally
            # closes these with their remaining size; the look-up covers a lost update.
            return [
                partial(self._confirm_cancel, state, CANCEL_CONFIRM_S, None)
                for cancel in event.nonUserCancel
                if (state := self._by_oid.get(cancel.oid)) is not None
            ]
        if event.funding is not None:
            funding = event.funding
            self._log.info(f"funding {funding.coin}: {funding.usdc} USDC at rate {funding.fundingRate}")
            self._publish_funding(funding)
            self._schedule_account_refresh()
        if event.liquidation is not None:
            self._log.error(f"LIQUIDATION event: {event.liquidation}")
            self._schedule_account_refresh()
        return []

    def _publish_funding(self, funding: UserFunding) -> None:
        """The payment on the bus as a ``FundingPayment`` (venue ``usdc``: received +, paid −), for the strategy's
        report; a coin this node has not loaded is only logged."""
        instrument = self._provider.instrument_for_coin(funding.coin)
        if instrument is None:
            return
        now_ns = self._clock.timestamp_ns()
        payment = FundingPayment(
            instrument_id=instrument.id,
            amount_usd=float(funding.usdc),
            rate=float(funding.fundingRate),
            ts_event=funding.time * 1_000_000,
            ts_init=now_ns,
        )
        self._msgbus.publish(data_topic(FundingPayment, instrument.id), payment)

    def _on_order_update(self, update: OrderUpdate) -> None:
        state = self._state_for(update.order.cloid, update.order.oid)
        if state is None:
            if update.order.cloid not in self._pruned:
                self._report_external_order(update)
            elif update.status in (STATUS_OPEN, STATUS_TRIGGERED):
                self._cancel_pruned_order(update)
            return  # late news of a pruned (long closed) order: nothing to emit, nothing to re-create
        news = _news(update)
        if news is None:
            self._log.warning(f"unknown order status {update.status!r} for {state.client_order_id}")
            return
        if news.kind is NewsKind.OPEN and news.oid not in state.replaced_oids:
            self._check_stray(state, news.oid)
        self._run(state, state.on_news(news, time.monotonic()))

    def _process_fill(self, fill: UserFill, snapshot: bool) -> bool:
        """Apply a fill unless already applied; True if it was emitted now. Every field is parsed before the trade
        id is marked seen or the order's state changes: a malformed copy (``ValueError``) leaves no trace, so a
        later valid copy of the same trade is still applied."""
        instrument = self._provider.instrument_for_coin(fill.coin)
        if instrument is None:
            return False  # spot or an unloaded coin
        parsed = _ParsedFill.of(fill, instrument)
        if not self._seen_trades.first_time(fill.trade_id.value):
            return False
        state = self._state_for(fill.cloid, fill.oid)
        order = self._cache.order(state.client_order_id) if state is not None else None
        if state is None or order is None:
            if not snapshot:  # snapshot history of unknown orders is reconciliation's business
                self._log.warning(f"fill {fill.trade_id} of an order this node does not know (oid {fill.oid})")
                ts_now = self._clock.timestamp_ns()
                self._send_fill_report(fill.parse_to_fill_report(self.account_id, instrument, None, ts_now))
            return False
        news = FillNews(fill.oid, fill.trade_id.value, parsed.last_qty.as_decimal(), parsed.ts_ns)
        if fill.trade_id in order.trade_ids:  # applied by reconciliation, which bypasses this client's state
            state.seed_fill(news.oid, news.trade_id, news.qty)
            return False
        if state.not_placed:
            self._check_stray(state)  # the venue took it after all; the fill still counts (the position is real)
        effects = state.on_fill(news)
        self._run(state, effects, parsed)
        self._schedule_account_refresh()
        return any(isinstance(effect, Filled) for effect in effects)

    def _cancel_pruned_order(self, update: OrderUpdate) -> None:
        """The venue shows live an order this node closed so long ago that it pruned it (never seen: a state is
        pruned only when the resync just before did not list it): nothing manages it, so cancel it there."""
        if self._asset_of_coin(update.order.coin) is None:
            return
        self._log.warning(f"cloid {update.order.cloid} (oid {update.order.oid}) was pruned but is live: cancelling it")

        async def cancel() -> None:
            try:
                refused = await self._cancel_venue_orders([update.order])
                if refused:
                    self._log.warning(f"cancel of pruned cloid {update.order.cloid}: {refused[0]}")
            except HyperliquidHttpError as error:
                self._log.warning(f"cancel of pruned cloid {update.order.cloid} failed ({error})")

        self.create_task(cancel(), log_msg=f"cancel pruned {update.order.cloid}")

    def _report_external_order(self, update: OrderUpdate) -> None:
        instrument = self._provider.instrument_for_coin(update.order.coin)
        if instrument is None:
            return
        ts_now = self._clock.timestamp_ns()
        report = update.order.parse_to_order_status_report(
            self.account_id, instrument, None, update.status, parsing.ms_to_ns(update.statusTimestamp), ts_now
        )
        self._send_order_status_report(report)

    # -- reconnect resync ------------------------------------------------------------------------------

    def _on_ws_lost(self) -> None:
        if self._poster is not None and self._poster.inflight:
            self._log.warning(f"user stream lost with {self._poster.inflight} posts in flight: outcomes unknown, looking them up")
            self._poster.on_disconnected()

    async def _on_reconnected(self) -> None:
        await self._resync_or_log(RESYNC_ON_RECONNECT)

    async def resync(self, reason: str) -> None:
        """Recover what the streams cannot replay: fills, then open orders, then orders that vanished."""
        async with self._resync_lock:
            self.resyncs[reason] += 1
            started_s = time.monotonic()
            fills = await self._info.user_fills_by_time(self._user, self._resync_fills_start_ms())
            recovered = sum(1 for fill in fills if self._safely(self._process_fill, fill, False))
            self._fills_read_ms = max((fill.time for fill in fills), default=self._fills_read_ms)
            open_orders = await self._info.frontend_open_orders(self._user)
            open_oids = {order.oid for order in open_orders}
            for venue_order in open_orders:
                update = OrderUpdate(order=venue_order, status=STATUS_OPEN, statusTimestamp=venue_order.timestamp)
                self._safely(self._on_order_update, update)
            vanished = [
                state
                for state in self._states.values()
                if state.accepted
                and not state.terminal
                and state.oid not in open_oids
                and self._is_open_in_cache(state)
            ]
            for state in vanished:
                await self._resolve_unknown(state, "gone from the venue's open orders")  # fills already applied
            self._give_up_overdue_fills()
            pruned = self._prune_states(open_oids)
            log = self._log.warning if recovered else self._log.info
            log(
                f"resync ({reason}): {len(fills)} fills read, {recovered} of them new to this node; "
                f"{len(open_orders)} open at the venue, {len(vanished)} looked up; {pruned} closed orders "
                f"forgotten, {len(self._states)} held [{time.monotonic() - started_s:.2f} s]"
            )
        await self._refresh_account()

    def _resync_fills_start_ms(self) -> int:
        """Where a resync's fill read starts: just before the newest fill the previous complete read returned, so a
        fill lost on a live stream since then is inside the window whatever newer fills the streams delivered
        meanwhile (a window starting at the newest fill *seen* would pass over a lost older one for good). Before
        any read, the session's start; never more than a day back (reconciliation on start covers that much)."""
        start_ms = (self._fills_read_ms or self._session_start_ms) - RESYNC_OVERLAP_MS
        return max(start_ms, self._now_ms() - DEFAULT_FILL_LOOKBACK_MS)

    def _give_up_overdue_fills(self) -> None:
        """Fills still missing after this resync are beyond ``userFillsByTime`` (its 10,000 most recent): stop
        waiting, and close an order whose venue cancel was held for them rather than leave it open forever."""
        now_s = time.monotonic()
        for state in [self._states[cloid] for cloid in self._awaiting]:  # only these await fills
            if state.fills_overdue(now_s, FILLS_OVERDUE_S):
                missing = state.missing_fills_qty()
                self._log.error(f"{state.client_order_id}: {missing} of venue fills this node could not recover")
                self._run(state, state.give_up_overdue_fills(now_s, FILLS_OVERDUE_S))

    def _prune_states(self, open_oids: set[int]) -> int:
        """Forget the states terminal for ``closed_order_retention_secs`` with nothing left to settle; returns how
        many. Called in a resync, just after its fill and open-order reads, so every fill of such an order up to now
        has been applied and an order the venue still lists (a stray the node closed) is kept. Work is O(pruned):
        the queue holds the orders in the order they became terminal."""
        now_s = time.monotonic()
        horizon_s = now_s - self._config.closed_order_retention_secs
        while self._pruned and next(iter(self._pruned.values())) <= horizon_s:
            self._pruned.popitem(last=False)
        pruned = 0
        while self._terminal and self._terminal[0][0] <= horizon_s:
            since_s, cloid = self._terminal.popleft()
            state = self._states.get(cloid)
            if state is None or state.terminal_since_s != since_s:
                continue  # forgotten already, or reopened by a fill since (queued again if it closed again)
            if self._settled(state, open_oids):
                self._forget(state, now_s)
                pruned += 1
            else:  # still settling: look again one retention later
                state.terminal_since_s = now_s
                self._terminal.append((now_s, cloid))
        return pruned

    def _settled(self, state: OrderState, open_oids: set[int]) -> bool:
        """Nothing more can happen to the order: terminal, no venue fills awaited, no modify, submit or stray
        cancel in flight, and not live at the venue."""
        return (
            state.terminal
            and not state.awaited
            and state.modify is None
            and not state.submit_in_flight
            and state.cloid not in self._stray_cancels
            and state.oid not in open_oids
        )

    def _forget(self, state: OrderState, now_s: float) -> None:
        """Drop every reference to ``state``. Its trade ids join the recent-fills set (a state rebuilt from the cache
        after a restart holds its fills only in them), which outlives it: a later copy of a fill can come only from
        a resync's read, which starts 2 s before the newest fill already read and returns at most the venue's 10,000
        newest, well inside the set's 50,000. Its cloid is kept one more retention, so the venue's late news of it
        is dropped, not reported as an external order."""
        del self._states[state.cloid]
        del self._by_coid[state.client_order_id]
        for oid in (state.oid, *state.replaced_oids):
            if self._by_oid.get(oid) is state:
                del self._by_oid[oid]
        self._awaiting.discard(state.cloid)
        for trade_id in state.trade_ids:
            self._seen_trades.first_time(trade_id)
        self._pruned.pop(state.cloid, None)
        self._pruned[state.cloid] = now_s

    def _is_open_in_cache(self, state: OrderState) -> bool:
        order = self._cache.order(state.client_order_id)
        return order is not None and order.is_open

    def _safely(self, handle, item, *args) -> Any:
        try:
            return handle(item, *args)
        except _DECODE_ERRORS as error:
            self.malformed_frames += 1
            self._log.error(f"skipped {type(item).__name__} during resync: {error}")
            return None

    # -- dead-man switch, account, budget --------------------------------------------------------------------

    async def _set_leverage(self) -> None:
        """Apply the configured cross leverage to every loaded instrument; a refusal (e.g. above the asset's
        maximum) is logged and the account keeps its previous setting."""
        if self._config.leverage is None:
            return
        for instrument in self._provider.list_all():
            action = actions.update_leverage_action(self._provider.asset_of(instrument), True, self._config.leverage)
            try:
                response = await self._post(action)
            except HyperliquidHttpError as error:
                self._log.error(f"updateLeverage {instrument.id} failed: {error}")
                continue
            if response.error is not None:
                self._log.error(f"updateLeverage {instrument.id} refused: {response.error}")
            else:
                self._log.info(f"{instrument.id}: cross leverage {self._config.leverage}x")

    async def _keep_dead_man_switch(self) -> None:
        """Keep the venue's scheduled cancel ``dead_man_switch_secs`` ahead, refreshed every
        ``dead_man_switch_refresh_secs``, except while a cancel the node asked for has stayed unconfirmed for
        ``CANCEL_UNCONFIRMED_S``: the node wants an order gone and its cancels are not taking effect (lost, refused),
        so the switch is the only cancel that may still work. Then the deadline is never moved later, and one
        further away than the venue's minimum lead is brought forward to it; once the node's cancels are confirmed
        again (or the venue's own cancel closed the orders) the refresh resumes at once. Review: a halted node whose
        ``cancelByCloid`` requests were lost kept 6 quotes resting 22 s and postponed the switch halfway.

        ``deadline_ms``: the venue's deadline as last set by this loop; None when unknown (not set yet, or the
        last setting failed), which a bring-forward then sets rather than trusting. A deadline that has passed
        is not re-armed while the cancels stay unconfirmed: the venue has cancelled, and re-arming at its minimum
        lead would spend its 10 triggers a day on a node that cannot read back what happened."""
        deadline_ms: int | None = None
        held = False  # the refresh is held back by unconfirmed cancels
        refresh_at_s = 0.0
        read_at_s = 0.0
        while True:
            now_s = time.monotonic()
            unconfirmed, read = await self._unconfirmed_cancels(now_s, read_due=now_s >= read_at_s)
            if self._stopping.is_set():
                return  # the disconnect owns the switch now (its sweep clears it once nothing is left)
            if read:
                read_at_s = now_s + DEAD_MAN_READ_PERIOD_S
            now_ms = self._now_ms()
            if unconfirmed:
                held = True
                soonest_ms = now_ms + int((MIN_DEAD_MAN_SWITCH_SECS + DEAD_MAN_LEAD_MARGIN_S) * 1000)
                if deadline_ms is None or deadline_ms > soonest_ms:
                    self._log.warning(
                        f"{unconfirmed} cancels unconfirmed for over {CANCEL_UNCONFIRMED_S:.0f} s: dead-man switch "
                        f"brought forward to {soonest_ms - now_ms} ms from now, no longer refreshed"
                    )
                    deadline_ms = soonest_ms if await self._set_dead_man_switch(soonest_ms) else None
            elif held or now_s >= refresh_at_s:
                if held:
                    self._log.warning("the node's cancels are confirmed again: dead-man switch refreshed")
                    held = False
                target_ms = now_ms + int(self._config.dead_man_switch_secs * 1000)
                deadline_ms = target_ms if await self._set_dead_man_switch(target_ms) else None
                refresh_at_s = now_s + self._config.dead_man_switch_refresh_secs
            if self._dead_man_refused is not None:
                return  # the venue will not set one for this account (volume): refreshing would only repeat that
            if not await wait_or_stop(self._stopping, DEAD_MAN_CHECK_PERIOD_S):
                return

    def _note_cancels_asked(self, states: list[OrderState]) -> None:
        """Start the unconfirmed-cancel clock of these orders, unless already running (a cancel asked again after
        a refusal or a loss keeps the first ask's time)."""
        now_s = time.monotonic()
        for state in states:
            self._cancels_asked.setdefault(state.client_order_id, (state, now_s))

    async def _unconfirmed_cancels(self, now_s: float, read_due: bool) -> tuple[int, bool]:
        """How many cancels the node asked for over ``CANCEL_UNCONFIRMED_S`` ago are still unconfirmed, and
        whether the venue's open orders were read to tell. Settled first: the orders closed by venue news (not
        the ones only Nautilus closed, which may still rest at the venue). If some are overdue and ``read_due``,
        the venue's open orders settle every asked order they do not list; an unreadable venue leaves them
        unconfirmed (the node is blind and its cancels unconfirmed: the switch is its backstop)."""
        self._settle_cancels(lambda state, _: state.terminal and not state.closed_without_venue)
        overdue_before_s = now_s - CANCEL_UNCONFIRMED_S

        def overdue() -> int:
            return sum(asked_s < overdue_before_s for _, asked_s in self._cancels_asked.values())

        if not read_due or not overdue():
            return overdue(), False
        try:
            open_cloids = {order.cloid for order in await self._info.frontend_open_orders(self._user)}
        except HyperliquidHttpError as error:
            self._log.warning(f"cannot read the open orders to confirm the node's cancels: {error}")
            return overdue(), True
        self._settle_cancels(lambda state, asked_s: asked_s <= now_s and state.cloid not in open_cloids)
        return overdue(), True

    def _settle_cancels(self, settled: Callable[[OrderState, float], bool]) -> None:
        """Forget the asked cancels ``settled(state, asked_s)`` says the venue has carried out."""
        for coid, (state, asked_s) in list(self._cancels_asked.items()):
            if settled(state, asked_s):
                del self._cancels_asked[coid]

    async def _set_dead_man_switch(self, deadline_ms: int | None) -> bool:
        """Arm (or with ``None`` clear) the venue's scheduled cancel of every open order. The venue refuses both to
        an account that has traded under $1M ("Cannot set scheduled cancel time until enough volume traded…"): that
        is an error, logged once, and the switch is given up (the node trades without one)."""
        try:
            response = await self._post(actions.schedule_cancel_action(deadline_ms))
        except HyperliquidHttpError as error:
            self._log.warning(f"scheduleCancel failed: {error}")
            return False
        if response.error is not None and response.error.startswith(DEAD_MAN_VOLUME_PREFIX):
            if self._dead_man_refused is None:
                self._log.error(f"NO dead-man switch: the venue refuses it to this account ({response.error})")
            self._dead_man_refused = response.error
            return False
        if response.error is not None:
            self._log.warning(f"scheduleCancel refused: {response.error}")
            return False
        self._dead_man_armed = deadline_ms is not None
        return True

    def _dead_man_fate(self) -> str:
        """What becomes of the orders left open at shutdown, for its messages."""
        if self._dead_man_armed:
            return "the dead-man switch stays armed"
        return "NO dead-man switch is armed: they stay open at the venue"

    async def _sweep_open_orders(self) -> None:
        """Clean stop: cancel whatever is still open at the venue (ours or not), then clear the dead-man switch
        only if nothing is left; otherwise leave it armed so the venue cancels the rest."""
        try:
            open_orders = await self._info.frontend_open_orders(self._user)
            cancellable = [o for o in open_orders if self._asset_of_coin(o.coin) is not None]
            if cancellable:
                refused = await self._cancel_venue_orders(cancellable)
                # No CANCELED from here: a fill may still be in flight. The disconnect's resync that follows looks
                # up every order gone from the venue and closes it after its fills.
                outcome = f"{len(refused)} refused, first: {refused[0]}" if refused else "ok"
                self._log.info(f"shutdown: cancelled {len(cancellable)} open orders ({outcome})")
                open_orders = await self._info.frontend_open_orders(self._user)
        except HyperliquidHttpError as error:
            self._log.error(f"shutdown sweep failed ({error}); {self._dead_man_fate()}")
            return
        if open_orders:
            self._log.error(f"{len(open_orders)} orders still open after the sweep; {self._dead_man_fate()}")
        elif self._dead_man_armed and await self._set_dead_man_switch(None):
            self._log.info("no open orders left; dead-man switch cleared")

    def _asset_of_coin(self, coin: str) -> int | None:
        instrument = self._provider.instrument_for_coin(coin)
        return self._provider.asset_of(instrument) if instrument is not None else None

    async def _housekeeping(self) -> None:
        """Periodic duties: resync when venue fills are overdue (a cancel or a status showed fills the streams
        have not delivered) or on the resync interval, and re-read the account and the address budget."""
        last_resync_s = time.monotonic()
        resync_every_s = self._config.resync_interval_secs
        while await wait_or_stop(self._stopping, HOUSEKEEPING_PERIOD_S):
            now_s = time.monotonic()
            overdue = any(self._states[cloid].fills_overdue(now_s, FILLS_OVERDUE_S) for cloid in self._awaiting)
            if overdue or (resync_every_s is not None and now_s - last_resync_s >= resync_every_s):
                last_resync_s = now_s
                await self._resync_or_log("venue fills overdue on the streams" if overdue else "periodic")
            if now_s - self._budget_read_s >= self._config.account_refresh_secs:
                await self._refresh_account()
                await self._read_budget()

    async def _resync_or_log(self, reason: str) -> None:
        try:
            await self.resync(reason)
        except HyperliquidHttpError as error:
            self._log.warning(f"resync ({reason}) failed: {error}; retrying on the next occasion")

    def _schedule_account_refresh(self) -> None:
        """Balances are venue-reported, so refresh after fills (debounced: one read per burst)."""
        if self._account_refresh_pending:
            return
        self._account_refresh_pending = True

        async def refresh() -> None:
            proceed = await wait_or_stop(self._stopping, 0.25)
            self._account_refresh_pending = False
            if proceed:  # at shutdown the disconnect's own resync reads the account last
                await self._refresh_account()

        self.create_task(refresh(), log_msg="account refresh")

    async def _refresh_account(self) -> None:
        try:
            state = await self._info.clearinghouse_state(self._user)
        except HyperliquidHttpError as error:
            self._log.warning(f"cannot read the account ({error})")
            return
        cash = state.cash()
        locked = min(max(state.margin_used(), _ZERO), max(cash, _ZERO))
        balance = AccountBalance(Money(cash, USDC), Money(locked, USDC), Money(cash - locked, USDC))
        self.generate_account_state(
            balances=[balance], margins=[], reported=True, ts_event=state.ts_ns(self._clock.timestamp_ns())
        )

    async def _query_account(self, command: QueryAccount) -> None:
        await self._refresh_account()

    async def _read_budget(self) -> None:
        try:
            limit = await self._info.user_rate_limit(self._user)
        except HyperliquidHttpError as error:
            self._log.warning(f"cannot read the address request budget ({error})")
            return
        self._budget_read_s = time.monotonic()
        self._budget.update(limit.nRequestsUsed, limit.nRequestsCap)
        if self._budget.is_low:
            self._log.warning(
                f"address request budget low: {limit.nRequestsUsed}/{limit.nRequestsCap} used "
                f"(the cap grows by 1 per USDC traded)"
            )

    def _budget_refusal(self) -> str:
        return f"address request budget exhausted ({self._budget.used}/{self._budget.cap}); cancels still allowed"

    def _budget_allows(self, n_requests: int) -> bool:
        """Whether ``n_requests`` new orders or modifies may go, from the count held now; never waits.

        With the count exhausted the action is refused at once, and a re-read of the venue's count is started in
        the background when one is due (none in flight, none for ``BUDGET_REREAD_LIMITED_S``), so the NEXT action
        sees it. Why not wait for that read before deciding: the orders of a submit would stay INITIALIZED for the
        read's round trip (no ``OrderSubmitted`` yet), and a strategy leaves INITIALIZED orders out of its cancels
        (their submit may still be queued behind the cancel), so quotes pulled then (a kill switch) went out after
        the pull. Refusing at once costs at most the one action a fresh count would have let through (the cap grew
        with volume traded meanwhile); the strategy requotes on its next cycle. Reads are as many as before: one per
        10 s at most while limited."""
        if self._budget.allows(n_requests):
            return True
        if not self._budget_rereading and time.monotonic() - self._budget_read_s > BUDGET_REREAD_LIMITED_S:
            self._budget_rereading = True
            self.create_task(self._reread_budget(), log_msg="address budget re-read")
        return False

    async def _reread_budget(self) -> None:
        try:
            await self._read_budget()
        finally:
            self._budget_rereading = False

    async def _post(
        self, action: dict[str, Any], batch_length: int = 1, on_sent: Callable[[], None] | None = None
    ) -> ExchangeResponse:
        """Every action goes out here, so the address budget's count follows the venue's one rule between reads:
        an action the venue may have executed counts its ``batch_length`` (orders, cancels or modifies; 1 for any
        other action), whatever its answer, and whether cancel or order (cancels only have a higher cap, against
        the same ``nRequestsUsed``). So an answer counts, and so does a lost one (outcome unknown: most likely
        executed; an over-count is corrected by the next read, an under-count would be refused by the venue). An
        action refused for the address limit itself, or never sent (signing failed, a 4xx or 429 at the door), was
        not executed and does not count; the limit refusal shows the count at the cap at least."""
        try:
            response = await self._exchange.post(action, batch_length, on_sent)
        except HyperliquidHttpError as error:
            if error.outcome_unknown:
                self._budget.spend(batch_length)
            raise
        if response.error is not None and response.error.startswith(ADDRESS_LIMIT_PREFIX):
            self._note_address_limit(response.error)
        else:
            self._budget.spend(batch_length)
        return response

    def _note_address_limit(self, error: str) -> None:
        self._log.error(f"venue address limit reached: {error}")
        if self._budget.cap is not None:
            self._budget.update(max(self._budget.used, self._budget.cap), self._budget.cap)

    def _now_ms(self) -> int:
        return self._clock.timestamp_ns() // 1_000_000

    # -- reconciliation reports ----------------------------------------------------------------------------

    async def generate_order_status_report(self, command: GenerateOrderStatusReport) -> OrderStatusReport | None:
        if command.client_order_id is not None:
            target: int | str = actions.cloid_from_client_order_id(command.client_order_id.value)
        elif command.venue_order_id is not None and command.venue_order_id.value.isdigit():
            target = int(command.venue_order_id.value)
        else:
            return None
        try:
            response = await self._info.order_status(self._user, target)
        except HyperliquidHttpError as error:
            self._log_report_error(error, "OrderStatusReport")
            return None
        if response.order is None:
            return None
        return self._status_report(response.order)

    async def generate_order_status_reports(self, command: GenerateOrderStatusReports) -> list[OrderStatusReport]:
        """Open orders at the venue, plus (unless ``open_only``) the venue's last status of each order this node
        knows, so reconciliation closes orders that ended while it was away."""
        try:
            updates = [
                OrderUpdate(order=o, status=STATUS_OPEN, statusTimestamp=o.timestamp)
                for o in await self._info.frontend_open_orders(self._user)
            ]
            if not command.open_only:
                open_oids = {update.order.oid for update in updates}
                start_ms = int(command.start.value // 1_000_000) if command.start is not None else 0
                updates.extend(
                    update
                    for update in await self._info.historical_orders(self._user)
                    if update.order.oid not in open_oids
                    and update.order.cloid in self._states
                    and update.statusTimestamp >= start_ms
                )
        except HyperliquidHttpError as error:
            self._log_report_error(error, "OrderStatusReports")
            return []
        reports = [self._status_report(update) for update in updates]
        return [r for r in reports if r is not None and (command.instrument_id in (None, r.instrument_id))]

    def _status_report(self, update: OrderUpdate) -> OrderStatusReport | None:
        instrument = self._provider.instrument_for_coin(update.order.coin)
        if instrument is None:
            return None
        state = self._state_for(update.order.cloid, update.order.oid)
        try:
            return update.order.parse_to_order_status_report(
                self.account_id,
                instrument,
                state.client_order_id if state is not None else None,
                update.status,
                parsing.ms_to_ns(update.statusTimestamp),
                self._clock.timestamp_ns(),
            )
        except ValueError as error:
            self._log.warning(f"no report for order {update.order.oid}: {error}")
            return None

    async def generate_fill_reports(self, command: GenerateFillReports) -> list[FillReport]:
        if command.start is not None:
            start_ms = int(command.start.value // 1_000_000)
        else:
            start_ms = self._now_ms() - DEFAULT_FILL_LOOKBACK_MS
        end_ms = int(command.end.value // 1_000_000) if command.end is not None else None
        try:
            fills = await self._info.user_fills_by_time(self._user, start_ms, end_ms)
        except HyperliquidHttpError as error:
            self._log_report_error(error, "FillReports")
            return []
        ts_now = self._clock.timestamp_ns()
        reports = []
        for fill in fills:
            instrument = self._provider.instrument_for_coin(fill.coin)
            if instrument is None or command.instrument_id not in (None, instrument.id):
                continue
            if command.venue_order_id is not None and command.venue_order_id.value != str(fill.oid):
                continue
            state = self._state_for(fill.cloid, fill.oid)
            try:
                client_order_id = state.client_order_id if state is not None else None
                reports.append(fill.parse_to_fill_report(self.account_id, instrument, client_order_id, ts_now))
            except ValueError as error:
                self._log.warning(f"no report for fill {fill.trade_id}: {error}")
        return reports

    async def generate_position_status_reports(
        self,
        command: GeneratePositionStatusReports,
    ) -> list[PositionStatusReport]:
        """Every venue position, plus FLAT for instruments the cache holds a position in (so it can be closed)."""
        try:
            state = await self._info.clearinghouse_state(self._user)
        except HyperliquidHttpError as error:
            self._log_report_error(error, "PositionStatusReports")
            return []
        coins = {coin for coin, p in state.positions().items() if Decimal(p.szi) != 0}
        cached = self._cache.positions_open(venue=HYPERLIQUID_VENUE)
        coins |= {self._provider.coin_of_id(position.instrument_id) for position in cached}
        ts_now = self._clock.timestamp_ns()
        reports = []
        for coin in sorted(coins):
            instrument = self._provider.instrument_for_coin(coin)
            if instrument is None or command.instrument_id not in (None, instrument.id):
                continue
            reports.append(state.parse_to_position_status_report(self.account_id, instrument, ts_now))
        return reports


def _news(update: OrderUpdate) -> OrderNews | None:
    """The venue's status of one leg as order-state news; None for a status this client does not know."""
    status = update.status
    if status in (STATUS_OPEN, STATUS_TRIGGERED):
        kind = NewsKind.OPEN
    elif status == STATUS_FILLED:
        kind = NewsKind.FILLED
    elif parsing.is_canceled_status(status):
        kind = NewsKind.CANCELED
    elif parsing.is_rejected_status(status):
        kind = NewsKind.REJECTED
    else:
        return None
    leg_filled = update.order.original - update.order.remaining
    return OrderNews(update.order.oid, kind, leg_filled, parsing.ms_to_ns(update.statusTimestamp), status)


def _venue_id(oid: int | None) -> VenueOrderId | None:
    return VenueOrderId(str(oid)) if oid is not None else None


def _oid_of(venue_order_id: VenueOrderId | None, default: int | None) -> int:
    """The oid of a fill's venue order id (the order's current one when the fill carries none)."""
    if venue_order_id is not None and venue_order_id.value.isdigit():
        return int(venue_order_id.value)
    return default if default is not None else 0


def _rates_bps(maker_fee: Decimal, taker_fee: Decimal) -> str:
    tier = " (base tier)" if (maker_fee, taker_fee) == (BASE_MAKER_FEE, BASE_TAKER_FEE) else ""
    return f"maker {float(maker_fee) * 1e4:.2f} bps, taker {float(taker_fee) * 1e4:.2f} bps{tier}"


def _refusals(response: ExchangeResponse) -> list[str]:
    """What the venue refused of an action: its error for the whole action, else each item's error."""
    if response.error is not None:
        return [response.error]
    return [error for status in response.statuses() if (error := _status_error(status)) is not None]


def _parts(items: list) -> list[list]:
    """``items`` in slices of at most ``MAX_ACTION_ITEMS``, the venue's cap on one signed action."""
    return [items[start : start + MAX_ACTION_ITEMS] for start in range(0, len(items), MAX_ACTION_ITEMS)]


def _batch_error(statuses: list[ItemStatus | str], n_items: int) -> str | None:
    """Pre-validation's one error for a whole batch of several items (one status, an error), else None. Any other
    answer shorter than its batch (none, a success, an unreadable string) leaves the items without a status to the
    venue's record: read as refused, an order the venue placed would rest there as a stray."""
    if n_items > 1 and len(statuses) == 1 and isinstance(statuses[0], ItemStatus) and statuses[0].error is not None:
        return statuses[0].error
    return None


def _is_readable_item(status: ItemStatus | str) -> bool:
    """An order's or a modify's status says what happened only as an oid (resting or filled) or an error."""
    return isinstance(status, ItemStatus) and (status.oid is not None or status.error is not None)


def _status_error(status: ItemStatus | str) -> str | None:
    """The error text of one item's status, or None when it succeeded (``"success"``, resting, filled)."""
    if isinstance(status, ItemStatus):
        return status.error
    return None if status == "success" else status


@dataclass(frozen=True, slots=True)
class _ParsedFill:
    """A venue fill's event fields, all parsed up front: nothing is recorded for a fill that cannot be emitted."""

    trade_id: TradeId
    last_qty: Quantity
    last_px: Price
    quote_currency: Currency
    commission: Money
    liquidity_side: LiquiditySide
    ts_ns: int

    @classmethod
    def of(cls, fill: UserFill, instrument: Instrument) -> _ParsedFill:
        """Raises ``ValueError`` for a malformed field (a non-positive size, a negative price, an unreadable fee)."""
        last_qty = parsing.quantity(fill.sz, instrument)
        if last_qty.raw == 0:
            raise ValueError(f"fill {fill.trade_id} has size {fill.sz!r}")
        return cls(
            fill.trade_id,
            last_qty,
            parsing.price(fill.px, instrument),
            instrument.quote_currency,
            fill.commission(),
            fill.liquidity_side,
            parsing.ms_to_ns(fill.time),
        )
