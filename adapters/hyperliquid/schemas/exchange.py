"""``POST /exchange`` answers (protocol §3.2–§3.8).

A whole-request failure is ``{"status": "err", "response": "<text>"}`` (HTTP 200); success carries one status per
item, in request order: ``{"resting": {oid}}``, ``{"filled": {totalSz, avgPx, oid}}``, ``{"error": "<text>"}``,
``"success"`` (cancels) or a bare string such as ``"waitingForFill"``. Pre-validation can answer a batch of n
with a single error, so callers must cope with fewer statuses than items.
"""

from __future__ import annotations

import msgspec


class Resting(msgspec.Struct, frozen=True):
    oid: int
    cloid: str | None = None


class Filled(msgspec.Struct, frozen=True):
    totalSz: str
    avgPx: str
    oid: int
    cloid: str | None = None


class ItemStatus(msgspec.Struct, frozen=True):
    """One item's outcome; exactly one field is set."""

    resting: Resting | None = None
    filled: Filled | None = None
    error: str | None = None

    @property
    def oid(self) -> int | None:
        placed = self.resting or self.filled
        return placed.oid if placed is not None else None


class StatusesData(msgspec.Struct, frozen=True):
    statuses: list[ItemStatus | str]


class ResponseBody(msgspec.Struct, frozen=True):
    type: str
    data: StatusesData | None = None


class ExchangeResponse(msgspec.Struct, frozen=True):
    status: str
    response: ResponseBody | str

    @property
    def error(self) -> str | None:
        """The whole-request error text, or None when the request was processed."""
        if self.status == "ok" and isinstance(self.response, ResponseBody):
            return None
        return self.response if isinstance(self.response, str) else f"unexpected response status {self.status!r}"

    def statuses(self) -> list[ItemStatus | str]:
        if isinstance(self.response, ResponseBody) and self.response.data is not None:
            return self.response.data.statuses
        return []
