"""Binance USDⓈ-M perpetuals as NautilusTrader instruments, built offline by NautilusTrader's own Binance adapter.

The live node loads instruments through ``BinanceFuturesInstrumentProvider`` from ``GET /fapi/v1/exchangeInfo``.
A backtest must trade the very same definition, so the catalog's instrument comes from that provider too: it is
given an ``exchangeInfo`` answer from :func:`exchange_info` instead of the network (:class:`OfflineExchangeInfo`),
and parses it with its own code, fee tier 0 included (maker 2 bps, taker 5 bps without credentials: the
provider's table for USDⓈ-M regular users).

:func:`exchange_info` serves the BTCUSDT entry in the shape Binance does. Its fields are those of the BTCUSDT
entry in the exchangeInfo answer NautilusTrader's Binance tests replay (``http_futures_usdt_exchange_info.json``):
tick 0.10, step and minimum quantity 0.001 (both match every price and size in the bundled 2024-08-08
recording); only the minimum notional is newer, 100 USDT, to which Binance raised BTCUSDT's 5 USDT on 2023-11-02.
"""

from __future__ import annotations

import asyncio

import msgspec
from nautilus_trader.adapters.binance.common.constants import BINANCE_VENUE
from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.futures.providers import BinanceFuturesInstrumentProvider
from nautilus_trader.adapters.binance.http.client import BinanceHttpClient
from nautilus_trader.common.component import TestClock
from nautilus_trader.core.nautilus_pyo3 import HttpMethod
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import CryptoPerpetual

EXCHANGE_INFO_PATH = "/fapi/v1/exchangeInfo"
BTCUSDT_PERP = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")

_BTCUSDT = {
    "symbol": "BTCUSDT",
    "pair": "BTCUSDT",
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404802000,
    "onboardDate": 1569398400000,
    "status": "TRADING",
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "underlyingSubType": [],
    "settlePlan": 0,
    "triggerProtect": "0.0500",
    "liquidationFee": "0.012000",
    "marketTakeBound": "0.30",
    "filters": [
        {"filterType": "PRICE_FILTER", "minPrice": "402", "maxPrice": "1246396.60", "tickSize": "0.10"},
        {"filterType": "LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
        {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001", "maxQty": "1000", "minQty": "0.001"},
        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
        {"filterType": "MIN_NOTIONAL", "notional": "100"},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1000", "multiplierDown": "0.5454", "multiplierDecimal": "4"},
    ],
    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
}


def exchange_info(server_time_ms: int) -> dict:
    """An ``exchangeInfo`` answer holding the symbols this module knows, stamped ``server_time_ms``."""
    return {
        "timezone": "UTC",
        "serverTime": server_time_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [],
        "symbols": [_BTCUSDT],
    }


class OfflineExchangeInfo(BinanceHttpClient):
    """A ``BinanceHttpClient`` that answers ``exchangeInfo`` from :func:`exchange_info` and refuses the rest.

    No credentials: the provider then prices fees with its own tier-0 table, as a live node without keys does.
    """

    def __init__(self, server_time_ms: int) -> None:
        super().__init__(clock=TestClock(), api_key=None, api_secret=None, base_url="offline://binance")
        self._body = msgspec.json.encode(exchange_info(server_time_ms))

    async def send_request(self, http_method: HttpMethod, url_path: str, payload=None, ratelimiter_keys=None) -> bytes:
        if http_method == HttpMethod.GET and url_path == EXCHANGE_INFO_PATH:
            return self._body
        raise ConnectionError(f"offline: no answer for {url_path}")


def usdm_perpetual(instrument_id: InstrumentId, ts_ns: int) -> CryptoPerpetual:
    """``instrument_id`` (e.g. ``BTCUSDT-PERP.BINANCE``) as NautilusTrader's Binance provider builds it, with
    ``ts_event``/``ts_init`` at ``ts_ns`` (the start of the data it comes with). Unknown symbols raise ``KeyError``."""
    clock = TestClock()
    clock.set_time(ts_ns)
    provider = BinanceFuturesInstrumentProvider(
        client=OfflineExchangeInfo(ts_ns // 1_000_000),
        clock=clock,
        account_type=BinanceAccountType.USDT_FUTURES,
        venue=BINANCE_VENUE,
    )
    known = [symbol["symbol"] for symbol in exchange_info(0)["symbols"]]
    if instrument_id.venue != BINANCE_VENUE or instrument_id.symbol.value.removesuffix("-PERP") not in known:
        raise KeyError(f"{instrument_id} is not a known Binance USDⓈ-M perpetual (known: {', '.join(known)})")
    asyncio.run(provider.load_async(instrument_id))
    instrument = provider.find(instrument_id)
    if not isinstance(instrument, CryptoPerpetual):
        raise KeyError(f"{instrument_id}: the provider built no perpetual from its exchangeInfo entry")
    return instrument
