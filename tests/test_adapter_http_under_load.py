"""The REST path when the IP budget is tight (found by ``benchmarks/fault_suite.py``): at 20x replay the node sends
more weight than the venue's 1200 a minute, so every request waits its turn.

- A heavy request (a resync's ``userFillsByTime``, weight 20) must not starve behind a stream of 1-weight actions:
  the reconnect resync hung for the rest of the run, and the engine's in-flight checks timed out.
- An action must be signed when it is sent, not when it was queued: the venue refuses a nonce below the signer's
  100 highest, so an action that waited (a 429 pause, then the back of the queue) while 100 later ones went
  ahead came back ``Invalid nonce`` — a cancel refused for no reason.
"""

from __future__ import annotations

import asyncio

from adapters.hyperliquid import actions
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.http.ratelimit import WeightLimiter
from adapters.hyperliquid.local_exchange import TEST_ACCOUNT_KEY
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)

LATER_ACTIONS = 120  # more than the 100 highest nonces the venue keeps per signer


async def test_a_heavy_request_is_served_in_its_turn_not_starved_by_light_ones():
    limiter = WeightLimiter(per_minute=6000)  # 100 weight per second
    limiter.charge(6000)  # the budget is spent
    served: list[str] = []

    async def take(name: str, weight: int) -> None:
        await limiter.acquire(weight)
        served.append(name)

    heavy = asyncio.create_task(take("resync read", 20))
    await asyncio.sleep(0)
    light = [asyncio.create_task(take(f"action {i}", 1)) for i in range(30)]
    await asyncio.gather(heavy, *light)
    assert served[0] == "resync read", "first come, first served"
    assert served[1:] == [f"action {i}" for i in range(30)]


async def test_an_action_that_waited_behind_later_ones_is_signed_when_it_goes(exchange_factory):
    # scheduleCancel needs $1M traded live
    exchange = await exchange_factory(manual_clock=True, ip_weight_per_min=None, schedule_cancel_min_volume_usd=0)
    client = HyperliquidHttpClient(exchange.url, WeightLimiter(per_minute=10**9), timeout_secs=5, max_retries=3)
    endpoints = HyperliquidExchangeEndpoints(client, HyperliquidSigner.from_key(TEST_ACCOUNT_KEY), is_mainnet=False)
    exchange.faults.http_429(count=1)  # the first request is refused at the door and goes to the back
    first = asyncio.create_task(endpoints.post(actions.schedule_cancel_action(None)))
    await asyncio.sleep(0)
    later = [asyncio.create_task(endpoints.post(actions.noop_action())) for _ in range(LATER_ACTIONS)]
    answers = await asyncio.gather(first, *later)
    assert [a.error for a in answers if a.error is not None] == [], "no action refused for a stale nonce"
    assert answers[0].status == "ok"
    await client.close()


async def test_cancels_and_reads_go_before_new_orders_when_the_budget_is_spent():
    limiter = WeightLimiter(per_minute=6000)
    limiter.charge(6000)
    served: list[str] = []

    async def take(name: str, weight: int, urgent: bool) -> None:
        await limiter.acquire(weight, urgent)
        served.append(name)

    orders = [asyncio.create_task(take(f"order {i}", 1, urgent=False)) for i in range(10)]
    await asyncio.sleep(0)
    urgent = [asyncio.create_task(take("cancel", 1, True)), asyncio.create_task(take("resync read", 20, True))]
    await asyncio.gather(*orders, *urgent)
    assert served[:2] == ["cancel", "resync read"], "what reduces or repairs exposure goes first"
    assert served[2:] == [f"order {i}" for i in range(10)]
