"""Public market data: ``meta``/``metaAndAssetCtxs``, ``l2Book``, ``bbo``, ``trades`` and ``activeAssetCtx``.

Shapes follow the real captures (protocol §2, §5.2): every price and size is a decimal string, ids and times are
integers, and optional keys are absent rather than false. Unknown keys are ignored so a venue that adds a field
does not break decoding; a missing required key fails decoding and the frame is skipped by the caller.
"""

from __future__ import annotations

import msgspec
from nautilus_trader.model.data import FundingRateUpdate
from nautilus_trader.model.data import MarkPriceUpdate
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.identifiers import TradeId
from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.parsing import aggressor_side
from adapters.hyperliquid.parsing import decimal
from adapters.hyperliquid.parsing import event_ns
from adapters.hyperliquid.parsing import price
from adapters.hyperliquid.parsing import quantity

# Funding is paid every hour (protocol §6.5).
FUNDING_INTERVAL_MINS = 60

Level = tuple[float, float]
"""``(price, size)`` as ``SnapshotDiffer`` takes it."""


class UniverseEntry(msgspec.Struct, frozen=True):
    name: str
    szDecimals: int
    maxLeverage: int
    onlyIsolated: bool | None = None
    isDelisted: bool | None = None


class PerpMeta(msgspec.Struct, frozen=True):
    """``meta``: the asset id of a coin is its index in ``universe``, delisted entries included."""

    universe: list[UniverseEntry]

    def listed_coins(self) -> list[str]:
        return [entry.name for entry in self.universe if not entry.isDelisted]


class AssetCtx(msgspec.Struct, frozen=True):
    """Per-asset context of ``metaAndAssetCtxs`` and ``activeAssetCtx``; ``funding`` is the hourly rate."""

    funding: str
    markPx: str
    oraclePx: str | None = None
    openInterest: str | None = None
    premium: str | None = None
    midPx: str | None = None
    impactPxs: list[str] | None = None
    prevDayPx: str | None = None
    dayNtlVlm: str | None = None

    def parse_to_mark_price(self, instrument: Instrument, ts_event: int, ts_init: int) -> MarkPriceUpdate:
        return MarkPriceUpdate(instrument.id, price(self.markPx, instrument), ts_event, ts_init)

    def parse_to_funding_rate(self, instrument: Instrument, ts_event: int, ts_init: int) -> FundingRateUpdate:
        return FundingRateUpdate(
            instrument.id,
            decimal(self.funding),
            ts_event,
            ts_init,
            interval=FUNDING_INTERVAL_MINS,
        )


class ActiveAssetCtx(msgspec.Struct, frozen=True):
    coin: str
    ctx: AssetCtx


class BookLevel(msgspec.Struct, frozen=True, gc=False):
    """Untracked by the garbage collector (it holds only strings and an int, so it can be in no cycle): a book
    frame decodes 40 of them, which would otherwise count towards the collections that pause the node."""

    px: str
    sz: str
    n: int | None = None


class L2Book(msgspec.Struct, frozen=True):
    """A full book snapshot (``l2Book`` WS data and the ``/info`` answer): bids best first, then asks."""

    coin: str
    time: int
    levels: tuple[list[BookLevel], list[BookLevel]]

    def parse_levels(self) -> tuple[list[Level], list[Level]]:
        """Both sides as ``(price, size)`` floats, order kept; a non-positive level is malformed."""
        bids = [(float(level.px), float(level.sz)) for level in self.levels[0]]
        asks = [(float(level.px), float(level.sz)) for level in self.levels[1]]
        return _positive(bids, asks)


class L2BookFrame(msgspec.Struct, frozen=True):
    """A whole ``l2Book`` WS frame (``{"channel":"l2Book","data":{…}}``), so the live feed reads the book without
    first decoding the envelope and then its raw ``data`` a second time. Strict like every ``L2Book`` decode: a
    frame the loaders refuse (a numeric ``px``, a string ``time``) is refused live too. Reading the level strings
    as floats inside msgspec (``strict=False``) saved ~5 µs a frame more but would take numbers and strings alike,
    and msgspec has no lax-for-one-field mode."""

    channel: str
    data: L2Book


BOOK_FRAME_PREFIX = '{"channel":"l2Book",'
"""How the venue's ``l2Book`` frames start; a frame that is one but starts otherwise takes the envelope path."""
BOOK_FRAME_DECODER = msgspec.json.Decoder(L2BookFrame)


def _positive(bids: list[Level], asks: list[Level]) -> tuple[list[Level], list[Level]]:
    """The levels, once every one is positive (checked before the caller uses the book at all, even its time)."""
    for levels in (bids, asks):
        for px, sz in levels:
            if not (px > 0 and sz > 0):
                raise ValueError(f"non-positive book level ({px}, {sz})")
    return bids, asks


class Bbo(msgspec.Struct, frozen=True):
    """``bbo``: pushed when the top of book changes; a side is ``null`` when empty."""

    coin: str
    time: int
    bbo: tuple[BookLevel | None, BookLevel | None]

    def parse_to_quote_tick(self, instrument: Instrument, ts_init: int) -> QuoteTick | None:
        bid, ask = self.bbo
        if bid is None or ask is None:
            return None
        return QuoteTick(
            instrument.id,
            price(bid.px, instrument),
            price(ask.px, instrument),
            quantity(bid.sz, instrument),
            quantity(ask.sz, instrument),
            event_ns(self.time, ts_init),
            ts_init,
        )


class Trade(msgspec.Struct, frozen=True):
    """One public trade; ``side`` is the aggressor's. ``(time, tid)`` identifies it (``tid`` alone is a hash of
    the two order ids, protocol §5.2)."""

    coin: str
    side: str
    px: str
    sz: str
    time: int
    tid: int
    hash: str = ""
    users: list[str] | None = None

    @property
    def key(self) -> tuple[int, int]:
        return self.time, self.tid

    def parse_to_trade_tick(self, instrument: Instrument, ts_init: int) -> TradeTick:
        return TradeTick(
            instrument.id,
            price(self.px, instrument),
            quantity(self.sz, instrument),
            aggressor_side(self.side),
            TradeId(str(self.tid)),
            event_ns(self.time, ts_init),
            ts_init,
        )
