"""An actor's estimates reach the topic a subscriber's ``subscribe_data`` listens on.

Issue 13: the actors publish straight on the message bus, on a topic worked out once, instead of through
``Actor.publish_data`` (which works the topic out from the ``DataType`` at every message). The topic must stay the
one NautilusTrader's own topic cache gives both sides, the publisher's (``publish_data``: data type alone) and the
subscriber's (``subscribe_data``: data type and instrument), else the strategy and the actors that take an
estimate as input would hear nothing. Real data: the first 15 minutes of the archive hour (``batches``).
"""

from __future__ import annotations

import pytest
from nautilus_trader.common.data_topics import TopicCache

from mm_strategy import actors
from mm_strategy.messages import data_type
from tests.test_actor_publication import ACTORS
from tests.test_actor_publication import _run
from tests.test_actor_publication import batches  # noqa: F401  (fixture)


@pytest.mark.parametrize("name", ACTORS)
def test_every_estimate_lands_on_the_topic_publish_data_and_subscribe_data_use(name, batches) -> None:  # noqa: F811
    cls = getattr(actors, f"{name}Actor").message_cls
    iid = batches[0].instrument_id
    topics = TopicCache()
    subscribed = topics.get_custom_data_topic(data_type(cls, iid), iid)
    assert subscribed == topics.get_custom_data_topic(data_type(cls, iid))  # publish_data's
    half = len(batches) // 2
    published, actor = _run(name, batches[:half])  # ``published``: every message on ``data.*``, still listening
    heard: list = []
    actor.msgbus.subscribe(topic=subscribed, handler=heard.append)
    book, before = actor.cache.order_book(iid), len(published)
    for deltas in batches[half:]:
        actor.clock.set_time(deltas.ts_init)
        book.apply_deltas(deltas)
        actor.on_order_book_deltas(deltas)
    assert len(heard) == len(published) - before > 1
    assert heard == published[before:]
    assert all(type(message) is cls for message in heard)
