"""Fair value: where to centre the ladder, from the imbalance of resting size near the mid.

GLFT prices around a martingale mid; the mid of a real book is not one over seconds. The imbalance of the sizes
resting within a band of the mid, ``I = (bid − ask)/(bid + ask)`` in [−1, 1], predicts the next seconds' move on
every bundled dataset (``benchmarks/signal_study.py``: 5 s slope t = 8.4/5.2/6.4 on Hyperliquid BTC/ETH/SOL,
3.1 on Binance BTCUSDT, 3.2 on the archive hour). Centring the quotes on ``mid + E[move]`` instead of the mid
takes the passive fills the move would have made adverse off the side it runs into: out of sample (coefficient
fitted on the other datasets), the 5 s markout of fills at 0.5–2 bp improved on all four datasets with trades,
pooled +0.5 to +0.8 bp (2–3 standard errors).

The predicted move is expressed in the coin's own volatility, ``β·σ·√h·I``: scaled so, one β transfers across
coins and venues (measured 0.5–1.2 per dataset, leave-one-out 0.90–1.08), where a spread- or microprice-scaled
signal did not (Binance's spread is 30× tighter relative to σ than Hyperliquid's). Since |I| ≤ 1 the shift is
bounded by one β·σ·√h, the horizon's own move; it is zero on an empty band and with ``beta`` 0.

Microprice (size-weighted touch) and trade-flow signals were tried in the same study and did not transfer
(out-of-sample R² ≤ 0 and ≈ 0): only the banded imbalance is implemented.
"""

from __future__ import annotations

import math

import msgspec

_BPS = 1e4


class FairValueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Ladder centre = mid + ``beta · σ · √horizon_s · I`` with I the size imbalance within ``band_bps`` of the mid.

    ``beta`` 0 quotes around the plain mid. The band reaches past the visible book on Hyperliquid BTC and ETH
    (20 levels span about 1.8 and 4.5 bp), where it is simply the whole visible book.

    ``half_life_s`` and ``hysteresis_frac`` steady the centre (:class:`FairValueModel`): the imbalance is averaged
    over time with that half-life (0: each book's own), and the centre moves only when the shift it asks for is more
    than ``hysteresis_frac`` of σ·√horizon away from the one in force (0: on every change).
    """

    beta: float = 1.0
    horizon_s: float = 5.0
    band_bps: float = 5.0
    half_life_s: float = 0.0
    hysteresis_frac: float = 0.0

    def __post_init__(self) -> None:
        checks = (
            ("beta", 0 <= self.beta < math.inf, ">= 0 and finite"),
            ("horizon_s", 0 < self.horizon_s < math.inf, "> 0 and finite"),
            ("band_bps", 0 < self.band_bps < math.inf, "> 0 and finite"),
            ("half_life_s", 0 <= self.half_life_s < math.inf, ">= 0 and finite"),
            ("hysteresis_frac", 0 <= self.hysteresis_frac < math.inf, ">= 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"FairValueConfig.{name}: must be {rule}, got {getattr(self, name)!r}")


def size_imbalance(bid_size: float, ask_size: float) -> float:
    """(bid − ask)/(bid + ask) in [−1, 1]; 0 when neither side has size (no information, no shift)."""
    total = bid_size + ask_size
    return (bid_size - ask_size) / total if total > 0 else 0.0


def fair_value_shift_bps(imbalance: float, sigma_frac_per_sqrt_s: float, config: FairValueConfig) -> float:
    """Expected mid move over the horizon, in bps of mid (positive: up), for a size imbalance in [−1, 1]."""
    return config.beta * sigma_frac_per_sqrt_s * math.sqrt(config.horizon_s) * _BPS * imbalance


class FairValueModel:
    """The imbalance the ladder is centred on, fed one book at a time: a time-weighted average, then held.

    Why: every book snapshot moves the raw imbalance, and with it the centre by up to β·σ·√h; a move beyond the
    requote tolerance cancels our order and places it again at the back of its price's queue. Averaging
    (``half_life_s``) and holding (``hysteresis_frac``: the centre stays until the shift it asks for is more than
    that fraction of σ·√h away) steady it. Measured (``benchmarks/signal_study.py``, "Steadier centre"), averaging
    costs what the centre is for: the freshest book carries the 5 s markout gain (pooled Δ at 0.5 bp from the centre
    +0.81 ± 0.35 bp raw, +0.22 ± 0.17 with a 0.5 s half-life, +0.03 ± 0.19 at 2 s); holding at 0.2–0.5 keeps the
    gain within its error and re-places less, but did not measurably win fills back in the backtest. Both default
    to off (0): the model then returns each book's imbalance, as the strategy used before it.

    The value returned is an imbalance in [−1, 1], for :func:`fair_value_shift_bps`, so the shift follows σ as it
    is estimated rather than being held in bp.

    The average weighs each book by the time it was in force: a new book enters with weight 1 − 2^(−Δt/half-life),
    Δt the time since the previous book, so after a feed gap the fresh book takes over, and a later book stamped in
    the same instant replaces the earlier one rather than adding to it (the newest book is the one in force).
    """

    __slots__ = (
        "_beta", "_half_life_ns", "_hysteresis_frac", "_last_ts_ns", "_before", "_weight", "_smoothed", "_held",
    )  # fmt: skip

    def __init__(self, config: FairValueConfig) -> None:
        self._beta = config.beta
        self._half_life_ns = config.half_life_s * 1e9
        self._hysteresis_frac = config.hysteresis_frac
        self._last_ts_ns: int | None = None
        self._before = 0.0  # the average before this instant's book
        self._weight = 1.0  # this instant's book's weight in it
        self._smoothed = 0.0
        self._held = 0.0

    @property
    def imbalance(self) -> float:
        """The imbalance in force (0 before the first book)."""
        return self._held

    def update(self, ts_ns: int, imbalance: float) -> float:
        """Feed the band imbalance of the book at ``ts_ns`` (non-decreasing); returns the imbalance in force."""
        if self._last_ts_ns is None or ts_ns > self._last_ts_ns:
            self._before = self._smoothed
            if self._last_ts_ns is None or self._half_life_ns == 0.0:
                self._weight = 1.0
            else:
                self._weight = 1.0 - 2.0 ** (-(ts_ns - self._last_ts_ns) / self._half_life_ns)
            self._last_ts_ns = ts_ns
        # weight 1 (no averaging, or the first book) is the book itself, exactly as the strategy used it before
        weight = self._weight
        self._smoothed = imbalance if weight == 1.0 else self._before + weight * (imbalance - self._before)
        # the shift in units of σ·√h is β·I: hold until the target is more than the fraction away from it
        if self._beta * abs(self._smoothed - self._held) > self._hysteresis_frac or self._hysteresis_frac == 0.0:
            self._held = self._smoothed
        return self._held
