"""Every kill-switch trigger, the quote plan it yields, and its persistence, on BTC-shaped numbers.

BTC ≈ 42,700 USD, sizes 0.001–0.05 BTC, max_position 0.05 BTC, equity ≈ 10,000 USD. Times start at the bundled
hour (2024-01-01 12:00:00 UTC).
"""

from __future__ import annotations

import json
import math

import lz4.frame
import pytest

from mm_strategy.models.inventory import Side
from mm_strategy.models.inventory import zone_limits
from mm_strategy.models.kill_switch import NS_PER_S
from mm_strategy.models.kill_switch import KillState
from mm_strategy.models.kill_switch import KillSwitch
from mm_strategy.models.kill_switch import Trigger
from mm_strategy.models.kill_switch import plan_quotes
from mm_strategy.models.risk import RiskConfig

T0 = 1_704_110_400 * NS_PER_S  # 2024-01-01T12:00:00Z
DAY_NS = 86_400 * NS_PER_S
MAX_POS = 0.05
CONFIG = RiskConfig(max_position=MAX_POS, capital_usd=10_000.0)


def at(seconds: float) -> int:
    return T0 + round(seconds * NS_PER_S)


def fresh_switch(config: RiskConfig = CONFIG) -> KillSwitch:
    switch = KillSwitch(config)
    assert switch.on_book(T0, 42_700.0, 42_701.0) == []
    return switch


def only(events):
    assert len(events) == 1, events
    return events[0]


def read_archive_tops(path) -> list[tuple[int, float, float]]:
    """(ts_ns, best bid, best ask) of every snapshot in the S3-archive hour."""
    tops = []
    with lz4.frame.open(path, "rt") as lines:
        for line in lines:
            data = json.loads(line)["raw"]["data"]
            bids, asks = data["levels"]
            tops.append((data["time"] * 1_000_000, float(bids[0]["px"]), float(asks[0]["px"])))
    return tops


def _switch_in(kind: str) -> KillSwitch:
    """A switch driven into a kill state by real inputs; 'paused' variants also pause both sides by fill bursts."""
    switch = fresh_switch()
    if kind.startswith("reducing"):
        switch.on_pnl(at(1), 10_000.0)
        switch.on_pnl(at(2), 9_790.0)  # 2.10% below the day's peak
    if kind.endswith("paused"):
        for i in range(4):
            switch.on_fill(at(3 + 0.1 * i), Side.BID)
            switch.on_fill(at(3 + 0.1 * i), Side.ASK)
    if kind == "halted":
        switch.manual_halt(at(1), "operator test")
    return switch


@pytest.mark.parametrize("kind", ["active", "active_paused", "reducing", "reducing_paused"])
def test_reducing_side_is_quoted_at_every_utilisation_in_every_non_halted_state(kind):
    switch = _switch_in(kind)
    expected_state = KillState.REDUCING if kind.startswith("reducing") else KillState.ACTIVE
    assert switch.state is expected_state
    now = at(4)
    if kind.endswith("paused"):
        assert switch.paused_sides(now) == {Side.BID, Side.ASK}
    for step in range(1, 61):  # u = 0.05 … 3.00
        for sign in (1.0, -1.0):
            position = sign * step * 0.05 * MAX_POS
            reducing, increasing = (Side.ASK, Side.BID) if sign > 0 else (Side.BID, Side.ASK)
            plan = switch.quote_plan(now, position)
            assert not plan.cancel_all
            assert plan.size_mult(reducing) == 1.0, (kind, position)
            assert switch.quotes_allowed(reducing, now, position)
            if plan.reduce_only or kind.endswith("paused"):
                assert plan.size_mult(increasing) == 0.0
            if plan.reduce_only:
                assert plan.reducing_tighten_bps == CONFIG.reducing_tighten_bps


def test_halted_quotes_nothing_at_any_utilisation():
    switch = _switch_in("halted")
    assert switch.state is KillState.HALTED
    for step in range(0, 61):
        for sign in (1.0, -1.0):
            plan = switch.quote_plan(at(4), sign * step * 0.05 * MAX_POS)
            assert plan.cancel_all and plan.bid_size_mult == plan.ask_size_mult == 0.0


def test_flat_and_reduce_only_has_nothing_to_quote():
    plan = _switch_in("reducing").quote_plan(at(4), 0.0)
    assert (plan.bid_size_mult, plan.ask_size_mult, plan.cancel_all) == (0.0, 0.0, False)


# -- every trigger fires -------------------------------------------------------------------------------------


def test_crossed_book_pulls_quotes_until_the_next_valid_book():
    switch = fresh_switch()
    event = only(switch.on_book(at(1), 42_710.0, 42_705.0))
    assert (event.trigger, event.from_state, event.to_state, event.cleared) == (
        Trigger.CROSSED_BOOK,
        KillState.ACTIVE,
        KillState.ACTIVE,
        False,
    )
    assert event.detail == "crossed book: best bid 42710.0 >= best ask 42705.0 (5 through)"
    assert switch.pull_quotes and switch.quote_plan(at(1), 0.0).cancel_all
    cleared = only(switch.on_book(at(1.5), 42_706.0, 42_707.0))
    assert cleared.cleared and cleared.trigger is Trigger.CROSSED_BOOK and not switch.pull_quotes
    assert "invalid book" in only(switch.on_book(at(2), math.nan, 42_707.0)).detail


def test_stale_book_pulls_at_5_s_and_halts_at_30_s_then_clears_on_data():
    switch = fresh_switch()
    assert switch.check_staleness(at(4.9)) == []
    pulled = only(switch.check_staleness(at(5.2)))
    assert (pulled.trigger, pulled.from_state, pulled.to_state) == (
        Trigger.STALE_BOOK,
        KillState.ACTIVE,
        KillState.ACTIVE,
    )
    assert pulled.detail == "last valid book 5.20 s ago >= 5 s"
    assert switch.pull_quotes and switch.state is KillState.ACTIVE
    assert switch.check_staleness(at(10)) == []  # one event per trip
    halted = only(switch.check_staleness(at(30.5)))
    assert (halted.trigger, halted.from_state, halted.to_state) == (
        Trigger.STALE_BOOK_HALT,
        KillState.ACTIVE,
        KillState.HALTED,
    )
    assert halted.detail == "last valid book 30.50 s ago >= 30 s"
    cleared = switch.on_book(at(31), 42_690.0, 42_691.0)
    assert [(e.trigger, e.cleared) for e in cleared] == [(Trigger.STALE_BOOK, True), (Trigger.STALE_BOOK_HALT, True)]
    assert cleared[-1].to_state is KillState.ACTIVE and "after 31.00 s" in cleared[-1].detail
    assert switch.state is KillState.ACTIVE and not switch.pull_quotes


def test_books_that_arrive_on_time_but_were_made_long_ago_are_stale():
    """A feed that keeps its cadence while the venue's books fall behind (an API node behind the chain) is as stale
    as a silent one (review: 8 s behind, the switch stayed ACTIVE while 6 orders rested at prices the venue had
    left). What counts is the lag beyond the feed's least lag of the last 10 minutes, which holds the base latency
    and any constant offset between this host's clock and the venue's."""
    switch = fresh_switch()
    skew_s = 4.6  # this host's clock ahead of the venue's: every book looks 4.6 s older than it is
    for t in (1.0, 1.5, 2.0, 2.5):
        assert switch.on_book(at(t), 42_700.0, 42_701.0, book_ts_ns=at(t - skew_s - 0.5)) == []  # 0.5 s latency
    assert switch.on_book(at(3.0), 42_700.0, 42_701.0, book_ts_ns=at(3.0 - skew_s - 2.9)) == []  # a 2.9 s lag: fine
    assert not switch.pull_quotes
    pulled = only(switch.on_book(at(9), 42_700.0, 42_701.0, book_ts_ns=at(9 - skew_s - 8.2)))  # the venue 7.7 s behind
    assert (pulled.trigger, pulled.cleared, pulled.detail) == (
        Trigger.STALE_BOOK, False, "book made 12.80 s before it landed, beyond the feed's least lag 5.10 s by 7.70 s >= 5 s"
    )
    assert switch.pull_quotes
    assert switch.on_book(at(9.5), 42_700.0, 42_701.0, book_ts_ns=at(9.5 - skew_s - 8.2)) == []  # still late: no clear
    assert switch.check_staleness(at(10)) == [] and switch.pull_quotes
    # no book on time since 3 s: the timer halts at 30 s of it, as for a silent feed
    halted = only(switch.check_staleness(at(33.5)))
    assert (halted.trigger, halted.to_state) == (Trigger.STALE_BOOK_HALT, KillState.HALTED)
    cleared = switch.on_book(at(34), 42_700.0, 42_701.0, book_ts_ns=at(34 - skew_s - 0.6))  # caught up
    assert [(e.trigger, e.cleared) for e in cleared] == [(Trigger.STALE_BOOK, True), (Trigger.STALE_BOOK_HALT, True)]
    assert not switch.pull_quotes and switch.state is KillState.ACTIVE


def test_the_least_lag_is_forgotten_after_ten_minutes():
    """The floor is a trailing minimum: a host clock that steps (an NTP correction) moves it within 10 minutes."""
    switch = fresh_switch()
    assert switch.on_book(at(1), 42_700.0, 42_701.0, book_ts_ns=at(0.9)) == []  # 0.1 s
    for t in range(2, 602, 10):  # the host clock stepped 6 s ahead: pulled while the 0.1 s lag is in the window
        switch.on_book(at(t), 42_700.0, 42_701.0, book_ts_ns=at(t - 6.1))
    assert switch.pull_quotes
    cleared = switch.on_book(at(605), 42_700.0, 42_701.0, book_ts_ns=at(605 - 6.1))  # the 0.1 s lag left the window
    assert [(e.trigger, e.cleared) for e in cleared][0] == (Trigger.STALE_BOOK, True) and not switch.pull_quotes


def test_feed_that_never_starts_halts():
    switch = KillSwitch(CONFIG)
    assert switch.check_staleness(at(0)) == []
    assert [e.trigger for e in switch.check_staleness(at(30))] == [Trigger.STALE_BOOK, Trigger.STALE_BOOK_HALT]


def test_drawdown_from_todays_peak_reduces():
    switch = fresh_switch()
    switch.on_pnl(at(1), 10_000.0)
    assert switch.on_pnl(at(60), 10_150.0) == []
    assert switch.on_pnl(at(120), 9_950.0) == []  # 1.97% below the peak
    event = only(switch.on_pnl(at(180), 9_940.0))
    assert (event.trigger, event.from_state, event.to_state) == (Trigger.DRAWDOWN, KillState.ACTIVE, KillState.REDUCING)
    assert event.detail == "drawdown 210.00 USD = 2.07% from today's peak equity 10150.00 USD > 2.00%"
    assert switch.reduce_only


def test_drawdown_needs_a_meaningful_peak():
    small = RiskConfig(max_position=MAX_POS, capital_usd=200.0, min_peak_usd=100.0)
    switch = fresh_switch(small)
    switch.on_pnl(at(1), 90.0)
    assert switch.on_pnl(at(2), 87.0) == []  # 3.3% below a 90 USD peak, under min_peak; loss 1.5% of capital


def test_daily_loss_halts_after_the_drawdown_reduced():
    switch = fresh_switch()
    switch.on_pnl(at(1), 10_000.0)
    assert only(switch.on_pnl(at(60), 9_790.0)).trigger is Trigger.DRAWDOWN
    event = only(switch.on_pnl(at(120), 9_687.60))
    assert (event.trigger, event.from_state, event.to_state) == (
        Trigger.DAILY_LOSS,
        KillState.REDUCING,
        KillState.HALTED,
    )
    assert event.detail == "daily loss 312.40 USD = 3.12% of capital 10000 > 3.00%"
    assert switch.quote_plan(at(120), 0.02).cancel_all


def test_daily_limits_clear_at_the_utc_day_roll():
    switch = fresh_switch()
    switch.on_pnl(at(0), 10_000.0)
    switch.on_pnl(at(60), 9_600.0)
    assert switch.state is KillState.HALTED
    midnight = T0 + 12 * 3600 * NS_PER_S  # 2024-01-02T00:00:00Z
    cleared = switch.on_book(midnight + NS_PER_S, 42_300.0, 42_301.0)
    assert {e.trigger for e in cleared} == {Trigger.DAILY_LOSS, Trigger.DRAWDOWN}
    assert all(e.cleared and "UTC day rolled from 2024-01-01 to 2024-01-02" in e.detail for e in cleared)
    assert switch.state is KillState.ACTIVE
    assert switch.on_pnl(midnight + 2 * NS_PER_S, 9_600.0) == []  # today's start


def test_position_above_twice_max_reduces_until_back_under_max():
    switch = fresh_switch()
    switch.on_position(at(1), 0.0, had_fill=False)
    event = only(switch.on_position(at(2), 0.11, had_fill=True))
    assert (event.trigger, event.from_state, event.to_state) == (
        Trigger.MAX_POSITION,
        KillState.ACTIVE,
        KillState.REDUCING,
    )
    assert event.detail == "|position| 0.11 > 2 x max_position 0.05 = 0.1"
    assert switch.on_position(at(3), 0.07, had_fill=True) == []
    cleared = only(switch.on_position(at(4), 0.05, had_fill=True))
    assert cleared.cleared and cleared.to_state is KillState.ACTIVE


def test_position_jump_without_fill_is_a_liquidation():
    switch = fresh_switch()
    switch.on_position(at(1), 0.03, had_fill=True)
    event = only(switch.on_position(at(10), 0.0, had_fill=False))
    assert (event.trigger, event.from_state, event.to_state) == (
        Trigger.LIQUIDATION,
        KillState.ACTIVE,
        KillState.HALTED,
    )
    assert event.detail == "position jumped 0.03 -> 0 (|dq| 0.03 = 60% of max 0.05 > 20%) with no fill in 5 s"


def test_position_changes_explained_by_fills_are_not_liquidations():
    switch = fresh_switch()
    switch.on_position(at(1), 0.0, had_fill=False)
    assert switch.on_position(at(2), 0.03, had_fill=True) == []
    switch.on_fill(at(3), Side.ASK)
    assert switch.on_position(at(6), 0.0, had_fill=False) == []  # the fill came 3 s earlier
    assert switch.on_position(at(20), 0.005, had_fill=False) == []  # 10% of max: below the 20% jump
    assert switch.state is KillState.ACTIVE


def test_burst_of_same_side_fills_pauses_that_side():
    switch = fresh_switch()
    for t in (1.0, 1.4, 1.9):
        assert switch.on_fill(at(t), Side.BID) == []
    event = only(switch.on_fill(at(2.5), Side.BID))
    assert (event.trigger, event.from_state, event.to_state) == (Trigger.BURST_BID, KillState.ACTIVE, KillState.ACTIVE)
    assert event.detail == (
        "4 BID aggressor events in 1.50 s (>= 4 within 2 s): BID paused 20 s unless it reduces the position"
    )
    assert switch.paused_sides(at(3)) == {Side.BID}
    plan = switch.quote_plan(at(3), 0.02)  # the burst made us long: the paused bid adds, the ask reduces
    assert (plan.bid_size_mult, plan.ask_size_mult) == (0.0, 1.0)
    assert switch.quote_plan(at(3), -0.02).bid_size_mult == 1.0  # still short: the bid reduces, never paused (E4)
    assert "BID 20s" in switch.status_line()
    ended = only(switch.on_book(at(22.5), 42_700.0, 42_701.0))
    assert ended.cleared and ended.trigger is Trigger.BURST_BID and switch.paused_sides(at(22.5)) == frozenset()


def test_one_sweep_through_several_levels_is_one_aggressor_event():
    # Issue 10 defect 8: one taker order filled 4 of our levels at one timestamp ("4 fills in 0.00 s") and paused
    # the side for minutes. Fills sharing a timestamp or an aggressor key are one event.
    switch = fresh_switch()
    for _ in range(4):
        assert switch.on_fill(at(1.0), Side.ASK, aggressor_key="sweep-1") == []
    for t in (1.5, 1.6, 1.6):  # a second taker order: two fills with one key at different stamps
        assert switch.on_fill(at(t), Side.ASK, aggressor_key="sweep-2") == []
    assert switch.paused_sides(at(2.0)) == frozenset()
    # two more distinct takers make 4 events within 2 s: now it is a burst
    assert switch.on_fill(at(2.0), Side.ASK, aggressor_key="sweep-3") == []
    event = only(switch.on_fill(at(2.2), Side.ASK, aggressor_key="sweep-4"))
    assert event.trigger is Trigger.BURST_ASK and event.detail.startswith("4 ASK aggressor events in 1.20 s")


def test_one_sweep_stamped_microseconds_apart_is_one_aggressor_event():
    # A venue (or recorder) that stamps each print of one taker order on its own, microseconds to a millisecond
    # apart (Binance USD-M on 2024-08-08: 23:57:51.6138 to .6162, one sell sweep through tens of bp of book), gives
    # our fills distinct stamps and keys: they are still one aggressor event while each follows the previous
    # within burst_same_event_s (10 ms). Before, this paused the side for 20 s ("4 BID aggressor events in 0.00 s").
    switch = fresh_switch()
    for t in (1.0, 1.000003, 1.0012, 1.0095):
        assert switch.on_fill(at(t), Side.BID, aggressor_key=f"print-{t}") == []
    assert switch.paused_sides(at(1.1)) == frozenset()
    # distinct takers 50 ms apart are distinct events: 4 of them within 2 s (with the sweep) still make a burst
    for t in (1.06, 1.11):
        assert switch.on_fill(at(t), Side.BID, aggressor_key=f"taker-{t}") == []
    event = only(switch.on_fill(at(1.16), Side.BID, aggressor_key="taker-1.16"))
    assert event.trigger is Trigger.BURST_BID and event.detail.startswith("4 BID aggressor events in 0.15 s")


def test_fills_spread_out_or_on_both_sides_do_not_pause():
    switch = fresh_switch()
    for t in (1.0, 1.8, 2.6, 3.4):  # 4 fills in 2.4 s
        assert switch.on_fill(at(t), Side.ASK) == []
    for i, side in enumerate((Side.BID, Side.ASK) * 3):
        assert switch.on_fill(at(10 + 0.2 * i), side) == []


def test_rate_limit_errors_reduce_until_the_window_clears():
    switch = fresh_switch()
    for t in (1, 10, 20):
        assert switch.on_error(at(t), "rate_limit") == []
    event = only(switch.on_error(at(30), "rate_limit"))
    assert (event.trigger, event.from_state, event.to_state) == (
        Trigger.RATE_LIMIT,
        KillState.ACTIVE,
        KillState.REDUCING,
    )
    assert event.detail == "4 rate_limit errors in the last 60 s > max 3"
    assert switch.on_book(at(60.5), 42_700.0, 42_701.0) == []  # all 4 still within 60 s
    cleared = only(switch.on_book(at(61.5), 42_700.0, 42_701.0))  # the error at 1 s has left the window
    assert (cleared.cleared, cleared.to_state) == (True, KillState.ACTIVE)
    assert cleared.detail == "3 rate_limit errors in the last 60 s <= max 3"


def test_the_errors_of_one_venue_answer_with_one_cause_count_once():
    """One answer refusing a batch of six orders for sending too much is one rate-limit error, not six (which alone
    exceeded the limit of 3); the same for a whole batch rejected for one cause. Orders refused each for its own
    reason within one answer count each."""
    switch = fresh_switch()
    for answer_s in (1, 10, 20):
        for _ in range(6):  # the six orders of one batch, refused by one answer
            assert switch.on_error(at(answer_s), "rate_limit", answer=(at(answer_s), "429")) == []
    event = only(switch.on_error(at(30), "rate_limit", answer=(at(30), "429")))
    assert event.trigger == Trigger.RATE_LIMIT and event.detail == "4 rate_limit errors in the last 60 s > max 3"
    rejects = fresh_switch()
    for answer_s in range(1, 21):
        for _ in range(8):  # a lost batch of eight orders, never placed
            assert rejects.on_error(at(answer_s), "reject", answer=(at(answer_s), "not placed")) == []
    assert only(rejects.on_error(at(21), "reject", answer=(at(21), "not placed"))).trigger == Trigger.REJECTS
    interleaved = fresh_switch()
    for _ in range(8):  # three lost batches of eight whose orders' look-ups end in turns: A, B, C, A, B, C, ...
        for batch in "ABC":  # 24 rejections, 3 answers: no trip (> 20)
            assert interleaved.on_error(at(5), "reject", answer=(at(1), f"not placed: batch {batch}")) == []
    own_reasons = fresh_switch()
    for k in range(20):  # one answer, twenty orders each refused for its own reason
        assert own_reasons.on_error(at(1), "reject", answer=(at(1), f"order {k}: bad price")) == []
    assert only(own_reasons.on_error(at(1), "reject", answer=(at(1), "order 20: bad price"))).trigger == Trigger.REJECTS


def test_errors_leave_their_window_while_no_reason_is_active():
    # the usual input finds nothing to roll, end or forget; errors below the limit must still expire meanwhile
    switch = fresh_switch()
    for t in (1, 2, 3):
        assert switch.on_error(at(t), "rate_limit") == []
    assert switch.on_book(at(70), 42_700.0, 42_701.0) == []
    assert switch.on_error(at(71), "rate_limit") == []  # 1 in the window, not 4
    assert switch.state is KillState.ACTIVE


def test_the_utc_day_rolls_while_no_reason_is_active():
    switch = fresh_switch()
    assert switch.on_pnl(at(1), 10_000.0) == []
    assert switch.on_quote_cycle(at(1) + DAY_NS, 0.0, reducing_side_quoted=True) == []
    # a new day's first equity is its start: 3.5% under yesterday's start is no daily loss today
    assert switch.on_pnl(at(2) + DAY_NS, 9_650.0) == []
    assert "day +0.00" in switch.status_line()


def test_every_quote_plan_is_the_one_built_from_the_current_state():
    # quote_plan reuses its last plan while no reason is active and the position is unchanged: through pauses,
    # a halt, a resume and position changes, each answer (asked twice) is the plan built from the switch's state
    switch = fresh_switch()
    steps = [
        lambda t: switch.on_book(at(t), 42_700.0, 42_701.0),
        lambda t: [e for i in range(4) for e in switch.on_fill(at(t + 0.1 * i), Side.BID)],  # bid paused
        lambda t: switch.on_book(at(t + 30), 42_700.0, 42_701.0),  # the pause has ended
        lambda t: switch.manual_halt(at(t + 31), "test"),
        lambda t: switch.manual_resume(at(t + 32)),
        lambda t: switch.on_book(at(t + 33), 42_700.0, 42_700.0),  # crossed: pulled
        lambda t: switch.on_book(at(t + 34), 42_700.0, 42_701.0),
    ]
    asked = 0
    for t, step in enumerate(steps):
        step(t)
        now = max(at(t), switch._now_ns)
        for position in (0.0, 0.0, 0.02, 0.02, -0.045, 0.0):
            expected = plan_quotes(
                zone_limits(position, MAX_POS, CONFIG),
                position,
                switch.state,
                switch.pull_quotes,
                switch.paused_sides(now),
                CONFIG.reducing_tighten_bps,
            )
            assert switch.quote_plan(now, position) == expected, (t, position)
            asked += 1
    assert asked == 42


def test_rejects_reduce():
    switch = fresh_switch()
    events = [e for i in range(21) for e in switch.on_error(at(1 + i), "reject")]
    event = only(events)
    assert (event.trigger, event.to_state) == (Trigger.REJECTS, KillState.REDUCING)
    assert event.detail == "21 reject errors in the last 60 s > max 20"


def test_inventory_stuck_warns_after_5_s_and_halts_after_15_s():
    switch = fresh_switch()
    position = 0.03
    for t in (1.0, 2.0, 5.9):  # stuck since 1 s: 4.9 s
        assert switch.on_quote_cycle(at(t), position, reducing_side_quoted=False) == []
    warn = only(switch.on_quote_cycle(at(6.0), position, reducing_side_quoted=False))
    assert (warn.trigger, warn.from_state, warn.to_state) == (
        Trigger.INVENTORY_STUCK_WARN,
        KillState.ACTIVE,
        KillState.REDUCING,
    )
    assert warn.detail == "no reducing quote for 5.00 s with position 0.03 (60% of max 0.05) >= 5 s"
    events = [e for t in (8.0, 12.0, 15.9, 16.0) for e in switch.on_quote_cycle(at(t), position, False)]
    halt = only(events)
    assert (halt.trigger, halt.from_state, halt.to_state) == (
        Trigger.INVENTORY_STUCK,
        KillState.REDUCING,
        KillState.HALTED,
    )
    assert halt.detail == "no reducing quote for 15.00 s with position 0.03 (60% of max 0.05) >= 15 s"


def test_a_fast_data_rate_alone_does_not_halt():
    # The fault suite at 10x replay: 30 quote cycles within about a second of a lost cancel answer latched the
    # halt (30 cycles was the rule). What counts is how long the reducing side went unquoted.
    switch = fresh_switch()
    for cycle in range(200):
        assert switch.on_quote_cycle(at(1.0 + 0.02 * cycle), 0.03, reducing_side_quoted=False) == []  # 3.98 s
    assert switch.state is KillState.ACTIVE


def test_reducing_quote_or_dust_resets_the_stuck_clock():
    switch = fresh_switch()
    for t in range(1, 5):
        switch.on_quote_cycle(at(t), -0.03, reducing_side_quoted=False)
    assert switch.on_quote_cycle(at(5.5), -0.03, reducing_side_quoted=True) == []  # 4.5 s, then quoted again
    assert all(switch.on_quote_cycle(at(6 + c), -0.03, False) == [] for c in range(5))  # a new 4 s stretch
    assert all(switch.on_quote_cycle(at(30 + c), 0.004, False) == [] for c in range(50))  # 8% of max: dust


def test_manual_halt_and_resume():
    switch = fresh_switch()
    event = only(switch.manual_halt(at(1), "venue maintenance"))
    assert (event.trigger, event.to_state) == (Trigger.MANUAL, KillState.HALTED)
    assert event.detail == "manual halt: venue maintenance"
    resumed = only(switch.manual_resume(at(2)))
    assert resumed.cleared and resumed.to_state is KillState.ACTIVE


def test_status_line_for_operators():
    switch = fresh_switch()
    switch.on_pnl(at(1), 10_000.0)
    switch.on_pnl(at(2), 10_150.0)
    switch.on_pnl(at(3), 9_940.0)
    for i in range(4):
        switch.on_fill(at(4 + 0.1 * i), Side.ASK)
    assert switch.status_line() == (
        "risk REDUCING | reasons: drawdown, burst_ask | pull: no | paused: ASK 20s | "
        "equity 9940.00 USD (day -60.00, peak 10150.00) | events: 2"
    )


def test_events_serialise_for_the_report():
    switch = fresh_switch()
    switch.manual_halt(at(1), "x")
    assert json.loads(json.dumps([e.as_dict() for e in switch.events]))[0]["to_state"] == "HALTED"
    assert str(switch.events[0]).startswith("kill switch manual tripped: ACTIVE -> HALTED")


# -- real data -------------------------------------------------------------------------------------------------


def test_no_false_trip_over_the_real_hour(archive_btc_hour):
    tops = read_archive_tops(archive_btc_hour)
    switch = KillSwitch(CONFIG)
    events = []
    for ts_ns, bid, ask in tops:
        events += switch.check_staleness(ts_ns)  # age at arrival = the gap since the previous snapshot
        events += switch.on_book(ts_ns, bid, ask)
        events += switch.on_quote_cycle(ts_ns, 0.0, reducing_side_quoted=False)
    assert events == []
    assert switch.state is KillState.ACTIVE and not switch.pull_quotes
    max_gap_s = max(b[0] - a[0] for a, b in zip(tops, tops[1:])) / NS_PER_S
    assert len(tops) == 5_587 and 2.5 < max_gap_s < CONFIG.stale_pull_s


def test_a_gap_cut_into_the_real_hour_pulls_then_halts_then_recovers(archive_btc_hour):
    tops = read_archive_tops(archive_btc_hour)
    cut_from, cut_to = tops[1000][0], tops[1000][0] + 40 * NS_PER_S
    switch = KillSwitch(CONFIG)
    events = []
    timer_ns = tops[0][0]
    for ts_ns, bid, ask in tops:
        while timer_ns < ts_ns:  # a 1 s timer, as the strategy runs
            events += switch.check_staleness(timer_ns)
            timer_ns += NS_PER_S
        if not cut_from < ts_ns < cut_to:
            events += switch.on_book(ts_ns, bid, ask)
    assert [(e.trigger, e.to_state, e.cleared) for e in events] == [
        (Trigger.STALE_BOOK, KillState.ACTIVE, False),
        (Trigger.STALE_BOOK_HALT, KillState.HALTED, False),
        (Trigger.STALE_BOOK, KillState.HALTED, True),
        (Trigger.STALE_BOOK_HALT, KillState.ACTIVE, True),
    ]
    assert switch.state is KillState.ACTIVE


# -- persistence ------------------------------------------------------------------------------------------------


def roundtrip(switch: KillSwitch, now_ns: int) -> KillSwitch:
    return KillSwitch.restore(CONFIG, json.loads(json.dumps(switch.to_state())), now_ns)


def test_liquidation_halt_survives_restore_even_days_later():
    switch = fresh_switch()
    switch.on_position(at(1), 0.03, had_fill=True)
    switch.on_position(at(10), 0.0, had_fill=False)
    restored = roundtrip(switch, at(10) + 2 * DAY_NS)
    assert restored.state is KillState.HALTED and restored.reasons == (Trigger.LIQUIDATION,)
    event = only(restored.events)
    assert (event.from_state, event.to_state) == (KillState.ACTIVE, KillState.HALTED)
    assert event.detail.startswith("restored from 2024-01-01T12:00:10Z: position jumped 0.03 -> 0")


def test_transient_reasons_clear_on_restore():
    switch = fresh_switch()
    switch.check_staleness(at(31))
    switch.on_fill(at(32), Side.ASK)
    assert switch.state is KillState.HALTED
    restored = roundtrip(switch, at(40))
    assert restored.state is KillState.ACTIVE and restored.reasons == () and restored.events == ()


def test_yesterdays_daily_loss_does_not_block_today():
    switch = fresh_switch()
    switch.on_pnl(at(0), 10_000.0)
    switch.on_pnl(at(60), 9_600.0)
    assert switch.state is KillState.HALTED
    restored = roundtrip(switch, at(60) + DAY_NS)
    assert restored.state is KillState.ACTIVE
    assert {e.trigger for e in restored.events} == {Trigger.DAILY_LOSS, Trigger.DRAWDOWN}
    assert all("recorded on 2024-01-01 UTC, today is 2024-01-02" in e.detail for e in restored.events)
    assert restored.on_pnl(at(61) + DAY_NS, 9_600.0) == []  # a new day starts from today's equity


def test_todays_limits_start_and_peak_survive_restore():
    switch = fresh_switch()
    switch.on_pnl(at(0), 10_000.0)
    switch.on_pnl(at(60), 10_150.0)
    restored = roundtrip(switch, at(120))
    assert restored.state is KillState.ACTIVE
    assert only(restored.on_pnl(at(121), 9_940.0)).trigger is Trigger.DRAWDOWN  # the peak persisted
    assert only(restored.on_pnl(at(122), 9_680.0)).detail.startswith("daily loss 320.00 USD")  # so did the start
    halted_today = roundtrip(restored, at(200))
    assert halted_today.state is KillState.HALTED
    assert set(halted_today.reasons) == {Trigger.DRAWDOWN, Trigger.DAILY_LOSS}


def test_restore_rejects_an_unknown_state_version():
    with pytest.raises(ValueError, match="version"):
        KillSwitch.restore(CONFIG, {"version": 99}, T0)


def test_a_denied_order_list_is_one_answer_whatever_times_its_denials_carry():
    """NautilusTrader's risk engine denies a list's orders one by one, live each at its own clock read: the list is
    the answer. A venue answer's events share their time; modify refusals of one order list in two answers differ."""
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.events import OrderDenied
    from nautilus_trader.model.events import OrderModifyRejected
    from nautilus_trader.model.identifiers import AccountId
    from nautilus_trader.model.identifiers import ClientOrderId
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.identifiers import OrderListId
    from nautilus_trader.model.identifiers import StrategyId
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.model.identifiers import VenueOrderId

    from mm_strategy.strategy import refusal_answer

    ids = (TraderId("MM-001"), StrategyId("S-001"), InstrumentId.from_str("BTC-USD-PERP.HYPERLIQUID"))
    reason = "OrderList OL-1 DENIED: max notional"
    denials = [OrderDenied(*ids, ClientOrderId(f"O-{k}"), reason, UUID4(), at(1) + k) for k in range(3)]
    assert len({refusal_answer(event, OrderListId("OL-1")) for event in denials}) == 1
    assert len({refusal_answer(event, None) for event in denials}) == 3, "single orders: their own times"
    modifies = [
        OrderModifyRejected(*ids, ClientOrderId(f"O-{k}"), VenueOrderId("1"), AccountId("HL-1"), "429", UUID4(),
                            at(k), at(k))
        for k in range(2)
    ]
    assert len({refusal_answer(event, OrderListId("OL-1")) for event in modifies}) == 2
