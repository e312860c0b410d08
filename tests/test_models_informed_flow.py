"""Informed flow: order aggregation, features, the online mixture on synthetic flow, persistence, real WS trades."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest

from mm_strategy.models.informed_flow import (
    InformedFlowModel,
    InformedFlowParams,
    bhattacharyya_overlap,
    gaussian_log_density,
)

S = 1_000_000_000
T0 = 1_700_000_000 * S
MS = 1_000_000


def simulate_flow(model: InformedFlowModel, informed_share: float, n_orders: int, seed: int) -> int:
    """Uninformed: ~$200 orders, 3 s apart, no impact. Informed: ~$20k orders in bursts (0.2 s), +3 bps impact.
    Each order is bracketed by a mid just before and just after it. Returns the last ts_ns."""
    rng = np.random.default_rng(seed)
    ts_ns, mid = T0, 42_000.0
    for _ in range(n_orders):
        informed = rng.random() < informed_share
        ts_ns += max(int(rng.exponential(0.2 if informed else 3.0) * S), 2 * MS)
        notional = math.exp(rng.normal(math.log(20_000.0), 0.7) if informed else rng.normal(math.log(200.0), 1.0))
        impact_bps = rng.normal(3.0, 1.0) if informed else rng.normal(0.0, 0.3)
        sign = 1 if rng.random() < 0.5 else -1
        model.on_mid(ts_ns - MS, mid)
        model.on_trade(ts_ns, mid, notional / mid, sign)
        mid *= 1 + sign * impact_bps / 1e4
        model.on_mid(ts_ns + MS, mid)
    return ts_ns + MS


def test_gaussian_log_density_by_hand() -> None:
    # −½·[(ln 1 + 1²/1) + (ln 4 + 2²/4) + (ln 1 + 3²/1)] = −½·(11 + ln 4) = −5.5 − ln 2
    assert gaussian_log_density((1.0, 2.0, 3.0), [0.0, 0.0, 0.0], [1.0, 4.0, 1.0]) == pytest.approx(-5.5 - math.log(2))


def test_bhattacharyya_overlap_by_hand() -> None:
    assert bhattacharyya_overlap([0.0], [1.0], [0.0], [1.0]) == pytest.approx(1.0)
    assert bhattacharyya_overlap([0.0], [1.0], [2.0], [1.0]) == pytest.approx(math.exp(-0.5))  # e^(−(2)²/(4·2))
    assert bhattacharyya_overlap([0.0], [1.0], [0.0], [4.0]) == pytest.approx(math.sqrt(0.8))  # √(2·√4/(1 + 4))
    assert bhattacharyya_overlap([0.0], [1.0], [50.0], [1.0]) < 1e-100


def test_no_trades_gives_prior_and_zero_confidence() -> None:
    model = InformedFlowModel()
    assert model.estimate(T0).p_informed == pytest.approx(0.1)
    for k in range(100):
        model.on_mid(T0 + k * S, 42_000.0)
    est = model.estimate(T0 + 100 * S)
    assert (est.p_informed, est.confidence, est.orders_classified) == (0.1, 0.0, 0)


def test_prints_of_one_taker_order_are_aggregated_and_features_are_exact() -> None:
    model = InformedFlowModel(InformedFlowParams(min_init_orders=2))
    model.on_mid(T0, 100.0)
    model.on_trade(T0 + 10 * MS, 100.0, 0.1, 1)  # one buy order sweeping two levels: notional 10 + 20.1 = 30.1
    model.on_trade(T0 + 10 * MS, 100.5, 0.2, 1)
    model.on_mid(T0 + 10 * MS, 100.01)  # same ts as the order: not after it
    model.on_mid(T0 + 20 * MS, 100.02)  # first mid after: impact = +(100.02 − 100)/100·1e4 = +2 bps
    model.on_trade(T0 + 2010 * MS, 100.0, 0.5, -1)  # sell, notional 50, 2 s after the previous order
    model.on_mid(T0 + 2020 * MS, 99.99)  # impact = −(99.99 − 100.02)/100.02·1e4 = +2.9994 bps
    assert model.estimate(T0 + 2020 * MS).orders_classified == 2
    # the mixture starts from the pooled std of the two orders' features: |a − b|/2 per feature
    # ln notional: |ln 30.1 − ln 50|/2; ln inter-arrival: |ln 60 (first order: the cap) − ln 2|/2 = ln 30/2;
    # impact: |2 − 2.9994|/2
    scale = model.to_state()["mixture"]["scale"]
    assert scale == pytest.approx(
        [abs(math.log(30.1 / 50.0)) / 2, math.log(30.0) / 2, (0.03 / 100.02 * 1e4 - 2.0) / 2], rel=1e-9
    )


def test_order_boundaries_and_unclassifiable_trades() -> None:
    model = InformedFlowModel()
    model.on_trade(T0, 100.0, 1.0, 1)  # no mid before it (e.g. the trade snapshot at connect): not classified
    model.on_mid(T0 + 5 * MS, 100.0)
    model.on_trade(T0 + 10 * MS, 100.0, 1.0, 1)
    model.on_trade(T0 + 10 * MS, 100.0, 1.0, -1)  # same ts, other side: a second order
    model.on_trade(T0 + 11 * MS, 100.0, 1.0, -1)  # same side, later ts: a third order
    model.on_trade(T0 + 12 * MS, 100.0, 1.0, 0)  # unknown aggressor: ignored
    model.on_mid(T0 + 20 * MS, 100.0)
    assert model.estimate(T0 + 20 * MS).orders_classified == 3


@pytest.mark.parametrize("share", [0.1, 0.3])
def test_mixture_recovers_the_informed_share(share: float) -> None:
    model = InformedFlowModel()
    ts_ns = simulate_flow(model, share, 3000, seed=1)
    est = model.estimate(ts_ns)
    assert est.p_informed == pytest.approx(share, abs=0.05)
    assert est.confidence > 0.9  # well separated components, well past warmup, fresh


def test_homogeneous_flow_gives_low_p_and_lower_confidence() -> None:
    model = InformedFlowModel()
    ts_ns = simulate_flow(model, 0.0, 3000, seed=2)
    est = model.estimate(ts_ns)
    assert est.p_informed < 0.25
    assert est.confidence < 0.5  # the two components overlap


def test_confidence_ramps_with_orders_and_fades_when_the_tape_goes_quiet() -> None:
    model = InformedFlowModel()
    ts_ns = simulate_flow(model, 0.1, 25, seed=3)
    early = model.estimate(ts_ns)
    assert early.orders_classified == 25
    assert early.confidence <= 25 / 50  # ramp = orders/warmup_orders
    ts_ns = simulate_flow(model, 0.1, 500, seed=4)
    fresh = model.estimate(ts_ns)
    quiet = model.estimate(ts_ns + 60 * S - MS)  # 60 s after the last order (1 ms before ts_ns): one half-life
    assert quiet.confidence == pytest.approx(fresh.confidence / 2, rel=1e-3)
    assert quiet.p_informed == fresh.p_informed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("prior_p_informed", 1.0),
        ("prior_strength_orders", 0.0),
        ("half_life_orders", -5.0),
        ("min_init_orders", 1),
        ("warmup_orders", 0),
        ("max_interarrival_s", 0.0),
        ("confidence_half_life_s", float("nan")),
    ],
)
def test_params_validation_names_the_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=rf"^InformedFlowParams\.{field}: must be "):
        InformedFlowParams(**{field: value})


def test_bad_inputs_raise() -> None:
    model = InformedFlowModel()
    with pytest.raises(ValueError, match="price and size must be > 0"):
        model.on_trade(T0, 100.0, 0.0, 1)
    with pytest.raises(ValueError, match="aggressor_sign must be"):
        model.on_trade(T0, 100.0, 1.0, 2)
    with pytest.raises(ValueError, match="mid must be > 0"):
        model.on_mid(T0, -1.0)


def test_state_round_trip_keeps_the_mixture_and_restarts_the_ramp() -> None:
    model = InformedFlowModel()
    ts_ns = simulate_flow(model, 0.3, 500, seed=5)
    state = json.loads(json.dumps(model.to_state()))
    restored = InformedFlowModel.restore(model.params, state)
    assert restored.estimate(ts_ns).p_informed == model.estimate(ts_ns).p_informed
    assert restored.estimate(ts_ns).confidence == 0.0  # no order seen since start (lesson E2)
    assert restored.to_state() == state
    simulate_flow(restored, 0.3, 100, seed=6)
    assert 0.0 < restored.estimate(ts_ns).p_informed < 1.0

    empty = InformedFlowModel.restore(model.params, json.loads(json.dumps(InformedFlowModel().to_state())))
    assert empty.estimate(T0).p_informed == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unsupported state version"):
        InformedFlowModel.restore(model.params, {**state, "version": 2})


def replay_ws_recording(path, model: InformedFlowModel) -> tuple[int, int]:
    """Feed l2Book mids and trades in arrival order with exchange times; returns (last ts_ns, prints fed)."""
    prints = 0
    with gzip.open(path, "rt") as f:
        for line in f:
            _recv_ns, payload = line.split(" ", 1)
            msg = json.loads(payload)
            if msg["channel"] == "l2Book":
                bids, asks = msg["data"]["levels"]
                ts_ns = msg["data"]["time"] * MS
                model.on_mid(ts_ns, (float(bids[0]["px"]) + float(asks[0]["px"])) / 2)
            elif msg["channel"] == "trades":
                for trade in msg["data"]:
                    sign = 1 if trade["side"] == "B" else -1
                    model.on_trade(trade["time"] * MS, float(trade["px"]), float(trade["sz"]), sign)
                    prints += 1
    return ts_ns, prints


def test_real_ws_recording_gives_valid_low_confidence_output(ws_recording_btc) -> None:
    # 9 trade messages = 64 prints: 30 in the connect snapshot (all before the first book: unclassifiable), then
    # 8 taker orders (one 7-level sweep, one order printed 21 times) each followed by a book
    model = InformedFlowModel()
    ts_ns, prints = replay_ws_recording(ws_recording_btc, model)
    est = model.estimate(ts_ns)
    assert prints == 64
    assert est.orders_classified == 8
    assert (est.p_informed, est.confidence) == (0.1, 0.0)  # fewer than min_init_orders: still the prior

    eager = InformedFlowModel(InformedFlowParams(min_init_orders=4))
    ts_ns, _ = replay_ws_recording(ws_recording_btc, eager)
    est = eager.estimate(ts_ns)
    assert 0.0 < est.p_informed < 1.0
    assert 0.0 <= est.confidence <= 8 / 50  # the ramp alone caps it at 8 orders of 50
