"""The venue core: replayed markets, accounts, our orders, fills and timers.

Everything here is synchronous and runs on the server's event loop, so no state is ever seen half-updated;
what a step produces is collected in the outbox and delivered by ``flush`` once the step is complete.
Authentication, nonces and rate limits are checked before anything reaches this module (``exchange.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from eth_utils import keccak

from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange.book import BookSnapshot
from adapters.hyperliquid.local_exchange.candles import CandleStore
from adapters.hyperliquid.local_exchange.clock import VenueClock
from adapters.hyperliquid.local_exchange.config import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.errors import ActionError
from adapters.hyperliquid.local_exchange.errors import OrderRejected
from adapters.hyperliquid.local_exchange.events import Message
from adapters.hyperliquid.local_exchange.events import Outbox
from adapters.hyperliquid.local_exchange.matching import Fill
from adapters.hyperliquid.local_exchange.matching import Market
from adapters.hyperliquid.local_exchange.replay import Recording
from adapters.hyperliquid.local_exchange.replay import ReplayCursor
from adapters.hyperliquid.local_exchange.replay import ReplayEvent
from adapters.hyperliquid.local_exchange.state import Account
from adapters.hyperliquid.local_exchange.state import MarketRef
from adapters.hyperliquid.local_exchange.state import Order
from adapters.hyperliquid.local_exchange.wire import USD_QUANTUM
from adapters.hyperliquid.local_exchange.wire import ZERO
from adapters.hyperliquid.local_exchange.wire import dec
from adapters.hyperliquid.local_exchange.wire import dec8
from adapters.hyperliquid.local_exchange.wire import plain
from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import is_valid_price
from adapters.hyperliquid.rules import is_valid_size
from adapters.hyperliquid.rules import max_price_decimals

_TID_MASK = (1 << 50) - 1  # trade ids are 50-bit (reference §5.2)
_TID_STEP = 0x9E3779B97F4A7C15  # odd, so seq → seq·step mod 2^50 never repeats
_FIRST_OID = 50_000_000_000
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_STALE_TRADE_MS = 2_000
_ORDERS_KEPT = 50_000  # closed orders beyond this are forgotten, oldest first (orderStatus → unknownOid)
_TAKER_TIFS = ("Ioc", "FrontendMarket")
_CENT = Decimal("0.01")


class Venue:
    def __init__(self, config: LocalExchangeConfig, meta: dict[str, Any], recording: Recording, clock: VenueClock):
        self.config = config
        self.meta = meta
        self.clock = clock
        self.recording = recording
        self.markets_by_asset = [
            Market(entry["name"], asset, int(entry["szDecimals"]), int(entry["maxLeverage"]))
            for asset, entry in enumerate(meta["universe"])
        ]
        self.markets = {market.coin: market for market in self.markets_by_asset}
        unknown = [coin for coin in recording.coins if coin not in self.markets]
        if unknown:
            raise ValueError(f"recorded coins {unknown} are not in the meta universe")
        self.accounts = {
            a.address.lower(): Account(
                a.address.lower(), a.usdc, a.maker_fee, a.taker_fee, a.cum_vlm, a.n_requests_used
            )
            for a in config.all_accounts()
        }
        self.agents: dict[str, str] = {agent.lower(): master.lower() for agent, master in config.agents}
        self.agent_names: dict[tuple[str, str], str] = {}
        self.orders: dict[int, Order] = {}
        self.open_orders: dict[str, dict[int, Order]] = {}
        self.cloids: dict[tuple[str, str], int] = {}
        self.outbox = Outbox()
        self.sink: Callable[[list[Message]], None] = lambda messages: None
        self.replay_position_ns = 0
        self._cursor = ReplayCursor(recording, config.loop)
        self._next_oid = _FIRST_OID
        self._tid_seq = 0
        self._funding_hour = -1
        self._mids: dict[str, str] = {}
        self._prev_day_px: dict[str, Decimal | None] = {coin: _first_mid(recording, coin) for coin in recording.coins}
        self.candles = CandleStore()
        self.funding_history: list[dict[str, Any]] = []  # fundingHistory: every coin's hourly rate, oldest first
        self.user_funding: dict[str, list[dict[str, Any]]] = {}  # userFunding: each account's payments

    # ------------------------------------------------------------------------------------------ lookups

    def market_for_asset(self, asset: int) -> Market:
        if not 0 <= asset < len(self.markets_by_asset):
            raise ActionError(errors.UNKNOWN_ASSET.format(asset=asset))
        return self.markets_by_asset[asset]

    def refs(self) -> dict[str, MarketRef]:
        return {coin: MarketRef(market.mark(), market.max_leverage) for coin, market in self.markets.items()}

    def user_open_orders(self, user: str) -> list[Order]:
        """Newest first, as the venue lists them."""
        return sorted(self.open_orders.get(user, {}).values(), key=lambda o: o.oid, reverse=True)

    def find_order(self, user: str, oid_or_cloid: int | str) -> Order | None:
        oid = self.cloids.get((user, oid_or_cloid)) if isinstance(oid_or_cloid, str) else oid_or_cloid
        order = self.orders.get(oid) if oid is not None else None
        return order if order is not None and order.user == user else None

    def mids(self) -> dict[str, str]:
        return dict(self._mids)

    # ------------------------------------------------------------------------------------------- replay

    def next_event_position(self) -> int | None:
        return self._cursor.next_position()

    @property
    def replay_lap(self) -> int:
        """How many times the recording has wrapped around (loop mode)."""
        return self._cursor.lap

    def advance_to(self, position_ns: int) -> None:
        """Apply every recorded event up to ``position_ns``, then the timers, then deliver what happened."""
        while (next_position := self._cursor.next_position()) is not None and next_position <= position_ns:
            lap = self._cursor.lap
            self._apply_event(self._cursor.pop(), next_position, lap)
        self.replay_position_ns = max(self.replay_position_ns, position_ns)
        self.run_timers(self.clock.venue_ms_at(self.replay_position_ns))
        self.flush()

    def _apply_event(self, event: ReplayEvent, position_ns: int, lap: int) -> None:
        market = self.markets[event.coin]
        now_ms = self.clock.venue_ms_at(position_ns)
        lap_ns = lap * self.recording.span_ns

        def retime(block_ms: int) -> int:
            return self.clock.venue_ms_at((block_ms - event.origin_ms) * 1_000_000 + lap_ns)

        if event.kind == "l2Book":
            self._apply_book(market, BookSnapshot.from_ws_data(event.data, retime(event.data["time"])), now_ms)
        else:
            self._apply_trades(market, event.data, retime, lap, now_ms)

    def _apply_book(self, market: Market, snapshot: BookSnapshot, now_ms: int) -> None:
        before = market.bbo()
        fills = market.apply_book(snapshot)
        self.outbox.market("l2Book", market.coin, snapshot)
        if market.bbo() != before:
            bbo = {"coin": market.coin, "time": snapshot.time_ms, "bbo": snapshot.bbo_wire()}
            self.outbox.market("bbo", market.coin, bbo)
        mid = market.mark()
        if mid is not None and self._mids.get(market.coin) != dec(mid):
            self._mids[market.coin] = dec(mid)
            self.outbox.market("allMids", None, {"mids": self.mids()})
        self.outbox.market("activeAssetCtx", market.coin, {"coin": market.coin, "ctx": self.asset_ctx(market)})
        self._maker_fills(fills, now_ms)

    def _apply_trades(self, market: Market, trades: list[dict], retime, lap: int, now_ms: int) -> None:
        """Trades keep the documented WsTrade key order (some recorders re-sort keys); a new lap gets new
        trade ids, since clients dedupe on them."""
        wire = [
            {
                "coin": trade["coin"],
                "side": trade["side"],
                "px": trade["px"],
                "sz": trade["sz"],
                "hash": trade["hash"],
                "time": retime(trade["time"]),
                "tid": (trade["tid"] + lap * _TID_STEP) & _TID_MASK,
                "users": trade["users"],
            }
            for trade in trades
        ]
        market.record_trades(wire)
        self.candles.add(market.coin, wire)
        self.outbox.market("trades", market.coin, wire)
        # The recorder's first frame back-fills older trades; only fresh ones can have traded with us.
        fresh = [t for t in wire if now_ms - t["time"] <= _STALE_TRADE_MS]
        self._maker_fills(market.apply_trades(fresh), now_ms)

    def _maker_fills(self, fills: list[Fill], now_ms: int) -> None:
        for fill in fills:
            if fill.order.is_open:  # an earlier fill of this step may have closed it (reduce-only)
                self._fill(fill.order, fill.qty, fill.px, False, now_ms, self.tx_hash())

    # ------------------------------------------------------------------------------------------- timers

    def run_timers(self, now_ms: int) -> None:
        for account in self.accounts.values():
            if account.schedule_cancel_ms is not None and now_ms >= account.schedule_cancel_ms:
                self._trigger_schedule_cancel(account, now_ms)
        if self.config.funding_rate_hourly is not None:
            hour = now_ms // _HOUR_MS
            if self._funding_hour < 0:
                self._funding_hour = hour
            elif hour > self._funding_hour:
                self._funding_hour = hour
                self._pay_funding(self.config.funding_rate_hourly, hour * _HOUR_MS)

    def _trigger_schedule_cancel(self, account: Account, now_ms: int) -> None:
        account.schedule_cancel_ms = None
        day = now_ms // _DAY_MS
        if account.schedule_cancel_day != day:
            account.schedule_cancel_day, account.schedule_cancel_count = day, 0
        account.schedule_cancel_count += 1
        canceled = []
        for order in self.user_open_orders(account.address):
            self._close(order, "scheduledCancel", now_ms)
            canceled.append({"coin": order.coin, "oid": order.oid})
        if canceled:
            self.outbox.user_event(account.address, {"nonUserCancel": canceled})

    def _pay_funding(self, rate: Decimal, time_ms: int) -> None:
        """Hourly funding on the mark (reference §6.5 uses the oracle; the replay has none): longs pay a
        positive rate. ``cumFunding`` counts what was paid."""
        for coin, market in self.markets.items():
            if market.mark() is not None:
                self.funding_history.append({"coin": coin, "fundingRate": dec(rate), "premium": "0.0", "time": time_ms})
        for account in self.accounts.values():
            for coin, pos in account.positions.items():
                mark = self.markets[coin].mark()
                if pos.szi == 0 or mark is None:
                    continue
                paid = (pos.szi * mark * rate).quantize(USD_QUANTUM)
                account.usdc -= paid
                pos.funding_all_time += paid
                pos.funding_since_open += paid
                pos.funding_since_change += paid
                funding = {
                    "time": time_ms, "coin": coin, "usdc": dec(-paid), "szi": dec(pos.szi), "fundingRate": dec(rate)
                }
                self.outbox.user_event(account.address, {"funding": funding})
                delta = {"coin": coin, "fundingRate": dec(rate), "szi": dec(pos.szi), "type": "funding"}
                delta |= {"usdc": dec(-paid), "nSamples": None}
                entry = {"delta": delta, "hash": "0x" + "00" * 32, "time": time_ms}
                self.user_funding.setdefault(account.address, []).append(entry)

    # ------------------------------------------------------------------------------------------- orders

    def place(self, account: Account, wire: dict[str, Any], now_ms: int, tx_hash: str) -> dict[str, Any]:
        """One order of an ``order`` action: its entry in ``statuses``."""
        market = self.market_for_asset(wire["a"])
        order = self._new_order(account, market, wire, now_ms)
        try:
            self.validate(account, market, order, replacing=None)
            return self._execute(account, market, order, now_ms, tx_hash)
        except OrderRejected as rejection:
            return self._reject(order, rejection, now_ms)

    def new_order_from_wire(self, account: Account, wire: dict[str, Any], now_ms: int, cloid: str | None) -> Order:
        market = self.market_for_asset(wire["a"])
        order = self._new_order(account, market, wire, now_ms)
        order.cloid = cloid
        return order

    def _new_order(self, account: Account, market: Market, wire: dict[str, Any], now_ms: int) -> Order:
        oid = self._next_oid
        self._next_oid += 1
        order_type = wire["t"]
        tif = order_type["limit"]["tif"] if "limit" in order_type else None
        size = Decimal(wire["s"])
        return Order(
            oid=oid,
            user=account.address,
            coin=market.coin,
            is_buy=wire["b"],
            limit_px=Decimal(wire["p"]),
            orig_sz=size,
            sz=size,
            tif=tif,
            reduce_only=wire["r"],
            cloid=wire.get("c"),
            timestamp=now_ms,
            status="pending",
            status_ts=now_ms,
        )

    def validate(self, account: Account, market: Market, order: Order, replacing: Order | None) -> None:
        """The venue's per-order checks in its order (reference §7.4); raises ``OrderRejected``."""
        if order.tif is None:
            raise OrderRejected(errors.TRIGGER_UNSUPPORTED, "rejected")
        if not is_valid_size(order.sz, market.sz_decimals):
            raise OrderRejected(errors.INVALID_SIZE, "rejected")
        price_error = _price_error(order.limit_px, market.sz_decimals)
        if price_error is not None:
            raise OrderRejected(price_error, "tickRejected")
        if not order.reduce_only and order.limit_px * order.sz < MIN_NOTIONAL_USD:
            raise OrderRejected(errors.MIN_NOTIONAL, "minTradeNtlRejected")
        if not order.reduce_only:
            refs = self.refs()
            required = account.required_margin(refs, self.config.default_leverage, order, replacing)
            if required > account.margin(refs, self.config.default_leverage).account_value:
                raise OrderRejected(errors.PERP_MARGIN, "perpMarginRejected")
        szi = account.position(market.coin).szi
        if order.reduce_only and (szi == 0 or (szi > 0) == order.is_buy):
            raise OrderRejected(errors.REDUCE_ONLY, "reduceOnlyRejected")
        if order.tif == "Alo" and market.would_cross(order.is_buy, order.limit_px):
            bid, ask = market.bbo()
            text = errors.BAD_ALO_PX.format(bid=plain(bid) if bid else "", ask=plain(ask) if ask else "")
            raise OrderRejected(text, "badAloPxRejected")
        if order.tif in _TAKER_TIFS and not market.would_cross(order.is_buy, order.limit_px):
            if order.tif == "FrontendMarket":
                raise OrderRejected(errors.NO_LIQUIDITY, "marketOrderNoLiquidityRejected")
            raise OrderRejected(errors.IOC_CANCEL, "iocCancelRejected")

    def _execute(self, account: Account, market: Market, order: Order, now_ms: int, tx_hash: str) -> dict[str, Any]:
        self._remember(order)
        if order.cloid is not None:
            self.cloids[(account.address, order.cloid)] = order.oid
        if not market.would_cross(order.is_buy, order.limit_px):
            self._rest(market, order, now_ms)
            return self._status("resting", order)
        qty = order.sz
        if order.reduce_only:
            qty = min(qty, abs(account.position(market.coin).szi))
        takes = market.take(order.is_buy, order.limit_px, qty)
        if not takes and order.tif in _TAKER_TIFS:
            raise OrderRejected(errors.IOC_CANCEL, "iocCancelRejected")
        filled = notional = ZERO
        for px, take in takes:
            self._fill(order, take, px, True, now_ms, tx_hash)
            filled += take
            notional += px * take
        if order.sz > 0:
            szi = account.position(market.coin).szi
            if order.tif in _TAKER_TIFS:
                self._close(order, "canceled", now_ms)
            elif order.reduce_only and (szi == 0 or (szi > 0) == order.is_buy):
                self._close(order, "reduceOnlyCanceled", now_ms)  # nothing left to reduce
            else:
                self._rest(market, order, now_ms)
                if filled == 0 or self.config.gtc_partial_fill_status == "resting":
                    return self._status("resting", order)
        filled_status = {"totalSz": dec(filled), "avgPx": dec8(notional / filled)}
        return self._status("filled", order, filled_status)

    def _status(self, kind: str, order: Order, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = dict(extra or {})
        body["oid"] = order.oid
        if order.cloid is not None:
            body["cloid"] = order.cloid
        return {kind: body}

    def _reject(self, order: Order, rejection: OrderRejected, now_ms: int) -> dict[str, Any]:
        """Rejected orders keep their oid and status (historicalOrders shows ``tickRejected`` & co.)."""
        self._remember(order)
        order.status, order.status_ts = rejection.status, now_ms
        self.outbox.order_update(order.user, order.update_wire())
        return self._item_error(rejection.text, self.markets[order.coin].asset)

    def _item_error(self, text: str, asset: int) -> dict[str, Any]:
        """One order's or cancel's error: live, each ends in `` asset=N`` (captures of rejected orders and of
        cancels of dead orders, 2024-2026)."""
        return {"error": f"{text} asset={asset}" if self.config.error_asset_suffix else text}

    def _remember(self, order: Order) -> None:
        """Keep every order for orderStatus/historicalOrders, bounded: oldest closed ones go first."""
        self.orders[order.oid] = order
        if len(self.orders) <= _ORDERS_KEPT:
            return
        excess = len(self.orders) - _ORDERS_KEPT * 4 // 5  # prune to 80 % so the sweep stays rare
        for oid in [oid for oid, o in self.orders.items() if not o.is_open][:excess]:
            old = self.orders.pop(oid)
            if old.cloid is not None and self.cloids.get((old.user, old.cloid)) == oid:
                del self.cloids[(old.user, old.cloid)]

    def _rest(self, market: Market, order: Order, now_ms: int) -> None:
        order.status, order.status_ts = "open", now_ms
        market.rest(order)
        self.open_orders.setdefault(order.user, {})[order.oid] = order
        self.accounts[order.user].track_open(order, order.sz)
        self.outbox.order_update(order.user, order.update_wire())

    def _close(self, order: Order, status: str, now_ms: int) -> None:
        if order.is_open:
            self.markets[order.coin].remove(order)
            self.open_orders.get(order.user, {}).pop(order.oid, None)
            self.accounts[order.user].track_open(order, -order.sz)
        order.status, order.status_ts = status, now_ms
        self.outbox.order_update(order.user, order.update_wire())

    def _fill(self, order: Order, qty: Decimal, px: Decimal, crossed: bool, now_ms: int, tx_hash: str) -> None:
        account = self.accounts[order.user]
        if order.reduce_only:
            qty = min(qty, abs(account.position(order.coin).szi))
            if qty <= 0:
                self._close(order, "reduceOnlyCanceled", now_ms)
                return
        self._tid_seq += 1
        fill = account.apply_fill(order, qty, px, crossed, now_ms, (self._tid_seq * _TID_STEP) & _TID_MASK, tx_hash)
        order.sz -= qty
        if order.is_open:
            account.track_open(order, -qty)
        self.outbox.fill(account.address, fill)
        if order.sz == 0:
            self._close(order, "filled", now_ms)
        self._cancel_stale_reduce_only(account, order.coin, now_ms)

    def _cancel_stale_reduce_only(self, account: Account, coin: str, now_ms: int) -> None:
        """A resting reduce-only order that could only increase the position is cancelled by the venue."""
        szi = account.position(coin).szi
        stale = [
            o
            for o in self.open_orders.get(account.address, {}).values()
            if o.coin == coin and o.reduce_only and (szi == 0 or (szi > 0) == o.is_buy)
        ]
        for order in stale:
            self._close(order, "reduceOnlyCanceled", now_ms)
        if stale:
            self.outbox.user_event(account.address, {"nonUserCancel": [{"coin": o.coin, "oid": o.oid} for o in stale]})

    def cancel(self, account: Account, asset: int, oid_or_cloid: int | str, now_ms: int) -> str | dict[str, str]:
        market = self.market_for_asset(asset)
        order = self.find_order(account.address, oid_or_cloid)
        if order is None or not order.is_open or order.coin != market.coin:
            return self._item_error(errors.MISSING_ORDER, asset)
        self._close(order, "canceled", now_ms)
        return "success"

    def modify(
        self,
        account: Account,
        target: int | str,
        wire: dict[str, Any],
        now_ms: int,
        tx_hash: str,
    ) -> dict[str, Any]:
        """Cancel-replace: the old oid is canceled and a new oid keeps the cloid. A new order that fails
        validation has already lost the old one on the real venue (its cancel half runs first): the old order is
        closed as canceled and the answer is ``Error placing new order during modify: <reason>`` (live captures,
        e.g. a post-only new order at the touch), unless ``modify_refusal_cancels_old`` is off. The modify texts
        carry no `` asset=N`` suffix in those captures."""
        old = self.find_order(account.address, target)
        market = self.market_for_asset(wire["a"])
        if old is None or not old.is_open or old.coin != market.coin:
            return {"error": errors.MODIFY_DEAD_ORDER}
        new = self.new_order_from_wire(account, wire, now_ms, wire.get("c", old.cloid))
        try:
            self.validate(account, market, new, replacing=old)
        except OrderRejected as rejection:
            if not self.config.modify_refusal_cancels_old:
                return {"error": rejection.text}
            self._close(old, "canceled", now_ms)
            return {"error": errors.MODIFY_NEW_ORDER_FAILED.format(reason=rejection.text)}
        if self.config.modify_cancel_first:
            self._close(old, "canceled", now_ms)
            self.outbox.seal()
            status = self._execute(account, market, new, now_ms, tx_hash)
        else:
            status = self._execute(account, market, new, now_ms, tx_hash)
            self.outbox.seal()
            self._close(old, "canceled", now_ms)
        self.outbox.seal()
        return status

    def schedule_cancel(self, account: Account, time_ms: int | None, now_ms: int) -> None:
        """Arm or (``time_ms`` None) clear the dead-man switch; both are refused below the volume gate, as live."""
        required = self.config.schedule_cancel_min_volume_usd
        if account.cum_vlm < required:
            traded = account.cum_vlm.quantize(_CENT)
            raise ActionError(errors.SCHEDULE_CANCEL_VOLUME.format(required=plain(required), traded=plain(traded)))
        if time_ms is None:
            account.schedule_cancel_ms = None
            return
        if time_ms < now_ms + 5_000:
            raise ActionError(errors.SCHEDULE_CANCEL_TOO_EARLY)
        day = now_ms // _DAY_MS
        if account.schedule_cancel_day == day and account.schedule_cancel_count >= 10:
            raise ActionError(errors.SCHEDULE_CANCEL_LIMIT)
        account.schedule_cancel_ms = time_ms

    def update_leverage(self, account: Account, asset: int, is_cross: bool, leverage: int) -> None:
        market = self.market_for_asset(asset)
        if not is_cross:
            raise ActionError(errors.ISOLATED_UNSUPPORTED)
        if not 1 <= leverage <= market.max_leverage:
            raise ActionError(errors.INVALID_LEVERAGE)
        account.leverage[market.coin] = leverage

    def approve_agent(self, master: str, agent: str, name: str | None) -> None:
        """One unnamed agent per master (a new one replaces it) plus named ones, replaced by name."""
        slot = (master, name or "")
        previous = self.agent_names.get(slot)
        if previous is not None:
            self.agents.pop(previous, None)
        self.agent_names[slot] = agent
        self.agents[agent] = master

    # ------------------------------------------------------------------------------------- asset context

    def asset_ctx(self, market: Market) -> dict[str, Any]:
        """``metaAndAssetCtxs``/``activeAssetCtx`` context. Mark and oracle are the replayed mid; open interest,
        volume and premium are not in the recording and are reported as zero."""
        mid = market.mark()
        bid, ask = market.bbo()
        prev_day = self._prev_day_px.get(market.coin)
        funding = self.config.funding_rate_hourly or ZERO
        return {
            "funding": dec(funding),
            "openInterest": "0.0",
            "prevDayPx": dec(prev_day) if prev_day is not None else "0.0",
            "dayNtlVlm": "0.0",
            "premium": "0.0" if mid is not None else None,
            "oraclePx": dec(mid) if mid is not None else "0.0",
            "markPx": dec(mid) if mid is not None else "0.0",
            "midPx": dec(mid) if bid is not None and ask is not None else None,
            "impactPxs": [dec(bid), dec(ask)] if bid is not None and ask is not None else None,
            "dayBaseVlm": "0.0",
        }

    # ------------------------------------------------------------------------------------------ output

    def flush(self) -> None:
        messages = self.outbox.drain()
        if messages:
            self.sink(messages)

    def tx_hash(self) -> str:
        """A unique transaction hash; the fills of one taker action share it, as on the venue."""
        self._tid_seq += 1
        return "0x" + keccak(self._tid_seq.to_bytes(8, "big") + b"local-exchange-tx").hex()


def _first_mid(recording: Recording, coin: str) -> Decimal | None:
    """The recording's opening mid stands in for ``prevDayPx``: the replay has no day-old price."""
    first = recording.first_book(coin)
    return BookSnapshot.from_ws_data(first.data, 0).mid() if first is not None else None


def _price_error(px: Decimal, sz_decimals: int) -> str | None:
    """Too many decimals for the asset → ``Order has invalid price.``; more than 5 significant figures on a
    non-integer → ``Price must be divisible by tick size.`` (BTC 42651.5; python-sdk#179)."""
    if px <= 0:
        return errors.INVALID_PRICE
    if px == px.to_integral_value():
        return None
    if _decimals(px) > max_price_decimals(sz_decimals):
        return errors.INVALID_PRICE
    return None if is_valid_price(px, sz_decimals) else errors.TICK


def _decimals(px: Decimal) -> int:
    """Digits after the point, trailing zeros excluded, counted exactly (``normalize`` would round a price longer
    than the context precision and misjudge it)."""
    _, digits, exponent = px.as_tuple()
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))
