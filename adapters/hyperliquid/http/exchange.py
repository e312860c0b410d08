"""``POST /exchange``: sign an L1 action with the account's (or agent's) key and post it.

Orders go over REST rather than WS ``post``. Both reach the same matching engine; REST keeps the order path
independent of the streaming socket, so a reconnect storm on the user stream never strands an in-flight order
(a WS post has no answer once its socket dies, and the venue gives no way to re-attach to it), and a lost
answer surfaces as a timeout on that one request. HTTP statuses carry the IP limit (429) directly, the local
exchange's action faults apply identically, and on a warm keep-alive connection the extra cost over a WS post
is the HTTP framing (``benchmarks/tick_to_wire.py`` measures the whole path).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec

from adapters.hyperliquid.actions import exchange_payload
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.http.client import HyperliquidHttpClient
from adapters.hyperliquid.http.error import HyperliquidHttpError
from adapters.hyperliquid.nonces import NonceManager
from adapters.hyperliquid.schemas.exchange import ExchangeResponse
from adapters.hyperliquid.weights import action_weight

_encode = msgspec.json.encode
_decode_response = msgspec.json.Decoder(ExchangeResponse).decode
# Actions that add exposure wait behind cancels, the dead-man switch and reads when the IP budget is tight.
_ADDS_EXPOSURE = frozenset({"order", "modify", "batchModify"})


class HyperliquidExchangeEndpoints:
    def __init__(self, client: HyperliquidHttpClient, signer: HyperliquidSigner, is_mainnet: bool) -> None:
        self._client = client
        self._signer = signer
        self._is_mainnet = is_mainnet
        self._nonces = NonceManager()

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def signed_body(self, action: dict[str, Any]) -> bytes:
        """The request body: the action, a fresh nonce and the signature over both."""
        nonce = self._nonces.next_nonce()
        signature = self._signer.sign_l1_action(action, nonce, is_mainnet=self._is_mainnet)
        return _encode(exchange_payload(action, nonce, signature))

    async def post(self, action: dict[str, Any], batch_length: int = 1) -> ExchangeResponse:
        """Sign when the request may go, and again for a 429 retry (refused at the door, so never executed): the
        venue refuses a nonce below its signer's 100 highest, so one issued before a wait in the weight queue or
        a 429 pause, while 100 later actions went ahead, would come back ``Invalid nonce``."""
        body = partial(self.signed_body, action)
        urgent = action["type"] not in _ADDS_EXPOSURE
        raw = await self._client.post("/exchange", body, action_weight(batch_length), idempotent=False, urgent=urgent)
        try:
            return _decode_response(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            # The venue answered, so the action was processed in some way we cannot read: treat it as unknown.
            raise HyperliquidHttpError(0, f"unreadable /exchange answer: {error}") from None
