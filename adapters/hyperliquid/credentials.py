"""Private keys: loading one from the environment or a file, and the only object that holds it.

The private key lives only inside :class:`HyperliquidSigner` as a coincurve key object; it is never formatted into
a repr, message or exception, and the signer refuses to be pickled or copied. It signs only the two structures of
``signing`` (a phantom agent, a user-signed action), never an arbitrary digest.

A key read from the environment is then removed from it (:func:`remove_from_environment`, which the live
clients' ``factories.load_signer`` calls): left there, every child process would inherit it and
``/proc/<pid>/environ`` would show it for the life of the process.
"""

from __future__ import annotations

import ctypes
import os
import stat
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

import coincurve

from adapters.hyperliquid.actions import is_hex
from adapters.hyperliquid.signing import SECP256K1_N
from adapters.hyperliquid.signing import action_hash
from adapters.hyperliquid.signing import address_of
from adapters.hyperliquid.signing import l1_signing_digest
from adapters.hyperliquid.signing import signature_to_venue
from adapters.hyperliquid.signing import user_signed_digest


class PrivateKeyError(ValueError):
    """A private key could not be loaded. The message names the source (variable or file), never the value."""



_CONSTRUCT = object()
# Permission bits of the group and of others: a key file with any of them set is refused.
_SHARED_MODE_BITS = 0o077


class HyperliquidSigner:
    """Holds one private key and signs with it; build it with :meth:`from_env`, :meth:`from_file` or
    :meth:`from_key`.

    The key is kept only as a coincurve key object. ``repr``/``str`` show the address, errors name the source
    and never the value, and pickling or copying is refused so the key cannot leak into a cache, a pickled
    config or a multiprocessing queue.
    """

    __slots__ = ("_key", "_address")

    def __init__(self, key: coincurve.PrivateKey, _token: object = None) -> None:
        if _token is not _CONSTRUCT:
            raise TypeError("build a HyperliquidSigner with from_env(), from_file() or from_key()")
        self._key = key
        self._address = address_of(key.public_key)

    @classmethod
    def from_env(cls, var: str = "HYPERLIQUID_PK") -> HyperliquidSigner:
        """Load ``0x`` + 64 hex (the ``0x`` is optional) from the environment variable ``var``. This only reads:
        a process that keeps the signer should then :func:`remove_from_environment` the variable."""
        if not os.environ.get(var, "").strip():
            raise PrivateKeyError(f"environment variable {var} is not set or empty; it must hold the private key")
        return cls._from_parsed(_parse_private_key(os.environ[var]), f"environment variable {var}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> HyperliquidSigner:
        """Load the key from a file holding only ``0x`` + 64 hex (surrounding whitespace allowed).

        A file that its group or others may read, write or execute (``mode & 0o077``) is refused before a byte
        is read, as ssh refuses such a private key: any other account on the host could already have taken the
        key, and a warning in a trading node's log is easily missed while the key stays exposed. The fix is one
        ``chmod 600``. The mode is taken from the opened file, so a swap of the path between check and read
        cannot slip past it."""
        source = f"private key file {os.fspath(path)}"
        try:
            with open(path, "rb") as file:
                mode = os.fstat(file.fileno()).st_mode
                if mode & _SHARED_MODE_BITS:
                    raise PrivateKeyError(
                        f"{source} is accessible to its group or others (mode {stat.S_IMODE(mode):04o}): it must be "
                        f"private to its owner, chmod 600 {os.fspath(path)}"
                    )
                key = _parse_private_key(file.read().decode("utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise PrivateKeyError(f"cannot read {source}: {reason}") from None
        return cls._from_parsed(key, source)

    @classmethod
    def from_key(cls, private_key: str) -> HyperliquidSigner:
        """From an explicit hex key: for tests and tooling; a live process should use env or file."""
        key = _parse_private_key(private_key)
        del private_key  # a traceback that captures locals must not find it in this frame
        return cls._from_parsed(key, "the given private key")

    @classmethod
    def _from_parsed(cls, key: coincurve.PrivateKey | None, source: str) -> HyperliquidSigner:
        if key is None:
            raise PrivateKeyError(f"{source} is not a valid secp256k1 private key (expected 0x + 64 hex chars)")
        return cls(key, _CONSTRUCT)

    @property
    def address(self) -> str:
        """Lowercase ``0x`` address of the key: the master account, or the agent (API wallet) address."""
        return self._address

    def sign_l1_action(
        self,
        action: Mapping[str, Any],
        nonce: int,
        vault_address: str | None = None,
        expires_after: int | None = None,
        is_mainnet: bool = True,
    ) -> dict[str, Any]:
        """Sign an L1 action; post the same action, nonce, vault and expiry (``exchange_payload``)."""
        return self.sign_phantom_agent(action_hash(action, nonce, vault_address, expires_after), is_mainnet)

    def sign_phantom_agent(self, connection_id: bytes, is_mainnet: bool) -> dict[str, Any]:
        """Sign ``Agent{source, connectionId}`` in the Exchange domain. Only this structure can be signed:
        the signer never signs an arbitrary digest, so it cannot be made to sign a chain transaction."""
        return self._sign_digest(l1_signing_digest(connection_id, is_mainnet))

    def sign_user_signed_action(
        self,
        action: Mapping[str, Any],
        primary_type: str,
        types: Iterable[Mapping[str, str]],
    ) -> dict[str, Any]:
        """Sign a user-signed action (see ``signing.USER_SIGNED_TYPES``). These must be signed by the account itself,
        not by an agent wallet."""
        return self._sign_digest(user_signed_digest(action, primary_type, types))

    def _sign_digest(self, digest: bytes) -> dict[str, Any]:
        # RFC 6979 nonce and low-s, as eth-account: signatures are bit-identical to the SDKs' vectors.
        return signature_to_venue(self._key.sign_recoverable(digest, hasher=None))

    def __repr__(self) -> str:
        return f"HyperliquidSigner(address={self._address})"

    def __reduce_ex__(self, protocol: object) -> Any:
        raise TypeError("HyperliquidSigner holds a private key and cannot be pickled or copied")


def remove_from_environment(var: str) -> None:
    """Take ``var`` out of the environment: out of ``os.environ`` (so no child process inherits it), and its
    value overwritten with NULs in the C environment block first. ``unsetenv`` alone only drops the pointer,
    and ``/proc/<pid>/environ`` reads the block the process started with, so the value would stay readable
    there. Python's own copy of the string is released, not wiped (Python cannot wipe a ``str``)."""
    _wipe_c_environment_value(os.fsencode(var) + b"=")
    os.environ.pop(var, None)


def _wipe_c_environment_value(prefix: bytes) -> None:
    try:
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(ctypes.CDLL(None), "environ")
    except (OSError, ValueError):
        return  # a C library without an ``environ`` symbol: removing the variable is all that can be done
    index = 0
    while (entry := environ[index]) is not None:
        text = ctypes.string_at(entry)
        if text.startswith(prefix):
            ctypes.memset(entry + len(prefix), 0, len(text) - len(prefix))
        index += 1


def _parse_private_key(text: str) -> coincurve.PrivateKey | None:
    """Parse ``0x`` + 64 hex, or return None. It never raises, so its frame (which holds the text) never ends
    up in a traceback; callers raise only once no frame of theirs holds the value either."""
    digits = text.strip()
    if digits[:2] in ("0x", "0X"):
        digits = digits[2:]
    if len(digits) != 64 or not is_hex(digits):
        return None
    secret = bytes.fromhex(digits)
    if not 0 < int.from_bytes(secret, "big") < SECP256K1_N:
        return None
    return coincurve.PrivateKey(secret)

