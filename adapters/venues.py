"""The venues a config can name, and the check that a config's venue section fits its instrument.

``run_backtest.py`` and ``run_live.py`` read ``venue.name`` from the config and get the venue's node module here
(``adapters/<venue>/node.py``). Each module offers the same things: ``VENUE`` (NautilusTrader's venue id, which the
config's ``instrument_id`` must carry), ``live_settings(settings)`` (validates ``venue.live``), ``open_session``
(the live clients, see ``mm_strategy.live.LiveVenue``), ``BUNDLED_CATALOG`` and ``build_bundled_catalog`` (the
bundled real data of that venue as a catalog). Modules are imported on demand, so a Hyperliquid run never loads
NautilusTrader's Binance adapter.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from nautilus_trader.model.identifiers import InstrumentId

from mm_strategy.node_config import VenueInstrumentConfig

KNOWN_VENUES = {
    "binance": "adapters.binance.node",
    "hyperliquid": "adapters.hyperliquid.node",
}


def venue_module(settings: VenueInstrumentConfig) -> ModuleType:
    """The node module of the config's venue, after checking the venue section against the instrument.

    Raises ``ValueError`` naming the field: an unknown ``venue.name`` (listing the known ones), an
    ``instrument_id`` of another venue, or a malformed ``venue.live``.
    """
    name = settings.venue.name
    if name not in KNOWN_VENUES:
        raise ValueError(f"$.venue.name: unknown venue {name!r} (known: {', '.join(sorted(KNOWN_VENUES))})")
    module = importlib.import_module(KNOWN_VENUES[name])
    instrument_venue = InstrumentId.from_str(settings.instrument_id).venue
    if instrument_venue != module.VENUE:
        raise ValueError(
            f"$.instrument_id: {settings.instrument_id} trades on {instrument_venue}, but $.venue.name {name!r} is "
            f"{module.VENUE}",
        )
    module.live_settings(settings)
    return module
