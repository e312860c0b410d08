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
    positions = cache.positions_open(instrument_id=instrument_id)
    if positions:  # the mark is built only to value a position (the risk timer asks every second, mostly flat)
        mark = Price(mark_mid, instrument.price_precision)
        for position in positions:
            equity += position.unrealized_pnl(mark).as_double()
    return equity


class FillBooking:
    """Whether the account balance has booked our last fill yet, so the loss limits never judge an equity without it.

    A simulated venue books a fill in the same instant. A venue-reported balance (live: Hyperliquid's, read from
    ``clearinghouseState``) books it only at the next account read, ~0.25 s or more later; meanwhile a closing
    fill's PnL sits neither in the balance nor in the (now smaller) open position. Equity then jumps by it and
    back: a profitable close reads as a drawdown, a losing one as a new peak that the true equity then lies below,
    which the drawdown limit would count as a loss. The balance has booked the fill once an account state is
    stamped at or after the fill's venue time. ``grace_ns`` bounds the wait: an account that is never read again
    must not blind the limits.
    """

    def __init__(self, grace_ns: int) -> None:
        self._grace_ns = grace_ns
        self._fill_venue_ns: int | None = None  # the newest fill not yet booked, venue time
        self._since_ns = 0  # engine time of the first fill of that unbooked run

    def on_fill(self, venue_ns: int, now_ns: int) -> None:
        if self._fill_venue_ns is None:
            self._since_ns = now_ns
        self._fill_venue_ns = venue_ns if self._fill_venue_ns is None else max(self._fill_venue_ns, venue_ns)

    def booked(self, account_state_ns: int | None, now_ns: int) -> bool:
        """True when equity may be judged: no fill outstanding, the account's last state is at or after it, or the
        grace has run out."""
        if self._fill_venue_ns is None:
            return True
        if account_state_ns is not None and account_state_ns >= self._fill_venue_ns:
            self._fill_venue_ns = None
            return True
        if now_ns - self._since_ns >= self._grace_ns:
            self._fill_venue_ns = None  # judged regardless from here; the next fill starts a new wait
            return True
        return False
