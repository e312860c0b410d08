"""Actions as WebSocket ``post`` requests: the poster alone (answers, errors, timeouts, a lost socket, malformed
answers, the venue's limits), then the execution client's order path over it against the local exchange, where
every outcome must reach the order-state machine exactly as over REST, and REST takes over when no post can go."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import OrderStatus

from adapters.hyperliquid.actions import cloid_from_client_order_id
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.websocket.post import WsActionPoster
from tests.test_adapter_execution import manual_node
from tests.test_adapter_execution import record_actions
from tests.test_adapter_execution import settled
from tests.test_adapter_execution import touch
from tests.test_live_support import exchange_factory  # noqa: F401  (fixture)
from tests.test_live_support import node_factory  # noqa: F401  (fixture)
from tests.test_live_support import wait_for

BODY = b'{"action":{"type":"cancel","cancels":[]},"nonce":1,"signature":{"r":"0x1","s":"0x2","v":27}}'
OK_ANSWER = {"type": "action", "payload": {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 7}}]}}}}


class FakeSocket:
    def __init__(self) -> None:
        self.connected = True
        self.sent: list[bytes] = []

    async def send(self, frame: bytes) -> None:
        self.sent.append(frame)

    def poster(self, timeout_secs: float = 5.0, **limits) -> WsActionPoster:
        return WsActionPoster(self.send, lambda: self.connected, timeout_secs, **limits)

    def last_id(self) -> int:
        return msgspec.json.decode(self.sent[-1])["id"]


def answer(post_id: int, response) -> bytes:
    return msgspec.json.encode({"id": post_id, "response": response})


async def started(poster: WsActionPoster) -> asyncio.Task:
    task = asyncio.ensure_future(poster.post(BODY))
    await asyncio.sleep(0)
    return task


async def test_the_frame_carries_the_signed_body_and_the_answer_is_the_exchange_response():
    socket = FakeSocket()
    poster = socket.poster()
    task = await started(poster)
    frame = msgspec.json.decode(socket.sent[0])
    assert frame["method"] == "post" and frame["request"] == {"type": "action", "payload": msgspec.json.decode(BODY)}
    assert poster.inflight == 1
    assert poster.on_answer(answer(socket.last_id(), OK_ANSWER)) is None
    response = await task
    assert response.error is None and response.statuses()[0].oid == 7
    assert poster.inflight == 0


async def test_on_sent_runs_once_the_frame_is_written_or_its_write_failed():
    socket = FakeSocket()
    poster = socket.poster()
    seen: list[int] = []
    task = asyncio.ensure_future(poster.post(BODY, on_sent=lambda: seen.append(len(socket.sent))))
    await asyncio.sleep(0)
    assert seen == [1], "after the write, while the answer is still awaited"
    poster.on_answer(answer(socket.last_id(), OK_ANSWER))
    await task
    assert seen == [1]

    async def broken(frame: bytes) -> None:
        raise ConnectionResetError("peer gone")

    failing = WsActionPoster(broken, lambda: True, 5.0)
    with pytest.raises(HyperliquidHttpError) as error:
        await failing.post(BODY, on_sent=lambda: seen.append(-1))
    assert error.value.outcome_unknown and seen == [1, -1], "the post may have gone out: the caller still records it"


async def test_an_error_answer_is_a_refusal_with_its_status_or_unknown_without_one():
    socket = FakeSocket()
    poster = socket.poster()
    refused = await started(poster)
    poster.on_answer(answer(socket.last_id(), {"type": "error", "payload": "400 Failed to deserialize the JSON body"}))
    with pytest.raises(HyperliquidHttpError) as error:
        await refused
    assert error.value.status == 400 and not error.value.outcome_unknown
    unclear = await started(poster)
    poster.on_answer(answer(socket.last_id(), {"type": "error", "payload": "something went wrong"}))
    with pytest.raises(HyperliquidHttpError) as error:
        await unclear
    assert error.value.outcome_unknown, "a status it does not name: the venue may have acted"


async def test_no_answer_in_time_is_an_unknown_outcome_and_a_late_answer_is_ignored():
    socket = FakeSocket()
    poster = socket.poster(timeout_secs=0.05)
    with pytest.raises(HyperliquidHttpError) as error:
        await poster.post(BODY)
    assert error.value.outcome_unknown and poster.inflight == 0
    assert poster.on_answer(answer(socket.last_id(), OK_ANSWER)) is None, "late, not malformed"


async def test_a_lost_socket_ends_every_post_in_flight_as_unknown():
    socket = FakeSocket()
    poster = socket.poster()
    tasks = [await started(poster) for _ in range(2)]
    poster.on_disconnected()
    for task in tasks:
        with pytest.raises(HyperliquidHttpError) as error:
            await task
        assert error.value.outcome_unknown


async def test_malformed_answers_are_reported_and_never_settle_a_post_as_success():
    socket = FakeSocket()
    poster = socket.poster(timeout_secs=0.2)
    task = await started(poster)
    post_id = socket.last_id()
    assert poster.on_answer(b'{"nope":') is not None, "unreadable: reported, skipped"
    assert poster.on_answer(answer(post_id + 99, {"type": "surprise", "payload": 1})) is not None
    assert not task.done(), "neither names this post"
    assert poster.on_answer(answer(post_id, {"type": "action", "payload": {"status": 3}})) is not None
    with pytest.raises(HyperliquidHttpError) as error:
        await task
    assert error.value.outcome_unknown, "names the post but cannot be read: looked up, never resent"
    unnamed = await started(poster)
    assert poster.on_answer(b'{"id":"x","response":{}}') is not None
    with pytest.raises(HyperliquidHttpError) as error:
        await unnamed
    assert error.value.outcome_unknown and "no answer" in error.value.message, "ends on its timeout"


async def test_no_post_without_the_socket_or_beyond_the_venue_limits():
    socket = FakeSocket()
    socket.connected = False
    assert not socket.poster().can_post()
    socket.connected = True
    capped = socket.poster(max_inflight=1)
    assert capped.can_post()
    task = await started(capped)
    assert not capped.can_post(), "in-flight cap"
    capped.on_disconnected()
    with pytest.raises(HyperliquidHttpError):
        await task
    now = [0.0]
    budget = WsActionPoster(socket.send, lambda: True, 5.0, per_minute=2, clock=lambda: now[0])
    for _ in range(2):
        assert budget.can_post()
        budget._level -= 1.0  # what post() spends
    assert not budget.can_post(), "messages per minute"
    now[0] = 30.0
    assert budget.can_post(), "refilled at the per-minute rate"


# -- the execution client over it, against the local exchange ---------------------------------------------------


def transports(live) -> tuple[int, int]:
    """(actions posted over the socket, actions sent by REST) so far."""
    client = live.exec_client
    return client._poster.posted, client._exchange.posted_by_rest


async def test_orders_and_cancels_go_as_posts_and_settle_as_over_rest(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    actions = record_actions(live)
    bid, ask = touch(live)
    posted, by_rest = transports(live)
    order_list = strategy.order_factory.create_list([strategy.limit(OrderSide.BUY, bid - 30 - i) for i in range(2)])
    strategy.submit_order_list(order_list)
    for order in order_list.orders:
        await settled(live, order, OrderStatus.ACCEPTED)
    strategy.cancel_orders(list(order_list.orders))
    for order in order_list.orders:
        await settled(live, order, OrderStatus.CANCELED)
    crossing = strategy.limit(OrderSide.BUY, ask + 5)
    strategy.submit_order(crossing)
    crossing = await settled(live, crossing, OrderStatus.REJECTED)
    assert "Post only order would have immediately matched" in crossing.events[-1].reason
    assert [a["type"] for a in actions] == ["order", "cancelByCloid", "order"]
    now_posted, now_by_rest = transports(live)
    assert now_posted - posted >= 3, "every action of the test went as a post"
    assert now_by_rest - by_rest <= now_posted - posted - 3, "none of them by REST (only the dead-man switch may)"


async def test_order_submitted_is_emitted_after_the_post_is_written(exchange_factory, node_factory):
    """The orders' bookkeeping and ``OrderSubmitted`` events are off the post's path: they follow its write, and
    still come before the venue's answer is handled."""
    live, strategy = await manual_node(exchange_factory, node_factory)
    client, poster = live.exec_client, live.exec_client._poster
    calls: list[str] = []
    send, submitted = poster._send, client.generate_order_submitted

    async def send_probe(frame: bytes) -> None:
        calls.append("order written" if b'"type":"order"' in frame else "other written")
        await send(frame)

    def submitted_probe(*args) -> None:
        calls.append("submitted")
        submitted(*args)

    poster._send, client.generate_order_submitted = send_probe, submitted_probe
    bid, _ = touch(live)
    order_list = strategy.order_factory.create_list([strategy.limit(OrderSide.BUY, bid - 40 - i) for i in range(2)])
    strategy.submit_order_list(order_list)
    orders = [await settled(live, order, OrderStatus.ACCEPTED) for order in order_list.orders]
    first = calls.index("order written")
    assert calls[first : first + 3] == ["order written", "submitted", "submitted"]
    for order in orders:
        assert [type(event).__name__ for event in order.events] == ["OrderInitialized", "OrderSubmitted", "OrderAccepted"]


async def test_a_lost_post_answer_is_looked_up_by_cloid_never_resent(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    live.exec_client._poster._timeout_s = 0.5
    bid, _ = touch(live)
    live.exchange.faults.drop(action="order", phase="response", count=1)
    order = strategy.limit(OrderSide.BUY, bid - 21)
    strategy.submit_order(order)
    order = await settled(live, order, OrderStatus.ACCEPTED)
    venue_cloids = [o.cloid for o in live.venue_open_orders()]
    assert venue_cloids == [cloid_from_client_order_id(order.client_order_id.value)], "placed once, found by cloid"


async def test_a_post_in_flight_when_the_socket_dies_is_looked_up_at_once(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, _ = touch(live)
    live.exchange.faults.drop(action="order", phase="response", count=1)
    order = strategy.limit(OrderSide.BUY, bid - 22)
    strategy.submit_order(order)
    poster = live.exec_client._poster
    await wait_for(lambda: poster.inflight == 1, 2, "the post in flight")
    await live.exchange.drop_ws_connections()
    await wait_for(lambda: poster.inflight == 0, 2, "the post ended with its socket")  # its own timeout is 10 s
    order = await settled(live, order, OrderStatus.ACCEPTED)
    assert [o.cloid for o in live.venue_open_orders()] == [cloid_from_client_order_id(order.client_order_id.value)]


async def test_without_the_socket_actions_go_by_rest(exchange_factory, node_factory):
    live, strategy = await manual_node(exchange_factory, node_factory)
    bid, _ = touch(live)
    poster = live.exec_client._poster
    poster._is_connected = lambda: False
    posted, by_rest = transports(live)
    order = strategy.limit(OrderSide.BUY, bid - 23)
    strategy.submit_order(order)
    await settled(live, order, OrderStatus.ACCEPTED)
    strategy.cancel_order(order)
    await settled(live, order, OrderStatus.CANCELED)
    now_posted, now_by_rest = transports(live)
    assert now_posted == posted and now_by_rest - by_rest >= 2
