"""The one error type of the Hyperliquid HTTP layer."""

from __future__ import annotations


class HyperliquidHttpError(Exception):
    """A request that did not produce a usable answer.

    ``status`` is the HTTP status, or 0 when no answer arrived (timeout, connection reset): for an action that
    means the outcome is *unknown* and the caller must look the order up rather than assume it failed.
    ``message`` is the venue's text (or the transport's reason). Requests carry signatures, never keys, so
    nothing secret can end up in one of these.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message

    @property
    def outcome_unknown(self) -> bool:
        """True when the venue may have processed the request (no answer, or a server error)."""
        return self.status == 0 or self.status >= 500
