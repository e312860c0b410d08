"""The WebSocket envelope: every server frame is ``{"channel": ..., "data": ...}`` (``pong`` has no data).

``data`` is kept raw and decoded by the channel's own schema, so an unknown or malformed channel costs one
decode of the envelope and nothing else.
"""

from __future__ import annotations

import msgspec


class WsMessage(msgspec.Struct, frozen=True):
    channel: str
    data: msgspec.Raw = msgspec.Raw(b"null")


class SubscriptionAck(msgspec.Struct, frozen=True):
    method: str
    subscription: dict
