"""Shared by the sweep tests: the real 9-minute BTC capture as a catalog with a checkpoint every 15 s, and specs.

The capture (2025-09-03 12:55:12.5 to 13:04:14.8 UTC, with trades) has recorder gaps of 250 s (from 134.6 s) and
51 s (from 388.7 s); walk-forward windows must skip them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from adapters.hyperliquid import catalog_cli
from mm_strategy.config import GLFTMarketMakerConfig
from mm_strategy.strategy import GLFTMarketMaker

REPO_ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = REPO_ROOT / "configs" / "hyperliquid_btc.json"
CHECKPOINT_S = 15
# 138.5 s after the start, inside the first recorder gap: three 45 s walk-forward windows end before it
FIRST_SEGMENT_END = "2025-09-03T12:57:31"


def build_catalog(hl_captures: Path, path: Path) -> Path:
    capture = hl_captures / "hl_BTC_20250903.gz"
    args = [str(capture), "--coin", "BTC", "--catalog", str(path), "--checkpoint-s", str(CHECKPOINT_S)]
    assert catalog_cli.main(args) == 0
    return path


def mechanics_config(folder: Path) -> Path:
    """The shipped BTC config without its priors' ``fitted_on`` stamp, written into ``folder``. The sweep tests walk
    forward over the very capture those priors were fitted on, a look-ahead the planner refuses
    (``test_research_priors.py``); they test the machinery, not a trading choice, with the same priors."""
    document = json.loads(BASE_CONFIG.read_text())
    del document["priors"]["fitted_on"]
    path = folder / BASE_CONFIG.name
    path.write_text(json.dumps(document, indent=2))
    return path


def write_spec(path: Path, catalog: Path, **fields) -> Path:
    """A JSON spec on the shipped BTC config (``mechanics_config``) and the catalog; ``fields`` replace or add
    top-level entries."""
    spec = {
        "name": "test",
        "configs": [str(mechanics_config(path.parent))],
        "datasets": [{"catalog": str(catalog), "name": "hl_btc"}],
        **fields,
    }
    path.write_text(json.dumps(spec, indent=2))
    return path


class AbortingMarketMakerConfig(GLFTMarketMakerConfig, frozen=True):
    """The GLFT config and where to log each start (None: nowhere)."""

    attempts_path: str | None = None


class AbortingMarketMaker(GLFTMarketMaker):
    """Takes the GLFT config and kills its own process on start: a worker dying outright, as a native crash would.

    With an ``attempts_path`` (``AbortingMarketMakerConfig``) it first appends a line to that file, so a test can
    count how many times an executor started the run (a retry would start it again).
    """

    def on_start(self) -> None:
        attempts_path = getattr(self.config, "attempts_path", None)
        if attempts_path:
            with open(attempts_path, "a") as log:
                log.write(f"{os.getpid()}\n")
        os.abort()

    @staticmethod
    def attempts(attempts_path: Path) -> list[str]:
        """The pids that started with ``attempts_path``, one per attempt."""
        return attempts_path.read_text().split() if attempts_path.exists() else []
