"""The backtest benchmarks build only the bundled archive-hour catalog (``DEFAULT_CATALOG``), as ``run_backtest.py``
does: any other ``--catalog`` must already hold book data. A mistyped path used to get the archive hour built
into it and benchmarked under the wrong name."""

from __future__ import annotations

import pytest

from adapters.hyperliquid import node as hyperliquid_node
from benchmarks import backtest_throughput
from benchmarks import estimators


@pytest.fixture
def builds(monkeypatch) -> list:
    """The bundled-catalog builds asked for (none is run: the test only checks who asks)."""
    asked: list = []
    monkeypatch.setattr(hyperliquid_node, "build_bundled_catalog", asked.append)
    return asked


BENCHMARKS = {
    "estimators": lambda catalog: estimators.main(["--catalog", catalog, "--no-engine"]),
    "backtest_throughput": lambda catalog: backtest_throughput.main(["--catalog", catalog]),
}


@pytest.mark.parametrize("exists", [False, True])
@pytest.mark.parametrize("script", list(BENCHMARKS))
def test_the_benchmarks_refuse_a_catalog_without_book_data_and_build_nothing(tmp_path, builds, capsys, script, exists):
    typo = tmp_path / "catalgo"
    if exists:
        typo.mkdir()
    with pytest.raises(SystemExit) as stop:
        BENCHMARKS[script](str(typo))
    assert "holds no book data" in str(stop.value.code) and str(typo) in str(stop.value.code)
    assert builds == [] and typo.exists() == exists
    assert capsys.readouterr().out == "", "exits before any measurement"


def test_a_built_catalog_is_taken_as_it_is(hl_btc_catalog, builds):
    assert backtest_throughput.ready_catalog(hl_btc_catalog) == hl_btc_catalog
    assert builds == []


def test_only_the_default_catalog_is_built_on_first_use(tmp_path, builds, monkeypatch):
    default = tmp_path / "catalog"
    monkeypatch.setattr(backtest_throughput, "DEFAULT_CATALOG", default)
    assert backtest_throughput.ready_catalog(default) == default
    assert builds == [default]
