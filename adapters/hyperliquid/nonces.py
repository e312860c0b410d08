"""Request nonces: strictly increasing milliseconds for one signer, one counter per signer in a process.

The venue tracks nonces per signing address (the account, or the agent wallet when one signs), not per
connection or client. Every client of this process that signs with one address therefore takes its nonces
from the same :class:`NonceManager` (:func:`nonce_manager_for`): two execution clients with their own counters
on one key would both hand out ``now_ms`` within one millisecond and the venue would refuse the second as
``Invalid nonce: duplicate``.

Across restarts and processes the counter needs a state directory (``nonce_file``): the highest nonce that may
have been signed is saved there, so a restarted node starts above it even when its clock was ahead before or has
stepped back since (without it, every action, cancels included, is refused until the clock catches up); and the
signer is locked there, so a second process on the same key fails at start instead of racing this one. Without a
directory the counter lives in memory only and nothing stops two processes on one key (each needs its own agent
wallet, protocol §4.4).
"""

from __future__ import annotations

import atexit
import os
import time
from collections.abc import Callable
from pathlib import Path

from nautilus_trader.common.component import Logger

from adapters.hyperliquid.nonce_file import NonceFile
from adapters.hyperliquid.nonce_file import NonceFileError

# The venue accepts a nonce only below its block time + 1 day (protocol §4.4).
VENUE_AHEAD_LIMIT_MS = 86_400_000
# Refuse to start this far inside that limit: the venue's block time and this host's clock differ by the clock
# error and the request's flight, seconds at worst; a minute leaves room without refusing a usable nonce.
START_REFUSAL_MARGIN_MS = 60_000
# How far ahead of the nonce being signed the saved value is pushed: one file write per this much clock time
# while signing, and a crashed node's successor starts at most this far ahead of the last nonce it signed. The write
# is on the order path (median 1.3 ms, up to 13 ms on a busy disk): at a live node's ~4 actions/s, a minute puts it on
# 1 action in 240, outside the tick-to-wire p99, where 5 s put it on 1 in 20; a minute ahead is far inside the venue's
# one-day window.
DEFAULT_RESERVE_MS = 60_000
# A saved nonce this far ahead of the clock at start means the clock was ahead before or stepped back (a crashed
# node's successor alone starts up to DEFAULT_RESERVE_MS ahead): warn.
WARN_AHEAD_MS = 2 * DEFAULT_RESERVE_MS

_log = Logger("HyperliquidNonces")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class NonceWindowError(NonceFileError):
    """The saved nonce is so far ahead of the clock that the venue would refuse every nonce above it."""


class NonceManager:
    """Millisecond nonces for one signer, strictly increasing: ``max(now_ms, last + 1)``.

    The venue keeps a signer's 100 highest nonces, rejects duplicates and anything not above the smallest
    kept, and requires the nonce within (now - 2 days, now + 1 day) (protocol §4.4). Several actions in the
    same millisecond therefore take consecutive values; a clock that steps back never produces a repeat. One
    instance per signing address (an agent wallet signing for several accounts shares one): take it from
    :func:`nonce_manager_for`. Single asyncio loop: no locking.

    With a ``saved`` file the counter starts above the saved value, and before a nonce passes the saved value the
    file is pushed ``reserve_ms`` beyond it (write-ahead): whatever way the process ends, the file is at least
    every nonce it signed. :meth:`close` saves the exact last nonce and releases the signer.
    """

    __slots__ = ("_clock_ms", "_last", "_saved", "_reserved", "_reserve_ms")

    def __init__(
        self,
        clock_ms: Callable[[], int] = wall_clock_ms,
        saved: NonceFile | None = None,
        reserve_ms: int = DEFAULT_RESERVE_MS,
    ) -> None:
        self._clock_ms = clock_ms
        self._saved = saved
        self._reserve_ms = reserve_ms
        self._last = 0 if saved is None else _start_above(saved, clock_ms())
        self._reserved = self._last

    def next_nonce(self) -> int:
        nonce = max(self._clock_ms(), self._last + 1)
        if nonce > self._reserved and self._saved is not None:
            self._reserve(self._saved, nonce + self._reserve_ms)
        self._last = nonce
        return nonce

    def _reserve(self, saved: NonceFile, nonce: int) -> None:
        """Save ``nonce`` before any nonce up to it is signed. A closed file raises (``NonceFileError``): the signer
        may be another process's now. A failed write (a full disk, say) is logged and signing goes on: refusing
        would block cancels now to protect a restart that may never come; the next reservation tries again."""
        try:
            saved.write(nonce)
        except OSError as error:
            _log.error(f"cannot save the nonce to {saved.path} ({error}): a restart may reuse nonces until it works")
        self._reserved = nonce

    @property
    def last(self) -> int:
        """The most recent nonce handed out (0 before the first; the saved one after a restart)."""
        return self._last

    @property
    def closed(self) -> bool:
        return self._saved is not None and self._saved.closed

    def close(self) -> None:
        """Save the last nonce (so a clean restart does not start at the reservation) and release the signer.
        Idempotent; :func:`nonce_manager_for` also registers it to run at interpreter exit."""
        if self._saved is None or self._saved.closed:
            return
        if self._last > 0:
            self._saved.write(self._last)
        self._saved.close()
        self._reserved = 0  # so the next nonce must reserve, which the closed file refuses


def _start_above(saved: NonceFile, now_ms: int) -> int:
    """The saved nonce to count on from, checked against the venue's window (closes ``saved`` when refusing)."""
    try:
        last = saved.read() or 0
    except NonceFileError:
        saved.close()
        raise
    ahead_ms = last - now_ms
    if ahead_ms >= VENUE_AHEAD_LIMIT_MS - START_REFUSAL_MARGIN_MS:
        saved.close()
        raise NonceWindowError(
            f"the saved nonce in {saved.path} is {ahead_ms / 3_600_000:.2f} h ahead of this host's clock; the venue "
            f"refuses nonces more than 24 h ahead of its time, so every action would be refused. Check the clock: "
            f"if it is behind, fix it. If it is right, the saved nonce came from a session whose clock was over a "
            f"day ahead, whose actions the venue refused; remove the file only then"
        )
    if ahead_ms > WARN_AHEAD_MS:
        _log.warning(
            f"the saved nonce in {saved.path} is {ahead_ms / 1000:.0f} s ahead of this host's clock (the clock was "
            f"ahead in an earlier session, or has stepped back): nonces run ahead of the clock until it catches up"
        )
    return last


_managers: dict[str, tuple[Path | None, NonceManager]] = {}


def nonce_manager_for(signer_address: str, state_dir: str | os.PathLike[str] | None = None) -> NonceManager:
    """The process's nonce counter for ``signer_address`` (lowercase ``0x`` address, as the signer gives it).

    ``state_dir``: save the signer's nonce there and lock the signer for this process (``nonce_file``); None keeps
    the counter in memory only. Every caller for one signer must give the same directory: two would make two
    counters. A closed counter is replaced by a new one (which reads the saved nonce again)."""
    directory = None if state_dir is None else Path(state_dir).resolve()
    entry = _managers.get(signer_address)
    if entry is not None and not entry[1].closed:
        if entry[0] != directory:
            raise ValueError(
                f"signer {signer_address} already takes its nonces from state directory {entry[0]}, not {directory}: "
                f"one signer needs one counter"
            )
        return entry[1]
    manager = NonceManager() if directory is None else NonceManager(saved=NonceFile(directory, signer_address))
    if directory is not None:
        atexit.register(manager.close)
    _managers[signer_address] = (directory, manager)
    return manager
