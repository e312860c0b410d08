"""Accounts, positions, orders and cross margin, with their wire shapes.

Margin follows the venue's cross-margin arithmetic as visible in a real clearinghouseState capture
(``withdrawable = accountValue − totalMarginUsed``, ``totalRawUsd = accountValue − Σ szi·mark``), with the
mark taken as the replayed mid. Maintenance margin is half the initial margin at max leverage (the venue's
rule), which is what the liquidation price is solved against. Isolated margin is not modelled.

Wire shapes keep the key order of the most recent real captures (2025–2026, see SOURCES.md): older 2023
captures list keys alphabetically, newer ones in the venue's struct order used here.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from typing import Any

from adapters.hyperliquid.local_exchange.wire import USD_QUANTUM
from adapters.hyperliquid.local_exchange.wire import ZERO
from adapters.hyperliquid.local_exchange.wire import dec
from adapters.hyperliquid.local_exchange.wire import dec8
from adapters.hyperliquid.local_exchange.wire import usd

FILLS_KEPT = 10_000  # the venue keeps the 10000 most recent fills reachable (reference §2.8)


@dataclass(slots=True)
class Order:
    oid: int
    user: str
    coin: str
    is_buy: bool
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal
    tif: str | None  # None for trigger orders, which are refused
    reduce_only: bool
    cloid: str | None
    timestamp: int
    status: str = "open"
    status_ts: int = 0
    queue_ahead: Decimal = ZERO

    @property
    def side(self) -> str:
        return "B" if self.is_buy else "A"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def _core_wire(self) -> dict[str, Any]:
        """The keys every order shape of the venue starts with, in the venue's order."""
        return {
            "coin": self.coin,
            "side": self.side,
            "limitPx": dec(self.limit_px),
            "sz": dec(self.sz),
            "oid": self.oid,
            "timestamp": self.timestamp,
        }

    def ws_wire(self) -> dict[str, Any]:
        """``WsBasicOrder`` of ``orderUpdates``: cloid only when one was set."""
        wire = {
            **self._core_wire(),
            "origSz": dec(self.orig_sz),
        }
        if self.cloid is not None:
            wire["cloid"] = self.cloid
        return wire

    def open_orders_wire(self) -> dict[str, Any]:
        return {
            **self._core_wire(),
            "origSz": dec(self.orig_sz),
            "reduceOnly": self.reduce_only,
        }

    def frontend_wire(self) -> dict[str, Any]:
        return {
            **self._core_wire(),
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit",
            "origSz": dec(self.orig_sz),
            "tif": self.tif,
            "cloid": self.cloid,
        }

    def status_wire(self) -> dict[str, Any]:
        """``{order, status, statusTimestamp}`` as in orderStatus and historicalOrders."""
        return {"order": self.frontend_wire(), "status": self.status, "statusTimestamp": self.status_ts}

    def update_wire(self) -> dict[str, Any]:
        return {"order": self.ws_wire(), "status": self.status, "statusTimestamp": self.status_ts}


@dataclass(slots=True)
class Position:
    szi: Decimal = ZERO
    entry_px: Decimal = ZERO
    funding_all_time: Decimal = ZERO
    funding_since_open: Decimal = ZERO
    funding_since_change: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class MarketRef:
    """What margin arithmetic needs to know about a coin: its mark (None without a book) and max leverage."""

    mark: Decimal | None
    max_leverage: int


@dataclass(slots=True)
class Account:
    address: str
    usdc: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    cum_vlm: Decimal = ZERO
    n_requests_used: int = 0
    limited_last_ms: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    open_buys: dict[str, Decimal] = field(default_factory=dict)
    open_sells: dict[str, Decimal] = field(default_factory=dict)
    schedule_cancel_ms: int | None = None
    schedule_cancel_day: int = -1
    schedule_cancel_count: int = 0

    def position(self, coin: str) -> Position:
        return self.positions.get(coin) or Position()

    def apply_fill(
        self,
        order: Order,
        qty: Decimal,
        px: Decimal,
        crossed: bool,
        time_ms: int,
        tid: int,
        tx_hash: str,
    ) -> dict[str, Any]:
        """Book a fill: position and average entry, realised PnL, fee, volume. Returns the fill's wire dict."""
        pos = self.positions.setdefault(order.coin, Position())
        start = pos.szi
        closed_pnl = ZERO
        if start == 0 or (start > 0) == order.is_buy:
            pos.entry_px = (abs(start) * pos.entry_px + qty * px) / (abs(start) + qty)
            direction = "Open Long" if order.is_buy else "Open Short"
        else:
            closed_pnl = min(qty, abs(start)) * (px - pos.entry_px) * (1 if start > 0 else -1)
            if qty > abs(start):
                pos.entry_px = px
                direction = "Short > Long" if order.is_buy else "Long > Short"
            else:
                direction = "Close Long" if start > 0 else "Close Short"
        pos.szi = start + (qty if order.is_buy else -qty)
        if pos.szi == 0:
            pos.entry_px = ZERO
        if start == 0 or pos.szi == 0 or (start > 0) != (pos.szi > 0):
            pos.funding_since_open = ZERO
        closed_pnl = closed_pnl.quantize(USD_QUANTUM)
        fee = (qty * px * (self.taker_fee if crossed else self.maker_fee)).quantize(USD_QUANTUM)
        self.usdc += closed_pnl - fee
        self.cum_vlm += qty * px
        fill = {
            "coin": order.coin,
            "px": dec(px),
            "sz": dec(qty),
            "side": order.side,
            "time": time_ms,
            "startPosition": dec(start),
            "dir": direction,
            "closedPnl": usd(closed_pnl),
            "hash": tx_hash,
            "oid": order.oid,
            "crossed": crossed,
            "fee": usd(fee),
            "tid": tid,
        }
        if order.cloid is not None:
            fill["cloid"] = order.cloid
        fill["feeToken"] = "USDC"
        fill["twapId"] = None
        self.fills.append(fill)
        if len(self.fills) > FILLS_KEPT:
            del self.fills[: len(self.fills) - FILLS_KEPT]
        return fill

    def leverage_of(self, coin: str, ref: MarketRef, default: int) -> int:
        return min(self.leverage.get(coin, default), ref.max_leverage)

    def margin(self, refs: dict[str, MarketRef], default_leverage: int) -> MarginSummary:
        unrealized = total_ntl = signed_ntl = margin_used = maint_used = ZERO
        for coin, pos in self.positions.items():
            if pos.szi == 0:
                continue
            ref = refs[coin]
            mark = ref.mark if ref.mark is not None else pos.entry_px
            notional = abs(pos.szi) * mark
            unrealized += pos.szi * (mark - pos.entry_px)
            total_ntl += notional
            signed_ntl += pos.szi * mark
            margin_used += notional / self.leverage_of(coin, ref, default_leverage)
            maint_used += notional / (2 * ref.max_leverage)
        account_value = self.usdc + unrealized
        return MarginSummary(account_value, total_ntl, account_value - signed_ntl, margin_used, maint_used)

    def track_open(self, order: Order, delta: Decimal) -> None:
        """Keep the per-coin sums of resting size current (+size on rest, −qty on fill or close), so the
        margin check costs O(coins), not O(open orders), for a market maker with hundreds resting."""
        book = self.open_buys if order.is_buy else self.open_sells
        book[order.coin] = book.get(order.coin, ZERO) + delta

    def required_margin(
        self,
        refs: dict[str, MarketRef],
        default_leverage: int,
        extra: Order,
        replacing: Order | None = None,
    ) -> Decimal:
        """Initial margin if every resting order plus ``extra`` (minus the ``replacing`` one) filled on its worse
        side: per coin ``max(|szi + Σ bids|, |szi − Σ asks|) · price / leverage``, bids netting asks."""
        total = ZERO
        coins = set(self.open_buys) | set(self.open_sells) | {c for c, p in self.positions.items() if p.szi != 0}
        for coin in coins | {extra.coin}:
            buys = self.open_buys.get(coin, ZERO) + _size_if(extra, coin, True) - _size_if(replacing, coin, True)
            sells = self.open_sells.get(coin, ZERO) + _size_if(extra, coin, False) - _size_if(replacing, coin, False)
            szi = self.position(coin).szi
            worst = max(abs(szi + buys), abs(szi - sells))
            if worst == 0:
                continue
            ref = refs[coin]
            price = ref.mark
            if price is None:
                price = extra.limit_px if coin == extra.coin else self.position(coin).entry_px
            total += worst * price / self.leverage_of(coin, ref, default_leverage)
        return total

    def clearinghouse_wire(self, refs: dict[str, MarketRef], default_leverage: int, time_ms: int) -> dict[str, Any]:
        summary = self.margin(refs, default_leverage)
        positions = [
            {"type": "oneWay", "position": self._position_wire(coin, pos, refs, summary, default_leverage)}
            for coin, pos in self.positions.items()
            if pos.szi != 0
        ]
        return clearinghouse_wire(summary, positions, time_ms)

    def _position_wire(
        self,
        coin: str,
        pos: Position,
        refs: dict[str, MarketRef],
        summary: MarginSummary,
        default_leverage: int,
    ) -> dict[str, Any]:
        ref = refs[coin]
        mark = ref.mark if ref.mark is not None else pos.entry_px
        leverage = self.leverage_of(coin, ref, default_leverage)
        notional = abs(pos.szi) * mark
        unrealized = pos.szi * (mark - pos.entry_px)
        entry_margin = abs(pos.szi) * pos.entry_px / leverage
        return {
            "coin": coin,
            "szi": dec(pos.szi),
            "leverage": {"type": "cross", "value": leverage},
            "entryPx": dec(pos.entry_px),
            "positionValue": usd(notional),
            "unrealizedPnl": usd(unrealized),
            "returnOnEquity": dec8(unrealized / entry_margin),
            "liquidationPx": _liquidation_px(pos, mark, summary, notional / (2 * ref.max_leverage), ref),
            "marginUsed": usd(notional / leverage),
            "maxLeverage": ref.max_leverage,
            "cumFunding": {
                "allTime": usd(pos.funding_all_time),
                "sinceOpen": usd(pos.funding_since_open),
                "sinceChange": usd(pos.funding_since_change),
            },
        }


@dataclass(frozen=True, slots=True)
class MarginSummary:
    account_value: Decimal
    total_ntl_pos: Decimal
    total_raw_usd: Decimal
    total_margin_used: Decimal
    maintenance_used: Decimal

    @property
    def withdrawable(self) -> Decimal:
        return max(ZERO, self.account_value - self.total_margin_used)

    def wire(self) -> dict[str, str]:
        return {
            "accountValue": usd(self.account_value),
            "totalNtlPos": usd(self.total_ntl_pos),
            "totalRawUsd": usd(self.total_raw_usd),
            "totalMarginUsed": usd(self.total_margin_used),
        }


EMPTY_MARGIN = MarginSummary(ZERO, ZERO, ZERO, ZERO, ZERO)


def clearinghouse_wire(summary: MarginSummary, positions: list[dict[str, Any]], time_ms: int) -> dict[str, Any]:
    """The clearinghouseState document; an unknown user gets it with zeros and no positions (real behaviour)."""
    return {
        "marginSummary": summary.wire(),
        "crossMarginSummary": summary.wire(),
        "crossMaintenanceMarginUsed": usd(summary.maintenance_used),
        "withdrawable": usd(summary.withdrawable),
        "assetPositions": positions,
        "time": time_ms,
    }


def _size_if(order: Order | None, coin: str, is_buy: bool) -> Decimal:
    return order.sz if order is not None and order.coin == coin and order.is_buy == is_buy else ZERO


def _liquidation_px(
    pos: Position,
    mark: Decimal,
    summary: MarginSummary,
    own_maintenance: Decimal,
    ref: MarketRef,
) -> str | None:
    """Price L where equity meets maintenance with other positions held at their marks:
    ``av + szi·(L − mark) = other_maint + |szi|·L·mmf`` with ``mmf = 1 / (2·maxLeverage)``."""
    mmf = Decimal(1) / (2 * ref.max_leverage)
    other_maintenance = summary.maintenance_used - own_maintenance
    denominator = pos.szi - abs(pos.szi) * mmf
    liq = (pos.szi * mark + other_maintenance - summary.account_value) / denominator
    return dec8(liq) if liq > 0 else None
