"""A local exchange that speaks the real Hyperliquid protocol over a replay of real market data.

It is the venue of every live-mode test and of ``run_live.py`` by default: ``/info``, ``/exchange`` and
``/ws`` with the real shapes, signature recovery, nonces, rate limits, a matching engine over the recorded
book, and fault injection. See ``server.LocalExchange`` for the in-process API and ``__main__`` for the CLI.
"""

from adapters.hyperliquid.local_exchange.config import TEST_ACCOUNT_KEY
from adapters.hyperliquid.local_exchange.config import AccountConfig
from adapters.hyperliquid.local_exchange.config import LocalExchangeConfig
from adapters.hyperliquid.local_exchange.config import test_account_address
from adapters.hyperliquid.local_exchange.server import LocalExchange

__all__ = ["AccountConfig", "LocalExchange", "LocalExchangeConfig", "TEST_ACCOUNT_KEY", "test_account_address"]
