"""The priors (κ, A, σ) a walk-forward window's runs may quote with: never fitted on the window's own future.

A config's priors come from ``python -m mm_strategy.calibrate`` on some catalog. Scored on windows of that same
data, every run starts with κ, A and σ that already know the window (the review of session 9 refitted the shipped
BTC priors on the data before window 3 of the example sweep: κ 15,700 → 16,800, A 0.146 → 0.129, σ 5.46e-5 →
5.67e-5; quoting changed in 34 of 40 runs and the in-sample choice flipped). Two guards:

- ``walk_forward.priors: before_window``: :func:`priors_before_windows` fits each window's priors with calibrate's
  own functions on the catalog's data strictly before the window's start, once per window (every candidate of
  the window gets the same block). A window gets none, and is left out of the sweep with the reason, when calibrate
  refuses (e.g. no book before the first window) or its curve is one the online kappa model would not trust
  (``calibrate.untrusted_curve``: too few arrivals, depth points or R²). The softer sample warnings (less market
  than the kappa model's 600 s window, few σ returns) go into the rows' ``priors_note``: the shipped config's own
  priors, fitted on all 542 s of the capture, carry the same two. Cost on the bundled BTC capture: 0.18 s to read
  the catalog once per dataset, then 2–5 ms per window.
- otherwise (``priors: config``) :func:`check_not_fitted_on` refuses a walk-forward whose out-of-sample windows
  (every window after the first) overlap the range the config's ``priors.fitted_on`` stamp names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.calibrate import CalibrationError
from mm_strategy.calibrate import calibrate_data
from mm_strategy.calibrate import load_catalog
from mm_strategy.calibrate import priors_block
from mm_strategy.calibrate import sample_warnings
from mm_strategy.calibrate import untrusted_curve
from mm_strategy.models.kappa import KappaParams
from mm_strategy.research.spec import SpecError
from mm_strategy.research.windows import Window


@dataclass(frozen=True, slots=True)
class WindowPriors:
    """The ``"priors"`` block for one window's runs (with its ``fitted_on`` stamp), or None when the window is
    left out; ``note`` says why it is left out, or lists the calibration's sample warnings ("" when none)."""

    block: dict | None
    note: str


def priors_before_windows(catalog: Path, instrument_id: str, windows: list[Window], field: str) -> dict[int, WindowPriors]:
    """Window index → its priors, each fitted only on the data before the window (the catalog is read once).
    The fit uses the kappa model's default parameters, as ``make calibrate`` does."""
    try:
        data = load_catalog(catalog, InstrumentId.from_str(instrument_id))
    except CalibrationError as exc:
        raise SpecError(f"{field}.catalog: {exc}") from None
    params = KappaParams()
    fitted: dict[int, WindowPriors] = {}
    for window in windows:
        try:
            calibration = calibrate_data(data.before(window.start_ns), str(catalog), params)
        except CalibrationError as exc:
            fitted[window.index] = WindowPriors(None, f"calibration on the data before it refused: {exc}")
            continue
        untrusted = untrusted_curve(calibration.curves, params)
        if untrusted is not None:
            fitted[window.index] = WindowPriors(None, f"calibration on the data before it untrusted: {untrusted}")
            continue
        notes = "; ".join(sample_warnings(calibration.curves, params))
        fitted[window.index] = WindowPriors(priors_block(calibration.priors), notes)
    return fitted


def check_not_fitted_on(document: dict, windows: list[Window], config_field: str, dataset_field: str) -> None:
    """SpecError when the out-of-sample windows (all but the first) overlap the data the document's priors were
    fitted on, per its ``priors.fitted_on`` stamp (a document without the stamp passes: nothing to check)."""
    fitted_on = (document.get("priors") or {}).get("fitted_on")
    if not fitted_on:
        return
    start_ns, end_ns = pd.Timestamp(fitted_on["start"]).value, pd.Timestamp(fitted_on["end"]).value
    overlapping = [w.index for w in windows[1:] if w.start_ns <= end_ns and w.end_ns >= start_ns]
    if overlapping:
        raise SpecError(
            f"{config_field}: priors.fitted_on ({fitted_on['catalog']}, {fitted_on['start']} to {fitted_on['end']}) "
            f"overlaps out-of-sample walk-forward window(s) {', '.join(map(str, overlapping))} of {dataset_field}: "
            "those runs would quote with priors fitted on their own future. Set walk_forward.priors: before_window "
            "(refits the priors on the data before each window), or use priors fitted on other data"
        )
