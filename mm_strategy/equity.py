"""Account equity in USDC from the engine's own objects: the same number for the loss limits and the report."""

from __future__ import annotations

from nautilus_trader.model.currencies import USDC
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price


def equity_usdc(portfolio, cache, instrument_id: InstrumentId, mark_mid: float | None) -> float | None:
    """Account balance (realised PnL and fees booked) plus open positions marked at ``mark_mid``; None if no account."""
    account = portfolio.account(instrument_id.venue)
    if account is None:
        return None
    balance = account.balance_total(USDC)
    equity = balance.as_double() if balance is not None else 0.0
    instrument = cache.instrument(instrument_id)
    if mark_mid is None or instrument is None:
        return equity
    mark = Price(mark_mid, instrument.price_precision)
    for position in cache.positions_open(instrument_id=instrument_id):
        equity += position.unrealized_pnl(mark).as_double()
    return equity
