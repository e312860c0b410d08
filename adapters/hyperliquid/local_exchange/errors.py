"""The venue's error texts and the exceptions that carry them to the transport layer.

Strings under "documented or seen live" are copied from the protocol reference §3.8 / §9 and the issues it
cites; clients match on them, so they must not drift. Strings under "unverified" have no public live
capture; they keep the venue's style (a short sentence, the ``Invalid nonce:`` prefix) and are marked so
nobody mistakes them for facts.
"""

from __future__ import annotations

# Per-order statuses (documented or seen live).
TICK = "Price must be divisible by tick size."
INVALID_PRICE = "Order has invalid price."
INVALID_SIZE = "Order has invalid size."
MIN_NOTIONAL = "Order must have minimum value of $10."
PERP_MARGIN = "Insufficient margin to place order."
REDUCE_ONLY = "Reduce only order would increase position."
BAD_ALO_PX = "Post only order would have immediately matched, bbo was {bid}@{ask}."
IOC_CANCEL = "Order could not immediately match against any resting orders."
NO_LIQUIDITY = "No liquidity available for market order."
MISSING_ORDER = "Order was never placed, already canceled, or filled."
MODIFY_DEAD_ORDER = "Cannot modify canceled or filled order"  # whole-request for modify, per item in batchModify
MODIFY_NEW_ORDER_FAILED = "Error placing new order during modify: {reason}"

# Whole-request errors (documented or seen live).
UNKNOWN_SIGNER = "L1 error: User or API Wallet {address} does not exist."
MUST_DEPOSIT = "Must deposit before performing actions. User: {address}"
DUPLICATE_NONCE = "Invalid nonce: duplicate nonce {nonce}"
VAULT_NOT_REGISTERED = "Vault not registered: {address}"
ADDRESS_RATE_LIMIT = (
    "Too many cumulative requests sent ({used} > {cap}) for cumulative volume traded ${volume}. "
    "Place taker orders to free up 1 request per USDC traded."
)
SCHEDULE_CANCEL_VOLUME = (
    "Cannot set scheduled cancel time until enough volume traded. Required: ${required}. Traded: ${traded}."
)

# Unverified texts (no live capture available offline).
NONCE_TOO_LOW = "Invalid nonce: nonce {nonce} is lower than the lowest of the 100 highest nonces used"
NONCE_OUT_OF_WINDOW = "Invalid nonce: nonce {nonce} is outside the allowed window around block time {now}"
ACTION_EXPIRED = "Action expired: expiresAfter {expires_after} is before block time {now}"
UNKNOWN_ASSET = "Asset {asset} does not exist."
TRIGGER_UNSUPPORTED = "Trigger orders are not supported by the local exchange."
SCHEDULE_CANCEL_TOO_EARLY = "Scheduled cancel time must be at least 5 seconds after the current time."
SCHEDULE_CANCEL_LIMIT = "Too many scheduled cancel triggers today."
INVALID_LEVERAGE = "Invalid leverage value."
ISOLATED_UNSUPPORTED = "Isolated margin is not supported by the local exchange."
CHAIN_MISMATCH = "Invalid hyperliquidChain {chain}."
EMPTY_BATCH = "Empty batch."

# Whole-request error for an action of more than MAX_ACTION_ITEMS orders, cancels or modifies (seen live: a cancel
# of 201 oids).
OVER_WEIGHT_LIMIT = "Signed action over weight limit of {limit}."

# HTTP-level texts, in the style of the venue's axum JSON extractor (reference §3.8.3).
PARSE_JSON = "Failed to parse the request body as JSON: {detail}"
DESERIALIZE = "Failed to deserialize the JSON body into the target type: {detail}"
WS_PARSE = "Error parsing JSON into valid websocket request: {raw}"


class BadRequest(Exception):
    """A request the venue refuses before any business logic: HTTP ``status`` with a plain-text body."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def deserialize_error(detail: str) -> BadRequest:
    return BadRequest(422, DESERIALIZE.format(detail=detail))


class ActionError(Exception):
    """A whole-request rejection: ``{"status":"err","response":text}`` with HTTP 200."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class OrderRejected(Exception):
    """One order's rejection: ``{"error": text}`` in its slot of ``statuses``; ``status`` is the name
    ``orderStatus``/``historicalOrders`` report for it (e.g. ``badAloPxRejected``)."""

    def __init__(self, text: str, status: str) -> None:
        super().__init__(text)
        self.text = text
        self.status = status
