"""From a spec to the list of runs, every one validated before any backtest starts.

A run is (base config, parameter set, dataset, window). Its config document is the base config with the dataset's
overrides and then the parameter set applied (see :mod:`.overrides`), validated by ``load_venue_config_dict``: an
unknown path or an invalid value fails here, naming the parameter and the field, not an hour into the sweep.

Each run has a content id (a hash of its config name, parameter set, config document, catalog and window), so a
resumed sweep skips exactly the runs whose inputs did not change, even after the spec was edited. What the id
cannot see, the code and the catalog's files, each run carries as provenance (see :mod:`.provenance`): computed
once here for the whole sweep and compared on resume (each row records the code version its worker ran, see
:mod:`.runner`).

Priors: with ``walk_forward.priors: before_window`` each window's runs get the priors fitted on the data before
the window (see :mod:`.window_priors`), part of their document and so of their run id; a window without them has
no runs and is listed in ``SweepPlan.left_out``. Otherwise the config's priors must not have been fitted on the
windows scored out of sample (its ``priors.fitted_on`` stamp).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from mm_strategy.node_config import load_venue_config_dict
from mm_strategy.node_config import refuse_state_fields
from mm_strategy.research.expand import parameter_sets
from mm_strategy.research.expand import params_id
from mm_strategy.research.overrides import OverrideError
from mm_strategy.research.overrides import apply_overrides
from mm_strategy.research.provenance import catalog_fingerprint
from mm_strategy.research.provenance import code_version
from mm_strategy.research.provenance import source_stamp
from mm_strategy.research.provenance import source_version
from mm_strategy.research.spec import PRIORS_BEFORE_WINDOW
from mm_strategy.research.spec import PRIORS_CONFIG
from mm_strategy.research.spec import SpecError
from mm_strategy.research.spec import SweepSpec
from mm_strategy.research.window_priors import WindowPriors
from mm_strategy.research.window_priors import check_not_fitted_on
from mm_strategy.research.window_priors import priors_before_windows
from mm_strategy.research.windows import Window
from mm_strategy.research.windows import plan_windows


@dataclass(frozen=True, slots=True)
class RunTask:
    """Everything a worker needs for one backtest, picklable and independent of the driver's files but the catalog."""

    run_id: str
    config: str  # the base config as the spec names it
    params_id: str
    params: dict[str, object]
    dataset: str
    catalog: str  # absolute: Ray workers on other nodes read the same path
    window: int
    start_ns: int
    end_ns: int
    document: dict  # the overridden config document (with the window's priors under before_window)
    source: str  # names the config and parameter set in errors
    priors_source: str  # PRIORS_CONFIG or PRIORS_BEFORE_WINDOW: recorded in the row
    priors_note: str  # the window calibration's sample warnings ("" when none, or with the config's priors)
    code_version: str  # the plan's, compared on resume (not part of the run id); rows record the worker's (runner)
    source_version: str  # the plan's hash of the package sources, which the worker checks it runs (runner)
    source_stamp: str  # their names, sizes and times when the plan hashed them (provenance.source_stamp)
    catalog_fingerprint: str


@dataclass(frozen=True, slots=True)
class SweepPlan:
    spec: SweepSpec
    tasks: list[RunTask]
    parameter_sets: list[dict[str, object]]
    windows: dict[str, list[Window]]  # dataset name → its windows
    base_documents: dict[str, dict]  # config as named → its document, for the winning-config writer
    left_out: dict[tuple[str, int], str]  # (dataset, window) without runs → why (no priors fitted before it)


def plan_sweep(spec: SweepSpec) -> SweepPlan:
    bases = {str(path): read_config_document(path, f"configs[{i}]") for i, path in enumerate(spec.configs)}
    sets = parameter_sets(spec)
    for config, base in bases.items():
        check_parameter_paths(spec, config, base)
    windows: dict[str, list[Window]] = {}
    instruments: dict[str, str] = {}
    tasks: list[RunTask] = []
    stamp = source_stamp()  # before the hash: an edit in between leaves a stamp no worker matches
    version, sources = code_version(), source_version()
    fingerprints: dict[str, str] = {}
    refit = spec.walk_forward is not None and spec.walk_forward.priors == PRIORS_BEFORE_WINDOW
    window_priors: dict[str, dict[int, WindowPriors]] = {}  # dataset → window → priors: fitted once per window
    for c, (config, base) in enumerate(bases.items()):
        for d, dataset in enumerate(spec.datasets):
            field = f"datasets[{d}]"
            with_dataset = _overridden(base, dataset.overrides, f"{config} with {field}.overrides", f"{field}.overrides")
            instrument_id = with_dataset.get("instrument_id")
            if not isinstance(instrument_id, str):
                raise SpecError(f"configs: {config} has no top-level instrument_id")
            if instruments.setdefault(dataset.name, instrument_id) != instrument_id:
                raise SpecError(f"configs: the base configs trade different instruments on {field}; one per spec")
            if dataset.name not in windows:
                windows[dataset.name] = plan_windows(dataset, instrument_id, spec.walk_forward, field)
            dataset_windows = windows[dataset.name]
            catalog = str(dataset.catalog.resolve())
            if catalog not in fingerprints:
                fingerprints[catalog] = catalog_fingerprint(Path(catalog))
            if refit and dataset.name not in window_priors:
                window_priors[dataset.name] = priors_before_windows(Path(catalog), instrument_id, dataset_windows, field)
            elif not refit:
                check_not_fitted_on(with_dataset, dataset_windows, f"configs[{c}] ({config})", f"{field} ({dataset.name})")
            for params in sets:
                pid = params_id(params)
                source = f"{config} with parameters {json.dumps(params, sort_keys=True)}"
                document = _overridden(with_dataset, params, source, "parameters")
                for window in dataset_windows:
                    fitted = window_priors[dataset.name][window.index] if refit else None
                    if fitted is not None and fitted.block is None:
                        continue  # no priors fitted before this window: left out, never run on the config's
                    run_document = document if fitted is None else _with_priors(document, fitted, source, window)
                    tasks.append(
                        RunTask(
                            run_id=run_id(config, params, run_document, catalog, window),
                            config=config,
                            params_id=pid,
                            params=params,
                            dataset=dataset.name,
                            catalog=catalog,
                            window=window.index,
                            start_ns=window.start_ns,
                            end_ns=window.end_ns,
                            document=run_document,
                            source=source,
                            priors_source=PRIORS_BEFORE_WINDOW if refit else PRIORS_CONFIG,
                            priors_note=fitted.note if fitted is not None else "",
                            code_version=version,
                            source_version=sources,
                            source_stamp=stamp,
                            catalog_fingerprint=fingerprints[catalog],
                        )
                    )
    left_out = {(name, index): fitted.note for name, by_window in window_priors.items()
                for index, fitted in by_window.items() if fitted.block is None}
    return SweepPlan(spec, tasks, sets, windows, bases, left_out)


def _with_priors(document: dict, fitted: WindowPriors, source: str, window: Window) -> dict:
    return _overridden(document, {"priors": fitted.block}, f"{source} with the priors fitted before window "
                       f"{window.index}", "walk_forward.priors")


def read_config_document(path: Path, field: str) -> dict:
    """The base config as a raw document, validated as it stands so its own errors are not blamed on a parameter."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{field}: {path}: config file not found") from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"{field}: {path}: not valid JSON ({exc})") from None
    _validate(document, str(path), field)
    return document


def check_parameter_paths(spec: SweepSpec, config: str, base: dict) -> None:
    """Each parameter alone, at its first value, so an unknown path is reported under its own name."""
    firsts = {c.path: c.values[0] for c in spec.choices} | {r.path: r.low for r in spec.ranges}
    for path, value in firsts.items():
        _overridden(base, {path: value}, f"{config} with {path} = {value!r}", f"parameters.{path}")


def _overridden(document: dict, overrides: dict, source: str, field: str) -> dict:
    try:
        result = apply_overrides(document, overrides)
    except OverrideError as exc:
        raise SpecError(f"{field}: {exc}") from None
    _validate(result, source, field)
    return result


def _validate(document: dict, source: str, field: str) -> None:
    try:
        refuse_state_fields(load_venue_config_dict(document, source))
    except ValueError as exc:
        raise SpecError(f"{field}: {exc}") from None


def run_id(config: str, params: dict, document: dict, catalog: str, window: Window) -> str:
    """Content id: the document decides the backtest; the config name and parameter set keep two candidates that
    happen to produce the same document (a value equal to the base's) as two runs, each on its own leaderboard row."""
    canonical = json.dumps(
        {"config": config, "params": params, "document": document, "catalog": catalog,
         "start_ns": window.start_ns, "end_ns": window.end_ns},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
