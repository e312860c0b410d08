"""The dead-man switch (``scheduleCancel``) needs $1M of traded volume on the real venue, to set it and to clear
it: {"status":"err","response":"Cannot set scheduled cancel time until enough volume traded. Required: $1000000.
Traded: $12066.75."} (live capture). The local exchange used to accept it at zero volume, so the client's answer
to the refusal never ran: live, a small account refreshed (and was refused) every 20 s with a warning each time,
traded with no switch at all, and its shutdown said "the dead-man switch stays armed". Now the refusal is one
error, the refreshing stops, and the shutdown does not claim a switch that was never armed.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from adapters.hyperliquid import actions
from adapters.hyperliquid.local_exchange import AccountConfig
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_local_exchange_support import Rest
from tests.test_local_exchange_support import Trader
from tests.test_local_exchange_support import http  # noqa: F401  (fixture)
from tests.test_local_exchange_support import signer_for
from tests.test_local_exchange_support import venue_factory  # noqa: F401  (fixture)

VOLUME_REFUSAL = "Cannot set scheduled cancel time until enough volume traded. Required: $1000000. Traded: $"


async def test_schedule_cancel_is_refused_below_the_volume_gate_to_set_and_to_clear(venue_factory, http):
    small, large = signer_for("alice"), signer_for("bob")
    exchange = await venue_factory(
        accounts=(
            AccountConfig(small.address, Decimal(100_000), cum_vlm=Decimal("12066.75")),
            AccountConfig(large.address, Decimal(100_000), cum_vlm=Decimal(1_000_000)),
        )
    )
    rest = Rest(http, exchange.url)
    deadline_ms = exchange.clock.now_ms() + 60_000
    for deadline in (deadline_ms, None):
        refused = await Trader(rest, small).act(actions.schedule_cancel_action(deadline))
        assert refused == {"status": "err", "response": VOLUME_REFUSAL + "12066.75."}
        assert (await Trader(rest, large).act(actions.schedule_cancel_action(deadline)))["status"] == "ok"


async def test_a_refused_dead_man_switch_is_given_up_once_and_never_claimed_armed(exchange_factory, node_factory):
    live, _ = await manual_node(exchange_factory, node_factory, schedule_cancel_min_volume_usd=Decimal(1_000_000))
    client = live.exec_client
    await asyncio.sleep(1.0)  # the switch is asked for as the client connects, and refused
    received = record_actions(live)
    await live.stop()
    assert [a["type"] for a in received].count("scheduleCancel") == 0, "neither refreshed nor cleared at shutdown"
    assert client._dead_man_refused.startswith(VOLUME_REFUSAL) and not client._dead_man_armed
    assert "NO dead-man switch" in client._dead_man_fate()
    assert live.account.schedule_cancel_ms is None
