"""What flattening the final position would cost: net PnL marks the open position at the mid for free.

On the Hyperliquid ETH capture the shipped config ends 0.5 ETH long (≈ $2,180): its net $4.50 is $4.42 of
inventory marked at the mid, and closing it with a taker order pays the 4.5 bp taker fee (≈ $0.98) plus half the
spread. ``net_after_exit = net − |q_T|·(m_T·taker_fee + spread_T/2)`` charges that, so a sweep can rank runs that
end flat against runs that end holding inventory on the same footing. Depth beyond the touch is not charged: a
position larger than the touch would pay more than this.
"""

from __future__ import annotations


def exit_terms(cache, instrument_id) -> dict[str, float | None]:
    """The ``ReportInputs`` exit fields from a finished engine's cache: the instrument's taker fee (the one the
    simulated venue charged, ``MakerTakerFeeModel``; the one the live venue's instrument reports) and the book's
    best ask − best bid at the end (None without a two-sided book)."""
    instrument = cache.instrument(instrument_id)
    book = cache.order_book(instrument_id)
    bid = book.best_bid_price() if book is not None else None
    ask = book.best_ask_price() if book is not None else None
    spread = float(ask) - float(bid) if bid is not None and ask is not None and ask >= bid else None
    return {
        "taker_fee_frac": float(instrument.taker_fee) if instrument is not None else None,
        "final_spread": spread,
    }


FLAT_TOLERANCE = 1e-9  # in base units: far below any venue's size step (Hyperliquid's finest is 1e-5 BTC)


def exit_cost(
    position: float, last_mid: float, taker_fee_frac: float | None, final_spread: float | None
) -> float | None:
    """|q|·(m·taker_fee + spread/2) in quote currency: 0 when flat, None when an open position's costs are unknown.
    Flat to ``FLAT_TOLERANCE``: the position is a float sum of fills (0.1 + 0.2 − 0.3 leaves 5.6e-17), and a flat
    session whose final book was empty (a lost feed) must not read as an open one of unknown cost."""
    if abs(position) < FLAT_TOLERANCE:
        return 0.0
    if taker_fee_frac is None or final_spread is None:
        return None
    return abs(position) * (last_mid * taker_fee_frac + final_spread / 2)
