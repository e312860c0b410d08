"""Adverse selection: one sign (positive = adverse), the fill price as anchor, horizon resolution, exact EWMAs, and
an add-on that counts losses only and stays bounded and stationary when fed back, whether the book crosses our price
(issue 10 defect 3) or a trade sweeps through it from the pre-trade mid (quant review of the mid-at-fill anchor).

The closed loops below are simulated draws through the real model (a property test of the feedback, not market
data): each fill's price comes from the model's own add-on."""

from __future__ import annotations

import json

import pytest

from mm_strategy.models.adverse_selection import (
    BUY,
    SELL,
    AdverseSelectionModel,
    AdverseSelectionParams,
)
from mm_strategy.models.priors import InstrumentPriors

S = 1_000_000_000
T0 = 1_700_000_000 * S
PRIORS = InstrumentPriors(kappa_per_frac=10_000.0, a_per_s=0.05, sigma_frac_per_sqrt_s=4e-5)
# informed threshold = 2·σ·√0.5 s = 2·4e-5·0.7071·1e4 = 0.5657 bps
THRESHOLD_BPS = 2 * 4e-5 * 0.5**0.5 * 1e4
DEFAULTS = AdverseSelectionParams()


def model_with(**params) -> AdverseSelectionModel:
    return AdverseSelectionModel(AdverseSelectionParams(**params), PRIORS)


def at(t_s: float) -> int:
    return T0 + round(t_s * S)


def fill_and_mark(model: AdverseSelectionModel, t_s: float, side: int, later_mid: float) -> None:
    """A fill at t_s at 100 (our quote was 1 bp inside a placement mid) whose 500 ms mid is `later_mid`."""
    model.on_fill(at(t_s), side, 100.0, 0.01, 100.0 * (1 + side * 1e-4))
    model.on_mid(at(t_s + 0.5), later_mid)


@pytest.mark.parametrize(
    ("side", "later_mid", "expected_bps"),
    [
        (BUY, 99.95, 5.0),  # we bought at 100, the mid fell 5 bps below: adverse (a loss)
        (BUY, 100.05, -5.0),  # we bought, the mid rose above our price: favourable (a profit)
        (SELL, 100.05, 5.0),  # we sold, the mid rose: adverse
        (SELL, 99.95, -5.0),  # we sold, the mid fell: favourable
    ],
)
def test_sign_positive_is_adverse(side: int, later_mid: float, expected_bps: float) -> None:
    model = model_with()
    fill_and_mark(model, 0.0, side, later_mid)
    est = model.estimate(at(1.0))
    measured = est.as_bps_bid if side == BUY else est.as_bps_ask
    assert measured == pytest.approx(expected_bps)
    assert est.as_bps_total == pytest.approx(expected_bps)
    assert est.fills_measured == 1


def test_anchor_is_the_fill_price_when_a_trade_sweeps_through_our_quote() -> None:
    """The review's case: a trade sweeps through our bid 3 bps under the mid, so the last mid before the fill is the
    pre-trade 100. Measured from it the move held our 3 bps depth (+2.5 bps, informed); from the fill price it is
    the fill's real outcome, a 0.5 bp profit. The placement markout (report only) keeps the depth."""
    model = model_with()
    model.on_mid(at(0.0), 100.0)  # placement, and the last mid before the sweep
    model.on_fill(at(1.0), BUY, 99.97, 0.01, placement_mid=100.0)
    model.on_mid(at(1.2), 99.974)  # the book after the trade
    model.on_mid(at(1.5), 99.975)  # 500 ms: 0.5 bp above what we paid
    est = model.estimate(at(2.0))
    primary = est.horizons[0]
    assert est.as_bps_bid == pytest.approx(-(99.975 - 99.97) / 99.97 * 1e4)  # −0.50 bp: a profit
    assert est.p_informed_bid == 0.0 and est.spread_addon_bps_bid == 0.0
    # from the placement mid: −(99.975 − 100)/100 = +2.5 bps, our depth less the 0.5 bp profit
    assert primary.placement_as_bps_total == pytest.approx(2.5)
    assert primary.fills_placement == 1


def test_each_horizon_resolves_at_the_first_mid_at_or_after_it() -> None:
    model = model_with()
    model.on_fill(at(0.0), BUY, 100.0, 0.01, None)  # placement unknown
    model.on_mid(at(0.3), 90.0)  # before every horizon: ignored
    assert model.estimate(at(0.3)).fills_measured == 0
    model.on_mid(at(0.6), 99.99)  # first mid after 0.5 s: AS_0.5 = +1 bp (a 1 bp loss)
    model.on_mid(at(2.0), 100.02)  # exactly at 2 s (inclusive): AS_2 = −2 bps
    model.on_mid(at(9.9), 50.0)  # before 10 s: ignored
    model.on_mid(at(10.4), 99.97)  # AS_10 = +3 bps
    model.on_mid(at(60.0), 100.04)  # AS_60 = −4 bps
    est = model.estimate(at(61.0))
    assert [h.horizon_s for h in est.horizons] == [0.5, 2.0, 10.0, 60.0]
    assert [h.as_bps_bid for h in est.horizons] == pytest.approx([1.0, -2.0, 3.0, -4.0])
    assert [h.fills_bid for h in est.horizons] == [1, 1, 1, 1]
    assert [h.fills_placement for h in est.horizons] == [0, 0, 0, 0]
    assert est.fills_measured == 1 and est.fills_pending == 0
    assert est.as_bps_bid == est.horizons[0].as_bps_bid


def test_ewma_alpha_is_applied_exactly_and_the_sides_are_separate() -> None:
    model = model_with()
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


def test_informed_threshold_is_two_sigma_of_the_horizon_move() -> None:
    est = model_with().estimate(at(0.0))
    assert est.informed_threshold_bps == pytest.approx(THRESHOLD_BPS)
    assert model_with(informed_threshold_sigmas=3.0).estimate(at(0.0)).informed_threshold_bps == pytest.approx(
        1.5 * THRESHOLD_BPS
    )


def test_only_adverse_moves_above_the_threshold_are_informed() -> None:
    model = model_with()
    fill_and_mark(model, 0.0, SELL, 100.006)  # AS +0.6 > 0.566: informed
    fill_and_mark(model, 1.0, SELL, 99.93)  # AS −7: a large favourable move is not informed
    fill_and_mark(model, 2.0, SELL, 100.005)  # AS +0.5 < 0.566: not informed
    fill_and_mark(model, 3.0, SELL, 100.03)  # AS +3: informed
    est = model.estimate(at(4.0))
    # P: 1 → 0.88 → 0.7744 → 0.7744 + 0.12·(1 − 0.7744) = 0.801472; E: 0.6 → 0.6 + 0.12·(3 − 0.6) = 0.888
    # add-on = the ask's confidence 4/50 · 0.801472 · 0.888; the reported confidence is the bid's (no fills)
    assert est.p_informed_ask == pytest.approx(0.801472)
    assert est.informed_move_bps_ask == pytest.approx(0.888)
    assert est.confidence == 0.0
    assert est.spread_addon_bps_ask == pytest.approx(0.08 * 0.801472 * 0.888)
    assert est.spread_addon_bps_bid == 0.0 and est.p_informed_bid == 0.0


def test_favourable_moves_never_raise_the_addon() -> None:
    model = model_with(warmup_fills=1)
    fill_and_mark(model, 0.0, BUY, 99.98)  # AS +2: informed, add-on 2
    start = model.estimate(at(1.0)).spread_addon_bps_bid
    assert start == pytest.approx(2.0)
    addons = []
    for k in range(1, 200):  # favourable moves of every size, 0.1 to 20 bps
        fill_and_mark(model, float(k), BUY, 100.0 * (1 + 1e-5 * (k % 200)))
        addons.append(model.estimate(at(k + 1.0)).spread_addon_bps_bid)
    assert all(later <= earlier for earlier, later in zip([start, *addons], addons))
    assert addons[-1] < 0.01 * start  # P(informed) decays by 0.88 per favourable fill
    assert model.estimate(at(300.0)).spread_addon_bps_ask == 0.0


def run_closed_loop(model: AdverseSelectionModel, moves_bps: list[float], fills: int, base_depth_bps: float = 4.0):
    """Our quote feeds back: fills alternate buy/sell, each at depth base + the current add-on of its side from a
    placement mid of 100; the book comes to our price (a book-crossing fill: the mid reaches the fill price) and then
    moves `moves_bps[k % len]` against us. Returns (add-on bid, add-on ask, placement AS) after each fill."""
    out = []
    for k in range(fills):
        side = BUY if k % 2 == 0 else SELL
        est = model.estimate(at(k))
        depth_bps = base_depth_bps + (est.spread_addon_bps_bid if side == BUY else est.spread_addon_bps_ask)
        fill_px = 100.0 * (1 - side * depth_bps * 1e-4)
        model.on_fill(at(k), side, fill_px, 0.01, 100.0)
        model.on_mid(at(k + 0.5), fill_px * (1 - side * moves_bps[k % len(moves_bps)] * 1e-4))
        est = model.estimate(at(k + 0.5))
        out.append((est.spread_addon_bps_bid, est.spread_addon_bps_ask, est.horizons[0].placement_as_bps_total))
    return out


def test_a_constant_post_fill_move_gives_a_stationary_addon_when_fed_back() -> None:
    """The issue's case: a constant 1.5 bps move after each fill. Measured from the placement mid (the old model),
    the markout held the depth, the depth held the add-on, and in this loop the add-on went 1.2 → 11.9 → 28.4 → 50
    bps (the cap) over 10/50/100/1000 fills."""
    counts = (10, 50, 100, 1000)
    warm = run_closed_loop(model_with(warmup_fills=10), [1.5], 1000)  # each side has half the fills: 5/10 at 10
    assert [warm[n - 1][0] for n in counts] == pytest.approx([0.75, 1.5, 1.5, 1.5])
    assert [warm[n - 1][1] for n in counts] == pytest.approx([0.75, 1.5, 1.5, 1.5])
    # the placement markout (report only) = depth 4 + add-on 1.5 + move 1.5: it holds our own depth
    assert warm[-1][2] == pytest.approx(7.0, rel=1e-4)

    default = run_closed_loop(model_with(), [1.5], 1000)  # warmup 50: the bid's confidence 5/50 at 10 fills
    assert [default[n - 1][0] for n in counts] == pytest.approx([0.15, 0.75, 1.5, 1.5])


def test_a_stationary_mix_of_moves_gives_a_bounded_stationary_addon() -> None:
    # period of 8 fills; bids see −2, 1.0, 0, 0.5 (one informed fill in 4, 1.0 bps), asks see 0.3, 3, −1, 3 (two in
    # 4, 3 bps); E[add-on] ≈ ¼·1.0 and ½·3.0
    moves = [-2.0, 0.3, 1.0, 3.0, 0.0, -1.0, 0.5, 3.0]
    out = run_closed_loop(model_with(), moves, 1000)
    for side, expected in ((0, 0.25), (1, 1.5)):
        early = sum(row[side] for row in out[200:400]) / 200  # 25 whole periods each
        late = sum(row[side] for row in out[800:1000]) / 200
        assert early == pytest.approx(late, rel=1e-3)
        assert late == pytest.approx(expected, rel=0.15)
        assert max(row[side] for row in out) <= max(moves)  # never beyond the largest adverse move


# BTC prior of the review (configs/hyperliquid_btc.json): informed threshold 2·5.46e-5·√0.5·1e4 = 0.772 bp
BTC_PRIORS = InstrumentPriors(kappa_per_frac=15_700.0, a_per_s=0.146, sigma_frac_per_sqrt_s=5.46e-5)
QUOTE_ADDON_CAP_BPS = 10.0  # StrategyConfig.as_addon_cap_bps: the quote never widens by more


def run_sweep_loop(markouts_bps: list[float], fills_per_side: int, base_depth_bps: float = 2.9) -> list[tuple]:
    """Our quote feeds back, and fills come from trades sweeping through it (the review's closed loop): fills
    alternate buy/sell, each at depth base + its side's add-on (capped as the quote caps it) from the pre-trade mid,
    which is the last mid the book showed before the fill; 500 ms later the mid stands `markouts_bps[n % len]` on our
    side of the fill price (positive = the fill made money), and that mid is the next fill's pre-trade mid. The base
    depth 2.9 bps and the +0.72 bp markout are the HL BTC capture's averages. Returns (add-on bid, add-on ask) after
    each fill."""
    model = AdverseSelectionModel(DEFAULTS, BTC_PRIORS)
    mid, t_s, out = 100_000.0, 0.0, []
    for n in range(fills_per_side):
        for side in (BUY, SELL):
            est = model.estimate(at(t_s))
            addon_bps = est.spread_addon_bps_bid if side == BUY else est.spread_addon_bps_ask
            fill_px = mid * (1 - side * (base_depth_bps + min(addon_bps, QUOTE_ADDON_CAP_BPS)) * 1e-4)
            model.on_mid(at(t_s), mid)  # the book before the trade
            model.on_fill(at(t_s), side, fill_px, 0.01, mid)
            mid = fill_px * (1 + side * markouts_bps[n % len(markouts_bps)] * 1e-4)
            model.on_mid(at(t_s + 0.6), mid)
            t_s += 5.0
            est = model.estimate(at(t_s))
            out.append((est.spread_addon_bps_bid, est.spread_addon_bps_ask))
    return out


def test_profitable_sweeps_never_raise_the_addon() -> None:
    """The review's loop: every swept fill makes +0.72 bp at 500 ms. Measured from the pre-trade mid each fill read
    as a 2.9 bps + add-on adverse move, all informed (P = 1), and the add-on grew on its own output: 0.47, 1.57,
    6.62, 12.2 bps after 10, 25, 50, 100 fills per side, past the 10 bps quote cap. From the fill price no fill lost
    anything, so none is informed and the add-on stays 0."""
    out = run_sweep_loop([0.72], 100)
    assert max(max(row) for row in out) == 0.0


def test_sweeps_with_some_losses_give_a_bounded_stationary_addon() -> None:
    """Swept fills that make +0.725 bp on average, one in four losing 1 bp (> the 0.772 bp threshold): the add-on
    settles at P(informed)·E[loss | informed] ≈ ¼·1 bp, whatever depth the add-on itself adds (measured from the
    pre-trade mid it held that depth and grew past the 10 bps quote cap: 1.45, 6.64, 12.2 bps after 25, 50, 100
    fills per side)."""
    out = run_sweep_loop([2.0, -1.0, 1.5, 0.4], 250)  # per side: 2.0, −1.0, 1.5, 0.4, repeated
    for side in (0, 1):
        early = sum(row[side] for row in out[200:300]) / 100  # fills 101–150 of each side (full confidence at 50)
        late = sum(row[side] for row in out[400:500]) / 100  # fills 201–250
        assert early == pytest.approx(late, rel=1e-3)
        assert late == pytest.approx(0.25, rel=0.15)
        assert max(row[side] for row in out) <= 1.0  # never beyond the largest loss


def test_addon_is_capped() -> None:
    model = model_with(warmup_fills=1)
    fill_and_mark(model, 0.0, BUY, 98.0)  # AS = 200 bps, P = 1, confidence 1: 200 → capped at 50
    assert model.estimate(at(1.0)).spread_addon_bps_bid == pytest.approx(50.0)


def test_each_side_earns_its_own_confidence() -> None:
    # Review finding: confidence was min(1, fills on both sides / warmup). After 50 benign ask fills the first bid
    # fill, followed by a 6 bp fall, set the bid's P(informed) (an EWMA starting at its first value) to 1 and its
    # add-on to the whole 6 bp at full confidence. Each side now needs its own warmup fills.
    model = model_with()
    for k in range(DEFAULTS.warmup_fills):
        fill_and_mark(model, 2.0 * k, SELL, 100.0)
    fill_and_mark(model, 200.0, BUY, 99.94)
    reading = model.estimate(at(201.0))
    assert (reading.p_informed_bid, reading.informed_move_bps_bid) == (1.0, pytest.approx(6.0))
    assert reading.spread_addon_bps_bid == pytest.approx(6.0 / DEFAULTS.warmup_fills)  # 0.12 bp, not 6
    assert reading.spread_addon_bps_ask == 0.0 and reading.confidence == pytest.approx(1 / DEFAULTS.warmup_fills)


def test_late_markouts_and_overflow_are_dropped() -> None:
    model = model_with()
    model.on_fill(at(0.0), BUY, 100.0, 0.01, 100.0)
    model.on_mid(at(6.0), 99.98)  # 0.5 s markout is 5.5 s late (> 5 s): dropped; the 2 s one is 4 s late: kept
    est = model.estimate(at(6.0))
    assert est.fills_measured == 0 and est.markouts_dropped == 1
    assert est.horizons[1].as_bps_bid == pytest.approx(2.0)

    small = model_with(max_pending_fills=2)
    for t_s in (0.0, 0.1, 0.2):
        small.on_fill(at(t_s), SELL, 100.01, 0.01, 100.0)
    est = small.estimate(at(0.3))
    assert est.fills_pending == 2 and est.markouts_dropped == 4  # the oldest fill, at each of the 4 horizons


def test_no_fills_reads_zero_with_zero_counts() -> None:
    model = model_with()
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
        ("informed_threshold_sigmas", -1.0),
        ("max_spread_addon_bps", float("inf")),
        ("max_pending_fills", 0),
    ],
)
def test_params_validation_names_the_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=rf"^AdverseSelectionParams\.{field}: must be "):
        AdverseSelectionParams(**{field: value})


def test_bad_inputs_raise() -> None:
    model = model_with()
    with pytest.raises(ValueError, match="side must be BUY"):
        model.on_fill(at(0.0), 0, 100.0, 0.01, 100.0)
    with pytest.raises(ValueError, match="fill_px, qty and placement_mid .* must be > 0"):
        model.on_fill(at(0.0), BUY, 0.0, 0.01, None)
    with pytest.raises(ValueError, match="must be > 0"):
        model.on_fill(at(0.0), BUY, 100.0, 0.01, float("nan"))
    with pytest.raises(ValueError, match="mid must be > 0"):
        model.on_mid(at(0.0), float("nan"))


def test_restore_keeps_ewmas_but_restarts_the_fill_count() -> None:
    model = model_with()
    fill_and_mark(model, 0.0, BUY, 99.90)  # AS +10, informed
    fill_and_mark(model, 1.0, SELL, 100.03)  # ask AS +3
    model.on_mid(at(62.0), 100.0)  # resolves every horizon
    before = model.estimate(at(62.0))
    state = json.loads(json.dumps(model.to_state()))

    restored = AdverseSelectionModel.restore(model.params, PRIORS, state)
    after = restored.estimate(at(62.0))
    assert after.horizons == before.horizons
    assert after.p_informed_bid == before.p_informed_bid == 1.0
    # lesson E2: warmup confidence counts only fills seen since start
    assert after.fills_measured == 0 and after.confidence == 0.0 and after.spread_addon_bps_bid == 0.0
    assert restored.fills_measured_lifetime == 2

    fill_and_mark(restored, 100.0, BUY, 100.0)  # AS 0 → EWMA continues from the restored 10
    after = restored.estimate(at(101.0))
    assert after.as_bps_bid == pytest.approx(10 + 0.12 * (0 - 10))
    assert after.fills_measured == 1 and restored.fills_measured_lifetime == 3
    # 1 fill of 50: add-on = (1/50)·P·E = 0.02·(1 − 0.12)·10
    assert after.spread_addon_bps_bid == pytest.approx(0.02 * 0.88 * 10)

    other = AdverseSelectionModel.restore(AdverseSelectionParams(extra_horizons_s=(2.0, 30.0)), PRIORS, state)
    horizons = other.estimate(at(62.0)).horizons
    assert horizons[1] == before.horizons[1]  # 2 s restored
    assert horizons[2].fills_bid == 0  # 30 s was never measured
    for version in (1, 2):  # EWMAs measured from the placement mid, then from the last mid before the fill
        with pytest.raises(ValueError, match="unsupported state version"):
            AdverseSelectionModel.restore(model.params, PRIORS, {**state, "version": version})
