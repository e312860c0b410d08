"""Write the winning parameters as a complete venue config that ``run_backtest.py`` and ``run_live.py`` accept as is.

The file is the base config document with the winning parameter set applied, nothing else: the same keys, order
and untouched values as the hand-written base, so a ``diff`` against it shows exactly what the sweep changed. It is
validated by ``load_venue_config_dict`` before it is written. Dataset overrides (e.g. another coin's instrument)
are not part of it: they described the data, not the choice.
"""

from __future__ import annotations

import json
from pathlib import Path

from mm_strategy.node_config import load_venue_config_dict
from mm_strategy.research.overrides import apply_overrides


def write_winning_config(base_document: dict, params: dict[str, object], path: Path, source: str) -> Path:
    document = apply_overrides(base_document, params)
    load_venue_config_dict(document, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
