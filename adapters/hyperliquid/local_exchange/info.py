"""``POST /info`` (and WS ``post`` info requests), in the shapes of the real captures.

Lists come newest first, as in the captured ``openOrders``, ``userFills``, ``userFillsByTime`` and
``historicalOrders``. A user the venue has never seen gets the venue's empty answers (empty lists, a
zeroed clearinghouseState, ``unknownOid``, the base tier's ``userFees``), never an error. Only the replayed coins
have a book and a mid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.hyperliquid.local_exchange.config import BASE_MAKER_FEE
from adapters.hyperliquid.local_exchange.config import BASE_TAKER_FEE
from adapters.hyperliquid.local_exchange.engine import Venue
from adapters.hyperliquid.local_exchange.errors import deserialize_error
from adapters.hyperliquid.local_exchange.ratelimit import user_rate_limit_wire
from adapters.hyperliquid.local_exchange.schema import InfoRequest
from adapters.hyperliquid.local_exchange.schema import parse_info
from adapters.hyperliquid.local_exchange.state import EMPTY_MARGIN
from adapters.hyperliquid.local_exchange.state import clearinghouse_wire
from adapters.hyperliquid.local_exchange.wire import dec

MAX_FILLS = 2000
MAX_HISTORICAL = 2000
MAX_FUNDING = 500
# No spot market is modelled: the spot meta lists USDC alone, the perp collateral (entry as in the real-shaped
# nautilus_trader fixture http_spot_meta_non_usdc_collateral.json). The official SDK's constructors read it.
SPOT_META = {
    "tokens": [{"index": 0, "isCanonical": True, "name": "USDC", "szDecimals": 8, "tokenId": "0x1", "weiDecimals": 8}],
    "universe": [],
}

# userFees' schedule: the base tier, the volume (VIP) tiers and the maker-rebate tiers of protocol §6.4, in the
# documented answer's shape; the VIP tiers' spot rates are those of the polynode fee research page (its VIP 1 row
# matches the documented answer).
FEE_SCHEDULE = {
    "cross": dec(BASE_TAKER_FEE),
    "add": dec(BASE_MAKER_FEE),
    "spotCross": "0.0007",
    "spotAdd": "0.0004",
    "tiers": {
        "vip": [
            {"ntlCutoff": cutoff, "cross": cross, "add": add, "spotCross": spot_cross, "spotAdd": spot_add}
            for cutoff, cross, add, spot_cross, spot_add in (
                ("5000000.0", "0.0004", "0.00012", "0.0006", "0.0003"),
                ("25000000.0", "0.00035", "0.00008", "0.0005", "0.0002"),
                ("100000000.0", "0.0003", "0.00004", "0.0004", "0.0001"),
                ("500000000.0", "0.00028", "0.0", "0.00035", "0.0"),
                ("2000000000.0", "0.00026", "0.0", "0.0003", "0.0"),
                ("7000000000.0", "0.00024", "0.0", "0.00025", "0.0"),
            )
        ],
        "mm": [
            {"makerFractionCutoff": cutoff, "add": add}
            for cutoff, add in (("0.005", "-0.00001"), ("0.015", "-0.00002"), ("0.03", "-0.00003"))
        ],
    },
    "referralDiscount": "0.04",
    "stakingDiscountTiers": [{"bpsOfMaxSupply": "0.0", "discount": "0.0"}],
}


class InfoHandler:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self._handlers: dict[str, Callable[[InfoRequest], Any]] = {
            "meta": lambda _: venue.meta,
            "metaAndAssetCtxs": self._meta_and_asset_ctxs,
            "l2Book": self._l2_book,
            "allMids": lambda _: venue.mids(),
            "clearinghouseState": self._clearinghouse_state,
            "spotClearinghouseState": self._spot_clearinghouse_state,
            "openOrders": lambda request: [o.open_orders_wire() for o in venue.user_open_orders(request.user())],
            "frontendOpenOrders": lambda request: [o.frontend_wire() for o in venue.user_open_orders(request.user())],
            "userFills": self._user_fills,
            "userFillsByTime": self._user_fills_by_time,
            "orderStatus": self._order_status,
            "historicalOrders": self._historical_orders,
            "userRateLimit": self._user_rate_limit,
            "userFees": self._user_fees,
            "spotMeta": lambda _: SPOT_META,
            "spotMetaAndAssetCtxs": lambda _: [SPOT_META, []],
            "candleSnapshot": self._candle_snapshot,
            "fundingHistory": self._funding_history,
            "userFunding": self._user_funding,
        }
        self.types = tuple(self._handlers)

    def parse(self, body: Any) -> InfoRequest:
        return parse_info(body, self.types)

    def answer(self, request: InfoRequest) -> Any:
        return self._handlers[request.type](request)

    def _meta_and_asset_ctxs(self, _: InfoRequest) -> list:
        return [self.venue.meta, [self.venue.asset_ctx(market) for market in self.venue.markets_by_asset]]

    def _l2_book(self, request: InfoRequest) -> dict[str, Any] | None:
        market = self.venue.markets.get(request.coin())
        n_sig_figs, mantissa = book_aggregation(request.body)
        if market is None:
            return None
        if market.book is None:
            return {"coin": market.coin, "time": self.venue.clock.now_ms(), "levels": [[], []]}
        return {"coin": market.coin, "time": market.book.time_ms, "levels": market.book.wire(n_sig_figs, mantissa)}

    def _clearinghouse_state(self, request: InfoRequest) -> dict[str, Any]:
        account = self.venue.accounts.get(request.user())
        now_ms = self.venue.clock.now_ms()
        if account is None:
            return clearinghouse_wire(EMPTY_MARGIN, [], now_ms)
        return account.clearinghouse_wire(self.venue.refs(), self.venue.config.default_leverage, now_ms)

    @staticmethod
    def _spot_clearinghouse_state(request: InfoRequest) -> dict[str, Any]:
        """Perp collateral only: no spot balances are modelled."""
        request.user()
        return {"balances": []}

    def _fills(self, user: str) -> list[dict[str, Any]]:
        account = self.venue.accounts.get(user)
        return account.fills if account is not None else []

    def _user_fills(self, request: InfoRequest) -> list[dict[str, Any]]:
        return self._fills(request.user())[::-1][:MAX_FILLS]

    def _user_fills_by_time(self, request: InfoRequest) -> list[dict[str, Any]]:
        """Inclusive range; at most 2000, the earliest of the range, so paging on the last time works."""
        start = request.int_field("startTime")
        end = request.optional_int("endTime")
        selected = [f for f in self._fills(request.user()) if f["time"] >= start and (end is None or f["time"] <= end)]
        return selected[:MAX_FILLS][::-1]

    def _order_status(self, request: InfoRequest) -> dict[str, Any]:
        order = self.venue.find_order(request.user(), request.oid())
        if order is None:
            return {"status": "unknownOid"}
        return {"status": "order", "order": order.status_wire()}

    def _historical_orders(self, request: InfoRequest) -> list[dict[str, Any]]:
        user = request.user()
        orders = [o for o in self.venue.orders.values() if o.user == user]
        orders.sort(key=lambda o: o.oid, reverse=True)
        return [o.status_wire() for o in orders[:MAX_HISTORICAL]]

    def _candle_snapshot(self, request: InfoRequest) -> list[dict[str, Any]]:
        coin, interval, start_ms, end_ms = request.candle_request()
        return self.venue.candles.candles(coin, interval, start_ms, end_ms)

    def _funding_history(self, request: InfoRequest) -> list[dict[str, Any]]:
        coin, (start, end) = request.coin(), _time_range(request)
        rates = [f for f in self.venue.funding_history if f["coin"] == coin and start <= f["time"] <= end]
        return rates[:MAX_FUNDING]

    def _user_funding(self, request: InfoRequest) -> list[dict[str, Any]]:
        start, end = _time_range(request)
        payments = self.venue.user_funding.get(request.user(), [])
        return [p for p in payments if start <= p["time"] <= end][:MAX_FUNDING]

    def web_data(self, user: str) -> dict[str, Any]:
        """``webData2``: the front end's aggregate of one account. The venue's has more keys (vaults, TWAPs,
        spot) and is deprecated (reference §5.2); this carries what a client can use, in the same shapes."""
        account = self.venue.accounts.get(user)
        now_ms = self.venue.clock.now_ms()
        return {
            "clearinghouseState": self._clearinghouse_state(InfoRequest("clearinghouseState", {"user": user})),
            "leadingVaults": [],
            "totalVaultEquity": "0.0",
            "openOrders": [o.frontend_wire() for o in self.venue.user_open_orders(user)] if account else [],
            "agentAddress": None,
            "agentValidUntil": None,
            "cumLedger": "0.0",
            "meta": self.venue.meta,
            "assetCtxs": [self.venue.asset_ctx(market) for market in self.venue.markets_by_asset],
            "serverTime": now_ms,
            "isVault": False,
            "user": user,
        }

    def _user_rate_limit(self, request: InfoRequest) -> dict[str, Any]:
        account = self.venue.accounts.get(request.user())
        return user_rate_limit_wire(account, self.venue.config.address_initial_buffer)

    def _user_fees(self, request: InfoRequest) -> dict[str, Any]:
        """The account's configured perp rates, as ``userAddRate`` (maker; negative for a rebate) and
        ``userCrossRate`` (taker). ``dailyUserVlm`` is empty: the venue lists each recent day's volumes, which no
        client here reads and this exchange does not keep."""
        account = self.venue.accounts.get(request.user())
        maker, taker = (BASE_MAKER_FEE, BASE_TAKER_FEE) if account is None else (account.maker_fee, account.taker_fee)
        return {
            "dailyUserVlm": [],
            "feeSchedule": FEE_SCHEDULE,
            "userCrossRate": dec(taker),
            "userAddRate": dec(maker),
            "userSpotCrossRate": FEE_SCHEDULE["spotCross"],
            "userSpotAddRate": FEE_SCHEDULE["spotAdd"],
            "activeReferralDiscount": "0.0",
            "trial": None,
            "feeTrialReward": "0.0",
            "nextTrialAvailableTimestamp": None,
            "stakingLink": None,
            "activeStakingDiscount": {"bpsOfMaxSupply": "0.0", "discount": "0.0"},
        }


def _time_range(request: InfoRequest) -> tuple[int, int]:
    end = request.optional_int("endTime")
    return request.int_field("startTime"), end if end is not None else 2**63


def book_aggregation(body: dict[str, Any]) -> tuple[int | None, int | None]:
    """``nSigFigs`` ∈ {2,3,4,5} or null; ``mantissa`` ∈ {1,2,5}, only with nSigFigs 5 (reference §2.4)."""
    n_sig_figs = body.get("nSigFigs")
    mantissa = body.get("mantissa")
    if n_sig_figs is not None and (type(n_sig_figs) is not int or n_sig_figs not in (2, 3, 4, 5)):
        raise deserialize_error(f"nSigFigs: invalid value {n_sig_figs!r}, expected 2, 3, 4, 5 or null")
    if mantissa is not None and (type(mantissa) is not int or mantissa not in (1, 2, 5) or n_sig_figs != 5):
        raise deserialize_error(f"mantissa: invalid value {mantissa!r}, allowed only with nSigFigs 5")
    return n_sig_figs, mantissa
