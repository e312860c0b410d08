"""Parameter sets from a spec: the full grid of lists and grids, times the random or Latin-hypercube samples.

Latin hypercube (``lhs``): each sampled parameter's range is cut into ``samples`` equal strata and every stratum
is hit exactly once, in an independent random order per parameter, so n runs cover each parameter's whole range
(plain random draws leave holes at small n). Both use ``numpy.random.default_rng(seed)``: the same spec draws the
same points on every machine, which is what lets a sweep resume.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math

import numpy as np

from mm_strategy.research.spec import Range
from mm_strategy.research.spec import Sampling
from mm_strategy.research.spec import SweepSpec

SAMPLE_SIGNIFICANT_DIGITS = 6  # sampled values are written into configs: keep them readable


def parameter_sets(spec: SweepSpec) -> list[dict[str, object]]:
    """Every parameter set of the spec, in a stable order, without duplicates (an integer range can repeat)."""
    paths = [choice.path for choice in spec.choices]
    grid = [dict(zip(paths, combo, strict=True)) for combo in itertools.product(*(c.values for c in spec.choices))]
    if spec.ranges:
        samples = sample_ranges(spec.ranges, spec.sampling)
        grid = [{**point, **sample} for sample in samples for point in grid]
    unique: dict[str, dict[str, object]] = {}
    for params in grid:
        unique.setdefault(params_id(params), params)
    return list(unique.values())


def sample_ranges(ranges: tuple[Range, ...], sampling: Sampling) -> list[dict[str, object]]:
    rng = np.random.default_rng(sampling.seed)
    n, dims = sampling.samples, len(ranges)
    if sampling.method == "lhs":
        strata = rng.permuted(np.tile(np.arange(n), (dims, 1)), axis=1).T  # column d: a permutation of 0..n-1
        unit = (strata + rng.random((n, dims))) / n
    else:
        unit = rng.random((n, dims))
    return [{r.path: _scale(r, unit[i, d]) for d, r in enumerate(ranges)} for i in range(n)]


def _scale(dimension: Range, u: float) -> float | int:
    if dimension.log:
        low, high = math.log(dimension.low), math.log(dimension.high)
        value = math.exp(low + u * (high - low))
    else:
        value = dimension.low + u * (dimension.high - dimension.low)
    if dimension.integer:
        return int(round(value))
    return float(f"{value:.{SAMPLE_SIGNIFICANT_DIGITS}g}")


def params_id(params: dict[str, object]) -> str:
    """A short stable id of a parameter set (the same values give the same id in every run of the sweep)."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]
