#!/usr/bin/env python
"""σ against realised σ, and per-side informed flow against the moves that followed, on the bundled catalogs.

Issue 10 defects 5 and 6, measured on what the backtests replay (``make catalogs``):

- σ: realised σ = √(mean r_h²/h) of overlapping h-second returns of a 1 s last-value grid of the book mid, returns
  spanning a feed gap > 10 s left out (the HL captures have a 250 s stretch without book). Against it: the volatility
  model's reading (final, and averaged over the last 5/6 of the data) started from a prior ½× and 2× the 10–60 s
  realised σ, and the 1 s bipower the model used before (π/2·mean|r_t||r_t−1| of 1 s returns) for reference.
- informed flow: the model fed the catalog's mids and trades as the actor is (venue ts_event, replay order); at every
  book event, p_informed_buy is paired with the mid's move over the next 5 s (up = adverse for our asks) and
  p_informed_sell with the opposite move (adverse for our bids). Table: share of those (p, move) pairs per p bucket,
  P(adverse move > 0) and the mean adverse move in bps. High p should precede adverse moves more often.

    python benchmarks/validate_estimators.py [--data data]

Nothing here is asserted; the tests assert the same properties on the raw recordings.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from nautilus_trader.persistence.catalog import ParquetDataCatalog  # noqa: E402

from mm_strategy.models.informed_flow import InformedFlowModel  # noqa: E402
from mm_strategy.models.informed_flow import InformedFlowParams  # noqa: E402
from mm_strategy.models.priors import InstrumentPriors  # noqa: E402
from mm_strategy.models.volatility import VolatilityModel  # noqa: E402
from mm_strategy.models.volatility import VolatilityParams  # noqa: E402
from tests.market_data import Mid  # noqa: E402
from tests.market_data import market_events  # noqa: E402

S = 1_000_000_000
DATASETS = ("catalog", "catalog_hl_btc", "catalog_hl_eth", "catalog_hl_sol", "catalog_ws26")
HORIZONS_S = (1, 10, 20, 30, 60)
MAX_GAP_S = 10.0
MOVE_HORIZON_S = 5.0
P_BUCKETS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.6), (0.6, 1.0001))


def priors(sigma: float) -> InstrumentPriors:
    """Only σ matters to the two models measured here."""
    return InstrumentPriors(kappa_per_frac=10_000.0, a_per_s=0.05, sigma_frac_per_sqrt_s=sigma)


def grid_returns(mids: list[Mid], horizon_s: int) -> np.ndarray:
    """Overlapping h-second log-returns of the 1 s last-value grid that span no feed gap > MAX_GAP_S."""
    ts = np.array([m.ts_ns for m in mids], dtype=np.int64)
    x = np.log([m.mid for m in mids])
    grid = np.arange(-(-ts[0] // S) * S, ts[-1], S)
    idx = np.searchsorted(ts, grid, side="right") - 1
    gap = np.diff(ts) > MAX_GAP_S * S
    segment = np.where(np.append(gap, False)[idx], -1, np.concatenate([[0], np.cumsum(gap)])[idx])
    ok = (segment[horizon_s:] == segment[:-horizon_s]) & (segment[horizon_s:] >= 0)
    returns = x[idx][horizon_s:] - x[idx][:-horizon_s]
    return np.where(ok, returns, np.nan)


def realised_sigma(mids: list[Mid], horizon_s: int) -> float:
    r = grid_returns(mids, horizon_s)
    return float(np.sqrt(np.nanmean(r * r) / horizon_s))


def bipower_1s(mids: list[Mid]) -> float:
    r = np.abs(grid_returns(mids, 1))
    return float(np.sqrt(np.pi / 2 * np.nanmean(r[1:] * r[:-1])))


def sigma_readings(mids: list[Mid], prior_sigma: float) -> np.ndarray:
    model = VolatilityModel(VolatilityParams(), priors(prior_sigma))
    out = np.empty(len(mids))
    for k, (ts_ns, mid) in enumerate(mids):
        model.on_mid(ts_ns, mid)
        out[k] = model.estimate(ts_ns).sigma_frac_per_sqrt_s
    return out


def sigma_section(name: str, mids: list[Mid]) -> None:
    realised = {h: realised_sigma(mids, h) for h in HORIZONS_S}
    known = [realised[h] for h in HORIZONS_S[1:] if np.isfinite(realised[h])]
    target = float(np.mean(known))
    cells = " ".join(f"{h}s {realised[h]:.2e}" for h in HORIZONS_S)
    print(f"{name:16s} realised {cells} | 1 s bipower {bipower_1s(mids):.2e}")
    for mult in (0.5, 2.0):
        sigma = sigma_readings(mids, mult * target)
        tail = sigma[len(sigma) // 6 :]
        print(
            f"{'':16s} model, prior {mult:3.1f}× ({mult * target:.2e}): final {sigma[-1]:.2e} "
            f"({sigma[-1] / target:.2f}×), mean {tail.mean():.2e} ({tail.mean() / target:.2f}×) "
            f"vs realised 10–60 s {target:.2e}"
        )


def flow_pairs(events: list, sigma: float) -> tuple[np.ndarray, dict]:
    """(p, adverse move bps over the next 5 s) per side per book event, and a summary of the run."""
    model = InformedFlowModel(InformedFlowParams(), priors(sigma))
    ts, mid, p_buy, p_sell, has_trades = [], [], [], [], []
    for event in events:
        if isinstance(event, Mid):
            model.on_mid(event.ts_ns, event.mid)
            reading = model.estimate(event.ts_ns)
            ts.append(event.ts_ns)
            mid.append(event.mid)
            p_buy.append(reading.p_informed_buy)
            p_sell.append(reading.p_informed_sell)
            has_trades.append(reading.has_trades)
        else:
            model.on_trade(event.ts_ns, event.price, event.size, event.aggressor_sign)
    ts_a, mid_a = np.array(ts), np.array(mid)
    later = np.searchsorted(ts_a, ts_a + int(MOVE_HORIZON_S * S), side="left")
    valid = later < len(ts_a)
    later = np.minimum(later, len(ts_a) - 1)
    valid &= ts_a[later] - ts_a - MOVE_HORIZON_S * S <= MAX_GAP_S * S
    up_bps = (mid_a[later] - mid_a) / mid_a * 1e4
    pairs = np.concatenate(
        [
            np.column_stack([np.array(p_buy)[valid], up_bps[valid]]),
            np.column_stack([np.array(p_sell)[valid], -up_bps[valid]]),
        ]
    )
    final = model.estimate(ts[-1])
    summary = {
        "book events": len(ts),
        "with has_trades": int(np.sum(has_trades)),
        "orders classified": final.orders_classified,
        "informed share": final.orders_informed / max(final.orders_classified, 1),
        "p_buy p50/p90/max": np.percentile(p_buy, [50, 90, 100]),
        "p_sell p50/p90/max": np.percentile(p_sell, [50, 90, 100]),
    }
    return pairs, summary


def flow_table(name: str, pairs: np.ndarray) -> None:
    cells = []
    for lo, hi in P_BUCKETS:
        sel = (pairs[:, 0] >= lo) & (pairs[:, 0] < hi)
        if not sel.any():
            cells.append(f"[{lo:.1f},{min(hi, 1):.1f}) —")
            continue
        adverse = pairs[sel, 1]
        cells.append(
            f"[{lo:.1f},{min(hi, 1):.1f}) {sel.mean():4.0%} of time: P(adv) {np.mean(adverse > 0):.2f}, "
            f"mean {adverse.mean():+.2f} bps"
        )
    print(f"{name:16s} " + " | ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT / "data", help="folder holding the catalogs")
    args = parser.parse_args(argv)
    loaded = {}
    for name in DATASETS:
        path = args.data / name
        if not path.exists():
            print(f"{name}: no catalog at {path} (make catalogs)")
            continue
        catalog = ParquetDataCatalog(str(path))
        loaded[name] = market_events(catalog.order_book_deltas(), catalog.trade_ticks())

    print("== σ per √s: realised vs the volatility model (20 s bipower)")
    for name, events in loaded.items():
        sigma_section(name, [e for e in events if isinstance(e, Mid)])

    print(f"\n== informed flow: p at each book event vs the adverse mid move over the next {MOVE_HORIZON_S:.0f} s")
    pooled = []
    for name, events in loaded.items():
        mids = [e for e in events if isinstance(e, Mid)]
        pairs, summary = flow_pairs(events, realised_sigma(mids, 20))
        print(
            f"{name:16s} "
            + ", ".join(
                f"{k} {np.round(v, 3) if isinstance(v, np.ndarray) else round(v, 3)}" for k, v in summary.items()
            )
        )
        if summary["orders classified"]:
            flow_table("", pairs)
            pooled.append(pairs)
    if pooled:
        flow_table("pooled (trades)", np.concatenate(pooled))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
