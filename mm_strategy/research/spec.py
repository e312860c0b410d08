"""The sweep spec: what to vary, on which data, and how to judge a run. JSON or YAML, validated on load.

    name: hl_btc_example                        # results go to reports/sweeps/<name> unless --out says otherwise
    configs: [configs/hyperliquid_btc.json]     # base config(s); each one is a candidate dimension of its own
    parameters:                                 # dotted paths into the config file (see .overrides)
      strategy.config.num_levels: [2, 3, 4]                              # a list of values
      strategy.config.level_spacing_bps: {start: 0.5, stop: 2.0, num: 4} # a grid (log: true for geometric)
      strategy.config.risk.gamma_per_usd: {low: 0.03, high: 0.3, log: true}  # sampled (integer: true rounds)
      backtest.latency_ms: 50                                            # a single value: fixed for the sweep
    sampling: {method: lhs, samples: 8, seed: 7} # random or lhs (Latin hypercube), for {low, high} parameters
    datasets:
      - catalog: data/catalog_hl_btc_cp15       # optional: name, start, end (UTC ISO), overrides {path: value}
    walk_forward: {window_s: 45, max_gap_s: 30, priors: before_window}  # optional: roll windows over each
                                                # dataset (see .windows); priors: see below
    rank: net_pnl                               # or weights: {net_pnl: 1.0, markout_5s_bps: 0.5}
    constraints: ["two_sided_frac >= 0.95"]     # a run breaking one is infeasible: never chosen, still shown
    min_fill_events: 10                         # default 10; every run needs this many fills (0 turns it off)
    rank_penalty_se: 1.0                        # default 1; candidates rank by mean score − this × its std. error

Lists and grids combine as a full grid; sampled parameters draw ``samples`` points together, and each point is
combined with every grid point. Every base config runs on every dataset (a catalog without the config's
instrument fails planning, naming both): sweep another coin with its own config in its own spec. Relative paths
are relative to the working directory (the repository root when run through ``make sweep``). Every error names
the spec field.

Why ``walk_forward.priors: before_window``: a config's priors (κ, A, σ) are fitted on market data
(``python -m mm_strategy.calibrate``); scored on windows of that same data, every run quotes with knowledge of the
window's own future (on the bundled BTC capture, refitting on the data before window 3 changed quoting in 34 of 40
runs and flipped the in-sample choice). ``before_window`` refits them for each window on the catalog's data strictly
before its start and injects them into that window's runs (see :mod:`.window_priors`); ``config`` (the default)
keeps the config's, and planning refuses a walk-forward whose out-of-sample windows overlap the range the config's
``priors.fitted_on`` says they were fitted on.

Why a minimum of fills, and why per run: a market maker's PnL over a window comes from its fills, and a handful of
fills is luck (on the bundled 9-minute capture, 45 s windows gave 0 fills in 4 windows of 5 and every candidate's
score came from 2–3 fills of one window). ``min_fill_events`` adds the constraint ``fill_events >= N`` to every run
(each dataset and walk-forward window): the walk-forward choice is made on one window, so each window must hold
enough fills to choose on, and a candidate qualifies only when all of its runs do. It counts fill events (a same-side burst
of fills at most 20 ms apart, ``reporting/clusters.py``), not fill records: one taker order sweeping our levels
prints as several fills (the 9–12 "fills" above were 2–3 taker orders; on the Binance recording the shipped config's
16 fills are 5 sweeps, their prints 0.4 µs to 3.8 ms apart), but it is one observation.
"""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Literal

import msgspec
import numpy as np
import pandas as pd

from mm_strategy.research.metrics import resolve_metric

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
CONSTRAINT_PATTERN = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+)\s*$")
COMPARISONS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, ">": operator.gt, "<": operator.lt}
DEFAULT_MAX_GAP_S = 30.0  # the strategy halts on a book older than 30 s: a window across such a gap tests the halt
DEFAULT_MIN_FILL_EVENTS = 10  # per run; fewer and the run's PnL is a few fills' luck (see the module docstring)
DEFAULT_RANK_PENALTY_SE = 1.0  # mean − 1 standard error: a candidate must beat another by more than its noise


class SpecError(ValueError):
    """A spec that cannot run; the message names the field."""


class _Sampling(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    method: Literal["random", "lhs"]
    samples: int
    seed: int


class _Dataset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    catalog: str
    name: str | None = None
    start: str | None = None
    end: str | None = None
    overrides: dict[str, Any] = {}


PRIORS_CONFIG = "config"  # every run quotes with the config's priors
PRIORS_BEFORE_WINDOW = "before_window"  # each window's runs with priors fitted on the data before the window


class _WalkForward(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    window_s: float
    max_gap_s: float = DEFAULT_MAX_GAP_S
    priors: Literal["config", "before_window"] = PRIORS_CONFIG


class _SpecFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    configs: list[str]
    datasets: list[_Dataset]
    parameters: dict[str, Any] = {}
    sampling: _Sampling | None = None
    walk_forward: _WalkForward | None = None
    rank: str | dict[str, float] = "net_pnl"
    constraints: list[str] = []
    min_fill_events: int = DEFAULT_MIN_FILL_EVENTS
    rank_penalty_se: float = DEFAULT_RANK_PENALTY_SE


@dataclass(frozen=True, slots=True)
class Choice:
    """A parameter taking each of ``values`` (a list, a grid or one fixed value)."""

    path: str
    values: tuple


@dataclass(frozen=True, slots=True)
class Range:
    """A sampled parameter: uniform on [low, high], or uniform in log space when ``log``; rounded if ``integer``."""

    path: str
    low: float
    high: float
    log: bool = False
    integer: bool = False


@dataclass(frozen=True, slots=True)
class Sampling:
    method: str
    samples: int
    seed: int


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    catalog: Path
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    overrides: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WalkForward:
    window_s: float
    max_gap_s: float
    priors: str = PRIORS_CONFIG  # PRIORS_CONFIG or PRIORS_BEFORE_WINDOW


@dataclass(frozen=True, slots=True)
class Constraint:
    text: str
    column: str
    op: str
    threshold: float

    def holds(self, values: pd.Series) -> pd.Series:
        """Element-wise; a missing value (NaN) breaks the constraint."""
        return COMPARISONS[self.op](values, self.threshold) & values.notna()


@dataclass(frozen=True, slots=True)
class SweepSpec:
    name: str
    source: Path
    configs: tuple[Path, ...]
    datasets: tuple[Dataset, ...]
    choices: tuple[Choice, ...]
    ranges: tuple[Range, ...]
    sampling: Sampling | None
    walk_forward: WalkForward | None
    rank_weights: dict[str, float]  # results column → weight; score = Σ weight · value, higher is better
    constraints: tuple[Constraint, ...]  # the spec's, then the min_fill_events one (when > 0)
    rank_penalty_se: float  # a candidate's objective = mean score − rank_penalty_se × standard error of the mean

    @property
    def parameter_paths(self) -> list[str]:
        return [c.path for c in self.choices] + [r.path for r in self.ranges]


def load_spec(path: Path | str) -> SweepSpec:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    try:
        raw = _parse_text(text, path)
        return parse_spec(raw, path)
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None


def parse_spec(raw: object, source: Path) -> SweepSpec:
    try:
        spec = msgspec.convert(raw, type=_SpecFile)
    except msgspec.ValidationError as exc:
        raise SpecError(str(exc)) from None
    if not NAME_PATTERN.match(spec.name):
        raise SpecError(f"name: {spec.name!r} must be letters, digits, '_', '.' or '-' (it names the results folder)")
    if not spec.configs:
        raise SpecError("configs: no base config, so the spec expands to zero runs")
    if not spec.datasets:
        raise SpecError("datasets: no dataset, so the spec expands to zero runs")
    choices, ranges = [], []
    for param_path, value in spec.parameters.items():
        dimension = _parameter(param_path, value)
        (ranges if isinstance(dimension, Range) else choices).append(dimension)
    datasets = tuple(_dataset(i, d, spec.parameters) for i, d in enumerate(spec.datasets))
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise SpecError(f"datasets: names must differ (got {', '.join(names)}); set name: on each")
    return SweepSpec(
        name=spec.name,
        source=source,
        configs=tuple(Path(c) for c in spec.configs),
        datasets=datasets,
        choices=tuple(choices),
        ranges=tuple(ranges),
        sampling=_sampling(spec.sampling, ranges),
        walk_forward=_walk_forward(spec.walk_forward, spec.parameters),
        rank_weights=_rank(spec.rank),
        constraints=tuple(_constraint(i, text) for i, text in enumerate(spec.constraints)) + _min_fills(spec.min_fill_events),
        rank_penalty_se=_rank_penalty(spec.rank_penalty_se),
    )


def _parse_text(text: str, path: Path) -> object:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise SpecError("reading a YAML spec needs PyYAML (pip install pyyaml); or write the spec as JSON") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"not valid YAML ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"not valid JSON ({exc})") from None


def _parameter(path: str, value: object) -> Choice | Range:
    field = f"parameters.{path}"
    if isinstance(value, list):
        if not value:
            raise SpecError(f"{field}: an empty list, so the spec expands to zero runs")
        return Choice(path, tuple(value))
    if not isinstance(value, dict):
        return Choice(path, (value,))
    keys = set(value)
    if keys <= {"start", "stop", "num", "log"} and {"start", "stop", "num"} <= keys:
        return Choice(path, _grid(field, value))
    if keys <= {"low", "high", "log", "integer"} and {"low", "high"} <= keys:
        low, high = _number(field, "low", value["low"]), _number(field, "high", value["high"])
        log = _flag(field, "log", value.get("log", False))
        if not low < high:
            raise SpecError(f"{field}: low must be < high, got {low} and {high}")
        if log and low <= 0:
            raise SpecError(f"{field}: log sampling needs low > 0, got {low}")
        return Range(path, low, high, log=log, integer=_flag(field, "integer", value.get("integer", False)))
    raise SpecError(f"{field}: expected a value, a list, {{start, stop, num[, log]}} or {{low, high[, log, integer]}}")


def _grid(field: str, value: dict) -> tuple:
    start, stop = _number(field, "start", value["start"]), _number(field, "stop", value["stop"])
    num = value["num"]
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise SpecError(f"{field}.num: must be an integer >= 1, got {num!r}")
    if _flag(field, "log", value.get("log", False)):
        if start <= 0 or stop <= 0:
            raise SpecError(f"{field}: a log grid needs start and stop > 0, got {start} and {stop}")
        points = np.geomspace(start, stop, num)
    else:
        points = np.linspace(start, stop, num)
    # round off binary noise (0.30000000000000004) so values print, hash and write back as typed
    return tuple(float(f"{p:.12g}") for p in points)


def _number(field: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(f"{field}.{key}: must be a finite number, got {value!r}")
    return float(value)


def _flag(field: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{field}.{key}: must be true or false, got {value!r}")
    return value


def _dataset(index: int, raw: _Dataset, parameters: dict) -> Dataset:
    field = f"datasets[{index}]"
    clash = sorted(set(raw.overrides) & set(parameters))
    if clash:
        raise SpecError(f"{field}.overrides: {', '.join(clash)} also swept under parameters; set it in one place")
    return Dataset(
        name=raw.name or Path(raw.catalog).name,
        catalog=Path(raw.catalog),
        start=_timestamp(f"{field}.start", raw.start),
        end=_timestamp(f"{field}.end", raw.end),
        overrides=dict(raw.overrides),
    )


def _timestamp(field: str, value: str | None) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise SpecError(f"{field}: not a time ({exc})") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _sampling(raw: _Sampling | None, ranges: list[Range]) -> Sampling | None:
    if raw is None:
        if ranges:
            paths = ", ".join(r.path for r in ranges)
            raise SpecError(f"sampling: required (method, samples, seed) for the {{low, high}} parameter(s) {paths}")
        return None
    if not ranges:
        raise SpecError("sampling: given, but no parameter is a {low, high} range to sample")
    if raw.samples < 1:
        raise SpecError(f"sampling.samples: {raw.samples}, so the spec expands to zero runs")
    return Sampling(method=raw.method, samples=raw.samples, seed=raw.seed)


def _walk_forward(raw: _WalkForward | None, parameters: dict) -> WalkForward | None:
    if raw is None:
        return None
    swept = sorted(path for path in parameters if path == "priors" or path.startswith("priors."))
    if raw.priors == PRIORS_BEFORE_WINDOW and swept:
        raise SpecError(f"walk_forward.priors: before_window sets each window's priors, but parameters also sets "
                        f"{', '.join(swept)}; set them in one place")
    if not (math.isfinite(raw.window_s) and raw.window_s > 0):
        raise SpecError(f"walk_forward.window_s: must be > 0, got {raw.window_s}")
    if not (math.isfinite(raw.max_gap_s) and raw.max_gap_s > 0):
        raise SpecError(f"walk_forward.max_gap_s: must be > 0, got {raw.max_gap_s}")
    return WalkForward(window_s=raw.window_s, max_gap_s=raw.max_gap_s, priors=raw.priors)


def _rank(raw: str | dict[str, float]) -> dict[str, float]:
    weights = {raw: 1.0} if isinstance(raw, str) else raw
    if not weights:
        raise SpecError("rank: no metric to rank by")
    resolved: dict[str, float] = {}
    for name, weight in weights.items():
        field = f"rank.{name}" if isinstance(raw, dict) else "rank"
        try:
            column = resolve_metric(name, field)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        if not (math.isfinite(weight) and weight != 0):
            raise SpecError(f"{field}: weight must be finite and non-zero, got {weight}")
        resolved[column] = resolved.get(column, 0.0) + float(weight)
    return resolved


def _constraint(index: int, text: str) -> Constraint:
    field = f"constraints[{index}]"
    match = CONSTRAINT_PATTERN.match(text)
    if not match:
        raise SpecError(f"{field}: {text!r} is not 'metric OP number' (OP one of >=, <=, >, <, ==)")
    name, op, number = match.groups()
    try:
        column = resolve_metric(name, field)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    try:
        threshold = float(number)
    except ValueError:
        raise SpecError(f"{field}: {number!r} is not a number") from None
    return Constraint(text=text.strip(), column=column, op=op, threshold=threshold)


def _min_fills(min_fill_events: int) -> tuple[Constraint, ...]:
    if min_fill_events < 0:
        raise SpecError(f"min_fill_events: must be >= 0 (0 turns the minimum off), got {min_fill_events}")
    if min_fill_events == 0:
        return ()
    column = resolve_metric("fill_events", "min_fill_events")
    return (Constraint(f"fill_events >= {min_fill_events} (min_fill_events)", column, ">=", float(min_fill_events)),)


def _rank_penalty(penalty_se: float) -> float:
    if not (math.isfinite(penalty_se) and penalty_se >= 0):
        raise SpecError(f"rank_penalty_se: must be a finite number >= 0, got {penalty_se}")
    return float(penalty_se)
