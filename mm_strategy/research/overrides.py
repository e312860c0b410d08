"""Dotted-path overrides applied to a raw config document, before it is validated.

A path names a field the way the JSON nests it: ``strategy.config.risk.gamma_per_usd``, ``backtest.latency_ms``.
Inside a list, a segment is an index (``actors.1.config.publish_interval_ms``) or the class name at the end of the
element's ``actor_path``/``strategy_path`` (``actors.VolatilityActor.config.params.return_horizon_s``),
which keeps meaning the same actor when the list is re-ordered.

Why overrides go on the document and not on the parsed config: any path into the file works (strategy, actors,
backtest settings, priors) with no per-field code, and the overridden document is then validated by
``load_venue_config_dict``, the very rules a hand-edited file meets. A missing mapping key is created rather than
refused here, because every level of the config refuses unknown fields itself and names them; what cannot be
followed at all (no such list element, a step into a number) fails here, naming the path and the segment.

Live-only sections (``venue.live``: endpoints, account, keys; ``live``: the live node's settings) are valid config
fields that no backtest reads, so an override there would be accepted and change nothing: every run of such a
"parameter" would be the same backtest. Those paths are refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

PATH_KEY_SUFFIX = "_path"  # actor_path / strategy_path: "module:ClassName"
LIVE_ONLY_SECTIONS = ("venue.live", "live")  # read by the live node only: a backtest never sees them


class OverrideError(ValueError):
    """A parameter path that cannot be followed into the config document."""


def apply_overrides(document: dict, overrides: Mapping[str, object]) -> dict:
    """A deep copy of ``document`` with every ``path: value`` of ``overrides`` set; ``document`` is unchanged."""
    result = copy.deepcopy(document)
    for path, value in overrides.items():
        set_path(result, path, copy.deepcopy(value))
    return result


def set_path(document: dict, path: str, value: object) -> None:
    segments = path.split(".")
    if not path or any(not segment for segment in segments):
        raise OverrideError(f"parameter path {path!r}: empty segment")
    live = next((s for s in LIVE_ONLY_SECTIONS if path == s or path.startswith(f"{s}.")), None)
    if live is not None:
        raise OverrideError(f"parameter path {path!r}: {live} holds live-only settings, which no backtest reads")
    node: object = document
    for depth, segment in enumerate(segments[:-1]):
        node = _step(node, segment, path, ".".join(segments[:depth]))
    _assign(node, segments[-1], value, path, ".".join(segments[:-1]))


def _step(node: object, segment: str, path: str, parent: str) -> object:
    if isinstance(node, dict):
        return node.setdefault(segment, {})
    if isinstance(node, list):
        return node[_list_index(node, segment, path, parent)]
    raise OverrideError(f"parameter path {path!r}: {parent or '$'} is a {type(node).__name__}, not a section")


def _assign(node: object, segment: str, value: object, path: str, parent: str) -> None:
    if isinstance(node, dict):
        node[segment] = value
    elif isinstance(node, list):
        node[_list_index(node, segment, path, parent)] = value
    else:
        raise OverrideError(f"parameter path {path!r}: {parent or '$'} is a {type(node).__name__}, not a section")


def _list_index(items: list, segment: str, path: str, parent: str) -> int:
    """An index into the list, or the position of the one element whose ``*_path`` ends in ``:segment``."""
    if segment.lstrip("-").isdigit():
        index = int(segment)
        if not 0 <= index < len(items):
            raise OverrideError(f"parameter path {path!r}: {parent} has {len(items)} elements, no index {index}")
        return index
    names = [_class_name(item) for item in items]
    matches = [i for i, name in enumerate(names) if name == segment]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise OverrideError(f"parameter path {path!r}: {len(matches)} elements of {parent} are {segment}; use an index")
    known = ", ".join(name for name in names if name) or "none named"
    raise OverrideError(f"parameter path {path!r}: no element {segment!r} in {parent} (has {known})")


def _class_name(item: object) -> str | None:
    if not isinstance(item, dict):
        return None
    for key, value in item.items():
        if key.endswith(PATH_KEY_SUFFIX) and key != "config_path" and isinstance(value, str) and ":" in value:
            return value.rsplit(":", 1)[1]
    return None
