"""``python -m mm_strategy.calibrate`` on real catalogs built from the bundled data: the priors block it prints parses
as the config's ``priors``, its κ/A is the kappa model's own fit, σ is the realised σ at 10–60 s, and bad input is
an error naming the problem, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.identifiers import InstrumentId

from adapters.catalog import write_catalog
from adapters.hyperliquid import loaders
from adapters.hyperliquid.meta import default_instrument
from adapters.hyperliquid.meta import instrument_for
from mm_strategy import calibrate
from mm_strategy.models.kappa import CurveSource
from mm_strategy.models.kappa import IntensityFit
from mm_strategy.models.kappa import SurvivalFit
from mm_strategy.models.priors import InstrumentPriors

BTC = "BTC-USD-PERP.HYPERLIQUID"
ETH = "ETH-USD-PERP.HYPERLIQUID"


@pytest.fixture(scope="module")
def archive_catalog(archive_btc_hour, tmp_path_factory) -> Path:
    instrument = default_instrument()
    result = loaders.parse_file(archive_btc_hour, instrument, checkpoint_s=loaders.DEFAULT_CHECKPOINT_S, heartbeat=True)
    path = tmp_path_factory.mktemp("archive") / "catalog"
    write_catalog([result], instrument, path)
    return path


@pytest.fixture(scope="module")
def eth_catalog(hl_captures, tmp_path_factory) -> Path:
    instrument = instrument_for("ETH")
    result = loaders.parse_file(hl_captures / "hl_ETH_20250903.gz", instrument)
    path = tmp_path_factory.mktemp("eth") / "catalog"
    write_catalog([result], instrument, path)
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = calibrate.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_archive_hour_priors_from_book_crossings(archive_catalog, capsys) -> None:
    code, out, err = run(capsys, "--catalog", str(archive_catalog), "--instrument", BTC)
    assert code == 0
    block = json.loads(out)["priors"]  # the config's top-level "priors", stamped with the data it was fitted on
    assert block.pop("fitted_on") == {"catalog": str(archive_catalog), "start": "2024-01-01T12:00:01.138942031+00:00",
                                      "end": "2024-01-01T12:59:59.800198746+00:00"}
    priors = InstrumentPriors(**block)
    # no trades: the pooled book-crossing curve, κ 10× and A 1/44 of the seed's 2,500 and 0.8/s (the truncated
    # likelihood in half-ticks; with 0.02 bp bins and cells between consecutive depths κ 32,700, A 0.0312, R² 0.617;
    # the regression read κ 21,600, A 0.0203, R² 0.893: its least-squares line followed these crossings' heavier
    # tail, the likelihood the bulk near the touch, and its R² against that curve is lower: 0.734, 0.396 when the
    # 2-tick spreads' crossings one tick out, at their own touch, were read as beyond the 1-tick spreads' touch, κ
    # 37,018, A 0.0328); σ: realised 4.18–4.27e-5 at 10–60 s (DESIGN §5: 4.2e-5), its median
    assert priors == InstrumentPriors(kappa_per_frac=25_000.0, a_per_s=0.018, sigma_frac_per_sqrt_s=4.26e-5)
    assert "curve (book_crossings, both sides pooled): κ 24,997 (1/κ 0.400 bp), A 0.0180/s, R² 0.734" in err
    # the tick the book actually moves by (5 significant figures: 1 USD), and the spread, 2 ticks (DESIGN §9)
    assert "tick in the book 1 (0.234 bp; instrument increment 0.1)" in err
    assert "spread (time-weighted median) 0.468 bp = 2.00 ticks" in err
    assert "WARNING" not in err


def test_eth_capture_priors_from_trades_with_the_kappa_models_fit(eth_catalog, capsys) -> None:
    code, out, err = run(capsys, "--catalog", str(eth_catalog), "--instrument", ETH)
    assert code == 0
    # A over the 241 s with a fresh mid, not the 9 minutes with their 250 s and 51 s outages (it read 0.0492);
    # κ and A of the truncated likelihood in half-ticks (with 0.02 bp bins 12,100 and 0.1; the regression, biased
    # steep by the 5 bp range, read 15,600 and 0.111; 14,700 and 0.0983 with the 2-tick spreads' touch read as depth)
    expected = {"kappa_per_frac": 13_900.0, "a_per_s": 0.0923, "sigma_frac_per_sqrt_s": 9.39e-5}
    fitted_on = {"catalog": str(eth_catalog), "start": "2025-09-03T12:55:12.796357900+00:00",
                 "end": "2025-09-03T13:04:14.869114600+00:00"}  # the first and last ts_init it read
    assert json.loads(out) == {"priors": expected | {"fitted_on": fitted_on}}
    assert "curve (trades, both sides pooled)" in err and "bid book_crossings" in err  # both sources shown per side
    # 9 minutes, of which 241 s live: priors, but rough ones, and the command says so (reviewer)
    assert "WARNING: κ/A from 241 s of observed market (feed outages left out), less than the kappa model's 600 s" in err
    assert "WARNING: σ at 60 s rests on ~4 independent returns (under 10)" in err
    # the same fit as the online model's: its market arrivals over the whole capture, each side
    cal = calibrate.calibrate(eth_catalog, InstrumentId.from_str(ETH))
    assert cal.curves.source is CurveSource.TRADES
    # κ 13.0k–18.5k, R² 0.885–0.970 (with 0.02 bp bins 11.5k–18.5k, R² 0.93–0.97; the regression: 14.5k–19.7k)
    for (side, source), fit in cal.curves.sides.items():
        assert fit is not None and fit.r2 > 0.88 and 11_000 < fit.kappa_per_frac < 20_000
    assert "tick in the book 0.1 (0.230 bp" in err and "spread (time-weighted median) 0.230 bp = 1.00 ticks" in err


def test_realised_sigma_leaves_out_returns_across_the_captures_recorder_outages(eth_catalog) -> None:
    # The capture has no book for 250 s and 51 s. On a 1 s grid the mid stands still there, so returns across the
    # outage read as zero (σ too low) and the one return that spans its end as minutes of move (σ too high).
    data = calibrate.load_catalog(eth_catalog, InstrumentId.from_str(ETH))
    with_gaps = calibrate.realised_sigma(data.book_ts_ns, data.mid, 20.0, max_gap_s=float("inf"))
    live_only = calibrate.realised_sigma(data.book_ts_ns, data.mid, 20.0)
    assert with_gaps == pytest.approx(9.31e-5, rel=0.01) and live_only == pytest.approx(9.14e-5, rel=0.01)
    # a single long segment is untouched: the live part before the first outage gives the same σ either way
    head = data.book_ts_ns < data.book_ts_ns[0] + 130 * 1_000_000_000
    assert calibrate.realised_sigma(data.book_ts_ns[head], data.mid[head], 20.0) == pytest.approx(
        calibrate.realised_sigma(data.book_ts_ns[head], data.mid[head], 20.0, max_gap_s=float("inf"))
    )


def test_a_narrow_fit_range_is_flagged(eth_catalog, capsys) -> None:
    # 2 bp, not 1 bp as with the regression: ETH's prints 0.1–0.9 bp out do not fall off (more at 0.8 bp than at
    # 0.2 bp), which the truncated likelihood reads as no curve at all, and calibrate says so
    code, _, err = run(capsys, "--catalog", str(eth_catalog), "--instrument", ETH, "--max-depth-bps", "2")
    assert code == 0 and "WARNING: the fit range max_depth_bps 2 holds fewer than 4 characteristic depths" in err
    code, _, err = run(capsys, "--catalog", str(eth_catalog), "--instrument", ETH, "--max-depth-bps", "1")
    assert code == calibrate.EXIT_INPUT_ERROR and "depths that do not fall off over the range" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--instrument", "ETH"), "missing '.' separator"),
        (("--instrument", BTC), "no instrument BTC-USD-PERP.HYPERLIQUID in the catalog"),
        (("--instrument", ETH, "--max-depth-bps", "0"), "KappaParams.max_depth_bps: must be >= 3 bins"),
    ],
)
def test_bad_input_is_an_error_that_names_it(eth_catalog, capsys, argv, message) -> None:
    code, out, err = run(capsys, "--catalog", str(eth_catalog), *argv)
    assert code == calibrate.EXIT_INPUT_ERROR and out == "" and message in err


def test_too_little_data_for_a_curve_is_an_error(ws_recording_btc, tmp_path, capsys) -> None:
    # the 26 s WS recording: 2 book crossings and 8 taker orders, too few for a curve
    instrument = default_instrument()
    write_catalog([loaders.parse_file(ws_recording_btc, instrument)], instrument, tmp_path / "catalog")
    code, out, err = run(capsys, "--catalog", str(tmp_path / "catalog"), "--instrument", BTC)
    assert code == calibrate.EXIT_INPUT_ERROR and out == ""
    assert "error: no κ/A fit from book_crossings" in err
    code, _, err = run(capsys, "--catalog", str(tmp_path / "missing"), "--instrument", BTC)
    assert code == calibrate.EXIT_INPUT_ERROR and "not a catalog directory" in err


@pytest.mark.parametrize("coin", ["BTC", "ETH", "SOL"])
def test_the_shipped_configs_priors_are_what_calibrate_fits_on_the_bundled_capture(
    coin, hl_captures, tmp_path, capsys
) -> None:
    """A coin's config gets its priors from its data with trades (README: ``make calibrate``), so that a fix to the fit
    (A over observed time, not over feed outages) reaches the shipped configs too, not only new ones."""
    instrument = instrument_for(coin)
    write_catalog([loaders.parse_file(hl_captures / f"hl_{coin}_20250903.gz", instrument)], instrument, tmp_path / "c")
    code, out, _ = run(capsys, "--catalog", str(tmp_path / "c"), "--instrument", instrument.id.value)
    assert code == 0
    shipped = json.loads((Path(__file__).resolve().parents[1] / "configs" / f"hyperliquid_{coin.lower()}.json").read_text())
    fitted = json.loads(out)["priors"]
    stamp, shipped_stamp = fitted.pop("fitted_on"), shipped["priors"].pop("fitted_on")
    assert stamp["catalog"] == str(tmp_path / "c")  # a temporary catalog here; the config names the bundled one
    assert (stamp["start"], stamp["end"]) == (shipped_stamp["start"], shipped_stamp["end"])  # the same data
    assert shipped_stamp["catalog"] == f"data/catalog_hl_{coin.lower()}"
    assert fitted == shipped["priors"]


def test_a_curve_from_a_handful_of_points_is_called_rough() -> None:
    """Reviewer: on the first 60 s of ETH calibrate printed κ 9,728 from 3 depth points (R² 0.996) without a word."""
    params = calibrate.KappaParams()
    few = calibrate.CurveFits(
        pooled=IntensityFit(a_per_s=0.1, kappa_per_frac=9_728.0, r2=0.996, arrivals=9, points=3, span_s=120.0,
                            survival=SurvivalFit(2.5, 9_728.0, 0.996, 3, 2.3e-5, ((5, 4.6e-4),))),
        source=CurveSource.TRADES,
        sides={},
        observed_s=60.0,
        tick=0.1,
    )
    warnings = calibrate.sample_warnings(few, params)
    assert any("rests on 9 arrivals and 3 depth points (R² 1.00)" in w for w in warnings)
    assert any("κ/A from 60 s of observed market" in w for w in warnings)
    enough = msgspec.structs.replace(few.pooled, arrivals=300, points=14, r2=0.9)
    assert calibrate.sample_warnings(calibrate.CurveFits(enough, CurveSource.TRADES, {}, 3_600.0, 0.1), params) == []
