"""``SnapshotDiffer.diff_raw_batch`` (the live feed: the venue's level strings, only changed levels parsed) gives
exactly the deltas ``diff`` gives for the parsed floats (the loader's path, which it replaced live).

Every frame of every real recording goes through both differs in lockstep, plain and with price strings
respelled the way a venue could but Hyperliquid does not (``"42304"``, ``"42304.00"``: same float, other string),
and with spoiled levels (each must be refused by both and cost nothing after it).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from nautilus_trader.model.data import BookOrder
from nautilus_trader.model.data import OrderBookDelta
from nautilus_trader.model.enums import BookAction
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price
from nautilus_trader.model.objects import Quantity

from adapters.hyperliquid.book_diff import SnapshotDiffer
from adapters.hyperliquid.recordings import iter_ws_messages
from adapters.hyperliquid.schemas.market import BookLevel
from adapters.hyperliquid.schemas.market import L2Book

INSTRUMENT_ID = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
CHECKPOINT_FRAMES = 500  # a reset now and then replays the snapshot path too


def books(path: Path) -> Iterator[L2Book]:
    for _, _, message in iter_ws_messages(path):
        if message.get("channel") == "l2Book":
            yield msgspec.convert(message["data"], L2Book)


def delta_dicts(deltas: list[OrderBookDelta]) -> list[dict]:
    return [OrderBookDelta.to_dict(delta) for delta in deltas]


def respelled(book: L2Book, index: int) -> L2Book:
    """The same book with some price strings written another way for the same float (a frame in three)."""
    if index % 3:
        return book

    def respell(level: BookLevel, position: int) -> BookLevel:
        if position % 2 == 0 and level.px.endswith(".0"):
            return BookLevel(level.px[:-2], level.sz, level.n)
        if position % 3 == 0:
            return BookLevel(level.px + "00" if "." in level.px else level.px, level.sz, level.n)
        return level

    bids, asks = book.levels
    respelled_sides = ([respell(l, i) for i, l in enumerate(bids)], [respell(l, i) for i, l in enumerate(asks)])
    return L2Book(book.coin, book.time, respelled_sides)


def replay_both(frames: Iterator[L2Book], heartbeat: bool) -> int:
    by_float = SnapshotDiffer(INSTRUMENT_ID, 5, 5, heartbeat)
    by_string = SnapshotDiffer(INSTRUMENT_ID, 5, 5, heartbeat)
    compared = 0
    for index, book in enumerate(frames):
        if index and index % CHECKPOINT_FRAMES == 0:
            by_float.reset()
            by_string.reset()
        expected = by_float.diff(*book.parse_levels(), index, index + 1)
        batch = by_string.diff_raw_batch(*book.levels, index, index + 1)
        got = [] if batch is None else batch.deltas
        assert delta_dicts(got) == delta_dicts(expected), f"frame {index}"
        compared += 1
    assert by_string.sequence == by_float.sequence
    return compared



@pytest.fixture(scope="module")
def all_recordings(archive_btc_hour: Path, ws_recording_btc: Path, hl_captures: Path) -> list[Path]:
    return [archive_btc_hour, ws_recording_btc, *sorted(hl_captures.glob("hl_*.gz"))]


@pytest.mark.parametrize("heartbeat", [False, True])
def test_string_diff_equals_float_diff_on_every_real_frame(all_recordings, heartbeat):
    compared = sum(replay_both(books(path), heartbeat) for path in all_recordings)
    assert compared > 6_000


def test_string_diff_equals_float_diff_when_prices_are_respelled(all_recordings):
    for path in all_recordings:
        replay_both((respelled(book, index) for index, book in enumerate(books(path))), heartbeat=False)


@pytest.mark.parametrize(
    "bad",
    [
        ("px", "inf"), ("px", "nan"), ("px", "-1.0"), ("px", "1e20"), ("px", "abc"), ("px", "0.0"),
        ("sz", "0.0"), ("sz", "nan"), ("sz", "1e40"), ("sz", ""),
    ],
)
def test_a_level_either_path_refuses_is_refused_by_both_and_costs_nothing(archive_btc_hour, bad):
    field, value = bad
    frames = list(itertools.islice(books(archive_btc_hour), 6))
    by_float = SnapshotDiffer(INSTRUMENT_ID, 5, 5)
    by_string = SnapshotDiffer(INSTRUMENT_ID, 5, 5)
    for index, book in enumerate(frames):
        bids, asks = book.levels
        for target in (0, len(bids) - 1):  # a changed level, and one that may be unchanged
            level = bids[target]
            spoiled_level = BookLevel(value if field == "px" else level.px, value if field == "sz" else level.sz)
            spoiled = L2Book(book.coin, book.time, ([*bids[:target], spoiled_level, *bids[target + 1:]], asks))
            with pytest.raises(ValueError):
                by_float.diff(*spoiled.parse_levels(), index, index)
            with pytest.raises(ValueError):
                by_string.diff_raw_batch(*spoiled.levels, index, index)
        expected = by_float.diff(*book.parse_levels(), index, index)
        batch = by_string.diff_raw_batch(*book.levels, index, index)
        assert delta_dicts([] if batch is None else batch.deltas) == delta_dicts(expected)


def test_a_repeated_price_is_checked_in_every_copy(archive_btc_hour):
    """The float path parses every level, so an invalid first copy of a price fails the frame even when a later
    copy (the one a dict keeps) is valid; the string path must not read only the kept copy."""
    first, second = itertools.islice(books(archive_btc_hour), 2)
    differ = SnapshotDiffer(INSTRUMENT_ID, 5, 5)
    differ.diff_raw_batch(*first.levels, 1, 1)
    bids, asks = second.levels
    doubled = L2Book(second.coin, second.time, ([BookLevel(bids[0].px, "nan"), *bids], asks))
    with pytest.raises(ValueError):
        doubled.parse_levels()
    with pytest.raises(ValueError):
        differ.diff_raw_batch(*doubled.levels, 2, 2)


def test_every_delta_is_the_one_the_plain_constructors_build(archive_btc_hour):
    """``_build`` reads its attributes once per batch: each delta must still equal one built field by field."""
    differ = SnapshotDiffer(INSTRUMENT_ID, 1, 5)
    checked = 0
    for index, book in enumerate(itertools.islice(books(archive_btc_hour), 1_000)):
        batch = differ.diff_raw_batch(*book.levels, index, index + 1)
        for delta in [] if batch is None else batch.deltas:
            if delta.action == BookAction.CLEAR:
                order = None
            else:
                deleted = delta.action == BookAction.DELETE
                size = Quantity(0, 5) if deleted else Quantity(delta.order.size.as_double(), 5)
                order = BookOrder(delta.order.side, Price(delta.order.price.as_double(), 1), size, 0)
            plain = OrderBookDelta(INSTRUMENT_ID, delta.action, order, delta.flags, delta.sequence, index, index + 1)
            assert OrderBookDelta.to_dict(plain) == OrderBookDelta.to_dict(delta)
            checked += 1
        assert batch is None or batch.deltas[-1].flags & RecordFlag.F_LAST
    assert checked > 5_000


def test_a_heartbeat_names_the_new_frames_first_bid_as_the_float_diff_does():
    """The same levels re-sent in another order change nothing, and the heartbeat (a no-op UPDATE of the first bid)
    must name the new frame's first bid on both paths: the string path used to name the old frame's (review)."""
    instrument_id = InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID")
    first = ([BookLevel("100.0", "1.0", 1), BookLevel("99.0", "2.0", 1)], [BookLevel("101.0", "1.0", 1)])
    reordered = ([BookLevel("99.0", "2.0", 1), BookLevel("100.0", "1.0", 1)], [BookLevel("101.0", "1.0", 1)])
    floats, strings = SnapshotDiffer(instrument_id, 1, 3, True), SnapshotDiffer(instrument_id, 1, 3, True)
    for bids, asks in (first, reordered):
        by_float = floats.diff_batch(
            [(float(b.px), float(b.sz)) for b in bids], [(float(a.px), float(a.sz)) for a in asks], 1, 1
        )
        by_string = strings.diff_raw_batch(bids, asks, 1, 1)
    assert [str(d.order.price) for d in by_float.deltas] == ["99.0"]
    assert delta_dicts(by_string.deltas) == delta_dicts(by_float.deltas)
