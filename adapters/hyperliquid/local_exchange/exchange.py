"""``POST /exchange`` (and WS ``post`` actions): authenticate, check nonce and budget, then act.

Order of checks, cheapest first: expiry and the nonce's time window (no signer needed), then signature → signer,
signer → account (itself or an approved agent's master), the signer's nonce set, the item cap (200 a signed action),
the account's address budget, then the action. Any failure before the action is a whole-request ``{"status":"err","response":…}``; per-order
problems come back in ``statuses``.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.hyperliquid.local_exchange import errors
from adapters.hyperliquid.local_exchange.engine import Venue
from adapters.hyperliquid.local_exchange.errors import ActionError
from adapters.hyperliquid.local_exchange.errors import BadRequest
from adapters.hyperliquid.local_exchange.nonces import NonceStore
from adapters.hyperliquid.local_exchange.ratelimit import charge_address
from adapters.hyperliquid.local_exchange.ratelimit import check_address_budget
from adapters.hyperliquid.local_exchange.schema import Envelope
from adapters.hyperliquid.local_exchange.schema import parse_envelope
from adapters.hyperliquid.local_exchange.state import Account
from adapters.hyperliquid.signing import USER_SIGNED_TYPES
from adapters.hyperliquid.signing import InvalidSignatureError
from adapters.hyperliquid.signing import recover_l1_signer
from adapters.hyperliquid.signing import recover_user_signed_signer
from adapters.hyperliquid.weights import MAX_ACTION_ITEMS

log = logging.getLogger(__name__)

def default() -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "default"}}


def err(text: str) -> dict[str, Any]:
    return {"status": "err", "response": text}


class ActionHandler:
    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.config = venue.config
        self.nonces = NonceStore()

    @staticmethod
    def parse(body: Any) -> Envelope:
        return parse_envelope(body)

    def execute(self, envelope: Envelope) -> dict[str, Any]:
        try:
            response = self._execute(envelope)
        except ActionError as error:
            log.info("exchange %s rejected: %s", envelope.action_type, error.text)
            response = err(error.text)
        self.venue.flush()
        return response

    def _execute(self, envelope: Envelope) -> dict[str, Any]:
        now_ms = self.venue.clock.now_ms()
        if envelope.expires_after is not None and envelope.expires_after < now_ms:
            raise ActionError(errors.ACTION_EXPIRED.format(expires_after=envelope.expires_after, now=now_ms))
        window_error = self.nonces.window_error(envelope.nonce, now_ms)
        if window_error is not None:  # cheap checks first: signature recovery is the costly step
            raise ActionError(window_error)
        signer = self._recover(envelope)
        if envelope.action_type == "approveAgent":
            account = self._master_account(signer)
        else:
            account = self._acting_account(signer, envelope.vault_address)
        nonce_error = self.nonces.check(signer, envelope.nonce, now_ms)
        if nonce_error is not None:
            raise ActionError(nonce_error)
        if envelope.batch_length > MAX_ACTION_ITEMS:
            raise ActionError(errors.OVER_WEIGHT_LIMIT.format(limit=MAX_ACTION_ITEMS))
        budget_error = check_address_budget(
            account, envelope.action_type, envelope.batch_length, self.config.address_initial_buffer, now_ms
        )
        if budget_error is not None:
            raise ActionError(budget_error)
        self.nonces.use(signer, envelope.nonce)
        charge_address(account, envelope.action_type, envelope.batch_length, self.config.address_initial_buffer, now_ms)
        return self._dispatch(account, envelope.action, now_ms)

    # ---------------------------------------------------------------------------------------- identity

    def _recover(self, envelope: Envelope) -> str:
        action = envelope.action
        try:
            if action["type"] in USER_SIGNED_TYPES:
                chain = "Mainnet" if self.config.is_mainnet else "Testnet"
                if action["hyperliquidChain"] != chain:
                    raise ActionError(errors.CHAIN_MISMATCH.format(chain=action["hyperliquidChain"]))
                primary_type, types = USER_SIGNED_TYPES[action["type"]]
                return recover_user_signed_signer(action, envelope.signature, primary_type, types)
            return recover_l1_signer(
                action,
                envelope.nonce,
                envelope.vault_address,
                envelope.expires_after,
                envelope.signature,
                self.config.is_mainnet,
            )
        except InvalidSignatureError as error:
            raise BadRequest(422, errors.DESERIALIZE.format(detail=f"signature: {error}")) from None

    def _master_account(self, signer: str) -> Account:
        account = self.venue.accounts.get(signer)
        if account is None:
            raise ActionError(errors.UNKNOWN_SIGNER.format(address=signer))
        return account

    def _acting_account(self, signer: str, vault_address: str | None) -> Account:
        master = signer if signer in self.venue.accounts else self.venue.agents.get(signer)
        if master is None:
            raise ActionError(errors.UNKNOWN_SIGNER.format(address=signer))
        if vault_address is not None:
            raise ActionError(errors.VAULT_NOT_REGISTERED.format(address=vault_address))
        account = self.venue.accounts[master]
        if account.usdc <= 0 and not any(p.szi for p in account.positions.values()):
            raise ActionError(errors.MUST_DEPOSIT.format(address=master))
        return account

    # ---------------------------------------------------------------------------------------- dispatch

    def _dispatch(self, account: Account, action: dict[str, Any], now_ms: int) -> dict[str, Any]:
        kind = action["type"]
        venue = self.venue
        if kind == "order":
            return self._orders(account, action, now_ms)
        if kind in ("cancel", "cancelByCloid"):
            pairs = [(c["a"], c["o"]) if kind == "cancel" else (c["asset"], c["cloid"]) for c in action["cancels"]]
            for asset, _ in pairs:
                venue.market_for_asset(asset)
            statuses = [venue.cancel(account, asset, target, now_ms) for asset, target in pairs]
            return _statuses("cancel", statuses)
        if kind == "modify":
            venue.market_for_asset(action["order"]["a"])
            status = venue.modify(account, action["oid"], action["order"], now_ms, venue.tx_hash())
            return err(status["error"]) if "error" in status else default()
        if kind == "batchModify":
            for modify in action["modifies"]:
                venue.market_for_asset(modify["order"]["a"])
            tx_hash = venue.tx_hash()
            statuses = [venue.modify(account, m["oid"], m["order"], now_ms, tx_hash) for m in action["modifies"]]
            return _statuses("order", statuses)
        if kind == "scheduleCancel":
            venue.schedule_cancel(account, action.get("time"), now_ms)
        elif kind == "updateLeverage":
            venue.update_leverage(account, action["asset"], action["isCross"], action["leverage"])
        elif kind == "approveAgent":
            venue.approve_agent(account.address, action["agentAddress"], action.get("agentName"))
        return default()

    def _orders(self, account: Account, action: dict[str, Any], now_ms: int) -> dict[str, Any]:
        """Pre-validation failures answer the whole batch with one error (reference §3.8.2)."""
        orders = action["orders"]
        if not orders:
            return _statuses("order", [{"error": errors.EMPTY_BATCH}])
        if action["grouping"] != "na":
            return _statuses("order", [{"error": errors.TRIGGER_UNSUPPORTED}])
        for wire in orders:
            self.venue.market_for_asset(wire["a"])
        tx_hash = self.venue.tx_hash()
        return _statuses("order", [self.venue.place(account, wire, now_ms, tx_hash) for wire in orders])


def _statuses(response_type: str, statuses: list[Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": response_type, "data": {"statuses": statuses}}}
