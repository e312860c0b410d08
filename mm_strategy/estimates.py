"""The strategy's view of the estimator actors: the latest estimate of each type, or nothing if it is stale.

DESIGN §2: an estimate older than the staleness limit counts as missing, and the strategy then quotes from its
prior, or from the last value where that is more conservative (``inputs.py``). That fallback must be visible: it is logged once when it starts and once when it ends (never per cycle,
which would flood a live log), and the cycles spent on priors are counted per type for the report.

Age is measured on one clock (DESIGN §5): the engine clock now against the estimate's ``ts_init``, the engine time
its actor published it. Its ``ts_event`` is the venue time of the book batch it was read at, which runs 0.1–2.9 s
behind the engine clock live, and would shorten the staleness limit by that lag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from nautilus_trader.core.data import Data

T = TypeVar("T", bound=Data)


class LatestEstimates:
    def __init__(self, staleness_ns: int, log: Callable[[str], None]) -> None:
        self._staleness_ns = staleness_ns
        self._log = log
        self._latest: dict[type, Data] = {}
        # the engine time up to which each latest estimate is fresh (``ts_init`` + the limit): ``fresh`` is asked six
        # times a quote cycle, and ``ts_init`` of a custom data class is a Python property
        self._fresh_until_ns: dict[type, int] = {}
        self._on_prior: set[type] = set()
        self.prior_cycles: Counter[str] = Counter()

    def update(self, estimate: Data) -> None:
        cls = type(estimate)
        self._latest[cls] = estimate
        self._fresh_until_ns[cls] = estimate.ts_init + self._staleness_ns

    def last(self, cls: type[T]) -> T | None:
        """The latest ``cls`` estimate whatever its age (for the conservative fallback), None if none arrived."""
        return self._latest.get(cls)

    def fresh(self, cls: type[T], now_ns: int) -> T | None:
        """The latest ``cls`` estimate if it is younger than the staleness limit, else None (use the prior): an age
        ``now_ns − ts_init`` within the limit is ``now_ns`` within ``ts_init`` + the limit (integers: exact)."""
        estimate = self._latest.get(cls)
        if estimate is not None and now_ns <= self._fresh_until_ns[cls]:
            if cls in self._on_prior:
                self._on_prior.discard(cls)
                self._log(f"{cls.__name__}: fresh estimate again, leaving the prior")
            return estimate
        self.prior_cycles[cls.__name__] += 1
        if cls not in self._on_prior:
            self._on_prior.add(cls)
            why = "none received yet" if estimate is None else f"last one {(now_ns - estimate.ts_init) / 1e9:.1f} s old"
            self._log(f"{cls.__name__}: {why}; quoting from the prior")
        return None
