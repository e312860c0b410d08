"""NautilusTrader configs of the Hyperliquid data and execution clients.

Both point at a venue through ``environment`` (``mainnet``/``testnet`` have built-in URLs) and optional
``base_url_http``/``base_url_ws`` overrides, which is how the same clients talk to the local exchange
(``environment="local"`` requires both URLs). The environment also fixes the signature scheme: only mainnet
signs with source ``"a"``; testnet and the local exchange verify ``"b"`` (protocol §4.1).

Credentials never live in a config: the execution config names the environment variable or the file that
holds the private key, so a config can be logged, hashed (``config.id``) or written to JSON safely.
"""

from __future__ import annotations

from dataclasses import dataclass

from nautilus_trader.config import LiveDataClientConfig
from nautilus_trader.config import LiveExecClientConfig

from adapters.hyperliquid.actions import lower_address
from adapters.hyperliquid.constants import ENVIRONMENT_URLS
from adapters.hyperliquid.constants import ENVIRONMENTS
from adapters.hyperliquid.constants import MIN_DEAD_MAN_SWITCH_SECS


@dataclass(frozen=True, slots=True)
class Endpoints:
    http_url: str
    ws_url: str
    is_mainnet: bool


class HyperliquidDataClientConfig(LiveDataClientConfig, frozen=True):
    """Market data: ``l2Book`` → ``OrderBookDeltas``, ``bbo`` → ``QuoteTick``, ``trades`` → ``TradeTick``,
    ``activeAssetCtx`` → mark price and funding rate.

    ``book_stale_secs``: a subscribed book silent for this long is logged and resubscribed. ``book_fast``
    subscribes the 5-level 0.5 s book instead of the 20-level one the backtest catalog holds; the real venue
    pushes that one only every 2-5 s (``node.live_clients`` subscribes the fast one there). ``book_lag_secs``:
    a book received more than this after its venue time is counted (``lagging_books``) and logged: the venue,
    or this host's clock, is behind. 2 s is four fast-book periods and well under the strategy's 5 s stale pull.
    ``record_path``: append every market frame received to this gzip file (hftbacktest collector format,
    readable by ``loaders`` and by the local exchange's replay).
    """

    environment: str = "mainnet"
    base_url_http: str | None = None
    base_url_ws: str | None = None
    http_timeout_secs: float = 10.0
    max_retries: int = 3
    heartbeat_secs: float = 30.0
    reconnect_delay_initial_secs: float = 0.25
    reconnect_delay_max_secs: float = 5.0
    book_stale_secs: float = 15.0
    book_fast: bool = False
    book_lag_secs: float = 2.0
    record_path: str | None = None

    def __post_init__(self) -> None:
        _validate_transport(self)
        if self.book_stale_secs <= 0:
            raise ValueError(f"book_stale_secs must be > 0, got {self.book_stale_secs}")
        if self.book_lag_secs <= 0:
            raise ValueError(f"book_lag_secs must be > 0, got {self.book_lag_secs}")

    def endpoints(self) -> Endpoints:
        return resolve_endpoints(self.environment, self.base_url_http, self.base_url_ws)


class HyperliquidExecClientConfig(LiveExecClientConfig, frozen=True):
    """Execution for one account.

    ``account_address`` is the master account the orders trade for; leave it unset when the key is the account's
    own. With an agent (API) wallet the key is the agent's and ``account_address`` must be the master, otherwise
    queries and user streams see an empty account (protocol §9.5). A sub-account or a vault is not supported: the
    venue acts for it only on actions that sign and post its address as ``vaultAddress``, which this client never
    sends, so its orders would land on the signer's master while queries and streams watched the sub-account. The key comes from the environment
    variable ``private_key_env`` or from ``private_key_file`` (exactly one).

    ``dead_man_switch_secs``: keep a venue ``scheduleCancel`` that far ahead, refreshed every
    ``dead_man_switch_refresh_secs`` (not while a cancel the node asked for stays unconfirmed: then its deadline is
    brought forward to the venue's minimum, ``execution._keep_dead_man_switch``), so a crashed or partitioned node has its orders cancelled by the venue;
    ``None`` disables it. Each refresh is an action against the address request budget (every 20 s ≈ 4,300 a
    day, next to a new account's 10,000 buffer), hence not more often. ``cancel_all_on_disconnect`` sweeps the
    venue's open orders on a clean stop and only then clears the schedule. ``market_order_slippage_bps``: MARKET
    orders become IOC limits this far through the touch. ``account_refresh_secs``: how often the account
    balance and the address request budget are re-read. ``resync_interval_secs``: besides after every reconnect,
    re-read fills and open orders this often, which repairs a frame lost without a disconnect (cheap: 40 weight
    of the 1200/min budget); ``None`` = only on reconnect. Use it instead of the engine's
    ``open_check_interval_secs``, whose inferred fills would race the real ones this client still delivers.
    ``leverage``: set this cross leverage on every loaded instrument when connecting (``updateLeverage``);
    ``None`` leaves the account's setting alone. ``ws_post``: send actions as WS ``post`` requests on the user
    stream's socket whenever one can go at once, REST otherwise (``http/exchange.py``); a post not answered
    within ``ws_post_timeout_secs`` has an unknown outcome and its orders are looked up, as after a REST timeout.
    ``cancel_unknown_orders_on_connect``: cancel the account's open orders on the loaded coins that the node does
    not know (a crashed session's, kept alive by its dead-man switch) before trading; False keeps them, as EXTERNAL
    orders no strategy manages (orders placed by hand on the same account, say).
    ``closed_order_retention_secs``: an order's state (what the client emitted for it) is dropped at the first
    resync after the order has been closed this long with nothing left to settle, so a node quoting for days holds
    the states of the last hour, not of every order ever. It must be at least the execution engine's
    ``purge_closed_orders_buffer_mins`` (``mm_strategy.backtest.PURGE_AFTER_MINS``, 60): while the cache holds a
    closed order its state stays too, for stray checks and fill deduplication against what the order holds.
    ``nonce_state_dir``: save the signer's last nonce under ``<dir>/<mainnet|testnet>/<address>.nonce`` and lock the
    signer to this process (``nonces``, ``nonce_file``); the live node sets it to ``<live.state_dir>/nonces``. None
    keeps nonces in memory only: a restart after the host clock ran ahead or stepped back is then refused by the
    venue (it keeps each signer's 100 highest nonces), and two processes on one key race each other's nonces.
    """

    environment: str = "mainnet"
    base_url_http: str | None = None
    base_url_ws: str | None = None
    http_timeout_secs: float = 10.0
    max_retries: int = 3
    heartbeat_secs: float = 30.0
    reconnect_delay_initial_secs: float = 0.25
    reconnect_delay_max_secs: float = 5.0
    account_address: str | None = None
    private_key_env: str | None = "HYPERLIQUID_PK"
    private_key_file: str | None = None
    dead_man_switch_secs: float | None = 60.0
    dead_man_switch_refresh_secs: float = 20.0
    cancel_all_on_disconnect: bool = True
    market_order_slippage_bps: float = 50.0
    account_refresh_secs: float = 30.0
    resync_interval_secs: float | None = 60.0
    leverage: int | None = None
    ws_post: bool = True
    ws_post_timeout_secs: float = 10.0
    cancel_unknown_orders_on_connect: bool = True
    closed_order_retention_secs: float = 3600.0
    nonce_state_dir: str | None = None

    def __post_init__(self) -> None:
        _validate_transport(self)
        if self.ws_post_timeout_secs <= 0:
            raise ValueError(f"ws_post_timeout_secs must be > 0, got {self.ws_post_timeout_secs}")
        if (self.private_key_env is None) == (self.private_key_file is None):
            raise ValueError("give exactly one of private_key_env or private_key_file")
        if self.account_address is not None:
            lower_address(self.account_address)
        if self.dead_man_switch_secs is not None:
            if self.dead_man_switch_secs < MIN_DEAD_MAN_SWITCH_SECS:
                raise ValueError(f"dead_man_switch_secs must be >= {MIN_DEAD_MAN_SWITCH_SECS} (venue minimum)")
            if not 0 < self.dead_man_switch_refresh_secs < self.dead_man_switch_secs:
                raise ValueError("dead_man_switch_refresh_secs must be in (0, dead_man_switch_secs)")
        if self.leverage is not None and self.leverage < 1:
            raise ValueError(f"leverage must be >= 1, got {self.leverage}")
        if self.resync_interval_secs is not None and self.resync_interval_secs <= 0:
            raise ValueError(f"resync_interval_secs must be > 0 or None, got {self.resync_interval_secs}")
        if self.market_order_slippage_bps <= 0:
            raise ValueError(f"market_order_slippage_bps must be > 0, got {self.market_order_slippage_bps}")
        if self.closed_order_retention_secs <= 0:
            raise ValueError(f"closed_order_retention_secs must be > 0, got {self.closed_order_retention_secs}")

    def endpoints(self) -> Endpoints:
        return resolve_endpoints(self.environment, self.base_url_http, self.base_url_ws)


def resolve_endpoints(environment: str, base_url_http: str | None, base_url_ws: str | None) -> Endpoints:
    """The URLs to use: explicit ones win over the environment's built-in ones (the local exchange has none)."""
    default_http, default_ws = ENVIRONMENT_URLS.get(environment, (None, None))
    http_url = (base_url_http or default_http or "").rstrip("/")
    ws_url = base_url_ws or default_ws or ""
    if not http_url or not ws_url:
        raise ValueError(f"environment {environment!r} needs base_url_http and base_url_ws")
    return Endpoints(http_url=http_url, ws_url=ws_url, is_mainnet=environment == "mainnet")


def _validate_transport(config: HyperliquidDataClientConfig | HyperliquidExecClientConfig) -> None:
    if config.environment not in ENVIRONMENTS:
        raise ValueError(f"environment must be one of {ENVIRONMENTS}, got {config.environment!r}")
    resolve_endpoints(config.environment, config.base_url_http, config.base_url_ws)
    if not 0 < config.heartbeat_secs < 60:
        raise ValueError(
            f"heartbeat_secs must be in (0, 60): the venue drops a connection idle 60 s, got {config.heartbeat_secs}"
        )
    if not 0 < config.reconnect_delay_initial_secs <= config.reconnect_delay_max_secs:
        raise ValueError("need 0 < reconnect_delay_initial_secs <= reconnect_delay_max_secs")
    if config.http_timeout_secs <= 0 or config.max_retries < 0:
        raise ValueError("http_timeout_secs must be > 0 and max_retries >= 0")
