"""A perp ``meta`` read from a file (a JSON answer or an SDK cassette) and the instrument of a coin from it.

The bundled real ``meta`` is the SDK's recorded ``/info`` answer; catalogs, tests and benchmarks build their
instruments from it, so every backtest uses the venue's own size decimals and leverage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nautilus_trader.model.instruments import CryptoPerpetual

from adapters.hyperliquid.cassettes import cassette_response_bodies
from adapters.hyperliquid.instruments import perpetual_from_meta

_RESEARCH_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "hyperliquid_research_data"
DEFAULT_META = _RESEARCH_DATA / "hyperliquid-python-sdk/tests/cassettes/info_test/test_get_info.yaml"
DEFAULT_COIN = "BTC"


class MetaError(ValueError):
    """A meta file without a perp meta, or a coin it does not list."""


def load_meta(path: Path | str) -> dict[str, Any]:
    """The perp ``meta`` (``{"universe": [...]}``) from a JSON file (``meta`` or ``metaAndAssetCtxs``) or from a
    vcrpy cassette whose responses include one."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{") or text.lstrip().startswith("["):
        documents = [text]
    else:
        documents = cassette_response_bodies(path)
    for document in documents:
        meta = _as_meta(document)
        if meta is not None:
            return meta
    raise MetaError(f"{path.name}: no perp meta (an object with 'universe') found")


def _as_meta(document: str) -> dict[str, Any] | None:
    try:
        value = json.loads(document)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and value:  # metaAndAssetCtxs: [meta, assetCtxs]
        value = value[0]
    if isinstance(value, dict) and isinstance(value.get("universe"), list):
        return value
    return None


def instrument_for(coin: str, meta_path: Path | str = DEFAULT_META) -> CryptoPerpetual:
    """``coin``'s perp from the meta at ``meta_path``; an unknown coin is an input error, not a crash."""
    meta = load_meta(meta_path)
    try:
        return perpetual_from_meta(meta, coin)
    except KeyError as exc:
        raise MetaError(f"{Path(meta_path).name}: {exc.args[0]}") from None


def default_instrument() -> CryptoPerpetual:
    """BTC-USD-PERP.HYPERLIQUID from the bundled real ``meta`` response."""
    return instrument_for(DEFAULT_COIN)
