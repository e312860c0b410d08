"""Account data: open orders, order statuses, fills, user events, positions, fee rates and the address request budget.

Each schema parses itself into the NautilusTrader report or value the execution client needs, so the client
only decides *what* to do with a message. Fills from 2023 captures predate ``tid``; those get a trade id derived
from fields that together identify a fill, so they can still be reported and deduplicated.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import msgspec
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.execution.reports import FillReport
from nautilus_trader.execution.reports import OrderStatusReport
from nautilus_trader.execution.reports import PositionStatusReport
from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.enums import LiquiditySide
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.enums import TriggerType
from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Quantity

from adapters.hyperliquid import parsing


class OpenOrder(msgspec.Struct, frozen=True):
    """An order as ``openOrders``/``frontendOpenOrders``/``orderUpdates``/``orderStatus`` describe it; ``sz`` is
    the remaining size. ``frontendOpenOrders`` adds ``origSz``, ``tif``, ``reduceOnly``, ``orderType``, ``cloid``."""

    coin: str
    side: str
    limitPx: str
    sz: str
    oid: int
    timestamp: int
    origSz: str | None = None
    cloid: str | None = None
    reduceOnly: bool = False
    orderType: str | None = None
    tif: str | None = None
    isTrigger: bool = False
    triggerPx: str | None = None

    @property
    def remaining(self) -> Decimal:
        return parsing.decimal(self.sz)

    @property
    def original(self) -> Decimal:
        return parsing.decimal(self.origSz if self.origSz is not None else self.sz)

    def parse_to_order_status_report(
        self,
        account_id: AccountId,
        instrument: Instrument,
        client_order_id: ClientOrderId | None,
        status: str,
        ts_last: int,
        ts_init: int,
    ) -> OrderStatusReport:
        nautilus_status = parsing.order_status(status, self.remaining, self.original)
        if nautilus_status is None:
            raise ValueError(f"unknown order status {status!r}")
        time_in_force, post_only = parsing.time_in_force(self.tif)
        order_type = parsing.order_type(self.orderType)
        is_trigger = self.isTrigger and self.triggerPx is not None
        return OrderStatusReport(
            account_id=account_id,
            instrument_id=instrument.id,
            venue_order_id=VenueOrderId(str(self.oid)),
            client_order_id=client_order_id,
            order_side=parsing.order_side(self.side),
            order_type=order_type,
            time_in_force=time_in_force,
            order_status=nautilus_status,
            price=parsing.price(self.limitPx, instrument),
            trigger_price=parsing.price(self.triggerPx, instrument) if is_trigger else None,
            # The venue triggers on the mark price (protocol §3.2).
            trigger_type=TriggerType.MARK_PRICE if is_trigger else TriggerType.NO_TRIGGER,
            quantity=Quantity(self.original, instrument.size_precision),
            filled_qty=Quantity(self.original - self.remaining, instrument.size_precision),
            post_only=post_only,
            reduce_only=self.reduceOnly,
            report_id=UUID4(),
            ts_accepted=parsing.ms_to_ns(self.timestamp),
            ts_last=ts_last,
            ts_init=ts_init,
        )


class OrderUpdate(msgspec.Struct, frozen=True):
    """One ``orderUpdates`` entry, also the shape of ``orderStatus.order`` and ``historicalOrders`` entries."""

    order: OpenOrder
    status: str
    statusTimestamp: int


class OrderStatusResponse(msgspec.Struct, frozen=True):
    """``orderStatus``: ``{"status": "order", "order": {...}}`` or ``{"status": "unknownOid"}``."""

    status: str
    order: OrderUpdate | None = None


class Liquidation(msgspec.Struct, frozen=True):
    markPx: str
    method: str
    liquidatedUser: str | None = None


class UserFill(msgspec.Struct, frozen=True):
    """One fill (``userFills``, ``userFillsByTime``, WS ``userFills``/``user``). ``fee`` includes any builder fee
    and is negative for a rebate; ``crossed`` means taker."""

    coin: str
    px: str
    sz: str
    side: str
    time: int
    oid: int
    crossed: bool
    fee: str
    hash: str = ""
    dir: str = ""
    startPosition: str | None = None
    closedPnl: str | None = None
    tid: int | None = None
    feeToken: str = "USDC"
    builderFee: str | None = None
    cloid: str | None = None
    liquidation: Liquidation | None = None

    @property
    def trade_id(self) -> TradeId:
        """``tid``; for tid-less (2023) fills a digest of the transaction hash, order id, time, price and size
        (a ``TradeId`` holds at most 36 characters)."""
        if self.tid is not None:
            return TradeId(str(self.tid))
        key = f"{self.hash}|{self.oid}|{self.time}|{self.px}|{self.sz}".encode()
        return TradeId(hashlib.blake2b(key, digest_size=16).hexdigest())

    @property
    def liquidity_side(self) -> LiquiditySide:
        return LiquiditySide.TAKER if self.crossed else LiquiditySide.MAKER

    def commission(self) -> Money:
        """The fee in USDC. Perp fees are USDC; a fee in another token (spot) is not convertible here."""
        if self.feeToken != USDC.code:
            raise ValueError(f"fee in {self.feeToken}, not USDC")
        return Money(parsing.decimal(self.fee), USDC)

    def parse_to_fill_report(
        self,
        account_id: AccountId,
        instrument: Instrument,
        client_order_id: ClientOrderId | None,
        ts_init: int,
    ) -> FillReport:
        return FillReport(
            account_id=account_id,
            instrument_id=instrument.id,
            venue_order_id=VenueOrderId(str(self.oid)),
            client_order_id=client_order_id,
            trade_id=self.trade_id,
            order_side=parsing.order_side(self.side),
            last_qty=parsing.quantity(self.sz, instrument),
            last_px=parsing.price(self.px, instrument),
            commission=self.commission(),
            liquidity_side=self.liquidity_side,
            report_id=UUID4(),
            ts_event=parsing.ms_to_ns(self.time),
            ts_init=ts_init,
        )


class UserFills(msgspec.Struct, frozen=True):
    """WS ``userFills``: a snapshot (``isSnapshot: true``) after subscribing, then streamed fills (the key may be
    absent or false, protocol §10)."""

    user: str
    fills: list[UserFill]
    isSnapshot: bool = False


class NonUserCancel(msgspec.Struct, frozen=True):
    coin: str
    oid: int


class UserFunding(msgspec.Struct, frozen=True):
    time: int
    coin: str
    usdc: str
    szi: str
    fundingRate: str


class AccountLiquidation(msgspec.Struct, frozen=True):
    """``WsLiquidation`` of ``userEvents``: unlike everything else it uses snake_case keys (protocol §5.2)."""

    liquidated_user: str | None = None
    liquidated_ntl_pos: str | None = None
    liquidated_account_value: str | None = None
    liquidator: str | None = None
    lid: int | None = None


class UserEvent(msgspec.Struct, frozen=True):
    """WS ``userEvents`` (channel ``user``): exactly one of these keys is present."""

    fills: list[UserFill] | None = None
    funding: UserFunding | None = None
    nonUserCancel: list[NonUserCancel] | None = None
    liquidation: AccountLiquidation | None = None


class Leverage(msgspec.Struct, frozen=True):
    type: str
    value: int


class Position(msgspec.Struct, frozen=True):
    coin: str
    szi: str
    entryPx: str | None = None
    unrealizedPnl: str = "0"
    leverage: Leverage | None = None
    liquidationPx: str | None = None
    positionValue: str | None = None
    marginUsed: str | None = None


class AssetPosition(msgspec.Struct, frozen=True):
    position: Position
    type: str = "oneWay"


class MarginSummary(msgspec.Struct, frozen=True):
    accountValue: str
    totalNtlPos: str
    totalRawUsd: str
    totalMarginUsed: str


class ClearinghouseState(msgspec.Struct, frozen=True):
    """``clearinghouseState`` (perp account). ``szi`` is signed; ``totalRawUsd`` can be negative."""

    assetPositions: list[AssetPosition]
    crossMarginSummary: MarginSummary
    withdrawable: str
    time: int | None = None  # absent from 2023 captures
    marginSummary: MarginSummary | None = None

    def ts_ns(self, default_ns: int) -> int:
        return parsing.ms_to_ns(self.time) if self.time is not None else default_ns

    def positions(self) -> dict[str, Position]:
        return {asset.position.coin: asset.position for asset in self.assetPositions}

    def account_value(self) -> Decimal:
        return parsing.decimal((self.marginSummary or self.crossMarginSummary).accountValue)

    def cash(self) -> Decimal:
        """Account value without the positions' unrealized PnL: what NautilusTrader holds as the balance, while
        the portfolio adds unrealized PnL itself (reporting both would count it twice)."""
        unrealized = sum((parsing.decimal(p.position.unrealizedPnl) for p in self.assetPositions), Decimal(0))
        return self.account_value() - unrealized

    def margin_used(self) -> Decimal:
        return parsing.decimal((self.marginSummary or self.crossMarginSummary).totalMarginUsed)

    def parse_to_position_status_report(
        self,
        account_id: AccountId,
        instrument: Instrument,
        ts_init: int,
    ) -> PositionStatusReport:
        """The position in ``instrument`` (FLAT when the venue lists none), so reconciliation can also close one."""
        position = self.positions().get(instrument.raw_symbol.value)
        szi = parsing.decimal(position.szi) if position is not None else Decimal(0)
        side = PositionSide.FLAT if szi == 0 else PositionSide.LONG if szi > 0 else PositionSide.SHORT
        entry = position.entryPx if position is not None and szi != 0 else None
        return PositionStatusReport(
            account_id=account_id,
            instrument_id=instrument.id,
            position_side=side,
            quantity=Quantity(abs(szi), instrument.size_precision),
            avg_px_open=parsing.decimal(entry) if entry is not None else None,
            report_id=UUID4(),
            ts_last=self.ts_ns(ts_init),
            ts_init=ts_init,
        )


class UserRateLimit(msgspec.Struct, frozen=True):
    """``userRateLimit``: address actions used and allowed (``nRequestsCap`` = 10000 + cumulative USDC volume)."""

    cumVlm: str
    nRequestsUsed: int
    nRequestsCap: int
    nRequestsSurplus: int = 0


# A fee rate is a fraction of notional: perp rates run from the best maker rebate (-0.003 %) to the base taker rate
# (0.045 %), §6.4. One of 1 % or more is not a rate the venue sets but a misread (a percentage taken as a fraction).
MAX_FEE_RATE_FRAC = Decimal("0.01")


class UserFees(msgspec.Struct, frozen=True):
    """``userFees``: the account's perp rates in effect, its volume tier, staking and referral discounts applied
    (protocol §2.11, §6.4). ``userAddRate`` is the maker rate (negative for a rebate tier), ``userCrossRate`` the
    taker rate. Only these two are read; the rest of the answer (``feeSchedule``, ``dailyUserVlm``, ...) is
    ignored. A rate that is not a finite fraction below 1 % fails decoding (``msgspec.ValidationError``)."""

    userAddRate: Decimal
    userCrossRate: Decimal

    def __post_init__(self) -> None:
        for name, rate in (("userAddRate", self.userAddRate), ("userCrossRate", self.userCrossRate)):
            if not rate.is_finite() or abs(rate) >= MAX_FEE_RATE_FRAC:
                raise ValueError(f"{name} {rate} is not a fee rate (a fraction of notional, |rate| < 0.01)")


OPEN_ORDERS = list[OpenOrder]
ORDER_UPDATES = list[OrderUpdate]
USER_FILLS = list[UserFill]
