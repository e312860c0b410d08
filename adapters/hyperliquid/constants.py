"""Hyperliquid venue constants shared by the live clients: identifiers, endpoints, weights and venue strings.

Venue strings (error texts, statuses) are matched by the clients, so they are defined once here, with the
protocol reference section they come from (``shared/reference/hyperliquid_protocol.md``).
"""

from __future__ import annotations

from typing import Final

from nautilus_trader.model.identifiers import AccountId
from nautilus_trader.model.identifiers import ClientId

from adapters.hyperliquid.instruments import HYPERLIQUID_VENUE

HYPERLIQUID: Final = HYPERLIQUID_VENUE.value
HYPERLIQUID_CLIENT_ID: Final = ClientId(HYPERLIQUID)
# One account per client: the master (or sub-account) address the orders trade for.
HYPERLIQUID_ACCOUNT_ID: Final = AccountId(f"{HYPERLIQUID}-master")

# Environments (protocol §1). "local" has no default URL: it is whatever local exchange the config points at.
ENVIRONMENTS: Final = ("local", "testnet", "mainnet")
ENVIRONMENT_URLS: Final = {
    "mainnet": ("https://api.hyperliquid.xyz", "wss://api.hyperliquid.xyz/ws"),
    "testnet": ("https://api.hyperliquid-testnet.xyz", "wss://api.hyperliquid-testnet.xyz/ws"),
}

# l2Book depth a side (protocol §5.4): the 20-level book, and the "fast" one (5 levels every 0.5 s) that the node
# subscribes on the real venue because the 20-level one now comes only every 2-5 s.
BOOK_LEVELS: Final = 20
FAST_BOOK_LEVELS: Final = 5

# REST weights (protocol §6.6) are in weights.py, shared with the local exchange.
# Time-ranged info responses hold at most this many elements (protocol §2.8).
MAX_FILLS_PER_RESPONSE: Final = 2000

# scheduleCancel must be at least 5 s ahead (protocol §3.5).
MIN_DEAD_MAN_SWITCH_SECS: Final = 5.0

# Venue texts matched by the execution client (protocol §3.8).
POST_ONLY_REJECT_PREFIX: Final = "Post only order would have immediately matched"
MISSING_ORDER_ERROR: Final = "Order was never placed, already canceled, or filled."
# A modify whose new order the venue refused: its cancel half has already taken the old order off the book.
MODIFY_NEW_ORDER_FAILED_PREFIX: Final = "Error placing new order during modify: "
ADDRESS_LIMIT_PREFIX: Final = "Too many cumulative requests sent"
# scheduleCancel (the dead-man switch) is refused to an account that has traded less than $1M.
DEAD_MAN_VOLUME_PREFIX: Final = "Cannot set scheduled cancel time until enough volume traded"

# Order statuses (protocol §2.9); the open-ended rest is classified by suffix.
STATUS_OPEN: Final = "open"
STATUS_FILLED: Final = "filled"
STATUS_TRIGGERED: Final = "triggered"
