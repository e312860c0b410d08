"""``CoveredTime`` (models/calibration.py) against a brute-force union of the same intervals.

Issue 13 made its read clip only the first kept interval when every kept interval ends by the read time (a running
total of their lengths), instead of walking them all. The covered seconds must stay exactly what the walk gave:
random intervals (spells of a side, some overlapping, some arriving out of order) are checked against the walk over
every interval ever added, whichever branch a read takes (reads never go back in time, as the model's clock does
not). Simulated interval sets, not market data: the property is
arithmetic, and the backtests' fingerprints cover the real stream.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from mm_strategy.models.calibration import CoveredTime

WINDOW_S = 10.0
NS = 1_000_000_000


def brute_force_seconds(intervals: list[tuple[int, int]], now_ns: int) -> float:
    """Covered seconds of (now − window, now] by the union of ``intervals``, merged from scratch."""
    window_start = now_ns - round(WINDOW_S * NS)
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return sum(max(min(end, now_ns) - max(start, window_start), 0) for start, end in merged) / NS


step = st.tuples(
    st.integers(min_value=0, max_value=3 * NS),  # time moves forward by this much
    st.integers(min_value=0, max_value=4 * NS),  # the spell's length
    st.integers(min_value=0, max_value=2 * NS),  # how late its end arrives (out of order when > 0)
    st.integers(min_value=-1 * NS, max_value=2 * NS),  # read this long after the latest end (before it when < 0)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(step, min_size=1, max_size=40))
def test_covered_seconds_equal_the_union_of_every_interval_added(steps) -> None:
    covered = CoveredTime(WINDOW_S)
    added: list[tuple[int, int]] = []
    now_ns = read_ns = 0
    for advance_ns, length_ns, late_ns, read_after_ns in steps:
        now_ns += advance_ns
        end_ns = now_ns - late_ns
        covered.add(end_ns - length_ns, end_ns)
        added.append((end_ns - length_ns, end_ns))
        read_ns = max(read_ns, now_ns + read_after_ns)
        assert covered.seconds(read_ns) == brute_force_seconds(added, read_ns)
