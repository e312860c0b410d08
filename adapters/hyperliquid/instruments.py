"""Build the NautilusTrader instrument for a Hyperliquid perp from a real ``meta`` universe entry.

Shared by the catalog loaders, the live instrument provider and the local exchange, so a backtest and a
live session trade the very same instrument definition.

Currency choice: Hyperliquid perps are margined and settled in USDC and every price is a USDC price, so the
instrument quotes **and** settles in USDC. NautilusTrader 1.231 cannot value a USD-quoted instrument in a
USDC margin account ("insufficient data for USD/USDC"); quoting in USDC keeps one currency end to end.
The id keeps the venue's conventional ``<COIN>-USD-PERP`` symbol.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.identifiers import Symbol
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency
from nautilus_trader.model.objects import Money
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.hyperliquid.rules import MIN_NOTIONAL_USD
from adapters.hyperliquid.rules import max_price_decimals

HYPERLIQUID_VENUE = Venue("HYPERLIQUID")
# Base tier perp fees (hyperliquid_protocol.md §6.4): maker 1.5 bps, taker 4.5 bps.
BASE_MAKER_FEE = Decimal("0.00015")
BASE_TAKER_FEE = Decimal("0.00045")


def perp_instrument_id(coin: str) -> InstrumentId:
    return InstrumentId(Symbol(f"{coin}-USD-PERP"), HYPERLIQUID_VENUE)


def find_asset(meta: dict[str, Any], coin: str) -> tuple[int, dict[str, Any]]:
    """Return (asset id, universe entry). The asset id is the index in ``universe``, delisted entries included."""
    for index, entry in enumerate(meta["universe"]):
        if entry["name"] == coin:
            return index, entry
    raise KeyError(f"coin {coin!r} not in meta universe ({len(meta['universe'])} assets)")


def perpetual_from_meta(
    meta: dict[str, Any],
    coin: str,
    maker_fee: Decimal = BASE_MAKER_FEE,
    taker_fee: Decimal = BASE_TAKER_FEE,
    ts_ns: int = 0,
) -> CryptoPerpetual:
    """Map ``meta.universe[coin]`` to a ``CryptoPerpetual``.

    Price precision is the venue's decimals cap ``6 - szDecimals`` (its finest possible tick); the tick that
    binds at a given price (5 significant figures) is applied by ``rules.round_price`` when quoting.
    Margins follow ``maxLeverage``: initial 1/maxLeverage, maintenance half of it (the venue's rule).
    """
    _, entry = find_asset(meta, coin)
    sz_decimals = int(entry["szDecimals"])
    px_decimals = max_price_decimals(sz_decimals)
    max_leverage = Decimal(entry["maxLeverage"])
    margin_init = Decimal(1) / max_leverage
    return CryptoPerpetual(
        instrument_id=perp_instrument_id(coin),
        raw_symbol=Symbol(coin),
        base_currency=Currency.from_str(coin) if _is_known_currency(coin) else _crypto(coin),
        quote_currency=USDC,
        settlement_currency=USDC,
        is_inverse=False,
        price_precision=px_decimals,
        size_precision=sz_decimals,
        price_increment=Price(Decimal(1).scaleb(-px_decimals), px_decimals),
        size_increment=Quantity(Decimal(1).scaleb(-sz_decimals), sz_decimals),
        min_notional=Money(MIN_NOTIONAL_USD, USDC),
        margin_init=margin_init,
        margin_maint=margin_init / 2,
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        ts_event=ts_ns,
        ts_init=ts_ns,
        info={"asset": find_asset(meta, coin)[0], "szDecimals": sz_decimals, "maxLeverage": int(max_leverage)},
    )


def sz_decimals_of(instrument: CryptoPerpetual) -> int:
    return instrument.size_precision


def _is_known_currency(code: str) -> bool:
    try:
        Currency.from_str(code, strict=True)
    except ValueError:
        return False
    return True


def _crypto(code: str) -> Currency:
    from nautilus_trader.model.enums import CurrencyType

    return Currency(code, 8, 0, code, CurrencyType.CRYPTO)
