"""Shared test fixtures: paths to the real Hyperliquid data in ../shared (never copied into the repo).

Tests that need the data skip cleanly only when ../shared is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
RESEARCH_DATA = SHARED / "hyperliquid_research_data"
ARCHIVE_BTC_HOUR = (
    RESEARCH_DATA / "vigil-hypertrace/hyperliquid_samples/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
)
WS_RECORDING_BTC = RESEARCH_DATA / "hftbacktest/examples/hyperliquid/btcusd_20250126.gz"
HL_CAPTURES = RESEARCH_DATA / "hl-collector-csv/recordings"  # hl_<COIN>_20250903.gz: 9 min with trades (SOURCES §6)
SDK_CASSETTES = RESEARCH_DATA / "hyperliquid-python-sdk/tests/cassettes/info_test"
NT_FIXTURES = RESEARCH_DATA / "nautilus_trader/crates/adapters/hyperliquid/test_data"
SIGNING_VECTORS = SHARED / "hl_signing_vectors.json"


def _require(path: Path) -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is absent: real Hyperliquid data unavailable")
    assert path.exists(), f"expected real data file missing: {path}"
    return path


@pytest.fixture(scope="session")
def archive_btc_hour() -> Path:
    return _require(ARCHIVE_BTC_HOUR)


@pytest.fixture(scope="session")
def ws_recording_btc() -> Path:
    return _require(WS_RECORDING_BTC)


@pytest.fixture(scope="session")
def hl_captures() -> Path:
    return _require(HL_CAPTURES)


@pytest.fixture(scope="session")
def sdk_cassettes() -> Path:
    return _require(SDK_CASSETTES)


@pytest.fixture(scope="session")
def nt_fixtures() -> Path:
    return _require(NT_FIXTURES)


@pytest.fixture(scope="session")
def signing_vectors() -> Path:
    return _require(SIGNING_VECTORS)


@pytest.fixture(scope="session")
def archive_catalog(archive_btc_hour, tmp_path_factory) -> Path:
    """The archive hour as a user builds it (``python -m adapters.hyperliquid.catalog_cli``), once per session."""
    from adapters.hyperliquid import catalog_cli

    path = tmp_path_factory.mktemp("catalog_archive")
    assert catalog_cli.main([str(archive_btc_hour), "--catalog", str(path)]) == 0
    return path


def _capture_catalog(hl_captures: Path, tmp_path_factory, coin: str) -> Path:
    """A 9-minute capture with trades (SOURCES §6) as a user builds its catalog (``catalog_cli``)."""
    from adapters.hyperliquid import catalog_cli

    path = tmp_path_factory.mktemp(f"catalog_hl_{coin.lower()}")
    assert catalog_cli.main([str(hl_captures / f"hl_{coin}_20250903.gz"), "--coin", coin, "--catalog", str(path)]) == 0
    return path


@pytest.fixture(scope="session")
def hl_btc_catalog(hl_captures, tmp_path_factory) -> Path:
    """The 9-minute BTC capture with trades as a catalog, once per session (tests only read it)."""
    return _capture_catalog(hl_captures, tmp_path_factory, "BTC")


@pytest.fixture(scope="session")
def hl_eth_catalog(hl_captures, tmp_path_factory) -> Path:
    """The 9-minute ETH capture (it holds a 250 s feed gap), once per session (tests only read it)."""
    return _capture_catalog(hl_captures, tmp_path_factory, "ETH")
