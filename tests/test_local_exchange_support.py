"""A minimal Hyperliquid client written from the protocol reference alone, and the fixtures of the
local-exchange tests.

The client knows only what `shared/reference/hyperliquid_protocol.md` says: POST JSON to ``/info`` and
``/exchange`` (§1–§3), sign L1 actions with the phantom agent and user-signed actions with EIP-712 (§4, via
the signing module), speak ``subscribe``/``post``/``ping`` on ``/ws`` (§5). That every test passes with it
is the evidence that a client built from the reference works against the local exchange unchanged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from eth_utils import keccak

from adapters.hyperliquid import actions
from adapters.hyperliquid import credentials
from adapters.hyperliquid import nonces
from adapters.hyperliquid import signing
from adapters.hyperliquid.cassettes import cassette_response_bodies
from adapters.hyperliquid.local_exchange import AccountConfig
from adapters.hyperliquid.local_exchange import LocalExchange
from adapters.hyperliquid.local_exchange import LocalExchangeConfig

BTC = 0  # asset id = index in meta.universe (§6.1); BTC is first in the captured universe
START_USDC = Decimal(100_000)
OK_DEFAULT = {"status": "ok", "response": {"type": "default"}}
MISSING_ORDER = "Order was never placed, already canceled, or filled. asset=0"  # BTC's cancel error, as live


def btc_error(text: str) -> str:
    """A per-order error for BTC (asset 0) as the venue answers it live: with its `` asset=N`` suffix."""
    return f"{text} asset=0"


def wire(is_buy: bool, px: Decimal | str, sz: Decimal | str = "0.01", tif: str = "Alo", **kw: Any) -> dict:
    """A BTC limit order wire (§3.2)."""
    return actions.limit_order_wire(BTC, is_buy, px, sz, kw.pop("reduce_only", False), tif, **kw)


def key_for(name: str) -> str:
    """A deterministic throwaway key per test role."""
    return "0x" + keccak(f"local-exchange-test {name}".encode()).hex()


def signer_for(name: str) -> credentials.HyperliquidSigner:
    return credentials.HyperliquidSigner.from_key(key_for(name))


def capture(cassette_dir, name: str, index: int = -1) -> Any:
    """A real /info response body from the python-SDK VCR cassettes."""
    return json.loads(cassette_response_bodies(cassette_dir / name)[index])


class Rest:
    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    async def post(self, path: str, body: Any, raw: bool = False) -> tuple[int, Any]:
        data = body if raw else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        async with self.session.post(self.base_url + path, data=data, headers=headers) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text)
            except json.JSONDecodeError:
                return r.status, text

    async def info(self, info_type: str, **fields: Any) -> Any:
        status, body = await self.post("/info", {"type": info_type, **fields})
        assert status == 200, (status, body)
        return body


class Trader:
    """Signs and posts actions for one signer (the account itself or its agent), reference §3–§4."""

    def __init__(self, rest: Rest, signer: credentials.HyperliquidSigner, is_mainnet: bool = False) -> None:
        self.rest = rest
        self.signer = signer
        self.is_mainnet = is_mainnet
        self.nonces = nonces.NonceManager()

    @property
    def address(self) -> str:
        return self.signer.address

    def payload(self, action: dict, nonce: int | None = None, **extra: Any) -> dict:
        nonce = self.nonces.next_nonce() if nonce is None else nonce
        vault, expires_after = extra.get("vault_address"), extra.get("expires_after")
        signature = self.signer.sign_l1_action(action, nonce, vault, expires_after, is_mainnet=self.is_mainnet)
        return actions.exchange_payload(action, nonce, signature, vault, expires_after)

    async def act(self, action: dict, nonce: int | None = None, **extra: Any) -> dict:
        status, body = await self.rest.post("/exchange", self.payload(action, nonce, **extra))
        assert status == 200, (status, body)
        return body

    async def orders(self, *wires: dict) -> list:
        body = await self.act(actions.order_action(wires))
        assert body["status"] == "ok", body
        return body["response"]["data"]["statuses"]

    async def order(self, is_buy: bool, px: Decimal | str, sz: Decimal | str, tif: str = "Alo", **kw: Any) -> Any:
        return (await self.orders(wire(is_buy, px, sz, tif, **kw)))[0]

    async def approve_agent(self, agent: str, name: str | None = None) -> dict:
        nonce = self.nonces.next_nonce()
        action = actions.approve_agent_action(agent, name, nonce, self.is_mainnet)
        primary, types = signing.USER_SIGNED_TYPES["approveAgent"]
        signature = self.signer.sign_user_signed_action(action, primary, types)
        status, body = await self.rest.post("/exchange", actions.exchange_payload(action, nonce, signature))
        assert status == 200, body
        return body


class Ws:
    """One /ws connection; frames of channels nobody asked for yet are kept in order for later reads."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: list[dict] = []

    async def send(self, message: Any) -> None:
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def next(self, channel: str, timeout: float = 3.0) -> Any:
        for index, frame in enumerate(self.pending):
            if frame["channel"] == channel:
                return self.pending.pop(index).get("data")
        async with asyncio.timeout(timeout):
            while True:
                message = await self.ws.receive()
                assert message.type == aiohttp.WSMsgType.TEXT, (message.type, message.data)
                frame = json.loads(message.data)
                if frame["channel"] == channel:
                    return frame.get("data")
                self.pending.append(frame)

    async def nothing_on(self, channel: str, wait_s: float = 0.3) -> bool:
        try:
            await self.next(channel, wait_s)
        except TimeoutError:
            return True
        return False

    async def subscribe(self, subscription: dict) -> Any:
        await self.send({"method": "subscribe", "subscription": subscription})
        return await self.next("subscriptionResponse")

    async def post(self, post_id: int, request_type: str, payload: dict) -> Any:
        await self.send({"method": "post", "id": post_id, "request": {"type": request_type, "payload": payload}})
        data = await self.next("post")
        assert data["id"] == post_id
        return data["response"]


# ---------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def venue_factory(archive_btc_hour):
    """Start local exchanges (manual clock, funded accounts 'alice' and 'bob' unless overridden)."""
    started: list[LocalExchange] = []

    async def make(**overrides: Any) -> LocalExchange:
        config = LocalExchangeConfig(
            data=(archive_btc_hour,),
            manual_clock=True,
            accounts=(
                AccountConfig(signer_for("alice").address, START_USDC),
                AccountConfig(signer_for("bob").address, START_USDC),
            ),
        )
        exchange = LocalExchange(replace(config, **overrides))
        await exchange.start()
        started.append(exchange)
        return exchange

    yield make
    for exchange in started:
        await exchange.stop()


@pytest.fixture
async def exchange(venue_factory) -> LocalExchange:
    return await venue_factory()


@pytest.fixture
def rest(exchange: LocalExchange, http: aiohttp.ClientSession) -> Rest:
    return Rest(http, exchange.url)


@pytest.fixture
def alice(rest: Rest) -> Trader:
    return Trader(rest, signer_for("alice"))


async def open_ws(http: aiohttp.ClientSession, exchange: LocalExchange) -> Ws:
    return Ws(await http.ws_connect(exchange.ws_url))


async def touch(rest: Rest) -> tuple[Decimal, Decimal]:
    """Best bid and ask from the public l2Book (§2.4), as a client sees them."""
    book = await rest.info("l2Book", coin="BTC")
    return Decimal(book["levels"][0][0]["px"]), Decimal(book["levels"][1][0]["px"])
