"""One signer's saved nonce on disk, and the lock that keeps a second process off that signer.

The venue keeps each signer's 100 highest nonces and refuses a nonce at or below the smallest of them, or a repeat
(protocol §4.4). Nonces are milliseconds of this host's clock, so a node restarted after its clock was ahead, or
after the clock stepped back, would sign nonces the venue refuses (cancels included) until the clock caught up.
The saved value lets the restarted counter start above every nonce already signed (``nonces.NonceManager``).

Files in the caller's directory, named by the signer address (an address is public; the key never touches these
files): ``<address>.nonce`` holds one decimal integer, replaced atomically (temporary file, fsync, rename, fsync of
the directory), so a crash or power loss leaves the old value or the new one, never a torn one. ``<address>.lock``
is held with ``flock`` for the life of the :class:`NonceFile`: a second process signing with the same key fails at
start with :class:`NonceFileLockedError` instead of racing the first for nonces. The kernel releases the lock when
the holder dies, so a crashed node never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class NonceFileError(RuntimeError):
    """The saved nonce cannot be used: unreadable, or another process holds the signer."""


class NonceFileLockedError(NonceFileError):
    """Another process already signs with this signer's nonces."""


class NonceFile:
    """The saved nonce of one signer in ``directory``, locked for this process until :meth:`close`."""

    __slots__ = ("_directory", "_signer_address", "path", "lock_path", "_lock_fd")

    def __init__(self, directory: str | os.PathLike[str], signer_address: str) -> None:
        self._directory = Path(directory)
        self._signer_address = signer_address
        self.path = self._directory / f"{signer_address}.nonce"
        self.lock_path = self._directory / f"{signer_address}.lock"
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._lock_fd: int | None = self._lock()

    def _lock(self) -> int:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise NonceFileLockedError(
                f"signer {self._signer_address} is already signing in another process (pid {holder}, lock "
                f"{self.lock_path}): two processes on one key would sign the same millisecond nonces and the venue "
                f"would refuse one of each pair; give each process its own agent wallet"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # who holds it, for the error a second process gets
        return fd

    def read(self) -> int | None:
        """The saved nonce, or None when none was saved. A file that does not hold one integer raises: the last
        nonce signed is then unknown, and guessing low would get every action refused."""
        try:
            text = self.path.read_text(encoding="ascii")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as error:
            raise NonceFileError(f"cannot read the saved nonce {self.path}: {error}") from None
        if not text.strip().isdigit():
            raise NonceFileError(
                f"{self.path} does not hold a nonce (one decimal integer): remove it only once no action was signed "
                f"with {self._signer_address} in the last 2 days or the host clock is known to have been right"
            )
        return int(text)

    def write(self, nonce: int) -> None:
        """Replace the saved nonce with ``nonce``, atomically and durably (about 0.5–1 ms on this host)."""
        if self._lock_fd is None:
            raise NonceFileError(f"the nonce file {self.path} is closed: its lock is released")
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, f"{nonce}\n".encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        directory_fd = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)  # the rename itself must survive a power loss
        finally:
            os.close(directory_fd)

    @property
    def closed(self) -> bool:
        return self._lock_fd is None

    def close(self) -> None:
        """Release the lock (the saved nonce stays). Idempotent."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the only descriptor of the open file releases its flock
            self._lock_fd = None
