"""What one engine step tells the outside world, collected and then delivered in one go.

The venue groups a block's updates per user: a batch of ten orders produces one ``orderUpdates`` message with
ten entries, not ten messages. The outbox merges consecutive updates of one kind for one user the same way;
``seal`` forces the next update into a new message, which is how modify's cancel and open become the two
separate messages that can arrive in either order (reference §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Message kinds. Market: l2Book (payload BookSnapshot), bbo, trades, allMids, activeAssetCtx (payload = wire
# data). User: orderUpdates (list of updates), fills (list of fills, fanned out to userFills and userEvents),
# userEvent (one userEvents payload such as {"nonUserCancel": [...]}).


@dataclass(slots=True)
class Message:
    kind: str
    key: str | None
    payload: Any
    sealed: bool = False


class Outbox:
    def __init__(self) -> None:
        self._messages: list[Message] = []

    def market(self, kind: str, coin: str | None, payload: Any) -> None:
        self._messages.append(Message(kind, coin, payload, sealed=True))

    def order_update(self, user: str, update: dict[str, Any]) -> None:
        self._merge("orderUpdates", user, update)

    def fill(self, user: str, fill: dict[str, Any]) -> None:
        self._merge("fills", user, fill)

    def user_event(self, user: str, event: dict[str, Any]) -> None:
        self._messages.append(Message("userEvent", user, event, sealed=True))

    def seal(self) -> None:
        if self._messages:
            self._messages[-1].sealed = True

    def drain(self) -> list[Message]:
        messages, self._messages = self._messages, []
        return messages

    def _merge(self, kind: str, user: str, item: dict[str, Any]) -> None:
        for message in reversed(self._messages):
            if message.kind == kind and message.key == user:
                if not message.sealed:
                    message.payload.append(item)
                    return
                break
        self._messages.append(Message(kind, user, [item]))
