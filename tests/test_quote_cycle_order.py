"""The order in which a quote cycle sends its commands: live, it is latency (``benchmarks/tick_to_wire.py``)."""

from __future__ import annotations

from nautilus_trader.model.enums import OrderSide

from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config
from mm_strategy.strategy import GLFTMarketMaker
from run_backtest import REPO_ROOT


def test_a_cycle_builds_its_new_orders_before_it_sends_the_cancel(hl_btc_catalog, monkeypatch):
    """Live, a cancel waits in the execution engine's queue until the strategy's handler returns: every order the
    cycle built after sending it delayed the cancel (400-580 µs p50 in the loop trace). So within one cycle no order
    is built once the cancel is sent, and the order list follows the cancel at once."""
    calls: list[str] = []
    cycle, new_orders, cancel, submit = (
        GLFTMarketMaker._quote_cycle, GLFTMarketMaker._new_orders, GLFTMarketMaker._cancel, GLFTMarketMaker._submit
    )

    def record(name, method):
        def wrapped(self, *args, **kwargs):
            calls.append(name)
            return method(self, *args, **kwargs)

        return wrapped

    monkeypatch.setattr(GLFTMarketMaker, "_quote_cycle", record("cycle", cycle))
    monkeypatch.setattr(GLFTMarketMaker, "_new_orders", record("new", new_orders))
    monkeypatch.setattr(GLFTMarketMaker, "_cancel", record("cancel", cancel))
    monkeypatch.setattr(GLFTMarketMaker, "_submit", record("submit", submit))
    run_backtest(load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json"), hl_btc_catalog).node.dispose()

    cycles, current = [], None
    for name in calls:
        if name == "cycle":
            current = []
            cycles.append(current)
        elif current is not None:
            current.append(name)
    replacing = [c for c in cycles if "new" in c and "cancel" in c]
    assert len(replacing) > 100  # the capture's cycles that both replace and place orders
    for steps in cycles:
        if "cancel" in steps and "submit" in steps:
            at = steps.index("cancel")
            assert "new" not in steps[at:], steps
            assert steps[at + 1] == "submit", steps


def test_the_inventory_reducing_side_is_requoted_without_hysteresis(archive_catalog, monkeypatch):
    """Review: "deeper" is measured against the level's price, so when the skew pulls the reducing side in, its old
    order sits deeper than wanted and the looser deeper bound kept it (151 order-cycles on the BTC capture with
    trades, up to 1.17 bps deeper than the model asked). With inventory, that side's deeper bound is its inside
    bound. Run on the archive hour: with the priors of the truncated-likelihood fit the BTC capture's 7 fills only
    take the position long."""
    import mm_strategy.strategy as strategy_module

    seen: list[tuple[float, dict]] = []
    position = {"now": 0.0}
    cycle, diff = GLFTMarketMaker._quote_cycle, strategy_module.diff_quotes

    def recording_cycle(self, *args):
        position["now"] = float(self._net_position())
        return cycle(self, *args)

    def recording_diff(desired, resting, tolerances, *args):
        seen.append((position["now"], dict(tolerances)))
        return diff(desired, resting, tolerances, *args)

    monkeypatch.setattr(GLFTMarketMaker, "_quote_cycle", recording_cycle)
    monkeypatch.setattr(strategy_module, "diff_quotes", recording_diff)
    run_backtest(load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json"), archive_catalog).node.dispose()

    flat = [t for q, t in seen if q == 0]
    long = [t for q, t in seen if q > 0]
    short = [t for q, t in seen if q < 0]
    assert flat and long and short  # the capture's fills take the position both ways
    assert all(t[OrderSide.BUY].deeper_px > t[OrderSide.BUY].inside_px for t in flat)  # hysteresis when flat
    assert all(t[OrderSide.SELL].deeper_px == t[OrderSide.SELL].inside_px for t in long)  # long: asks reduce
    assert all(t[OrderSide.BUY].deeper_px > t[OrderSide.BUY].inside_px for t in long)
    assert all(t[OrderSide.BUY].deeper_px == t[OrderSide.BUY].inside_px for t in short)  # short: bids reduce
