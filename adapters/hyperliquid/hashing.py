"""Keccak-256, the hash of every signed Hyperliquid action (action hash, EIP-712 struct and digest) and of every
derived cloid: three to four calls per signed action, on the quoting path.

eth-hash's automatic choice takes pycryptodome when it is installed (eth-account installs it), whose keccak costs
~8 µs a call through its ctypes layer; eth-hash's own pysha3 backend (``eth-hash[pysha3]``: safe-pysha3, a C
extension) costs ~1.4 µs. It is chosen here by name rather than through ``ETH_HASH_BACKEND``, which would depend on
the environment the node starts in. ``benchmarks/signing.py`` measures the signature against the floor.
"""

from __future__ import annotations

from eth_hash.backends.pysha3 import keccak256

keccak = keccak256
"""``keccak(data: bytes) -> bytes``: the 32-byte Keccak-256 digest (the pre-standard padding, not SHA3-256)."""
