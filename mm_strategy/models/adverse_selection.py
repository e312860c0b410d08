"""Adverse selection of our own fills: what each fill lost by h after it, the mid then against our fill price.

Definition, used everywhere (lesson E10, inventory §B5 sign bug; one sign, one anchor):

    AS_h = −s · (m(t_fill + h) − p) / p · 1e4   [bps]   (= −markout, mm_anchors §5)

- s = +1 for our buy (a bid fill), −1 for our sell (an ask fill); positive = adverse (we bought and the mid fell
  below our price): the fill lost AS_h bps by h. This is the Glosten–Milgrom quantity: the spread must cover the
  expected loss to informed flow.
- p is our fill price; m(t_fill + h) is the first mid observed at or after t_fill + h.

Why the fill price (issue 10 defect 3, then the quant review of the mid-at-fill anchor): the add-on must not hold our
own quoted depth, or fed back into the quote it grows on itself. The placement mid holds all of it (a constant
1.5 bps post-fill move drove the depth 5 → 20 → 53 bps, the cap, after 10/50/100 fills). The last book mid before
the fill holds it too whenever a trade sweeps through our order (the book only shows the trade after the fill): on
the HL BTC capture, edges from that mid and from the placement mid averaged 2.91 and 3.06 bps, and all 10 fills,
which made +0.72 bps at 0.5 s, counted as informed; fed back, the add-on reached 12 bps after 100 fills per side.
The first mid after the fill (the book showing the trade) is no better on book snapshots ~1.2 s apart: it folds up
to 0.4 s of genuine post-fill move into the anchor, and the sweep's own jump through our price (0.2–1.0 bps on four
of the five bundled datasets), the loss the add-on exists to cover, is never counted. From the fill price, quoting
wider gives a better fill price and a smaller AS, never a larger one, so the add-on fed back is stable: an order
swept at any depth, or reached by a book crossing it, is measured by what it lost after filling.

Statistics (inventory §B5, DESIGN §5): per horizon (500 ms primary, 2/10/60 s extra), EWMAs with α = 0.12 of
- AS_h per side (bid = our buys, ask = our sells) and over all fills (the markout, positive = profit, is −AS_h);
- the placement AS, −s·(m(t+h) − m_placement)/m_placement·1e4, over fills whose placement mid is known: it includes
  our depth and is for the report, never for the add-on.
An EWMA starts at its first observation; 0.0 is reported until then (check the counts).

Add-on per side (Glosten–Milgrom, losses only): a fill is *informed* when by the primary horizon it lost more than
threshold = `informed_threshold_sigmas`·σ_prior·√h (2σ of the mid's own move over h, from the instrument prior, so
the threshold means the same on every coin and pure noise almost never counts; a profitable fill never counts).
P(informed) per side is the EWMA of that indicator, E[loss | informed] the EWMA of AS over informed fills, and
add-on = min(cap, confidence · P(informed) · E[loss | informed]) with the side's own confidence = min(1, fills
measured on that side / warmup_fills): both EWMAs start at a side's first observation, so a confidence pooled over
both sides let one side's first fill set its add-on at full weight once the other side had 50 (the reported
``confidence`` is the smaller of the two). Bounded by the cap and by the largest losses seen.

`fills_measured` counts primary-horizon markouts since this process started, never restored ones (lesson E2): a
restored model keeps its EWMAs but its add-on confidence, and any cold-start gate on fills_measured, start at zero.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import msgspec

from mm_strategy.models.priors import InstrumentPriors

_NS_PER_S = 1_000_000_000
_BPS = 1e4
BUY = 1
SELL = -1
_SIDES = (BUY, SELL)  # index 0 = bid (our buys), 1 = ask (our sells)
STATE_VERSION = 3


@dataclass(frozen=True, slots=True)
class AdverseSelectionParams:
    """Defaults from DESIGN §5 (seed values: horizon 500 ms, α 0.12, warmup 50) and inventory §B5 (pending cap 5000,
    add-on cap 50 bps); the informed threshold in σ units (module docstring)."""

    measurement_horizon_s: float = 0.5
    extra_horizons_s: tuple[float, ...] = (2.0, 10.0, 60.0)
    ewma_alpha: float = 0.12
    warmup_fills: int = 50
    informed_threshold_sigmas: float = 2.0
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
            ("informed_threshold_sigmas", 0 <= self.informed_threshold_sigmas < math.inf, ">= 0 and finite"),
            ("max_spread_addon_bps", 0 <= self.max_spread_addon_bps < math.inf, ">= 0 and finite"),
            ("max_pending_fills", self.max_pending_fills >= 1, ">= 1"),
            ("max_resolution_delay_s", 0 < self.max_resolution_delay_s < math.inf, "> 0 and finite"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"AdverseSelectionParams.{name}: must be {rule}, got {getattr(self, name)!r}")


class HorizonMarkout(msgspec.Struct, frozen=True):
    """EWMAs at one horizon (module docstring). as_* (from the fill price, = −markout) and placement_as_bps_total
    positive = adverse. fills_placement counts fills with a known placement mid."""

    horizon_s: float
    as_bps_bid: float
    as_bps_ask: float
    as_bps_total: float
    placement_as_bps_total: float
    fills_bid: int
    fills_ask: int
    fills_placement: int


class AdverseSelectionReading(msgspec.Struct, frozen=True):
    """Primary-horizon (measurement_horizon_s) post-fill AS per side and total, the add-on and its two factors per
    side, and every horizon in `horizons` (primary first, then extra_horizons_s in the configured order)."""

    as_bps_bid: float
    as_bps_ask: float
    as_bps_total: float
    fills_measured: int
    spread_addon_bps_bid: float
    spread_addon_bps_ask: float
    p_informed_bid: float
    p_informed_ask: float
    informed_move_bps_bid: float
    informed_move_bps_ask: float
    informed_threshold_bps: float
    confidence: float
    fills_pending: int
    markouts_dropped: int
    horizons: tuple[HorizonMarkout, ...]


def adverse_selection_bps(side: int, anchor_mid: float, later_mid: float) -> float:
    """AS = −s·(m_later − m_anchor)/m_anchor in bps; positive = adverse (module docstring)."""
    return -side * (later_mid - anchor_mid) / anchor_mid * _BPS


def ewma(prev: float | None, x: float, alpha: float) -> float:
    """prev + α·(x − prev), starting at the first observation."""
    return x if prev is None else prev + alpha * (x - prev)


def spread_addon_bps(p_informed: float, informed_move_bps: float, confidence: float, cap_bps: float) -> float:
    """Glosten–Milgrom add-on = confidence·P(informed)·E[loss | informed], clamped to [0, cap]."""
    return min(max(confidence * p_informed * informed_move_bps, 0.0), cap_bps)


def _side_index(side: int) -> int:
    if side == BUY:
        return 0
    if side == SELL:
        return 1
    raise ValueError(f"side must be BUY (+1) or SELL (-1), got {side!r}")


def _finite_positive(x: float) -> bool:
    return 0 < x < math.inf


class _HorizonStats:
    """Post-fill AS EWMAs per side ([bid, ask]) and overall, and the placement-AS EWMA, at one horizon."""

    __slots__ = (
        "horizon_s",
        "as_side",
        "count_side",
        "as_total",
        "placement_total",
        "count_placement",
    )

    def __init__(self, horizon_s: float) -> None:
        self.horizon_s = horizon_s
        self.as_side: list[float | None] = [None, None]
        self.count_side = [0, 0]
        self.as_total: float | None = None
        self.placement_total: float | None = None
        self.count_placement = 0

    def observe(self, i: int, as_bps: float, placement_as_bps: float, alpha: float) -> None:
        self.as_side[i] = ewma(self.as_side[i], as_bps, alpha)
        self.count_side[i] += 1
        self.as_total = ewma(self.as_total, as_bps, alpha)
        if placement_as_bps == placement_as_bps:  # not NaN: placement mid known
            self.placement_total = ewma(self.placement_total, placement_as_bps, alpha)
            self.count_placement += 1

    def snapshot(self) -> HorizonMarkout:
        bid, ask = self.as_side
        return HorizonMarkout(
            horizon_s=self.horizon_s,
            as_bps_bid=bid or 0.0,
            as_bps_ask=ask or 0.0,
            as_bps_total=self.as_total or 0.0,
            placement_as_bps_total=self.placement_total or 0.0,
            fills_bid=self.count_side[0],
            fills_ask=self.count_side[1],
            fills_placement=self.count_placement,
        )

    def to_state(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__ if name != "horizon_s"}

    def load(self, state: dict) -> None:
        self.as_side = list(state["as_side"])
        self.count_side = [int(c) for c in state["count_side"]]
        self.as_total = state["as_total"]
        self.placement_total = state["placement_total"]
        self.count_placement = int(state["count_placement"])


class AdverseSelectionModel:
    """Feed mids with `on_mid` and our fills with `on_fill`, both with ts_ns on one clock, in time order.

    Pending markouts live in one FIFO per horizon (fills arrive in time order, so each FIFO is ordered by due time):
    `on_mid` pops only what is due, O(1) amortised per event. A markout whose first later mid arrives more than
    max_resolution_delay_s after its due time (feed gap) is dropped rather than measured at the wrong horizon; so is
    the oldest pending fill of a horizon beyond max_pending_fills. A fill reported with an earlier ts than one already
    pending waits behind it (its markout is taken late, within the delay limit).
    """

    __slots__ = (
        "params",
        "priors",
        "informed_threshold_bps",
        "_stats",
        "_horizons_ns",
        "_pending",
        "_max_delay_ns",
        "_p_informed",
        "_informed_move",
        "_fills_measured",
        "_fills_measured_side",
        "_fills_measured_restored",
        "_dropped",
        "_reading",
    )

    def __init__(self, params: AdverseSelectionParams, priors: InstrumentPriors) -> None:
        self.params = params
        self.priors = priors
        p = params
        self.informed_threshold_bps = (
            p.informed_threshold_sigmas * priors.sigma_frac_per_sqrt_s * math.sqrt(p.measurement_horizon_s) * _BPS
        )
        horizons_s = (p.measurement_horizon_s, *p.extra_horizons_s)
        self._stats = [_HorizonStats(h) for h in horizons_s]
        self._horizons_ns = [round(h * _NS_PER_S) for h in horizons_s]
        # per horizon: (due_ns, side index, fill_px, placement_mid or NaN)
        self._pending: list[deque[tuple[int, int, float, float]]] = [deque() for _ in horizons_s]
        self._max_delay_ns = round(p.max_resolution_delay_s * _NS_PER_S)
        self._p_informed: list[float | None] = [None, None]
        self._informed_move: list[float | None] = [None, None]
        self._fills_measured = 0
        self._fills_measured_side = [0, 0]  # bid, ask: each side's add-on confidence
        self._fills_measured_restored = 0
        self._dropped = 0
        self._reading: AdverseSelectionReading | None = None  # cached until a fill, a markout or a drop changes it

    def on_fill(self, ts_ns: int, side: int, fill_px: float, qty: float, placement_mid: float | None) -> None:
        """Queue one fill for markout at every horizon.

        `side` is BUY (+1, our bid filled) or SELL (−1, our ask filled); `fill_px` the anchor of every AS (module
        docstring); `placement_mid` the mid when the order was placed, None when unknown (only the report's placement
        AS needs it). `qty` is checked but does not weight the EWMAs: DESIGN/§B5 define a per-fill average, and
        partial fills of one order each count.
        """
        i = _side_index(side)
        placement_ok = placement_mid is None or _finite_positive(placement_mid)
        if not (_finite_positive(fill_px) and _finite_positive(qty) and placement_ok):
            raise ValueError(
                "AdverseSelectionModel.on_fill: fill_px, qty and placement_mid (when given) must be > 0 and finite, "
                f"got {fill_px!r}, {qty!r}, {placement_mid!r}"
            )
        anchor = math.nan if placement_mid is None else placement_mid
        self._reading = None
        cap = self.params.max_pending_fills
        for queue, horizon_ns in zip(self._pending, self._horizons_ns):
            if len(queue) >= cap:
                queue.popleft()
                self._dropped += 1
            queue.append((ts_ns + horizon_ns, i, fill_px, anchor))

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Resolve every markout due at or before ts_ns with this mid (the first one at or after its horizon)."""
        if not _finite_positive(mid):
            raise ValueError(f"AdverseSelectionModel.on_mid: mid must be > 0 and finite, got {mid!r}")
        alpha = self.params.ewma_alpha
        for k, queue in enumerate(self._pending):
            while queue and queue[0][0] <= ts_ns:
                self._reading = None
                due_ns, i, fill_px, placement_mid = queue.popleft()
                if ts_ns - due_ns > self._max_delay_ns:
                    self._dropped += 1
                    continue
                side = _SIDES[i]
                as_bps = adverse_selection_bps(side, fill_px, mid)
                placement_as_bps = adverse_selection_bps(side, placement_mid, mid)  # NaN when unknown
                self._stats[k].observe(i, as_bps, placement_as_bps, alpha)
                if k == 0:
                    self._observe_informed(i, as_bps, alpha)

    def _observe_informed(self, i: int, as_bps: float, alpha: float) -> None:
        informed = as_bps > self.informed_threshold_bps  # a loss above threshold: a profitable fill never counts
        self._p_informed[i] = ewma(self._p_informed[i], 1.0 if informed else 0.0, alpha)
        if informed:
            self._informed_move[i] = ewma(self._informed_move[i], as_bps, alpha)
        self._fills_measured += 1
        self._fills_measured_side[i] += 1

    def estimate(self, ts_ns: int) -> AdverseSelectionReading:
        """Current statistics; ts_ns is unused by the maths (markouts are resolved by on_mid) and kept for the
        common model API. Rebuilt only after a fill or a markout: most book events change nothing here."""
        if self._reading is None:
            self._reading = self._build_reading()
        return self._reading

    def _build_reading(self) -> AdverseSelectionReading:
        p = self.params
        confidences = [min(1.0, n / p.warmup_fills) for n in self._fills_measured_side]
        p_inf = [x or 0.0 for x in self._p_informed]
        move = [x or 0.0 for x in self._informed_move]
        addons = [spread_addon_bps(p_inf[i], move[i], confidences[i], p.max_spread_addon_bps) for i in (0, 1)]
        horizons = tuple(s.snapshot() for s in self._stats)
        primary = horizons[0]
        return AdverseSelectionReading(
            as_bps_bid=primary.as_bps_bid,
            as_bps_ask=primary.as_bps_ask,
            as_bps_total=primary.as_bps_total,
            fills_measured=self._fills_measured,
            spread_addon_bps_bid=addons[0],
            spread_addon_bps_ask=addons[1],
            p_informed_bid=p_inf[0],
            p_informed_ask=p_inf[1],
            informed_move_bps_bid=move[0],
            informed_move_bps_ask=move[1],
            informed_threshold_bps=self.informed_threshold_bps,
            confidence=min(confidences),
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
    def restore(cls, params: AdverseSelectionParams, priors: InstrumentPriors, state: dict) -> AdverseSelectionModel:
        """EWMAs come back (horizons absent from `state` start empty); fills_measured, hence confidence, restarts at
        0 (lesson E2). Older states are refused: their EWMAs hold our own depth (version 1 measured from the
        placement mid, version 2 from the last mid before the fill)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"AdverseSelectionModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params, priors)
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
