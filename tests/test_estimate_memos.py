"""The readings the models keep between reads (issue 13's speed work): a kept reading must be the one a rebuild
gives, bit for bit.

Kept: the kappa model's reading and each side's curve (``KappaModel._current_side``), the fill-rate and calibration
readings while their inputs are unchanged, the informed-flow model's neutral reading without trades. Every call the
actors made into these models in one full-stack backtest of the archive hour (own spells and fills, the estimates
fed between actors, reads at the actors' cadence; ``benchmarks/estimator_replay.py``) is replayed into two fresh
models: one as shipped, and one whose kept readings are dropped before every read, so it rebuilds each one. Every
read must print the same, and the kept readings must have been used (else this tests nothing). The archive hour,
not the 9-minute capture: there the kappa window never fills, so every read rebuilds both sides, and it has
trades throughout.
"""

from __future__ import annotations

import pytest

from benchmarks import estimators
from mm_strategy.node_config import load_venue_config
from run_backtest import DEFAULT_CONFIG

# per model: its kept readings, as a model without any starts (a fresh value each time: `_sides` is mutated)
DROPPED = {
    "KappaModel": lambda: {"_memo": None, "_sides": [None, None]},
    "FillRateModel": lambda: {"_memo": None},
    "CalibrationModel": lambda: {"_memo": None},
    "InformedFlowModel": lambda: {"_neutral": None},
}


@pytest.fixture(scope="module")
def log(archive_catalog):
    return estimators.record_backtest(load_venue_config(DEFAULT_CONFIG), archive_catalog)[0]


def _reads(log, name: str, drop: bool) -> list:
    """Every estimate of model `name` over the replayed calls; with `drop`, each rebuilt from scratch."""
    index = log.index_of(name)
    model = log.models[index].build()
    reads = []
    for k, method, args in log.calls:
        if k != index:
            continue
        if method == "estimate" and drop:
            for attribute, value in DROPPED[name]().items():
                setattr(model, attribute, value)
        try:
            outcome = getattr(model, method)(*args)
        except ValueError:
            continue
        if method == "estimate":
            reads.append(outcome)
    return reads


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_a_kept_reading_is_the_one_a_rebuild_gives(log, name):
    kept, rebuilt = _reads(log, name, drop=False), _reads(log, name, drop=True)
    assert len(kept) == len(rebuilt) > 5_000  # 5,402 reads
    assert [repr(r) for r in kept] == [repr(r) for r in rebuilt]
    assert any(a is b for a, b in zip(kept, kept[1:]))  # the kept reading was returned


def test_a_kappa_side_whose_windows_did_not_change_keeps_its_curve(log):
    """A spell or an arrival on one side rebuilds that side only: some new readings keep the other side's curve."""
    reads = _reads(log, "KappaModel", drop=False)
    new = [(a, b) for a, b in zip(reads, reads[1:]) if a is not b]
    assert any((a.bid is b.bid) != (a.ask is b.ask) for a, b in new)
