"""Nonces that survive a restart and a signer locked to one process (``nonces``, ``nonce_file``), and the key
file's permission check (``credentials``).

The venue here is the local exchange's own nonce bookkeeping (``local_exchange.nonces.NonceStore``: the 100
highest nonces per signer, the (T − 2 d, T + 1 d) window), so "accepted" means accepted under the venue's rules.
Clocks are explicit millisecond values: the scenarios are clock faults (an hour ahead, a 30 s step back), which a
real clock cannot be made to show.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import msgspec
import pytest

from adapters.hyperliquid import nonces
from adapters.hyperliquid.constants import HYPERLIQUID
from adapters.hyperliquid.credentials import HyperliquidSigner
from adapters.hyperliquid.credentials import PrivateKeyError
from adapters.hyperliquid.http.exchange import HyperliquidExchangeEndpoints
from adapters.hyperliquid.local_exchange.nonces import NonceStore
from adapters.hyperliquid.node import VenueTarget
from adapters.hyperliquid.node import live_clients
from adapters.hyperliquid.nonce_file import NonceFile
from adapters.hyperliquid.nonce_file import NonceFileError
from adapters.hyperliquid.nonce_file import NonceFileLockedError
from adapters.hyperliquid.nonces import NonceManager
from adapters.hyperliquid.nonces import NonceWindowError
from mm_strategy.node_config import load_venue_config

REPO_ROOT = Path(__file__).resolve().parents[1]
T_MS = 1_764_786_000_000  # venue (block) time at the start of each scenario
HOUR_MS = 3_600_000
SIGNER = "0x00000000000000000000000000000000000000aa"
# A key used only here, so its process-wide counter is not shared with other test files' signers.
KEY = "0x" + "3c" * 32


class Venue:
    """The venue's nonce rules for one signer: ``send`` returns its error text, or None when it accepts."""

    def __init__(self) -> None:
        self.store = NonceStore()

    def send(self, nonce: int, venue_time_ms: int) -> str | None:
        error = self.store.check(SIGNER, nonce, venue_time_ms)
        if error is None:
            self.store.use(SIGNER, nonce)
        return error


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


def _session(venue: Venue, manager: NonceManager, clock: Clock, venue_time_ms: int, actions: int, step_ms: int) -> list:
    """``actions`` actions ``step_ms`` apart, the host clock and the venue's advancing together."""
    errors = []
    for i in range(actions):
        errors.append(venue.send(manager.next_nonce(), venue_time_ms + i * step_ms))
        clock.now_ms += step_ms
    return errors


def _restarted(state_dir: Path | None, clock: Clock) -> NonceManager:
    if state_dir is None:
        return NonceManager(clock)
    return NonceManager(clock, saved=NonceFile(state_dir, SIGNER))


@pytest.mark.parametrize("saved", [True, False], ids=["state_dir", "in_memory"])
def test_restart_after_a_session_with_the_clock_an_hour_ahead(tmp_path, saved):
    """150 actions with the host clock 1 h ahead (all accepted: the venue allows 1 day ahead); NTP then corrects
    the clock and the node restarts a minute later. In memory only, the restarted node's nonces are an hour below
    the venue's 100 highest: every action refused, for the next hour. With the saved nonce all are accepted."""
    state_dir = tmp_path if saved else None
    venue = Venue()
    clock = Clock(T_MS + HOUR_MS)
    first = _restarted(state_dir, clock)
    assert _session(venue, first, clock, T_MS, actions=150, step_ms=100) == [None] * 150
    first.close()

    clock.now_ms = T_MS + 60_000
    errors = _session(venue, _restarted(state_dir, clock), clock, T_MS + 60_000, actions=200, step_ms=100)
    if saved:
        assert errors == [None] * 200
    else:
        assert all(error is not None and "lower than the lowest of the 100 highest" in error for error in errors)


@pytest.mark.parametrize("restart", ["clean_stop", "crash", "in_memory"])
def test_restart_across_a_30_s_clock_step_back_at_10_actions_per_s(tmp_path, restart):
    """30 s of actions at 10/s, then a restart on a host clock stepped back 30 s. In memory only, the next 30 s of
    nonces are all refused (below the 100 highest, or duplicates of them). A crash (no ``close``: only the kernel
    releasing the lock) must be as safe as a clean stop: the file is written ahead of every nonce signed."""
    state_dir = None if restart == "in_memory" else tmp_path
    venue = Venue()
    clock = Clock(T_MS)
    first = _restarted(state_dir, clock)
    assert _session(venue, first, clock, T_MS, actions=300, step_ms=100) == [None] * 300
    if restart == "clean_stop":
        first.close()
    elif restart == "crash":
        first._saved.close()  # what the process's death does: the lock goes, nothing else is written

    venue_time_ms = T_MS + 30_000
    clock.now_ms = venue_time_ms - 30_000
    errors = _session(venue, _restarted(state_dir, clock), clock, venue_time_ms, actions=300, step_ms=100)
    if restart == "in_memory":
        assert all(error is not None and error.startswith("Invalid nonce") for error in errors)
        assert any("duplicate nonce" in error for error in errors)
    else:
        assert errors == [None] * 300


def test_saved_nonce_covers_every_signed_nonce_and_is_written_once_per_reserve(tmp_path, monkeypatch):
    writes = []
    write = NonceFile.write
    monkeypatch.setattr(NonceFile, "write", lambda self, nonce: (writes.append(nonce), write(self, nonce)))
    saved = NonceFile(tmp_path, SIGNER)
    clock = Clock(T_MS)
    manager = NonceManager(clock, saved=saved, reserve_ms=5_000)
    for _ in range(600):  # 60 s at 10 actions/s, a few in one millisecond
        for _ in range(3):
            nonce = manager.next_nonce()
            assert saved.read() >= nonce
        clock.now_ms += 100
    assert len(writes) == 12  # one per 5 s of signing, not one per action (0.5-1 ms each)
    manager.close()
    assert saved.read() == manager.last  # a clean stop saves the exact last nonce, not the reservation


def test_a_closed_counter_signs_no_more(tmp_path):
    """Once closed, the signer may be another process's: even a nonce below the reservation is refused."""
    manager = NonceManager(Clock(T_MS), saved=NonceFile(tmp_path, SIGNER))
    manager.next_nonce()
    manager.close()
    with pytest.raises(NonceFileError, match="closed"):
        manager.next_nonce()


def test_a_failed_save_is_logged_and_signing_goes_on(tmp_path, monkeypatch):
    """A full disk must not block cancels: the failure is logged once per reservation and retried at the next."""
    errors = []
    monkeypatch.setattr(nonces, "_log", type("Log", (), {"error": staticmethod(errors.append)}))
    saved = NonceFile(tmp_path, SIGNER)

    def disk_full(self, nonce):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(NonceFile, "write", disk_full)
    clock = Clock(T_MS)
    manager = NonceManager(clock, saved=saved, reserve_ms=5_000)
    signed = []
    for _ in range(100):  # 10 s at 10 actions/s
        signed.append(manager.next_nonce())
        clock.now_ms += 100
    assert signed == list(range(T_MS, T_MS + 10_000, 100))
    assert len(errors) == 2 and "No space left on device" in errors[0] and f"{SIGNER}.nonce" in errors[0]
    saved.close()


def test_a_saved_nonce_beyond_the_venue_window_refuses_to_start(tmp_path):
    """Saved a day ahead of the clock: every nonce above it is outside the venue's window, so starting would only
    sign refused actions. The error names the file; the lock is released (the operator may fix and retry)."""
    saved = NonceFile(tmp_path, SIGNER)
    saved.write(T_MS + 24 * HOUR_MS)
    saved.close()
    assert "outside the allowed window" in Venue().send(T_MS + 24 * HOUR_MS + 1, T_MS)
    with pytest.raises(NonceWindowError, match=rf"{SIGNER}\.nonce is 24\.00 h ahead of this host's clock"):
        NonceManager(Clock(T_MS), saved=NonceFile(tmp_path, SIGNER))
    NonceFile(tmp_path, SIGNER).close()  # not left locked


def test_a_saved_nonce_hours_ahead_starts_with_a_warning(tmp_path, monkeypatch):
    warnings = []
    monkeypatch.setattr(nonces, "_log", type("Log", (), {"warning": staticmethod(warnings.append)}))
    saved = NonceFile(tmp_path, SIGNER)
    saved.write(T_MS + 23 * HOUR_MS)
    saved.close()
    manager = NonceManager(Clock(T_MS), saved=NonceFile(tmp_path, SIGNER))
    assert len(warnings) == 1 and "82800 s ahead" in warnings[0]
    assert Venue().send(manager.next_nonce(), T_MS) is None
    manager.close()


def test_an_unreadable_saved_nonce_refuses_to_start(tmp_path):
    (tmp_path / f"{SIGNER}.nonce").write_text("17640\x00\n")
    with pytest.raises(NonceFileError, match=f"{SIGNER}.nonce does not hold a nonce"):
        NonceManager(Clock(T_MS), saved=NonceFile(tmp_path, SIGNER))
    NonceFile(tmp_path, SIGNER).close()


def test_a_second_process_on_the_same_signer_fails_fast(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from adapters.hyperliquid.nonce_file import NonceFile
            held = NonceFile({str(tmp_path)!r}, {SIGNER!r})
            print("held", flush=True)
            sys.stdin.read()
        """)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        expected = f"{SIGNER} is already signing in another process \\(pid {holder.pid}"
        with pytest.raises(NonceFileLockedError, match=expected):
            NonceFile(tmp_path, SIGNER)
    finally:
        holder.communicate("")
    NonceFile(tmp_path, SIGNER).close()  # the holder's exit released it


def test_normal_exit_saves_the_last_nonce(tmp_path):
    """The process-wide counter is closed at interpreter exit: the file holds the last nonce, not the reservation."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from adapters.hyperliquid.nonces import nonce_manager_for
            manager = nonce_manager_for({SIGNER!r}, {str(tmp_path)!r})
            print([manager.next_nonce() for _ in range(5)][-1])
        """)],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True, check=True,
    )
    assert (tmp_path / f"{SIGNER}.nonce").read_text() == run.stdout


def test_one_counter_per_signer_in_a_process(tmp_path):
    signer = HyperliquidSigner.from_key(KEY)
    endpoints = HyperliquidExchangeEndpoints(None, signer, is_mainnet=False, nonce_state_dir=tmp_path)
    try:
        again = HyperliquidExchangeEndpoints(None, signer, is_mainnet=False, nonce_state_dir=tmp_path)
        assert again._nonces is endpoints._nonces
        with pytest.raises(ValueError, match="one signer needs one counter"):
            nonces.nonce_manager_for(signer.address, tmp_path / "elsewhere")
        with pytest.raises(ValueError, match="one signer needs one counter"):
            nonces.nonce_manager_for(signer.address)
    finally:
        endpoints._nonces.close()
    reopened = nonces.nonce_manager_for(signer.address)  # a closed counter is replaced
    assert reopened is not endpoints._nonces and not reopened.closed


def test_endpoints_save_nonces_per_network_by_address_and_never_the_key(tmp_path):
    signer = HyperliquidSigner.from_key("0x" + "4d" * 32)
    endpoints = HyperliquidExchangeEndpoints(None, signer, is_mainnet=True, nonce_state_dir=tmp_path)
    try:
        endpoints.signed_body({"type": "noop"})
        nonce = endpoints._nonces.last
        saved = tmp_path / "mainnet" / f"{signer.address}.nonce"
        assert int(saved.read_text()) >= nonce
    finally:
        endpoints._nonces.close()
    assert int(saved.read_text()) == nonce
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert sorted(path.name for path in files) == [f"{signer.address}.lock", f"{signer.address}.nonce"]
    assert not any("4d4d4d4d" in path.read_text() for path in files)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o710], ids=lambda mode: f"{mode:04o}")
def test_a_key_file_others_can_access_is_refused(tmp_path, mode):
    key_file = tmp_path / "agent.key"
    key_file.write_text(KEY + "\n")
    key_file.chmod(mode)
    with pytest.raises(PrivateKeyError) as raised:
        HyperliquidSigner.from_file(key_file)
    message = str(raised.value)
    assert str(key_file) in message and f"{mode:04o}" in message and "chmod 600" in message
    assert KEY[2:10] not in message
    key_file.chmod(0o600)
    assert HyperliquidSigner.from_file(key_file).address == HyperliquidSigner.from_key(KEY).address


def test_the_live_node_keeps_its_nonces_under_its_state_dir(tmp_path):
    """One home for where a live node keeps state (``live.state_dir``): the nonces go under it, and without it they
    stay in memory as before."""
    settings = load_venue_config(Path(__file__).resolve().parents[1] / "configs" / "hyperliquid_btc.json")
    target = VenueTarget.local("http://127.0.0.1:1")
    assert live_clients(settings, target).exec_configs[HYPERLIQUID].nonce_state_dir is None
    with_state = msgspec.structs.replace(settings, live=msgspec.structs.replace(settings.live, state_dir=str(tmp_path)))
    assert live_clients(with_state, target).exec_configs[HYPERLIQUID].nonce_state_dir == str(tmp_path / "nonces")
