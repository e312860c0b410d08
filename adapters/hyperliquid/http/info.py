"""``POST /info`` endpoints used by the provider and the clients, decoded into the schemas' Structs.

Each call acquires its documented IP weight first (protocol §6.6, the table in ``weights.py`` that the local
exchange charges with too); list endpoints are charged their per-item weight after the answer, when the count is
known. ``user`` is always the master/sub-account address, never an
agent's (an agent's address answers with an empty account, protocol §9.5).
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.hyperliquid.constants import MAX_FILLS_PER_RESPONSE
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.schemas.market import AssetCtx
from adapters.hyperliquid.schemas.market import L2Book
from adapters.hyperliquid.schemas.market import PerpMeta
from adapters.hyperliquid.schemas.user import ClearinghouseState
from adapters.hyperliquid.schemas.user import OpenOrder
from adapters.hyperliquid.schemas.user import OrderStatusResponse
from adapters.hyperliquid.schemas.user import OrderUpdate
from adapters.hyperliquid.schemas.user import UserFees
from adapters.hyperliquid.schemas.user import UserFill
from adapters.hyperliquid.schemas.user import UserRateLimit
from adapters.hyperliquid.weights import info_items_weight
from adapters.hyperliquid.weights import info_weight

_encode = msgspec.json.encode


class HyperliquidInfoEndpoints:
    def __init__(self, client: HyperliquidHttpClient) -> None:
        self._client = client
        self._decoders: dict[Any, msgspec.json.Decoder] = {}

    async def meta(self) -> PerpMeta:
        return await self._query({"type": "meta"}, PerpMeta)

    async def meta_and_asset_ctxs(self) -> tuple[PerpMeta, list[AssetCtx]]:
        return await self._query({"type": "metaAndAssetCtxs"}, tuple[PerpMeta, list[AssetCtx]])

    async def l2_book(self, coin: str) -> L2Book:
        return await self._query({"type": "l2Book", "coin": coin}, L2Book)

    async def clearinghouse_state(self, user: str) -> ClearinghouseState:
        return await self._query({"type": "clearinghouseState", "user": user}, ClearinghouseState)

    async def frontend_open_orders(self, user: str) -> list[OpenOrder]:
        return await self._query({"type": "frontendOpenOrders", "user": user}, list[OpenOrder])

    async def order_status(self, user: str, oid_or_cloid: int | str) -> OrderStatusResponse:
        return await self._query({"type": "orderStatus", "user": user, "oid": oid_or_cloid}, OrderStatusResponse)

    async def historical_orders(self, user: str) -> list[OrderUpdate]:
        return await self._query({"type": "historicalOrders", "user": user}, list[OrderUpdate])

    async def user_rate_limit(self, user: str) -> UserRateLimit:
        return await self._query({"type": "userRateLimit", "user": user}, UserRateLimit)

    async def user_fees(self, user: str) -> UserFees:
        """The account's maker and taker rates in effect (weight 20: not one of §6.6's light requests)."""
        return await self._query({"type": "userFees", "user": user}, UserFees)

    async def user_fills_by_time(self, user: str, start_ms: int, end_ms: int | None = None) -> list[UserFill]:
        """Every fill in ``[start_ms, end_ms]``, oldest first, paging past the venue's 2000-per-answer cap (the
        next page starts at the last time seen; times are inclusive, so overlaps are dropped by trade id)."""
        fills: dict[str, UserFill] = {}
        while True:
            body: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start_ms}
            body["aggregateByTime"] = False
            if end_ms is not None:
                body["endTime"] = end_ms
            page = await self._query(body, list[UserFill])
            new = [fill for fill in page if fill.trade_id.value not in fills]
            fills.update((fill.trade_id.value, fill) for fill in page)
            if len(page) < MAX_FILLS_PER_RESPONSE or not new:
                break
            start_ms = max(fill.time for fill in page)
        return sorted(fills.values(), key=lambda fill: (fill.time, fill.tid or 0))

    async def _query(self, body: dict[str, Any], schema: Any) -> Any:
        info_type = body["type"]
        raw = await self._client.post("/info", _encode(body), info_weight(info_type), idempotent=True)
        try:
            result = self._decoder(schema).decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            raise HyperliquidHttpError(200, f"unexpected {info_type} answer: {error}") from None
        if isinstance(result, list):
            self._client.limiter.charge(info_items_weight(info_type, len(result)))
        return result

    def _decoder(self, schema: Any) -> msgspec.json.Decoder:
        decoder = self._decoders.get(schema)
        if decoder is None:
            decoder = self._decoders[schema] = msgspec.json.Decoder(schema)
        return decoder
