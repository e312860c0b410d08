"""The own-spell refinement's kept exposure (issue 13's speed work on ``models/kappa.py``): the numpy rows must hold
exactly what a recount of the spells in the window gives, through row reuse and growth, and the warm-started
Newton must land on the cold start's κ̂."""

from __future__ import annotations

import numpy as np
import pytest

from mm_strategy.models.kappa import ExposurePoints
from mm_strategy.models.kappa import KappaParams
from mm_strategy.models.kappa import _ExposureBins
from mm_strategy.models.kappa import refine_kappa_points

BP = 1e-4
PARAMS = KappaParams()


def _recount(live: dict[int, list[tuple[float, float]]]) -> dict[float, float]:
    """(mean depth → seconds) of the bins still holding entries, from scratch."""
    points = {}
    for entries in live.values():
        if entries:
            seconds = sum(t for t, _ in entries)
            points[round(sum(td for _, td in entries) / seconds, 15)] = seconds
    return points


def test_rows_follow_adds_and_removals_through_reuse_and_growth() -> None:
    bins = _ExposureBins()
    live: dict[int, list[tuple[float, float]]] = {}

    def add(i: int, t: float) -> None:
        depth = (i + 0.5) * 0.02 * BP
        bins.add(i, t, t * depth)
        live.setdefault(i, []).append((t, t * depth))

    def remove(i: int) -> None:
        t, td = live[i].pop(0)
        bins.remove(i, t, td)

    for i in range(40):  # past the first 16 rows: the arrays grow twice
        add(i, 1.0 + i)
    for i in range(0, 40, 3):
        add(i, 0.5)  # a second entry in every third bin
    for i in range(0, 40, 2):
        remove(i)  # bins with one entry free their row, the others keep the second entry
    for i in range(100, 110):
        add(i, 2.0)  # new bins take freed rows
    points = bins.points()
    rows = [(float(d), float(t)) for d, t in zip(points.depths_frac, points.moments[0], strict=True) if t > 0.0]
    assert {round(d, 15): t for d, t in rows} == pytest.approx(_recount(live), rel=1e-12)
    # 40 bins − 20 emptied + 7 that kept their second entry + 10 new; the free rows add nothing to the sums
    assert len(rows) == sum(1 for entries in live.values() if entries) == 37
    assert points.sums(20_000.0) == pytest.approx(ExposurePoints.of(*zip(*rows, strict=True)).sums(20_000.0), rel=1e-12)


def test_rows_read_between_changes_hold_what_every_row_computed_gives() -> None:
    """The rows are written when the points are read, only those that changed since: each read must hold, bit for
    bit, what the vectorised computation of every row gives from the bins' running sums (mean depth T·δ/T, 0 with
    no time left; T·δ² = T·δ·depth), through reads between adds, removals, row reuse and growth with unread
    changes."""
    bins = _ExposureBins()
    sums: dict[int, list[float]] = {}  # bin -> running [T, T·δ], entry by entry as the bins keep them
    live: dict[int, list[tuple[float, float]]] = {}

    def add(i: int, t: float) -> None:
        depth = (i + 0.37) * 0.02 * BP
        bins.add(i, t, t * depth)
        live.setdefault(i, []).append((t, t * depth))
        running = sums.setdefault(i, [0.0, 0.0])
        running[0] += t
        running[1] += t * depth

    def remove(i: int) -> None:
        t, td = live[i].pop(0)
        bins.remove(i, t, td)
        if live[i]:
            sums[i][0] -= t
            sums[i][1] -= td
        else:
            del sums[i], live[i]

    def check() -> None:
        points = bins.points()
        seconds, weighted = np.zeros(len(points.depths_frac)), np.zeros(len(points.depths_frac))
        for i, (t, td) in sums.items():
            seconds[bins._slot[i]], weighted[bins._slot[i]] = t, td
        depths = np.zeros_like(seconds)
        np.divide(weighted, seconds, out=depths, where=seconds > 0.0)
        assert points.moments[0].tolist() == seconds.tolist() and points.moments[1].tolist() == weighted.tolist()
        assert points.depths_frac.tolist() == depths.tolist()
        assert points.moments[2].tolist() == (weighted * depths).tolist()

    for i in range(10):
        add(i, 0.3 + 0.1 * i)
    check()
    for i in range(10, 40):  # the arrays grow twice with changes not yet read
        add(i, 1.7)
    add(3, 0.25)
    check()
    for i in range(0, 40, 2):
        remove(i)
    check()
    remove(3)
    for i in range(200, 205):  # freed rows reused
        add(i, 0.9)
    check()
    check()  # a read with nothing changed reads the same


def test_warm_start_lands_on_the_cold_start_mode() -> None:
    """From the last κ̂, from the base, and from the bracket's edges: one mode within the 1e-10 stopping rule."""
    points = ExposurePoints.of([0.2 * BP, 0.6 * BP, 1.1 * BP, 2.0 * BP], [120.0, 60.0, 30.0, 10.0])
    fills, depth_sum = 9, 9 * 0.5 * BP
    cold = refine_kappa_points(20_000.0, points, fills, depth_sum, PARAMS)
    for start in (cold[0], 21_000.0, 6_700.0, 59_000.0):
        warm = refine_kappa_points(20_000.0, points, fills, depth_sum, PARAMS, kappa_start=start)
        assert warm == pytest.approx(cold, rel=2e-10)
    assert cold[0] != pytest.approx(20_000.0, rel=1e-3)  # the data moved κ: the starts are not trivially at it
