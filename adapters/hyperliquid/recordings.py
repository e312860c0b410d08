"""Read recorded Hyperliquid WebSocket traffic as ``(recv_ns, message)`` pairs, whatever the file format.

Two real formats exist: the official S3 archive (LZ4-framed NDJSON, each line ``{"time": <ISO recv time>,
"raw": <ws message>}``) and the hftbacktest collector (gzip text, each line ``<recv_ns> <ws json>``); a third
source, the data collector's CSV capture, is turned back into the frames it came from (``csv_capture``).
Both carry the exact WS message, so the catalog loaders and the local exchange's market replay read them
through this one iterator and never disagree about what the venue sent.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from collections.abc import Iterator
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import IO
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class RecordingError(ValueError):
    """A line of a recording that cannot be read; the message names the file and the line."""

    def __init__(self, path: Path, line_no: int, reason: str) -> None:
        super().__init__(f"{path.name} line {line_no}: {reason}")
        self.path = path
        self.line_no = line_no


TornLine = Callable[[Path, int], None]
"""Told ``(file, line_no)`` of each torn line the reader skipped (see ``iter_ws_messages``)."""


def open_text(path: Path, encoding: str = "utf-8", newline: str | None = None) -> IO[str]:
    """Open a recording as text, decompressing LZ4 frames or gzip by magic bytes rather than extension
    (``encoding`` and ``newline`` as for ``open``: the CSV reader wants ``newline=""``)."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic == b"\x04\x22\x4d\x18":
        import lz4.frame

        return io.TextIOWrapper(lz4.frame.open(path, "rb"), encoding=encoding, newline=newline)
    if magic[:2] == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding=encoding, newline=newline)
    return path.open("r", encoding=encoding, newline=newline)


def parse_iso_ns(text: str) -> int:
    """``2024-01-01T12:00:01.138942031`` (UTC, up to ns) → epoch ns, keeping every digit datetime would drop."""
    head, _, frac = text.partition(".")
    seconds = datetime.fromisoformat(head).replace(tzinfo=timezone.utc)
    whole_s = int((seconds - _EPOCH).total_seconds())
    frac_digits = frac.rstrip("Z")[:9].ljust(9, "0") if frac else "0" * 9
    return whole_s * 1_000_000_000 + int(frac_digits)


def parse_line(line: str) -> tuple[int, dict[str, Any]]:
    """One line of either format → (recv_ns, ws message). Raises ValueError with the reason."""
    line = line.strip()
    if line.startswith("{"):
        record = json.loads(line)
        if "raw" not in record or "time" not in record:
            raise ValueError("archive line without 'time' and 'raw'")
        return parse_iso_ns(record["time"]), record["raw"]
    stamp, sep, body = line.partition(" ")
    if not sep or not stamp.isdigit():
        raise ValueError("expected '<recv_ns> <json>' or an archive JSON object")
    return int(stamp), json.loads(body)


def iter_ws_messages(path: Path | str, on_torn: TornLine | None = None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Yield ``(line_no, recv_ns, message)`` for every non-blank line; bad lines raise ``RecordingError``.

    A torn line is what a recorder killed mid-write leaves: the file's last line cut short (no newline, and it does
    not parse), or, in a CSV capture, a row with more or fewer fields than its header or a receive stamp no collector
    writes (the collector appends after a restart, joining the cut row to the next; ``csv_capture._torn``). With
    ``on_torn`` each is reported to it and skipped, so one killed write costs one line, not the file; without, it
    raises ``RecordingError`` like any bad line.

    The data collector's CSV capture (``orderbooks_<COIN>.csv`` and its ``trades_<COIN>.csv``) is read as the frames
    it was recorded from (``csv_capture``)."""
    path = Path(path)
    from adapters.hyperliquid import csv_capture  # it imports RecordingError from here

    if csv_capture.is_csv_capture(path):
        yield from csv_capture.iter_csv_capture(path, on_torn)
        return
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                recv_ns, message = parse_line(line)
            except (ValueError, json.JSONDecodeError) as exc:
                if on_torn is not None and not line.endswith("\n"):  # only the last line can lack its newline
                    on_torn(path, line_no)
                    continue
                raise RecordingError(path, line_no, str(exc)) from None
            if not isinstance(message, dict):
                raise RecordingError(path, line_no, "message is not a JSON object")
            yield line_no, recv_ns, message
