"""The venue's REST weights (protocol reference §6.6), one table for the client and the local exchange.

The client budgets with it (``http/``) and the local exchange charges with it (``local_exchange/ratelimit.py``),
so the two cannot drift apart: they once did, on ``fundingHistory``, which the exchange charged per item and the
client did not.

- ``/exchange`` actions weigh ``1 + floor(batch_length / 40)``;
- ``/info`` weighs 2 for the light requests, 60 for ``userRole`` and 20 for everything else, plus, for the list
  endpoints, 1 per 20 items returned (1 per 60 for ``candleSnapshot``), known only once the answer is.
"""

from __future__ import annotations

from typing import Final

IP_WEIGHT_PER_MIN: Final = 1200
# One signed action holds at most this many orders, cancels or modifies: a cancel of 201 oids is refused whole with
# "Signed action over weight limit of 200." (live capture), so the client splits longer batches.
MAX_ACTION_ITEMS: Final = 200
INFO_WEIGHT_2: Final = frozenset(
    {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus"},
)
INFO_WEIGHT_60: Final = frozenset({"userRole"})
INFO_DEFAULT_WEIGHT: Final = 20
# List endpoints: extra weight per this many items returned.
ITEMS_PER_WEIGHT: Final = {
    **dict.fromkeys(
        (
            "recentTrades",
            "historicalOrders",
            "userFills",
            "userFillsByTime",
            "fundingHistory",
            "userFunding",
            "nonUserFundingUpdates",
            "twapHistory",
            "userTwapSliceFills",
            "userTwapSliceFillsByTime",
            "delegatorHistory",
            "delegatorRewards",
            "validatorStats",
        ),
        20,
    ),
    "candleSnapshot": 60,
}
_BATCH_PER_WEIGHT: Final = 40


def info_weight(info_type: str) -> int:
    """What an ``/info`` request costs up front."""
    if info_type in INFO_WEIGHT_2:
        return 2
    if info_type in INFO_WEIGHT_60:
        return 60
    return INFO_DEFAULT_WEIGHT


def info_items_weight(info_type: str, n_items: int) -> int:
    """What an answer of ``n_items`` adds afterwards (0 for requests that are not list endpoints)."""
    per = ITEMS_PER_WEIGHT.get(info_type)
    return n_items // per if per is not None else 0


def action_weight(batch_length: int) -> int:
    """IP weight of an ``/exchange`` action: ``1 + floor(batch_length / 40)``."""
    return 1 + batch_length // _BATCH_PER_WEIGHT
