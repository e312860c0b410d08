"""Configuration of the local Hyperliquid exchange.

Every behaviour the real venue leaves ambiguous (protocol reference §10, §7.5, §7.6) is a field here rather
than a hard-coded guess, so a test can pin the variant it cares about. Defaults follow the most recent real
evidence cited in the field comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from eth_utils import keccak

from adapters.hyperliquid.weights import IP_WEIGHT_PER_MIN

REPO_ROOT = Path(__file__).resolve().parents[3]
RESEARCH_DATA = REPO_ROOT.parent / "shared" / "hyperliquid_research_data"
DEFAULT_ARCHIVE = (
    RESEARCH_DATA / "vigil-hypertrace/hyperliquid_samples/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
)
DEFAULT_WS_RECORDING = RESEARCH_DATA / "hftbacktest/examples/hyperliquid/btcusd_20250126.gz"
DEFAULT_META = RESEARCH_DATA / "hyperliquid-python-sdk/tests/cassettes/info_test/test_get_info.yaml"

# Base-tier perp fees (protocol reference §6.4).
BASE_MAKER_FEE = Decimal("0.00015")
BASE_TAKER_FEE = Decimal("0.00045")

# A throwaway key that exists only so a local session can trade without any setup. It guards nothing: the
# local venue holds no value and never leaves 127.0.0.1. Real keys come from the environment, never from code.
TEST_ACCOUNT_KEY = "0x" + keccak(b"hyperliquid local exchange test account").hex()
TEST_ACCOUNT_USDC = Decimal(100_000)


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One funded master account. ``n_requests_used`` and ``cum_vlm`` seed the address rate limit so a test
    can start an account close to its budget."""

    address: str
    usdc: Decimal
    maker_fee: Decimal = BASE_MAKER_FEE
    taker_fee: Decimal = BASE_TAKER_FEE
    cum_vlm: Decimal = Decimal(0)
    n_requests_used: int = 0


@dataclass(frozen=True, slots=True)
class LocalExchangeConfig:
    data: tuple[Path, ...] = (DEFAULT_ARCHIVE,)
    meta: Path = DEFAULT_META
    host: str = "127.0.0.1"
    port: int = 0
    # Replay: speed 2.0 plays the recording twice as fast; manual_clock hands time to the caller (tests).
    speed: float = 1.0
    loop: bool = True
    manual_clock: bool = False
    accounts: tuple[AccountConfig, ...] = ()
    fund_test_account: bool = False
    # agent address -> master address, as if approveAgent had already been sent.
    agents: tuple[tuple[str, str], ...] = ()
    # Signature scheme: the python SDK signs with source "b" for every URL but mainnet's (reference §4.1),
    # so a local venue verifies as testnet unless told otherwise.
    is_mainnet: bool = False
    # WebSocket: the venue closes a connection that sent nothing for 60 s (reference §5.4).
    ws_idle_timeout_s: float = 60.0
    # [DOC-WS] says streaming userFills carry isSnapshot:false; a live probe [3P] says the key is absent.
    user_fills_stream_snapshot_key: bool = False
    # Rate limits (reference §6.6). None disables the IP limit (benchmarks).
    ip_weight_per_min: int | None = IP_WEIGHT_PER_MIN
    address_initial_buffer: int = 10_000
    # A GTC that partly fills on entry is believed to answer "resting" (reference §7.5, unverified).
    gtc_partial_fill_status: str = "resting"
    # Modify is cancel-replace; the two orderUpdates can arrive in either order (reference §3.4).
    modify_cancel_first: bool = True
    # Every live per-order and per-cancel error ends in " asset=N" ("Order was never placed, already canceled, or
    # filled. asset=4", "Post only order would have immediately matched, bbo was 64143@64144. asset=0"); the
    # documented strings have none.
    error_asset_suffix: bool = True
    # A modify whose new order is refused has cancelled the old one (the cancel half runs first; live answer
    # "Error placing new order during modify: <reason>").
    modify_refusal_cancels_old: bool = True
    # scheduleCancel (set or clear) is refused until the account has traded this much (live: "Cannot set scheduled
    # cancel time until enough volume traded. Required: $1000000. Traded: $12066.75."). Tests of the dead-man
    # switch set 0.
    schedule_cancel_min_volume_usd: Decimal = Decimal(1_000_000)
    # Funding (reference §6.5) is off unless an hourly rate is given.
    funding_rate_hourly: Decimal | None = None
    default_leverage: int = 20
    admin_endpoints: bool = True

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the local exchange binds to loopback only, got host={self.host!r}")
        if self.speed <= 0:
            raise ValueError(f"speed must be positive, got {self.speed}")
        if self.gtc_partial_fill_status not in ("resting", "filled"):
            raise ValueError("gtc_partial_fill_status must be 'resting' or 'filled'")
        if not self.data:
            raise ValueError("at least one market data recording is required")

    def all_accounts(self) -> tuple[AccountConfig, ...]:
        if not self.fund_test_account:
            return self.accounts
        return (*self.accounts, AccountConfig(test_account_address(), TEST_ACCOUNT_USDC))


def test_account_address() -> str:
    from eth_account import Account

    return Account.from_key(TEST_ACCOUNT_KEY).address.lower()


__all__ = [
    "AccountConfig",
    "LocalExchangeConfig",
    "TEST_ACCOUNT_KEY",
    "test_account_address",
    "DEFAULT_ARCHIVE",
    "DEFAULT_WS_RECORDING",
    "DEFAULT_META",
]
