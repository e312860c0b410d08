"""Account equity from the engine's own objects: the same number for the loss limits and the report."""

from __future__ import annotations

from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price


def equity_usd(portfolio, cache, instrument_id: InstrumentId, mark_mid: float | None) -> float | None:
    """Account balance (realised PnL and fees booked) plus open positions marked at ``mark_mid``; None if no account.

    In the instrument's settlement currency, a USD stablecoin on every venue we trade (USDC on Hyperliquid, USDT
    on Binance USDⓈ-M), taken 1:1 as USD like every other ``_usd`` figure. Without the instrument (not cached
    yet) there is no currency to read, hence no equity.
    """
    account = portfolio.account(instrument_id.venue)
    instrument = cache.instrument(instrument_id)
    if account is None or instrument is None:
        return None
    balance = account.balance_total(instrument.get_settlement_currency())
    equity = balance.as_double() if balance is not None else 0.0
    if mark_mid is None:
        return equity
    mark = Price(mark_mid, instrument.price_precision)
    for position in cache.positions_open(instrument_id=instrument_id):
        equity += position.unrealized_pnl(mark).as_double()
    return equity
