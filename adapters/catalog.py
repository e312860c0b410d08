"""Writing loaded recordings into a ``ParquetDataCatalog``: shared by every venue's loader.

A loader turns one source file into a result with ``path``, ``instrument_id`` and ``streams()`` (lists of
NautilusTrader data, each sorted by ``ts_init``); :func:`write_catalog` writes the instrument and those streams the
same way for every venue, so re-running any loader reproduces the same catalog.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pandas as pd
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog


class CatalogSourceError(ValueError):
    """Sources that cannot be written together (another instrument, overlapping time ranges)."""


@dataclass
class LoadedSource:
    """The NautilusTrader data one source file produced; each venue's loader adds its own counts to it."""

    path: Path
    instrument_id: InstrumentId
    deltas: list = field(default_factory=list)
    trades: list = field(default_factory=list)
    quotes: list = field(default_factory=list)

    def streams(self) -> list[list]:
        """The non-empty output streams, each written to the catalog in one call."""
        return [stream for stream in (self.deltas, self.trades, self.quotes) if stream]

    def ts_init_span_ns(self) -> tuple[int, int] | None:
        """First and last ``ts_init`` over all streams; ``None`` when the file produced nothing."""
        streams = self.streams()
        if not streams:
            return None
        return min(s[0].ts_init for s in streams), max(s[-1].ts_init for s in streams)

    def span_text(self) -> str:
        """The ``ts_init`` span for a load summary: first to last (UTC, ISO) and its length."""
        span_ns = self.ts_init_span_ns()
        if span_ns is None:
            return "no data"
        start, end = (pd.Timestamp(ns, tz="UTC") for ns in span_ns)
        return f"{start.isoformat()} to {end.isoformat()} ({(span_ns[1] - span_ns[0]) / 1e9:,.1f} s)"


def summary_text(parts: list[str], anomalies: dict[str, int], skipped: Iterable[str], parse_s: float) -> str:
    """One load's summary line, as every venue's loader prints it: its parts, then the anomalies that occurred
    (only the non-zero counts), then what was skipped, then the parse time."""
    parts = parts + [f"{name} {count:,}" for name, count in anomalies.items() if count] + list(skipped)
    return ", ".join(parts) + f" [{parse_s:.2f} s]"


def write_catalog(
    results: Iterable[LoadedSource],
    instrument: Instrument,
    catalog_path: Path | str,
) -> ParquetDataCatalog:
    """Write the instrument and every result's streams, each stream of each file in one ``write_data`` call.

    Each write first deletes what the catalog holds for the same instrument and data type within the stream's
    ``ts_init`` range, so re-running on the same sources reproduces the same files instead of failing on
    overlapping intervals. Sources given together must not overlap each other.
    """
    results = list(results)
    for result in results:
        if result.instrument_id != instrument.id:
            raise CatalogSourceError(f"{result.path.name} holds {result.instrument_id}, not {instrument.id}")
    _check_sources_disjoint(results)
    catalog = ParquetDataCatalog(str(catalog_path))
    _replace_range(catalog, [instrument])
    for result in results:
        for stream in result.streams():
            _replace_range(catalog, stream)
    return catalog


class DisjointSources:
    """The ``ts_init`` span of every stream of the sources seen so far, per data type: two sources covering the same
    time for one stream would overwrite each other in the catalog, so the later one is refused. A source written in
    pieces (``loaders.parse_pieces``) is added piece by piece; its pieces never share a ``ts_init``."""

    def __init__(self) -> None:
        self._spans: dict[type, list[tuple[int, int, Path]]] = {}

    def __bool__(self) -> bool:
        """Whether any stream was added."""
        return bool(self._spans)

    def add(self, result: LoadedSource) -> None:
        for stream in result.streams():
            start, end = stream[0].ts_init, stream[-1].ts_init
            spans = self._spans.setdefault(type(stream[0]), [])
            for other_start, other_end, other in spans:
                if start <= other_end and other_start <= end:
                    raise CatalogSourceError(
                        f"{other} and {result.path} overlap in time ({type(stream[0]).__name__}): a catalog stream "
                        "holds one source per time range",
                    )
            spans.append((start, end, result.path))


def _check_sources_disjoint(results: list[LoadedSource]) -> None:
    sources = DisjointSources()
    for result in results:
        sources.add(result)


def _replace_range(catalog: ParquetDataCatalog, stream: list) -> None:
    first = stream[0]
    identifier = first.id.value if isinstance(first, Instrument) else first.instrument_id.value
    catalog.delete_data_range(type(first), identifier, start=first.ts_init, end=stream[-1].ts_init)
    catalog.write_data(stream)
