"""Adverse selection: one sign (positive = adverse), placement anchor, horizon resolution, exact EWMAs, add-ons."""

from __future__ import annotations

import json

import pytest

from mm_strategy.models.adverse_selection import (
    BUY,
    SELL,
    AdverseSelectionModel,
    AdverseSelectionParams,
)

S = 1_000_000_000
T0 = 1_700_000_000 * S


def at(t_s: float) -> int:
    return T0 + round(t_s * S)


def fill_and_mark(model: AdverseSelectionModel, t_s: float, side: int, later_mid: float, placement_mid=100.0) -> None:
    """A fill at t_s (price 1 bp inside the placement mid on our side) whose 500 ms mid is `later_mid`."""
    model.on_fill(at(t_s), side, placement_mid * (1 - side * 1e-4), 0.01, placement_mid)
    model.on_mid(at(t_s + 0.5), later_mid)


@pytest.mark.parametrize(
    ("side", "later_mid", "expected_bps"),
    [
        (BUY, 99.95, 5.0),  # we bought, the mid fell 5 bps: adverse
        (BUY, 100.05, -5.0),  # we bought, the mid rose: favourable
        (SELL, 100.05, 5.0),  # we sold, the mid rose: adverse
        (SELL, 99.95, -5.0),  # we sold, the mid fell: favourable
    ],
)
def test_sign_positive_is_adverse(side: int, later_mid: float, expected_bps: float) -> None:
    model = AdverseSelectionModel()
    fill_and_mark(model, 0.0, side, later_mid)
    est = model.estimate(at(1.0))
    measured = est.as_bps_bid if side == BUY else est.as_bps_ask
    assert measured == pytest.approx(expected_bps)
    assert est.as_bps_total == pytest.approx(expected_bps)
    assert est.fills_measured == 1


def test_anchor_is_the_placement_mid_not_the_mid_at_fill() -> None:
    model = AdverseSelectionModel()
    model.on_mid(at(0.0), 100.0)  # placement
    model.on_mid(at(0.9), 99.99)  # the mid drops onto our bid
    model.on_fill(at(1.0), BUY, 99.99, 0.01, placement_mid=100.0)
    model.on_mid(at(1.5), 99.99)  # unchanged after the fill: AS from the mid at fill would be 0
    # AS = −(99.99 − 100)/100·1e4 = +1 bp; edge = depth 1 bp − AS 1 bp = 0
    est = model.estimate(at(2.0))
    assert est.as_bps_bid == pytest.approx(1.0)
    assert est.horizons[0].edge_bps_total == pytest.approx(0.0)


def test_each_horizon_resolves_at_the_first_mid_at_or_after_it() -> None:
    model = AdverseSelectionModel()
    model.on_fill(at(0.0), BUY, 99.99, 0.01, 100.0)
    model.on_mid(at(0.3), 90.0)  # before every horizon: ignored
    assert model.estimate(at(0.3)).fills_measured == 0
    model.on_mid(at(0.6), 99.99)  # first mid after 0.5 s: AS_0.5 = +1 bp
    model.on_mid(at(2.0), 100.02)  # exactly at 2 s (inclusive): AS_2 = −2 bps
    model.on_mid(at(9.9), 50.0)  # before 10 s: ignored
    model.on_mid(at(10.4), 99.97)  # AS_10 = +3 bps
    model.on_mid(at(60.0), 100.04)  # AS_60 = −4 bps
    est = model.estimate(at(61.0))
    assert [h.horizon_s for h in est.horizons] == [0.5, 2.0, 10.0, 60.0]
    assert [h.as_bps_bid for h in est.horizons] == pytest.approx([1.0, -2.0, 3.0, -4.0])
    # fill 1 bp inside the placement mid: edge = 1 − AS
    assert [h.edge_bps_total for h in est.horizons] == pytest.approx([0.0, 3.0, -2.0, 5.0])
    assert [h.fills_bid for h in est.horizons] == [1, 1, 1, 1]
    assert est.fills_measured == 1 and est.fills_pending == 0
    assert est.as_bps_bid == est.horizons[0].as_bps_bid


def test_ewma_alpha_is_applied_exactly_and_the_sides_are_separate() -> None:
    model = AdverseSelectionModel()
    fill_and_mark(model, 0.0, BUY, 99.96)  # AS +4
    fill_and_mark(model, 1.0, BUY, 100.02)  # AS −2
    fill_and_mark(model, 2.0, SELL, 100.07)  # ask AS +7
    fill_and_mark(model, 3.0, BUY, 99.90)  # AS +10
    est = model.estimate(at(4.0))
    # bid: 4 → 4 + 0.12·(−2 − 4) = 3.28 → 3.28 + 0.12·(10 − 3.28) = 4.0864
    assert est.as_bps_bid == pytest.approx(4.0864)
    assert est.as_bps_ask == pytest.approx(7.0)  # first observation
    # total: 4 → 3.28 → 3.28 + 0.12·(7 − 3.28) = 3.7264 → 3.7264 + 0.12·(10 − 3.7264) = 4.479232
    assert est.as_bps_total == pytest.approx(4.479232)
    assert est.fills_measured == 4
    assert (est.horizons[0].fills_bid, est.horizons[0].fills_ask) == (3, 1)


def test_informed_addon_with_partial_confidence() -> None:
    model = AdverseSelectionModel()
    fill_and_mark(model, 0.0, BUY, 99.96)  # AS 4: not informed (|AS| ≤ 5)
    fill_and_mark(model, 1.0, BUY, 100.02)  # AS −2: not informed
    fill_and_mark(model, 2.0, BUY, 99.90)  # AS 10: informed
    est = model.estimate(at(3.0))
    # P(informed)_bid: 0 → 0 → 0 + 0.12·(1 − 0) = 0.12; E[|ΔP| | informed] = 10; confidence = 3/50 = 0.06
    # add-on = 0.06·0.12·10 = 0.072 bps
    assert est.p_informed_bid == pytest.approx(0.12)
    assert est.confidence == pytest.approx(0.06)
    assert est.spread_addon_bps_bid == pytest.approx(0.072)
    assert est.spread_addon_bps_ask == 0.0


def test_informed_uses_absolute_markout_per_design() -> None:
    model = AdverseSelectionModel()
    fill_and_mark(model, 0.0, SELL, 100.06)  # AS +6: informed
    fill_and_mark(model, 1.0, SELL, 99.93)  # AS −7: |AS| > 5 counts as informed too (DESIGN §5)
    fill_and_mark(model, 2.0, SELL, 100.03)  # AS +3: not informed
    est = model.estimate(at(3.0))
    # P: 1 → 1 → 1 + 0.12·(0 − 1) = 0.88; E|ΔP|: 6 → 6 + 0.12·(7 − 6) = 6.12; confidence 3/50
    # add-on = 0.06·0.88·6.12 = 0.323136
    assert est.p_informed_ask == pytest.approx(0.88)
    assert est.spread_addon_bps_ask == pytest.approx(0.323136)
    assert est.spread_addon_bps_bid == 0.0


def test_addon_is_capped() -> None:
    model = AdverseSelectionModel(AdverseSelectionParams(warmup_fills=1))
    fill_and_mark(model, 0.0, BUY, 98.0)  # AS = 200 bps, P = 1, confidence 1: 200 → capped at 50
    assert model.estimate(at(1.0)).spread_addon_bps_bid == pytest.approx(50.0)


def test_late_markouts_and_overflow_are_dropped() -> None:
    model = AdverseSelectionModel()
    model.on_fill(at(0.0), BUY, 99.99, 0.01, 100.0)
    model.on_mid(at(6.0), 99.98)  # 0.5 s markout is 5.5 s late (> 5 s): dropped; the 2 s one is 4 s late: kept
    est = model.estimate(at(6.0))
    assert est.fills_measured == 0 and est.markouts_dropped == 1
    assert est.horizons[1].as_bps_bid == pytest.approx(2.0)

    small = AdverseSelectionModel(AdverseSelectionParams(max_pending_fills=2))
    for t_s in (0.0, 0.1, 0.2):
        small.on_fill(at(t_s), SELL, 100.01, 0.01, 100.0)
    est = small.estimate(at(0.3))
    assert est.fills_pending == 2 and est.markouts_dropped == 4  # the oldest fill, at each of the 4 horizons


def test_no_fills_reads_zero_with_zero_counts() -> None:
    model = AdverseSelectionModel()
    model.on_mid(at(0.0), 100.0)
    est = model.estimate(at(0.0))
    assert (est.as_bps_bid, est.as_bps_ask, est.as_bps_total) == (0.0, 0.0, 0.0)
    assert (est.spread_addon_bps_bid, est.spread_addon_bps_ask, est.confidence) == (0.0, 0.0, 0.0)
    assert est.fills_measured == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("measurement_horizon_s", 0.0),
        ("extra_horizons_s", (2.0, 0.5)),  # duplicates the primary horizon
        ("ewma_alpha", 1.5),
        ("warmup_fills", 0),
        ("informed_threshold_bps", -1.0),
        ("max_spread_addon_bps", float("inf")),
        ("max_pending_fills", 0),
    ],
)
def test_params_validation_names_the_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=rf"^AdverseSelectionParams\.{field}: must be "):
        AdverseSelectionParams(**{field: value})


def test_bad_inputs_raise() -> None:
    model = AdverseSelectionModel()
    with pytest.raises(ValueError, match="side must be BUY"):
        model.on_fill(at(0.0), 0, 100.0, 0.01, 100.0)
    with pytest.raises(ValueError, match="placement_mid must be > 0"):
        model.on_fill(at(0.0), BUY, 100.0, 0.01, 0.0)
    with pytest.raises(ValueError, match="mid must be > 0"):
        model.on_mid(at(0.0), float("nan"))


def test_restore_keeps_ewmas_but_restarts_the_fill_count() -> None:
    model = AdverseSelectionModel()
    fill_and_mark(model, 0.0, BUY, 99.90)  # AS +10, informed
    fill_and_mark(model, 1.0, SELL, 100.03)  # ask AS +3
    model.on_mid(at(62.0), 100.0)  # resolves every horizon
    before = model.estimate(at(62.0))
    state = json.loads(json.dumps(model.to_state()))

    restored = AdverseSelectionModel.restore(model.params, state)
    after = restored.estimate(at(62.0))
    assert after.horizons == before.horizons
    assert after.p_informed_bid == before.p_informed_bid == 1.0
    # lesson E2: warmup confidence counts only fills seen since start
    assert after.fills_measured == 0 and after.confidence == 0.0 and after.spread_addon_bps_bid == 0.0
    assert restored.fills_measured_lifetime == 2

    fill_and_mark(restored, 100.0, BUY, 100.0, placement_mid=100.0)  # AS 0 → EWMA continues from the restored 10
    after = restored.estimate(at(101.0))
    assert after.as_bps_bid == pytest.approx(10 + 0.12 * (0 - 10))
    assert after.fills_measured == 1 and restored.fills_measured_lifetime == 3
    # 1 fill of 50: add-on = (1/50)·P·E = 0.02·(1 − 0.12)·10
    assert after.spread_addon_bps_bid == pytest.approx(0.02 * 0.88 * 10)

    other = AdverseSelectionModel.restore(AdverseSelectionParams(extra_horizons_s=(2.0, 30.0)), state)
    horizons = other.estimate(at(62.0)).horizons
    assert horizons[1] == before.horizons[1]  # 2 s restored
    assert horizons[2].fills_bid == 0  # 30 s was never measured
    with pytest.raises(ValueError, match="unsupported state version"):
        AdverseSelectionModel.restore(model.params, {**state, "version": 0})
