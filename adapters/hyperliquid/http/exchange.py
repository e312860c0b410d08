"""``POST /exchange``: sign an L1 action with the account's (or agent's) key and send it.

With a :class:`~adapters.hyperliquid.websocket.post.WsActionPoster` attached (the execution client attaches its
user-stream socket's), an action goes as a WS ``post`` whenever one can go at once: the socket is up and the
venue's WS post limits leave room. Otherwise it goes by REST ``POST /exchange``, the path that needs no socket
and has its own IP weight budget. Both reach the same matching engine and end the same way for the caller: an
``ExchangeResponse``, or ``HyperliquidHttpError`` whose ``outcome_unknown`` says the venue may have acted (a
lost answer on either path; a post whose socket died in flight is one, since the venue gives no way to
re-attach to it). The post saves aiohttp's HTTP request handling on the order path (``benchmarks/tick_to_wire.py``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import msgspec

from adapters.hyperliquid.actions import exchange_payload
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.http.error import HyperliquidNotSentError
from adapters.hyperliquid.nonces import nonce_manager_for
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.websocket.post import WsActionPoster
from adapters.hyperliquid.weights import action_weight

_encode = msgspec.json.encode
_decode_response = msgspec.json.Decoder(ExchangeResponse).decode
# Actions that add exposure wait behind cancels, the dead-man switch and reads when the IP budget is tight.
_ADDS_EXPOSURE = frozenset({"order", "modify", "batchModify"})


class HyperliquidExchangeEndpoints:
    """Signs and sends actions for one signer. Its nonces come from the process-wide counter of the signer's
    address (``nonces.nonce_manager_for``), shared with every other client signing with the same key.

    ``nonce_state_dir``: save the signer's nonce under ``<nonce_state_dir>/<mainnet|testnet>/`` and lock the signer
    for this process, so a restart never signs below a nonce already used and a second process on the key fails
    at start (``NonceFileLockedError``, or ``NonceWindowError`` for a saved nonce the venue's window excludes);
    the network is part of the path because mainnet and testnet keep separate nonces. None: in memory only."""

    def __init__(
        self,
        client: HyperliquidHttpClient,
        signer: HyperliquidSigner,
        is_mainnet: bool,
        nonce_state_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._client = client
        self._signer = signer
        self._is_mainnet = is_mainnet
        network_dir = None
        if nonce_state_dir is not None:
            network_dir = Path(nonce_state_dir) / ("mainnet" if is_mainnet else "testnet")
        self._nonces = nonce_manager_for(signer.address, network_dir)
        self._poster: WsActionPoster | None = None
        self.posted_by_rest = 0

    def post_over(self, poster: WsActionPoster | None) -> None:
        """Send actions as WS posts through ``poster`` when it can take them (None: REST only)."""
        self._poster = poster

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def signed_body(self, action: dict[str, Any]) -> bytes:
        """The request body: the action, a fresh nonce and the signature over both. Raises
        ``HyperliquidNotSentError`` when signing or encoding fails, so the caller knows nothing went out."""
        try:
            nonce = self._nonces.next_nonce()
            signature = self._signer.sign_l1_action(action, nonce, is_mainnet=self._is_mainnet)
            return _encode(exchange_payload(action, nonce, signature))
        except Exception as error:  # noqa: BLE001  (whatever failed, no byte of this action was written)
            raise HyperliquidNotSentError(error) from error

    async def post(
        self, action: dict[str, Any], batch_length: int = 1, on_sent: Callable[[], None] | None = None
    ) -> ExchangeResponse:
        """Sign when the request may go, and again for a 429 retry (refused at the door, so never executed): the
        venue refuses a nonce below its signer's 100 highest, so one issued before a wait in the weight queue or
        a 429 pause, while 100 later actions went ahead, would come back ``Invalid nonce``.

        Over a WS post the body is signed and written within this call, before its first wait. ``on_sent`` runs
        once, before any answer can be handled: as soon as the post is written, or before a REST request (whose
        write happens deep in aiohttp, after waits), so the caller's bookkeeping stays off the post's path.
        A failure to sign raises ``HyperliquidNotSentError`` (outcome known: nothing went out), before ``on_sent``
        over a post and after it over REST."""
        poster = self._poster
        if poster is not None and poster.can_post():
            return await poster.post(self.signed_body(action), on_sent)
        self.posted_by_rest += 1
        if on_sent is not None:
            on_sent()
        body = partial(self.signed_body, action)
        urgent = action["type"] not in _ADDS_EXPOSURE
        raw = await self._client.post("/exchange", body, action_weight(batch_length), idempotent=False, urgent=urgent)
        try:
            return _decode_response(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            # The venue answered, so the action was processed in some way we cannot read: treat it as unknown.
            raise HyperliquidHttpError(0, f"unreadable /exchange answer: {error}") from None
