"""``HyperliquidInstrumentProvider``: perpetuals from the venue's ``meta``, built by ``perpetual_from_meta``.

The same function builds the backtest catalog's instrument (``loaders``) and the local exchange's, so a live
session trades exactly the instrument definition its backtest used. The provider also answers the two venue
lookups the clients need on every message: a coin's asset id (its index in ``meta.universe``, delisted entries
included) and the instrument of a coin named in a frame.

The instruments carry the account's fee rates once the execution client has read them (``set_fee_rates``); until
then, and for a node that could not read them, the base tier's. The data and execution clients of a node share
one provider (``factories.shared_provider``), so whichever of them sends the instruments to the data engine last,
they carry the same rates.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.instruments import Instrument

from adapters.hyperliquid.http.info import HyperliquidInfoEndpoints
from adapters.hyperliquid.instruments import BASE_MAKER_FEE
from adapters.hyperliquid.instruments import BASE_TAKER_FEE
from adapters.hyperliquid.instruments import perpetual_from_meta
from adapters.hyperliquid.schemas.market import PerpMeta

PERP_SUFFIX = "-USD-PERP"


class HyperliquidInstrumentProvider(InstrumentProvider):
    def __init__(self, info: HyperliquidInfoEndpoints, config: InstrumentProviderConfig | None = None) -> None:
        super().__init__(config=config)
        self._info = info
        self._by_coin: dict[str, CryptoPerpetual] = {}
        self._raw_meta: dict[str, Any] | None = None  # the newest meta loaded (the universe only ever grows)
        self._maker_fee = BASE_MAKER_FEE
        self._taker_fee = BASE_TAKER_FEE

    async def load_all_async(self, filters: dict | None = None) -> None:
        meta = await self._info.meta()
        self._add_coins(meta, meta.listed_coins())

    async def load_ids_async(self, instrument_ids: list[InstrumentId], filters: dict | None = None) -> None:
        meta = await self._info.meta()
        wanted = {self.coin_of_id(instrument_id) for instrument_id in instrument_ids}
        coins = [coin for coin in meta.listed_coins() if coin in wanted]
        missing = wanted - set(coins)
        if missing:
            self._log.error(f"not listed on the venue: {sorted(missing)}")
        self._add_coins(meta, coins)

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    @property
    def config(self) -> InstrumentProviderConfig:
        return self._config

    @property
    def maker_fee(self) -> Decimal:
        return self._maker_fee

    @property
    def taker_fee(self) -> Decimal:
        return self._taker_fee

    def set_fee_rates(self, maker_fee: Decimal, taker_fee: Decimal) -> list[CryptoPerpetual]:
        """The account's rates (fractions of notional; a negative maker fee is a rebate): every loaded instrument is
        rebuilt with them, as is any loaded later. Returns the rebuilt instruments, for the data engine."""
        self._maker_fee, self._taker_fee = maker_fee, taker_fee
        self._build(list(self._by_coin))
        return list(self._by_coin.values())

    def _add_coins(self, meta: PerpMeta, coins: list[str]) -> None:
        self._raw_meta = msgspec.to_builtins(meta)
        self._build(coins)

    def _build(self, coins: list[str]) -> None:
        for coin in coins:
            instrument = perpetual_from_meta(self._raw_meta, coin, self._maker_fee, self._taker_fee)
            self.add(instrument)
            self._by_coin[coin] = instrument

    def instrument_for_coin(self, coin: str) -> CryptoPerpetual | None:
        return self._by_coin.get(coin)

    @staticmethod
    def asset_of(instrument: Instrument) -> int:
        return int(instrument.info["asset"])

    @staticmethod
    def coin_of(instrument: Instrument) -> str:
        return instrument.raw_symbol.value

    @staticmethod
    def coin_of_id(instrument_id: InstrumentId) -> str:
        """``BTC-USD-PERP.HYPERLIQUID`` → ``BTC`` (the inverse of ``perp_instrument_id``)."""
        return instrument_id.symbol.value.removesuffix(PERP_SUFFIX)
