"""Record the live market feed exactly as received, in the hftbacktest collector format.

Each line is ``<recv_ns> <frame json>`` in a gzip file: the format ``recordings.iter_ws_messages`` reads, so a
recording goes through the very loader that builds backtest catalogs (``loaders.parse_file``), and the local
exchange can replay it. Recording raw frames rather than Nautilus objects means the catalog holds the same
delta stream a backtest of any other recording holds, with no second encoder to drift.
"""

from __future__ import annotations

import gzip
from pathlib import Path

# The channels the loaders and the local exchange's replay read; other frames would only be skipped.
RECORDED_CHANNELS = frozenset({"l2Book", "trades"})


class FrameRecorder:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = gzip.open(self.path, "at", encoding="utf-8", compresslevel=6)
        self.frames = 0

    def write(self, recv_ns: int, frame_text: str) -> None:
        # A raw newline in JSON can only be whitespace, so flattening it keeps one frame per line.
        self._file.write(f"{recv_ns} {frame_text.replace(chr(10), chr(32))}\n")
        self.frames += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
