"""The smallest valid ``GLFTMarketMakerConfig`` document, for tests that parse one with a field changed."""

from __future__ import annotations

import msgspec

from mm_strategy.config import GLFTMarketMakerConfig


def strategy_document(**fields) -> dict:
    """BTC on Hyperliquid with the archive hour's rough priors; ``fields`` replace or add top-level keys."""
    return {
        "instrument_id": "BTC-USD-PERP.HYPERLIQUID",
        "priors": {"kappa_per_frac": 17000.0, "a_per_s": 0.05, "sigma_frac_per_sqrt_s": 5e-5},
        "order_size": "0.01",
        "risk": {"max_position": 0.1, "capital_usd": 10000.0},
        **fields,
    }


def parse_strategy_config(document: dict) -> GLFTMarketMakerConfig:
    return GLFTMarketMakerConfig.parse(msgspec.json.encode(document))
