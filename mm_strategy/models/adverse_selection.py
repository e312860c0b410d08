"""Adverse selection of our own fills, measured by markouts of the mid against the mid at order placement.

Definition, used everywhere (lesson E10, inventory §B5 sign bug; one sign, one anchor):

    AS_h = −s · (m(t_fill + h) − m_placement) / m_placement · 1e4   [bps]

- s = +1 for our buy (a bid fill), −1 for our sell (an ask fill).
- m_placement is the mid when the filled order was *placed*, passed by the caller (DESIGN §5). The mid at fill time
  would make AS ≈ 0 by construction (the tautology bug of §B5): the move that brought the price to our quote is the
  adverse part.
- m(t_fill + h) is the first mid observed at or after t_fill + h.
- Positive = adverse: a buy followed by a lower mid, or a sell followed by a higher mid, costs us.

With our fill price p = m_placement − s·δ (δ = quoted depth), the mid-marked edge of the fill is
`edge_h = s·(m(t+h) − p)/m_placement·1e4 = δ_bps − AS_h` (positive = profit), so AS_h is exactly what the quoted
half-spread must cover; the edge is published per horizon for that check (it is the mm_anchors §5 markout, anchored
on the placement mid).

Statistics (inventory §B5, DESIGN §5):
- per horizon (500 ms primary, 2/10/60 s extra) EWMAs with α = 0.12 of signed AS per side (bid = our buys, ask = our
  sells) and over all fills. An EWMA starts at its first observation; 0.0 is reported until then (check the counts).
- at the primary horizon, a fill is informed if |AS| > 5 bps; per side, P(informed) is the EWMA of that indicator and
  E[|ΔP| | informed] the EWMA of |AS| over informed fills. Spread add-on per side =
  min(cap, confidence · P(informed) · E[|ΔP| | informed]), confidence = min(1, fills_measured / warmup_fills).
- `fills_measured` counts primary-horizon markouts since this process started, never restored ones (lesson E2): a
  restored model keeps its EWMAs but its add-on confidence, and any cold-start gate on fills_measured, start at zero.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

_NS_PER_S = 1_000_000_000
_BPS = 1e4
BUY = 1
SELL = -1
_SIDES = (BUY, SELL)  # index 0 = bid (our buys), 1 = ask (our sells)
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class AdverseSelectionParams:
    """Defaults from DESIGN §5 (seed values: horizon 500 ms, α 0.12) and inventory §B5 (pending cap 5000)."""

    measurement_horizon_s: float = 0.5
    extra_horizons_s: tuple[float, ...] = (2.0, 10.0, 60.0)
    ewma_alpha: float = 0.12
    warmup_fills: int = 50
    informed_threshold_bps: float = 5.0
    max_spread_addon_bps: float = 50.0
    max_pending_fills: int = 5000
    max_resolution_delay_s: float = 5.0

    def __post_init__(self) -> None:
        horizons = (self.measurement_horizon_s, *self.extra_horizons_s)
        checks = (
            ("measurement_horizon_s", 0 < self.measurement_horizon_s < math.inf, "> 0 and finite"),
            (
                "extra_horizons_s",
                all(0 < h < math.inf for h in self.extra_horizons_s) and len(set(horizons)) == len(horizons),
                "finite, > 0 and distinct from each other and from measurement_horizon_s",
            ),
            ("ewma_alpha", 0 < self.ewma_alpha <= 1, "in (0, 1]"),
            ("warmup_fills", self.warmup_fills >= 1, ">= 1"),
            ("informed_threshold_bps", 0 <= self.informed_threshold_bps < math.inf, ">= 0 and finite"),
            ("max_spread_addon_bps", 0 <= self.max_spread_addon_bps < math.inf, ">= 0 and finite"),
            ("max_pending_fills", self.max_pending_fills >= 1, ">= 1"),
            ("max_resolution_delay_s", 0 < self.max_resolution_delay_s < math.inf, "> 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"AdverseSelectionParams.{name}: must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class HorizonMarkout:
    """EWMAs at one horizon. as_* positive = adverse; edge_bps_total positive = profit (δ − AS)."""

    horizon_s: float
    as_bps_bid: float
    as_bps_ask: float
    as_bps_total: float
    edge_bps_total: float
    fills_bid: int
    fills_ask: int


@dataclass(frozen=True, slots=True)
class AdverseSelectionEstimate:
    """Primary-horizon (measurement_horizon_s) AS per side and total, add-ons, and every horizon in `horizons`
    (primary first, then extra_horizons_s in the configured order)."""

    as_bps_bid: float
    as_bps_ask: float
    as_bps_total: float
    fills_measured: int
    spread_addon_bps_bid: float
    spread_addon_bps_ask: float
    p_informed_bid: float
    p_informed_ask: float
    confidence: float
    fills_pending: int
    markouts_dropped: int
    horizons: tuple[HorizonMarkout, ...]


def adverse_selection_bps(side: int, placement_mid: float, later_mid: float) -> float:
    """AS = −s·(m_later − m_placement)/m_placement in bps; positive = adverse (module docstring)."""
    return -side * (later_mid - placement_mid) / placement_mid * _BPS


def ewma(prev: float | None, x: float, alpha: float) -> float:
    """prev + α·(x − prev), starting at the first observation."""
    return x if prev is None else prev + alpha * (x - prev)


def spread_addon_bps(p_informed: float, informed_move_bps: float, confidence: float, cap_bps: float) -> float:
    """Glosten–Milgrom add-on = confidence·P(informed)·E[|ΔP| | informed], clamped to [0, cap] (inventory §B5)."""
    return min(max(confidence * p_informed * informed_move_bps, 0.0), cap_bps)


def _side_index(side: int) -> int:
    if side == BUY:
        return 0
    if side == SELL:
        return 1
    raise ValueError(f"side must be BUY (+1) or SELL (-1), got {side!r}")


class _HorizonStats:
    """Signed-AS EWMAs per side ([bid, ask]) and overall, plus the edge EWMA, at one horizon."""

    __slots__ = ("horizon_s", "as_side", "count_side", "as_total", "edge_total")

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self.as_side: list[float | None] = [None, None]
        self.count_side = [0, 0]
        self.as_total: float | None = None
        self.edge_total: float | None = None

    def observe(self, i: int, as_bps: float, edge_bps: float, alpha: float) -> None:
        self.as_side[i] = ewma(self.as_side[i], as_bps, alpha)
        self.count_side[i] += 1
        self.as_total = ewma(self.as_total, as_bps, alpha)
        self.edge_total = ewma(self.edge_total, edge_bps, alpha)

    def snapshot(self) -> HorizonMarkout:
        bid, ask = self.as_side
        return HorizonMarkout(
            horizon_s=self.horizon_s,
            as_bps_bid=bid or 0.0,
            as_bps_ask=ask or 0.0,
            as_bps_total=self.as_total or 0.0,
            edge_bps_total=self.edge_total or 0.0,
            fills_bid=self.count_side[0],
            fills_ask=self.count_side[1],
        )

    def to_state(self) -> dict:
        return {
            "as_side": list(self.as_side),
            "count_side": list(self.count_side),
            "as_total": self.as_total,
            "edge_total": self.edge_total,
        }

    def load(self, state: dict) -> None:
        self.as_side = list(state["as_side"])
        self.count_side = [int(c) for c in state["count_side"]]
        self.as_total = state["as_total"]
        self.edge_total = state["edge_total"]


class AdverseSelectionModel:
    """Feed mids with `on_mid` and our fills with `on_fill`, both with exchange ts_ns in time order.

    Pending markouts live in one FIFO per horizon (fills arrive in time order, so each FIFO is ordered by due time):
    `on_mid` pops only what is due, O(1) amortised per event. A markout whose first later mid arrives more than
    max_resolution_delay_s after its due time (feed gap) is dropped rather than measured at the wrong horizon; so is
    the oldest pending fill of a horizon beyond max_pending_fills. A fill reported with an earlier ts than one already
    pending waits behind it (its markout is taken late, within the delay limit).
    """

    __slots__ = (
        "params",
        "_stats",
        "_horizons_ns",
        "_pending",
        "_max_delay_ns",
        "_p_informed",
        "_informed_move",
        "_fills_measured",
        "_fills_measured_restored",
        "_dropped",
    )

    def __init__(self, params: AdverseSelectionParams | None = None) -> None:
        self.params = params or AdverseSelectionParams()
        p = self.params
        horizons_s = (p.measurement_horizon_s, *p.extra_horizons_s)
        self._stats = [_HorizonStats(h) for h in horizons_s]
        self._horizons_ns = [round(h * _NS_PER_S) for h in horizons_s]
        # per horizon: (due_ns, side index, placement_mid, depth_bps)
        self._pending: list[deque[tuple[int, int, float, float]]] = [deque() for _ in horizons_s]
        self._max_delay_ns = round(p.max_resolution_delay_s * _NS_PER_S)
        self._p_informed: list[float | None] = [None, None]
        self._informed_move: list[float | None] = [None, None]
        self._fills_measured = 0
        self._fills_measured_restored = 0
        self._dropped = 0

    def on_fill(self, ts_ns: int, side: int, fill_px: float, qty: float, placement_mid: float) -> None:
        """Queue one fill for markout at every horizon.

        `side` is BUY (+1, our bid filled) or SELL (−1, our ask filled). `qty` is checked but does not weight the
        EWMA: DESIGN/§B5 define a per-fill average, and partial fills of one order each count.
        """
        i = _side_index(side)
        if not (0 < fill_px < math.inf and 0 < qty < math.inf and 0 < placement_mid < math.inf):
            raise ValueError(
                "AdverseSelectionModel.on_fill: fill_px, qty and placement_mid must be > 0 and finite, "
                f"got {fill_px!r}, {qty!r}, {placement_mid!r}"
            )
        depth_bps = side * (placement_mid - fill_px) / placement_mid * _BPS
        cap = self.params.max_pending_fills
        for queue, horizon_ns in zip(self._pending, self._horizons_ns):
            if len(queue) >= cap:
                queue.popleft()
                self._dropped += 1
            queue.append((ts_ns + horizon_ns, i, placement_mid, depth_bps))

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Resolve every markout due at or before ts_ns with this mid (the first one at or after its horizon)."""
        if not 0.0 < mid < math.inf:
            raise ValueError(f"AdverseSelectionModel.on_mid: mid must be > 0 and finite, got {mid!r}")
        alpha = self.params.ewma_alpha
        for k, queue in enumerate(self._pending):
            while queue and queue[0][0] <= ts_ns:
                due_ns, i, placement_mid, depth_bps = queue.popleft()
                if ts_ns - due_ns > self._max_delay_ns:
                    self._dropped += 1
                    continue
                as_bps = adverse_selection_bps(_SIDES[i], placement_mid, mid)
                self._stats[k].observe(i, as_bps, depth_bps - as_bps, alpha)
                if k == 0:
                    self._observe_informed(i, as_bps, alpha)

    def _observe_informed(self, i: int, as_bps: float, alpha: float) -> None:
        informed = abs(as_bps) > self.params.informed_threshold_bps
        self._p_informed[i] = ewma(self._p_informed[i], 1.0 if informed else 0.0, alpha)
        if informed:
            self._informed_move[i] = ewma(self._informed_move[i], abs(as_bps), alpha)
        self._fills_measured += 1

    def estimate(self, ts_ns: int) -> AdverseSelectionEstimate:
        """Current statistics; ts_ns is unused by the maths (markouts are resolved by on_mid) and kept for the
        common model API."""
        p = self.params
        confidence = min(1.0, self._fills_measured / p.warmup_fills)
        p_inf = [x or 0.0 for x in self._p_informed]
        addons = [
            spread_addon_bps(p_inf[i], self._informed_move[i] or 0.0, confidence, p.max_spread_addon_bps)
            for i in (0, 1)
        ]
        horizons = tuple(s.snapshot() for s in self._stats)
        primary = horizons[0]
        return AdverseSelectionEstimate(
            as_bps_bid=primary.as_bps_bid,
            as_bps_ask=primary.as_bps_ask,
            as_bps_total=primary.as_bps_total,
            fills_measured=self._fills_measured,
            spread_addon_bps_bid=addons[0],
            spread_addon_bps_ask=addons[1],
            p_informed_bid=p_inf[0],
            p_informed_ask=p_inf[1],
            confidence=confidence,
            fills_pending=len(self._pending[0]),
            markouts_dropped=self._dropped,
            horizons=horizons,
        )

    def to_state(self) -> dict:
        """EWMAs and lifetime counts, keyed by horizon in ms; pending fills are not persisted (their mids would be
        stale after a restart)."""
        return {
            "version": STATE_VERSION,
            "horizons": {str(round(s.horizon_s * 1000)): s.to_state() for s in self._stats},
            "p_informed": list(self._p_informed),
            "informed_move_bps": list(self._informed_move),
            "fills_measured_lifetime": self._fills_measured_restored + self._fills_measured,
        }

    @classmethod
    def restore(cls, params: AdverseSelectionParams, state: dict) -> AdverseSelectionModel:
        """EWMAs come back (horizons absent from `state` start empty); fills_measured, hence confidence, restarts at
        0 (lesson E2)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"AdverseSelectionModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params)
        saved = state["horizons"]
        for stats in model._stats:
            key = str(round(stats.horizon_s * 1000))
            if key in saved:
                stats.load(saved[key])
        model._p_informed = list(state["p_informed"])
        model._informed_move = list(state["informed_move_bps"])
        model._fills_measured_restored = int(state["fills_measured_lifetime"])
        return model

    @property
    def fills_measured_lifetime(self) -> int:
        return self._fills_measured_restored + self._fills_measured
