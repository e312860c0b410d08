"""``benchmarks/fingerprint.py``: the identical-results check of issue 13 must see a change in what the strategy
decides even when fills stay the same, and nothing when nothing changed (real BTC capture with trades)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.fingerprint import differences
from benchmarks.fingerprint import fingerprint

REPO_ROOT = Path(__file__).resolve().parents[1]
BTC_CONFIG = REPO_ROOT / "configs" / "hyperliquid_btc.json"


def test_same_run_same_fingerprint_and_a_changed_order_size_is_named(hl_btc_catalog, tmp_path):
    first = fingerprint(BTC_CONFIG, hl_btc_catalog)
    assert first == fingerprint(BTC_CONFIG, hl_btc_catalog)
    assert first["commands"][0] > 100 and first["fills"][0] > 0, "the capture is quoted and filled"

    raw = json.loads(BTC_CONFIG.read_text())
    raw["strategy"]["config"]["order_size"] = "0.02"
    bigger = tmp_path / "btc_bigger.json"
    bigger.write_text(json.dumps(raw))
    changed = fingerprint(bigger, hl_btc_catalog)
    found = differences({"btc": first}, {"btc": changed})
    assert any(line.startswith("btc: commands") for line in found), found
    assert differences({"btc": first}, {"btc": first}) == []
    assert differences({"btc": first}, {"eth": first}) == ["btc: not in both", "eth: not in both"]
