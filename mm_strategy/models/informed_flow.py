"""P(informed) of the public trade flow from an online two-component Gaussian mixture (inventory §B8, simplified).

What is classified: taker *orders*, not prints. Hyperliquid prints one trade per resting maker order, so a taker
order that sweeps 7 levels arrives as 7 trades with the same time and aggressor side (see the bundled WS recording);
consecutive trades with the same ts_ns and aggressor side are summed into one order.

Features of an order (diagonal Gaussian per component):
- ln(notional) = ln Σ px·size: informed orders are larger; notional rather than base size so the components keep
  their meaning when the price level moves;
- ln(inter-arrival s) since the previous order (either side), clipped to [1 ms, max_interarrival_s]: informed flow
  comes in bursts;
- subsequent price impact s·(m_after − m_before)/m_before in bps, s = +1 for a buyer aggressor: m_before is the last
  mid at or before the order, m_after the first mid strictly after it. This is realised impact, fed from the mids
  (the inventory §B8 caveat: the original synthesised impact from its own EWMA, which is circular). Orders with no mid
  before them (a trade snapshot replayed at connect) are not classified.

Learning: stepwise EM with exponential forgetting (half-life in orders). Each order gets responsibilities from the
current components (E-step); sufficient statistics decay and accumulate; the M-step recomputes the components at
once. Stabilisers, each needed for a robust online fit:
- the components start from the first `min_init_orders` orders (pooled mean and std; the informed one shifted one std
  towards larger, faster, more impactful), so no instrument-specific absolute prior is needed;
- each component keeps a weight-1 anchor at its start values and a variance floor, so a component that stops
  receiving responsibility stays defined instead of collapsing;
- the mixing weight has a Beta(strength·p0, strength·(1 − p0)) prior, so p_informed = p0 until data says otherwise;
- the "informed" label always belongs to the component that is larger/faster/more impactful in start-std units
  (label switching).

Outputs: p_informed = the informed mixing weight (the share of recent orders that are informed). confidence =
min(1, orders classified since start / warmup_orders) · (1 − Bhattacharyya overlap of the components) ·
2^(−time since the last classified order / confidence_half_life_s): low with few orders, with components that do not
separate, or when the tape has gone quiet (lesson E9: a missing feed disables the signal). With no trades at all,
p_informed = p0 and confidence = 0. The count restarts at 0 after a restore, as for adverse selection (lesson E2).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

_NS_PER_S = 1_000_000_000
_BPS = 1e4
_N_FEATURES = 3
_TOXIC_DIRECTION = (1.0, -1.0, 1.0)  # larger notional, shorter inter-arrival, larger impact = more informed
_MIN_STD = (0.1, 0.1, 0.1)  # ln-notional, ln-seconds, bps: keeps a component from collapsing on repeated values
_MIN_INTERARRIVAL_S = 1e-3  # Hyperliquid trade times are in ms
_ANCHOR_WEIGHT = 1.0
_INFORMED, _UNINFORMED = 0, 1
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class InformedFlowParams:
    """Defaults: prior 0.10 informed, half-life 200 orders, warmup 50 (inventory §B8)."""

    prior_p_informed: float = 0.1
    prior_strength_orders: float = 20.0
    half_life_orders: float = 200.0
    min_init_orders: int = 10
    warmup_orders: int = 50
    max_interarrival_s: float = 60.0
    confidence_half_life_s: float = 60.0
    max_awaiting_orders: int = 1000

    def __post_init__(self) -> None:
        checks = (
            ("prior_p_informed", 0 < self.prior_p_informed < 1, "in (0, 1)"),
            ("prior_strength_orders", 0 < self.prior_strength_orders < math.inf, "> 0 and finite"),
            ("half_life_orders", 0 < self.half_life_orders < math.inf, "> 0 and finite"),
            ("min_init_orders", self.min_init_orders >= 2, ">= 2"),
            ("warmup_orders", self.warmup_orders >= 1, ">= 1"),
            ("max_interarrival_s", _MIN_INTERARRIVAL_S < self.max_interarrival_s < math.inf, "> 0.001 and finite"),
            ("confidence_half_life_s", 0 < self.confidence_half_life_s < math.inf, "> 0 and finite"),
            ("max_awaiting_orders", self.max_awaiting_orders >= 1, ">= 1"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise ValueError(f"InformedFlowParams.{name}: must be {rule}, got {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True)
class InformedFlowEstimate:
    p_informed: float
    confidence: float
    orders_classified: int


def order_features(notional: float, interarrival_s: float, impact_bps: float) -> tuple[float, float, float]:
    return (math.log(notional), math.log(interarrival_s), impact_bps)


def gaussian_log_density(x: tuple[float, ...], mean: list[float], var: list[float]) -> float:
    """Diagonal Gaussian log-density without the 2π constant (it cancels between components)."""
    return -0.5 * sum(math.log(v) + (xi - m) * (xi - m) / v for xi, m, v in zip(x, mean, var))


def bhattacharyya_overlap(mean_a: list[float], var_a: list[float], mean_b: list[float], var_b: list[float]) -> float:
    """Bhattacharyya coefficient of two diagonal Gaussians: 1 = identical, → 0 = fully separated."""
    log_bc = 0.0
    for ma, va, mb, vb in zip(mean_a, var_a, mean_b, var_b):
        s = va + vb
        log_bc += 0.5 * math.log(2.0 * math.sqrt(va * vb) / s) - (ma - mb) ** 2 / (4.0 * s)
    return math.exp(log_bc)


class _Mixture:
    """Two diagonal Gaussian components with forgetting sufficient statistics (index 0 = informed)."""

    __slots__ = ("decay", "prior_counts", "scale", "anchor_mean", "anchor_var", "s0", "s1", "s2", "mean", "var", "p")

    def __init__(self, decay: float, prior_counts: tuple[float, float], sample: list[tuple[float, ...]]) -> None:
        self.decay = decay
        self.prior_counts = prior_counts
        n = len(sample)
        pooled_mean = [sum(x[j] for x in sample) / n for j in range(_N_FEATURES)]
        self.scale = [
            max(math.sqrt(sum((x[j] - pooled_mean[j]) ** 2 for x in sample) / n), _MIN_STD[j])
            for j in range(_N_FEATURES)
        ]
        informed_mean = [m + d * s for m, d, s in zip(pooled_mean, _TOXIC_DIRECTION, self.scale)]
        self.anchor_mean = [informed_mean, pooled_mean]
        self.anchor_var = [[s * s for s in self.scale] for _ in range(2)]
        self.s0 = [0.0, 0.0]
        self.s1 = [[0.0] * _N_FEATURES for _ in range(2)]
        self.s2 = [[0.0] * _N_FEATURES for _ in range(2)]
        self._m_step()

    def update(self, x: tuple[float, ...]) -> None:
        """One stepwise-EM step: responsibilities, decayed statistics, M-step."""
        ll_inf = math.log(self.p) + gaussian_log_density(x, self.mean[_INFORMED], self.var[_INFORMED])
        ll_un = math.log(1.0 - self.p) + gaussian_log_density(x, self.mean[_UNINFORMED], self.var[_UNINFORMED])
        r_inf = 1.0 / (1.0 + math.exp(min(ll_un - ll_inf, 700.0)))
        d = self.decay
        for k, r in ((_INFORMED, r_inf), (_UNINFORMED, 1.0 - r_inf)):
            self.s0[k] = d * self.s0[k] + r
            s1, s2 = self.s1[k], self.s2[k]
            for j in range(_N_FEATURES):
                s1[j] = d * s1[j] + r * x[j]
                s2[j] = d * s2[j] + r * x[j] * x[j]
        self._m_step()

    def _m_step(self) -> None:
        self.mean, self.var = [], []
        for k in (_INFORMED, _UNINFORMED):
            w = self.s0[k] + _ANCHOR_WEIGHT
            mean_k, var_k = [], []
            for j in range(_N_FEATURES):
                m0, v0 = self.anchor_mean[k][j], self.anchor_var[k][j]
                mu = (self.s1[k][j] + _ANCHOR_WEIGHT * m0) / w
                second = (self.s2[k][j] + _ANCHOR_WEIGHT * (v0 + m0 * m0)) / w
                mean_k.append(mu)
                var_k.append(max(second - mu * mu, _MIN_STD[j] ** 2))
            self.mean.append(mean_k)
            self.var.append(var_k)
        a_inf, a_un = self.prior_counts
        self.p = (self.s0[_INFORMED] + a_inf) / (self.s0[_INFORMED] + self.s0[_UNINFORMED] + a_inf + a_un)
        if self._toxicity(_UNINFORMED) > self._toxicity(_INFORMED):
            self._swap_labels()

    def _toxicity(self, k: int) -> float:
        return sum(d * m / s for d, m, s in zip(_TOXIC_DIRECTION, self.mean[k], self.scale))

    def _swap_labels(self) -> None:
        for name in ("anchor_mean", "anchor_var", "s0", "s1", "s2"):
            pair = getattr(self, name)
            pair.reverse()
        self._m_step()

    def separation(self) -> float:
        return 1.0 - bhattacharyya_overlap(self.mean[0], self.var[0], self.mean[1], self.var[1])

    def to_state(self) -> dict:
        """Copies (a caller's state dict must not change with the model)."""
        state = {name: list(getattr(self, name)) for name in ("scale", "s0")}
        for name in ("anchor_mean", "anchor_var", "s1", "s2"):
            state[name] = [list(row) for row in getattr(self, name)]
        return state

    @classmethod
    def from_state(cls, decay: float, prior_counts: tuple[float, float], state: dict) -> _Mixture:
        mixture = cls.__new__(cls)
        mixture.decay = decay
        mixture.prior_counts = prior_counts
        mixture.scale = [float(v) for v in state["scale"]]
        mixture.s0 = [float(v) for v in state["s0"]]
        for name in ("anchor_mean", "anchor_var", "s1", "s2"):
            setattr(mixture, name, [[float(v) for v in row] for row in state[name]])
        mixture._m_step()
        return mixture


class InformedFlowModel:
    """Feed public trades with `on_trade` and mids with `on_mid`, in time order; read `estimate(ts_ns)`."""

    __slots__ = (
        "params",
        "_decay",
        "_prior_counts",
        "_mixture",
        "_init_sample",
        "_open",
        "_awaiting",
        "_last_mid",
        "_last_mid_ts_ns",
        "_last_order_ts_ns",
        "_last_classified_ts_ns",
        "_orders_classified",
    )

    def __init__(self, params: InformedFlowParams | None = None) -> None:
        self.params = params or InformedFlowParams()
        p = self.params
        self._decay = 0.5 ** (1.0 / p.half_life_orders)
        strength = p.prior_strength_orders
        self._prior_counts = (strength * p.prior_p_informed, strength * (1.0 - p.prior_p_informed))
        self._mixture: _Mixture | None = None
        self._init_sample: list[tuple[float, ...]] = []
        # open order: [ts_ns, aggressor_sign, notional, mid_before (NaN if unknown), interarrival_s]
        self._open: list | None = None
        self._awaiting: deque[list] = deque(maxlen=p.max_awaiting_orders)
        self._last_mid = math.nan
        self._last_mid_ts_ns = -1
        self._last_order_ts_ns = -1
        self._last_classified_ts_ns = -1
        self._orders_classified = 0

    def on_trade(self, ts_ns: int, price: float, size: float, aggressor_sign: int) -> None:
        """aggressor_sign: +1 buyer-initiated (HL side 'B'), −1 seller-initiated ('A'), 0 unknown (ignored: the
        impact feature needs the direction)."""
        if not (0 < price < math.inf and 0 < size < math.inf):
            raise ValueError(
                f"InformedFlowModel.on_trade: price and size must be > 0 and finite, got {price!r}, {size!r}"
            )
        if aggressor_sign not in (1, -1, 0):
            raise ValueError(f"InformedFlowModel.on_trade: aggressor_sign must be +1, -1 or 0, got {aggressor_sign!r}")
        if aggressor_sign == 0:
            return
        order = self._open
        if order is not None and order[0] == ts_ns and order[1] == aggressor_sign:
            order[2] += price * size
            return
        if order is not None:
            self._close_open()
        mid_before = self._last_mid if 0 <= self._last_mid_ts_ns <= ts_ns else math.nan
        p = self.params
        if self._last_order_ts_ns < 0:
            interarrival_s = p.max_interarrival_s
        else:
            dt_s = (ts_ns - self._last_order_ts_ns) / _NS_PER_S
            interarrival_s = min(max(dt_s, _MIN_INTERARRIVAL_S), p.max_interarrival_s)
        self._open = [ts_ns, aggressor_sign, price * size, mid_before, interarrival_s]
        self._last_order_ts_ns = ts_ns

    def on_mid(self, ts_ns: int, mid: float) -> None:
        """Closes the open order (a mid after it means it is complete) and prices the impact of every order waiting
        for its first later mid. O(1) when no order is waiting; beyond max_awaiting_orders (a feed with trades but no
        book) the oldest waiting order is dropped."""
        if not 0.0 < mid < math.inf:
            raise ValueError(f"InformedFlowModel.on_mid: mid must be > 0 and finite, got {mid!r}")
        if self._open is not None and ts_ns > self._open[0]:
            self._close_open()
        awaiting = self._awaiting
        while awaiting and awaiting[0][0] < ts_ns:
            order_ts_ns, sign, notional, mid_before, interarrival_s = awaiting.popleft()
            impact_bps = sign * (mid - mid_before) / mid_before * _BPS
            self._classify(order_ts_ns, order_features(notional, interarrival_s, impact_bps))
        self._last_mid = mid
        self._last_mid_ts_ns = ts_ns

    def _close_open(self) -> None:
        order = self._open
        self._open = None
        if order[3] == order[3]:  # mid_before known (not NaN)
            self._awaiting.append(order)

    def _classify(self, ts_ns: int, x: tuple[float, ...]) -> None:
        self._orders_classified += 1
        self._last_classified_ts_ns = max(self._last_classified_ts_ns, ts_ns)
        if self._mixture is not None:
            self._mixture.update(x)
            return
        self._init_sample.append(x)
        if len(self._init_sample) >= self.params.min_init_orders:
            self._mixture = _Mixture(self._decay, self._prior_counts, self._init_sample)
            for sample_x in self._init_sample:
                self._mixture.update(sample_x)
            self._init_sample = []

    def estimate(self, ts_ns: int) -> InformedFlowEstimate:
        p = self.params
        mixture = self._mixture
        if mixture is None:
            return InformedFlowEstimate(p.prior_p_informed, 0.0, self._orders_classified)
        ramp = min(1.0, self._orders_classified / p.warmup_orders)
        quiet_s = max(ts_ns - self._last_classified_ts_ns, 0) / _NS_PER_S
        freshness = 0.5 ** (quiet_s / p.confidence_half_life_s)
        return InformedFlowEstimate(
            p_informed=mixture.p,
            confidence=ramp * mixture.separation() * freshness,
            orders_classified=self._orders_classified,
        )

    def to_state(self) -> dict:
        """The fitted mixture only (None before it exists); open and awaiting orders are transient."""
        return {"version": STATE_VERSION, "mixture": None if self._mixture is None else self._mixture.to_state()}

    @classmethod
    def restore(cls, params: InformedFlowParams, state: dict) -> InformedFlowModel:
        """The mixture (hence p_informed) comes back; the confidence ramp restarts at 0 orders (lesson E2)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"InformedFlowModel.restore: unsupported state version {state.get('version')!r}")
        model = cls(params)
        if state["mixture"] is not None:
            model._mixture = _Mixture.from_state(model._decay, model._prior_counts, state["mixture"])
        return model
