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


class HyperliquidNotSentError(HyperliquidHttpError):
    """An action that failed before any of it was written (its signing or encoding raised): the venue never saw
    it, so unlike a lost answer its outcome is known. The caller rejects the orders (or the cancel, the modify)
    with this message, ``not sent: <cause>``, and looks nothing up."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(0, f"not sent: {type(cause).__name__}: {cause}")

    @property
    def outcome_unknown(self) -> bool:
        return False
