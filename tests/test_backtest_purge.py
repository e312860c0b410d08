"""A long run's memory: closed orders, their order lists and old account states leave the engine's cache."""

from __future__ import annotations

from nautilus_trader.model.events import OrderPendingCancel
from nautilus_trader.model.events import OrderPendingUpdate

import mm_strategy.backtest as backtest
from mm_strategy.backtest import run_backtest
from mm_strategy.node_config import load_venue_config
from run_backtest import REPO_ROOT


def _run(catalog, purge: bool):
    outcome = run_backtest(load_venue_config(REPO_ROOT / "configs" / "hyperliquid_btc.json"), catalog, purge_closed_orders=purge)
    engine = outcome.engine
    strategy = engine.trader.strategies()[0]
    fills = [(f.ts_ns, f.side, f.price, f.qty) for f in strategy.recorder.fills]  # the strategy's own record
    account = engine.cache.accounts()[0]
    return outcome, engine, strategy, fills, account


def test_closed_orders_their_lists_and_old_account_states_are_purged(hl_btc_catalog, monkeypatch):
    """NautilusTrader's ``OrderFactory.create_list`` leaves its orders' ``order_list_id`` unset and its cache purges a
    list only through its orders' ids, so every order list, and the orders it holds, stayed for the whole run (a day
    of the archive: 45k orders in 15k lists, plus 110k account states, one per order event). With the purge every
    minute on these 9 minutes the cache keeps under half (lists 7 of 15, orders 15 of 53, account states 163 of 546:
    the last minutes' and the open ones), and what the run did is unchanged."""
    kept_outcome, kept_engine, kept_strategy, kept_fills, kept_account = _run(hl_btc_catalog, purge=False)
    kept_orders, kept_lists = len(kept_engine.cache.orders()), len(kept_engine.cache.order_lists())
    kept_states = kept_account.event_count
    kept_requests = (kept_strategy.orders_sent, kept_strategy.cancels_sent, kept_strategy.modifies_sent)
    # the counters count what the cache holds when nothing is purged: every submit, cancel and modify request
    cached_cancels = sum(1 for o in kept_engine.cache.orders() for e in o.events if type(e) is OrderPendingCancel)
    cached_modifies = sum(1 for o in kept_engine.cache.orders() for e in o.events if type(e) is OrderPendingUpdate)
    assert kept_requests == (kept_orders, cached_cancels, cached_modifies)
    kept_outcome.node.dispose()

    monkeypatch.setattr(backtest, "PURGE_AFTER_MINS", 1)
    outcome, engine, strategy, fills, account = _run(hl_btc_catalog, purge=True)
    # without the purge everything stays: 15 lists, 53 orders, 546 account states since the strategy amends its orders
    # (113, 499 and 992 before: each requote was a new order)
    assert kept_lists > 10 and kept_orders > 40
    assert len(engine.cache.order_lists()) < kept_lists / 2
    assert len(engine.cache.orders()) < kept_orders / 2
    assert account.event_count < kept_states / 2
    # the orders were still sent and the fills are the same: only the cache's memory of closed orders went
    assert (strategy.orders_sent, strategy.cancels_sent, strategy.modifies_sent) == kept_requests
    assert fills == kept_fills and len(fills) >= 5
    outcome.node.dispose()
