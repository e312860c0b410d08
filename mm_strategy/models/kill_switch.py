"""Kill switch: the state machine that decides what may be quoted (DESIGN §5, inventory §A.9).

Framework-free (stdlib only): the strategy feeds the inputs, logs the events it gets back and quotes from
:meth:`KillSwitch.quote_plan`. Time is always the caller's ``ts_ns`` (the engine clock): nothing here reads a wall
clock.

Kill switch states: ACTIVE → REDUCING (reduce-only, reducing side tightened) → HALTED (cancel all, no orders).
The state is the most severe effect among the active reasons, so several reasons can be active at once and
each clears on its own. ``pull`` is a data-quality gate, not a state: it cancels all quotes until the book is
valid and fresh again (a quote cannot be priced off a crossed or stale book, §A.9.2, lesson E13).

====================  ==============================================  ========  =========  ======================
trigger               condition (defaults)                            effect    kind       clears when
====================  ==============================================  ========  =========  ======================
crossed_book          bid ≥ ask, or a side not finite and > 0         pull      transient  next valid book
stale_book            no valid book for ≥ stale_pull_s (5 s), or one  pull      transient  next valid book on time
                      that landed ≥ stale_pull_s later than the
                      feed's least lag in 10 min (venue time)
stale_book_halt       the same for ≥ stale_halt_s (30 s)              HALTED    transient  next valid book on time
rate_limit            > max_rate_limit_errors (3) in 60 s             REDUCING  transient  window back to ≤ 3
rejects               > max_rejects (20) in 60 s                      REDUCING  transient  window back to ≤ 20
burst_bid, burst_ask  ≥ burst_events (4) same-side aggressor events   pause     transient  side_pause_s (20 s)
                      in 2 s (a sweep of several levels is one, even
                      when its prints come up to 10 ms apart)
max_position          |q| > 2 × max_position                          REDUCING  transient  |q| ≤ max_position
inventory_stuck_warn  no reducing quote 5 s, |q| ≥ 10% of max        REDUCING  transient  a reducing quote
drawdown              equity > 2% below today's peak (≥ min_peak)     REDUCING  daily      UTC day roll, resume
daily_loss            today's loss > 3% of capital                    HALTED    daily      UTC day roll, resume
inventory_stuck       no reducing quote for 15 s                      HALTED    latched    manual_resume
liquidation           |Δq| > 20% of max with no fill in the last 5 s  HALTED    latched    manual_resume
manual                operator                                        HALTED    latched    manual_resume
====================  ==============================================  ========  =========  ======================

Why these severities: losses escalate (giving back 2% from the day's high → stop adding risk; losing the daily
budget → stop). Too large a position or API trouble calls for fewer orders on one side, not none (reduce-only
halves the request rate, lesson E7, and keeps the reducing side, E4). A liquidation, a quoting pipeline that
cannot quote the reducing side for 15 s (E4's "kill at 30" cycles of about 0.5 s) and an operator halt mean something is broken
that a person must look at. A dead feed halts but clears itself when data returns: it is transient in the
original too (§A.9.1) and nobody should have to restart a bot because a websocket reconnected (E1).

The reducing side is never dropped by any filter (lesson E4): not by the zones, not by REDUCING, not by a burst
pause (a pause on the side that still reduces the position is ignored). Only HALTED and the data-quality pull
remove all quotes. A flat position has no reducing side, so reduce-only with ``q = 0`` quotes nothing.

Persistence (DESIGN §5, lesson E8): :meth:`KillSwitch.to_state` keeps daily and latched reasons plus today's
start and peak equity; :meth:`KillSwitch.restore` drops daily reasons recorded on another UTC day. Transient
reasons are not saved: the condition is measured again from live inputs after a restart.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Hashable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from enum import Enum
from enum import StrEnum

import msgspec

from mm_strategy.models.inventory import InventoryZone
from mm_strategy.models.inventory import Side
from mm_strategy.models.inventory import ZoneDecision
from mm_strategy.models.inventory import reducing_side
from mm_strategy.models.inventory import zone_limits
from mm_strategy.models.risk import RiskConfig
from mm_strategy.models.risk import utilisation

NS_PER_S = 1_000_000_000
NS_PER_DAY = 86_400 * NS_PER_S
_EPOCH = date(1970, 1, 1)
STATE_VERSION = 1


class KillState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class Effect(Enum):
    PULL = "pull"
    PAUSE_SIDE = "pause_side"
    REDUCE = "reduce"
    HALT = "halt"


class Persistence(Enum):
    TRANSIENT = "transient"  # clears when the measured condition clears; not saved
    DAILY = "daily"  # clears at the UTC day roll or manual_resume; saved
    LATCHED = "latched"  # clears only on manual_resume; saved


class Trigger(StrEnum):
    CROSSED_BOOK = "crossed_book"
    STALE_BOOK = "stale_book"
    STALE_BOOK_HALT = "stale_book_halt"
    RATE_LIMIT = "rate_limit"
    REJECTS = "rejects"
    BURST_BID = "burst_bid"
    BURST_ASK = "burst_ask"
    MAX_POSITION = "max_position"
    INVENTORY_STUCK_WARN = "inventory_stuck_warn"
    DRAWDOWN = "drawdown"
    DAILY_LOSS = "daily_loss"
    INVENTORY_STUCK = "inventory_stuck"
    LIQUIDATION = "liquidation"
    MANUAL = "manual"


RULES: dict[Trigger, tuple[Effect, Persistence]] = {
    Trigger.CROSSED_BOOK: (Effect.PULL, Persistence.TRANSIENT),
    Trigger.STALE_BOOK: (Effect.PULL, Persistence.TRANSIENT),
    Trigger.STALE_BOOK_HALT: (Effect.HALT, Persistence.TRANSIENT),
    Trigger.RATE_LIMIT: (Effect.REDUCE, Persistence.TRANSIENT),
    Trigger.REJECTS: (Effect.REDUCE, Persistence.TRANSIENT),
    Trigger.BURST_BID: (Effect.PAUSE_SIDE, Persistence.TRANSIENT),
    Trigger.BURST_ASK: (Effect.PAUSE_SIDE, Persistence.TRANSIENT),
    Trigger.MAX_POSITION: (Effect.REDUCE, Persistence.TRANSIENT),
    Trigger.INVENTORY_STUCK_WARN: (Effect.REDUCE, Persistence.TRANSIENT),
    Trigger.DRAWDOWN: (Effect.REDUCE, Persistence.DAILY),
    Trigger.DAILY_LOSS: (Effect.HALT, Persistence.DAILY),
    Trigger.INVENTORY_STUCK: (Effect.HALT, Persistence.LATCHED),
    Trigger.LIQUIDATION: (Effect.HALT, Persistence.LATCHED),
    Trigger.MANUAL: (Effect.HALT, Persistence.LATCHED),
}

_BURST_TRIGGER = {Side.BID: Trigger.BURST_BID, Side.ASK: Trigger.BURST_ASK}
_BOOK_TRIGGERS = (Trigger.CROSSED_BOOK, Trigger.STALE_BOOK, Trigger.STALE_BOOK_HALT)  # a valid book clears them
_CROSSED_ONLY = (Trigger.CROSSED_BOOK,)  # what a valid book that landed late clears
# The feed's base lag (latency plus any clock offset) is the least lag of this long a trailing window (``on_book``)
LAG_FLOOR_WINDOW_S = 600.0
_LAG_FLOOR_WINDOW_NS = round(LAG_FLOOR_WINDOW_S * NS_PER_S)
_NO_SIDES: frozenset[Side] = frozenset()


class ErrorKind(StrEnum):
    RATE_LIMIT = "rate_limit"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class KillEvent:
    """One trip or clear of one trigger, with the numbers that caused it; the strategy logs it, the report lists it."""

    ts_ns: int
    trigger: Trigger
    from_state: KillState
    to_state: KillState
    detail: str
    cleared: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "ts_ns": self.ts_ns,
            "trigger": str(self.trigger),
            "from_state": str(self.from_state),
            "to_state": str(self.to_state),
            "detail": self.detail,
            "cleared": self.cleared,
        }

    def __str__(self) -> str:
        verb = "cleared" if self.cleared else "tripped"
        return f"kill switch {self.trigger} {verb}: {self.from_state} -> {self.to_state}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ActiveReason:
    trigger: Trigger
    since_ns: int
    detail: str
    until_ns: int | None = None  # side pauses end by themselves


class QuotePlan(msgspec.Struct, frozen=True):
    """What the strategy may quote this cycle: size multipliers per side (0 = do not quote that side).

    ``cancel_all`` is set when HALTED or pulled. Otherwise the reducing side's multiplier is > 0 (lesson E4).
    With ``reduce_only`` the reducing side's depth is tightened by ``reducing_tighten_bps``.
    """

    zone: InventoryZone
    state: KillState
    bid_size_mult: float
    ask_size_mult: float
    reduce_only: bool
    reducing_tighten_bps: float
    cancel_all: bool

    def size_mult(self, side: Side) -> float:
        return self.bid_size_mult if side is Side.BID else self.ask_size_mult


def plan_quotes(
    zone: ZoneDecision,
    position: float,
    state: KillState,
    pull_quotes: bool,
    paused_sides: frozenset[Side],
    reducing_tighten_bps: float,
) -> QuotePlan:
    """Combine the inventory zone with the kill switch; no filter here can remove the reducing side (E4, E6)."""
    if state is KillState.HALTED or pull_quotes:
        return QuotePlan(zone.zone, state, 0.0, 0.0, reduce_only=False, reducing_tighten_bps=0.0, cancel_all=True)
    reducing = reducing_side(position)
    reduce_only = zone.reduce_only or state is KillState.REDUCING
    mults = {Side.BID: zone.bid_size_mult, Side.ASK: zone.ask_size_mult}
    for side in Side:
        if side is not reducing and (reduce_only or side in paused_sides):
            mults[side] = 0.0
    tighten_bps = reducing_tighten_bps if reduce_only and reducing is not None else 0.0
    return QuotePlan(zone.zone, state, mults[Side.BID], mults[Side.ASK], reduce_only, tighten_bps, cancel_all=False)


class KillSwitch:
    """The kill switch state machine (module docstring has the trigger table).

    Every ``on_*`` input returns the events it produced (usually none) so the caller can log them; all events
    are kept in :attr:`events` for the session report. Queries never change state.
    """

    def __init__(self, config: RiskConfig) -> None:
        self._config = config
        self._active: dict[Trigger, ActiveReason] = {}
        self._events: list[KillEvent] = []
        self._now_ns = 0
        self._last_book_ns: int | None = None  # when the last valid book that was not late arrived
        self._staleness_anchor_ns: int | None = None
        self._lags: deque[tuple[int, int]] = deque()  # (ts_ns, venue-to-arrival lag): increasing lags, for the floor
        self._day: int | None = None  # UTC days since the epoch of the anchors below
        self._day_start_equity_usd = math.nan
        self._peak_equity_usd = math.nan
        self._equity_usd = math.nan
        self._last_position: float | None = None
        self._last_fill_ns: int | None = None
        self._fills_ns: dict[Side, deque[tuple[int, str | None]]] = {side: deque() for side in Side}  # (ts, key)
        self._same_event_ns = round(config.burst_same_event_s * NS_PER_S)
        self._errors_ns: dict[ErrorKind, deque[int]] = {kind: deque() for kind in ErrorKind}
        # per kind, the answers (``on_error``) of the errors in the window, with their times
        self._answers: dict[ErrorKind, dict[Hashable, int]] = {kind: {} for kind in ErrorKind}
        self._stuck_since_ns: int | None = None  # first quote cycle without a reducing quote, while it lasts
        self._calm_plan: tuple[float, QuotePlan] | None = None  # (position, plan) with no reason active

    # -- queries ---------------------------------------------------------------------------------------

    @property
    def config(self) -> RiskConfig:
        return self._config

    @property
    def state(self) -> KillState:
        if not self._active:
            return KillState.ACTIVE
        effects = {RULES[trigger][0] for trigger in self._active}
        if Effect.HALT in effects:
            return KillState.HALTED
        if Effect.REDUCE in effects:
            return KillState.REDUCING
        return KillState.ACTIVE

    @property
    def reasons(self) -> tuple[Trigger, ...]:
        return tuple(self._active)

    @property
    def reduce_only(self) -> bool:
        return self.state is KillState.REDUCING

    @property
    def pull_quotes(self) -> bool:
        if not self._active:
            return False
        return any(RULES[trigger][0] is Effect.PULL for trigger in self._active)

    @property
    def events(self) -> tuple[KillEvent, ...]:
        return tuple(self._events)

    def paused_sides(self, ts_ns: int) -> frozenset[Side]:
        if not self._active:
            return _NO_SIDES
        return frozenset(
            side
            for side, trigger in _BURST_TRIGGER.items()
            if trigger in self._active and self._active[trigger].until_ns > ts_ns
        )

    def quote_plan(self, ts_ns: int, position: float) -> QuotePlan:
        """Zones plus kill state plus side pauses for this position: the one answer the strategy quotes from.

        With no reason active the plan depends on the position alone; the last such plan is reused while the
        position is unchanged (every quote cycle asks, the position changes only with a fill).
        """
        if not self._active and self._calm_plan is not None and self._calm_plan[0] == position:
            return self._calm_plan[1]
        zone = zone_limits(position, self._config.max_position, self._config)
        plan = plan_quotes(
            zone, position, self.state, self.pull_quotes, self.paused_sides(ts_ns), self._config.reducing_tighten_bps
        )
        if not self._active:
            self._calm_plan = (position, plan)
        return plan

    def quotes_allowed(self, side: Side, ts_ns: int, position: float) -> bool:
        """Whether ``side`` may be quoted now; needs the position because the reducing side is never paused (E4)."""
        return self.quote_plan(ts_ns, position).size_mult(side) > 0.0

    def status_line(self) -> str:
        """One line for operators (the original logged a summary every 5 s, §B10)."""
        reasons = ", ".join(self._active) or "none"
        paused = ", ".join(
            f"{side} {(self._active[_BURST_TRIGGER[side]].until_ns - self._now_ns) / NS_PER_S:.0f}s"
            for side in sorted(self.paused_sides(self._now_ns))
        )
        if self._day is None or math.isnan(self._equity_usd):
            pnl = "equity n/a"
        else:
            pnl = (
                f"equity {self._equity_usd:.2f} USD (day {self._equity_usd - self._day_start_equity_usd:+.2f}, "
                f"peak {self._peak_equity_usd:.2f})"
            )
        return (
            f"risk {self.state} | reasons: {reasons} | pull: {'yes' if self.pull_quotes else 'no'} | "
            f"paused: {paused or 'none'} | {pnl} | events: {len(self._events)}"
        )

    # -- inputs ----------------------------------------------------------------------------------------

    def on_book(
        self, ts_ns: int, best_bid: float, best_ask: float, book_ts_ns: int | None = None
    ) -> list[KillEvent]:
        """A top of book: a crossed or invalid one pulls quotes (§A.9.2); a valid one clears staleness unless it
        arrived late.

        ``book_ts_ns`` is when the venue made the book (default ``ts_ns``). A feed that keeps its cadence but delivers
        books the venue made seconds ago (an API node behind the chain) is as stale as a silent one, and was quoted
        against for as long as the lag lasted (review: 8 s behind, 6 orders rested and 20 quote cycles ran at prices
        the venue had left). The lag that counts is the excess over the least lag of the last
        ``LAG_FLOOR_WINDOW_S``: that floor holds the feed's base latency and any constant offset between this host's
        clock and the venue's, which the engine clock (receive time, the clock of every other check here) must not
        turn into a pull (a host 2 s ahead would otherwise pull on the bundled data's normal 2.9 s lags). A venue
        already lagging when the feed starts, or lagging for longer than the floor's window, is not seen here; the
        data client logs every book that lands more than its ``book_lag_secs`` after its venue time.
        """
        events = self._advance(ts_ns)
        problem = _book_problem(best_bid, best_ask)
        if problem is not None:
            return events + self._trip(Trigger.CROSSED_BOOK, problem)
        excess_s = 0.0 if book_ts_ns is None else self._excess_lag_s(ts_ns, book_ts_ns)
        late = excess_s >= self._config.stale_pull_s
        # a late book is still a valid one (it clears a crossed book), but not a fresh one
        clears = _CROSSED_ONLY if late else _BOOK_TRIGGERS
        cleared = [t for t in clears if t in self._active] if self._active else ()
        if cleared:  # the detail is written only for an event (almost every book clears nothing)
            since = "" if self._last_book_ns is None else f" after {(ts_ns - self._last_book_ns) / NS_PER_S:.2f} s"
            for trigger in cleared:
                events += self._clear(trigger, f"valid book {best_bid} / {best_ask}{since}")
        if not late:
            self._last_book_ns = ts_ns
            return events
        floor_s = self._lags[0][1] / NS_PER_S
        what = f"book made {excess_s + floor_s:.2f} s before it landed, beyond the feed's least lag {floor_s:.2f} s by"
        return events + self._stale(excess_s, what)

    def _excess_lag_s(self, ts_ns: int, book_ts_ns: int) -> float:
        """How much later than the least lag of the last ``LAG_FLOOR_WINDOW_S`` this book landed (a sliding
        minimum: O(1) amortised)."""
        lag_ns = ts_ns - book_ts_ns
        lags = self._lags
        cutoff_ns = ts_ns - _LAG_FLOOR_WINDOW_NS
        while lags and lags[0][0] < cutoff_ns:
            lags.popleft()
        while lags and lags[-1][1] >= lag_ns:
            lags.pop()
        lags.append((ts_ns, lag_ns))
        return (lag_ns - lags[0][1]) / NS_PER_S

    def check_staleness(self, ts_ns: int) -> list[KillEvent]:
        """Timer check: ≥ stale_pull_s without a valid book that landed on time (``on_book``) pulls quotes,
        ≥ stale_halt_s halts (§A.9.1, E13).

        Before the first book the clock starts at the first check, so a feed that never starts also halts.
        """
        events = self._advance(ts_ns)
        if self._staleness_anchor_ns is None:
            self._staleness_anchor_ns = ts_ns
        last_ns = self._last_book_ns if self._last_book_ns is not None else self._staleness_anchor_ns
        return events + self._stale((ts_ns - last_ns) / NS_PER_S, "last valid book", " ago")

    def _stale(self, age_s: float, what: str, after: str = "") -> list[KillEvent]:
        """Trip the stale pull and halt that ``age_s`` reaches, with the detail "<what> <age_s> s<after> >= <limit> s"."""
        cfg = self._config
        events = []
        if age_s >= cfg.stale_pull_s:
            events += self._trip(Trigger.STALE_BOOK, f"{what} {age_s:.2f} s{after} >= {cfg.stale_pull_s:g} s")
        if age_s >= cfg.stale_halt_s:
            events += self._trip(Trigger.STALE_BOOK_HALT, f"{what} {age_s:.2f} s{after} >= {cfg.stale_halt_s:g} s")
        return events

    def on_pnl(self, ts_ns: int, equity_usd: float) -> list[KillEvent]:
        """Account equity (realized + unrealized, net of fees): daily loss and drawdown checks (§A.9.1, E8).

        Equity (an account value) rather than session PnL, so a persisted start and peak still mean the same
        after a restart. The first value of a UTC day is that day's start. Daily loss is measured against ``capital_usd``; drawdown
        is from today's peak equity and only once that peak is ≥ ``min_peak_usd`` (a meaningful denominator).
        """
        if not math.isfinite(equity_usd):
            raise ValueError(f"equity_usd must be finite, got {equity_usd!r}")
        events = self._advance(ts_ns)
        cfg = self._config
        if self._day is None:
            self._day = ts_ns // NS_PER_DAY
            self._day_start_equity_usd = self._peak_equity_usd = equity_usd
        self._equity_usd = equity_usd
        self._peak_equity_usd = max(self._peak_equity_usd, equity_usd)
        loss_usd = self._day_start_equity_usd - equity_usd
        loss_pct = 100.0 * loss_usd / cfg.capital_usd
        if loss_pct > cfg.max_daily_loss_pct:
            events += self._trip(
                Trigger.DAILY_LOSS,
                f"daily loss {loss_usd:.2f} USD = {loss_pct:.2f}% of capital {cfg.capital_usd:g} "
                f"> {cfg.max_daily_loss_pct:.2f}%",
            )
        peak = self._peak_equity_usd
        drawdown_pct = 100.0 * (peak - equity_usd) / peak if peak >= cfg.min_peak_usd else 0.0
        if drawdown_pct > cfg.max_drawdown_pct:
            events += self._trip(
                Trigger.DRAWDOWN,
                f"drawdown {peak - equity_usd:.2f} USD = {drawdown_pct:.2f}% from today's peak equity "
                f"{peak:.2f} USD > {cfg.max_drawdown_pct:.2f}%",
            )
        return events

    def on_position(self, ts_ns: int, position: float, had_fill: bool) -> list[KillEvent]:
        """Position from the venue (authoritative, E13): the 2× max-position and liquidation triggers.

        ``had_fill`` says whether one of our fills explains the change since the previous call; a fill seen
        by :meth:`on_fill` within ``liquidation_fill_grace_s`` also does (fills and position reports arrive
        in either order live). After a restart the first call only sets the baseline.
        """
        events = self._advance(ts_ns)
        cfg = self._config
        previous, self._last_position = self._last_position, position
        if previous is not None and not had_fill and not self._recent_fill(ts_ns):
            jump = abs(position - previous)
            if jump > cfg.position_jump_frac * cfg.max_position:
                events += self._trip(
                    Trigger.LIQUIDATION,
                    f"position jumped {previous:.6g} -> {position:.6g} (|dq| {jump:.6g} = "
                    f"{100.0 * jump / cfg.max_position:.0f}% of max {cfg.max_position:g} "
                    f"> {100.0 * cfg.position_jump_frac:.0f}%) with no fill in {cfg.liquidation_fill_grace_s:g} s",
                )
        limit = cfg.max_position_kill_mult * cfg.max_position
        if abs(position) > limit:
            events += self._trip(
                Trigger.MAX_POSITION,
                f"|position| {abs(position):.6g} > {cfg.max_position_kill_mult:g} x max_position "
                f"{cfg.max_position:g} = {limit:.6g}",
            )
        elif abs(position) <= cfg.max_position and Trigger.MAX_POSITION in self._active:  # detail only for an event
            events += self._clear(
                Trigger.MAX_POSITION, f"|position| {abs(position):.6g} <= max_position {cfg.max_position:g}"
            )
        return events

    def on_fill(self, ts_ns: int, side: Side | str, aggressor_key: str | None = None) -> list[KillEvent]:
        """One of our fills: ≥ burst_events aggressor events on one side within burst_window_s pause that side
        (lesson E15).

        An aggressor event is one taker order: a sweep that fills several of our levels at once is one event, not
        several. A fill belongs to the side's last event when it shares its ``aggressor_key`` (the venue's trade id
        or taker order hash, when known) or follows its last fill within ``burst_same_event_s``: one matching step
        stamps its fills alike on Hyperliquid, but a feed that stamps each print on receipt spreads one sweep over
        microseconds to a millisecond or so (Binance USD-M), and distinct takers that close are one event for the
        market anyway. The event then takes that fill's time, so a sweep arriving in pieces stays one event.
        """
        events = self._advance(ts_ns)
        cfg = self._config
        side = Side(side)
        self._last_fill_ns = ts_ns
        recent = self._fills_ns[side]
        if recent and (
            ts_ns - recent[-1][0] <= self._same_event_ns or (aggressor_key is not None and recent[-1][1] == aggressor_key)
        ):
            recent[-1] = (ts_ns, recent[-1][1])  # another fill of the same aggressor event
            return events
        recent.append((ts_ns, aggressor_key))
        cutoff_ns = ts_ns - round(cfg.burst_window_s * NS_PER_S)
        while recent and recent[0][0] <= cutoff_ns:
            recent.popleft()
        if len(recent) >= cfg.burst_events:
            span_s = (recent[-1][0] - recent[0][0]) / NS_PER_S
            events += self._trip(
                _BURST_TRIGGER[side],
                f"{len(recent)} {side} aggressor events in {span_s:.2f} s (>= {cfg.burst_events} within "
                f"{cfg.burst_window_s:g} s): {side} paused {cfg.side_pause_s:g} s unless it reduces the position",
                until_ns=ts_ns + round(cfg.side_pause_s * NS_PER_S),
            )
        return events

    def on_error(self, ts_ns: int, kind: ErrorKind | str, answer: Hashable | None = None) -> list[KillEvent]:
        """A venue error: too many rate-limit errors or rejects within their window → REDUCING (§A.8, E7).

        ``answer`` names the answer and the cause the error came with (``strategy.refusal_answer``: the event's
        ``ts_event``, which one venue answer's events share, or a denied order list; and its reason). The errors of
        one answer with one cause count once, however their events interleave with another answer's (the look-ups
        of two lost batches end in turns): a refusal of the request (a rate limit, the address budget, a bad nonce,
        a signature, a batch never placed) refuses every order the batch carried, and counted per order one refused
        batch of ten orders would exceed the rate-limit rule's 3 (one 429 → REDUCING) and half of the rejects rule's
        20. Orders an answer refuses each for its own reason still count each."""
        kind = ErrorKind(kind)
        if answer is not None:
            answers = self._answers[kind]
            if answer in answers:  # the same answer's events may come interleaved with another's (look-ups)
                return self._advance(ts_ns)
            answers[answer] = ts_ns
        self._errors_ns[kind].append(ts_ns)  # before advancing, so a full window is not cleared then re-tripped
        events = self._advance(ts_ns)
        trigger, max_errors, window_s = self._error_rule(kind)
        count = len(self._errors_ns[kind])
        if count > max_errors:
            events += self._trip(trigger, f"{count} {kind} errors in the last {window_s:g} s > max {max_errors}")
        return events

    def on_quote_cycle(self, ts_ns: int, position: float, reducing_side_quoted: bool) -> list[KillEvent]:
        """After each quote cycle: how long inventory has been held without a reducing quote (lesson E4).

        Measured in time, not in cycles: cycles follow the data rate, so a count halted a replay at 10× within a
        second of a lost cancel answer (the fault suite), and would mean something else on every venue. Dust below
        ``stuck_min_position_frac`` of max is not counted (it may be under the $10 minimum order); cycles while
        HALTED or pulled are not counted, since the missing quote is then deliberate.
        """
        events = self._advance(ts_ns)
        if self._active and (self.state is KillState.HALTED or self.pull_quotes):
            return events
        cfg = self._config
        u = utilisation(position, cfg.max_position)
        if reducing_side_quoted or u < cfg.stuck_min_position_frac or position == 0.0:
            self._stuck_since_ns = None
            if Trigger.INVENTORY_STUCK_WARN not in self._active:
                return events  # nothing to clear: nearly every cycle
            return events + self._clear(Trigger.INVENTORY_STUCK_WARN, "reducing side quoted again")
        if self._stuck_since_ns is None:
            self._stuck_since_ns = ts_ns
        stuck_s = (ts_ns - self._stuck_since_ns) / NS_PER_S
        if stuck_s < cfg.stuck_warn_s:
            return events
        detail = (
            f"no reducing quote for {stuck_s:.2f} s with position {position:.6g} "
            f"({100.0 * u:.0f}% of max {cfg.max_position:g})"
        )
        if stuck_s >= cfg.stuck_halt_s:
            events += self._trip(Trigger.INVENTORY_STUCK, f"{detail} >= {cfg.stuck_halt_s:g} s")
        else:
            events += self._trip(Trigger.INVENTORY_STUCK_WARN, f"{detail} >= {cfg.stuck_warn_s:g} s")
        return events

    def manual_halt(self, ts_ns: int, reason: str) -> list[KillEvent]:
        return self._advance(ts_ns) + self._trip(Trigger.MANUAL, f"manual halt: {reason}")

    def manual_resume(self, ts_ns: int) -> list[KillEvent]:
        """Operator clears every daily and latched reason. A limit whose condition still holds trips again on
        its next input: a resume does not raise a limit. Transient reasons clear by themselves."""
        events = self._advance(ts_ns)
        self._stuck_since_ns = None
        for trigger in list(self._active):
            if RULES[trigger][1] is not Persistence.TRANSIENT:
                events += self._clear(trigger, "manual resume by operator")
        return events

    # -- persistence -----------------------------------------------------------------------------------

    def to_state(self) -> dict[str, object]:
        """JSON-ready state: daily and latched reasons, and today's start and peak equity."""
        return {
            "version": STATE_VERSION,
            "day": _day_label(self._day) if self._day is not None else None,
            "day_start_equity_usd": self._day_start_equity_usd if self._day is not None else None,
            "peak_equity_usd": self._peak_equity_usd if self._day is not None else None,
            "reasons": [
                {"trigger": str(reason.trigger), "since_ns": reason.since_ns, "detail": reason.detail}
                for reason in self._active.values()
                if RULES[reason.trigger][1] is not Persistence.TRANSIENT
            ],
        }

    @classmethod
    def restore(cls, config: RiskConfig, state: Mapping[str, object], now_ts_ns: int) -> KillSwitch:
        """A switch from :meth:`to_state` output. Latched reasons come back; daily ones only on the same UTC day
        (lesson E8, §A.9.1), as do today's start and peak equity. Each restored or dropped reason is an event."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"kill switch state version {state.get('version')!r} != {STATE_VERSION}")
        switch = cls(config)
        switch._now_ns = now_ts_ns
        today = now_ts_ns // NS_PER_DAY
        if state["day"] == _day_label(today):
            switch._day = today
            switch._day_start_equity_usd = float(state["day_start_equity_usd"])
            switch._peak_equity_usd = float(state["peak_equity_usd"])
        for item in state["reasons"]:
            trigger, since_ns, detail = Trigger(item["trigger"]), int(item["since_ns"]), str(item["detail"])
            recorded = since_ns // NS_PER_DAY
            if RULES[trigger][1] is Persistence.DAILY and recorded != today:
                state_now = switch.state
                switch._record(
                    trigger,
                    state_now,
                    state_now,
                    f"not restored: daily limit recorded on {_day_label(recorded)} UTC, today is {_day_label(today)}"
                    f" ({detail})",
                    cleared=True,
                )
            else:
                switch._trip(trigger, f"restored from {_iso(since_ns)}: {detail}", since_ns=since_ns)
        return switch

    # -- internals -------------------------------------------------------------------------------------

    def _advance(self, ts_ns: int) -> list[KillEvent]:
        """Move the clock: roll the UTC day, end side pauses, forget errors that left their window."""
        self._now_ns = now_ns = max(self._now_ns, ts_ns)
        same_day = self._day is None or self._day == now_ns // NS_PER_DAY
        if same_day and not self._active and not any(self._errors_ns.values()):
            return []  # nothing to roll, end or forget: every input of every quote cycle, nearly always
        return self._roll_day() + self._end_pauses() + self._expire_errors()

    def _roll_day(self) -> list[KillEvent]:
        today = self._now_ns // NS_PER_DAY
        if self._day is None or self._day == today:
            return []
        detail = f"UTC day rolled from {_day_label(self._day)} to {_day_label(today)}"
        self._day = None  # the next on_pnl sets today's start and peak
        self._day_start_equity_usd = self._peak_equity_usd = math.nan
        events: list[KillEvent] = []
        for trigger in list(self._active):
            if RULES[trigger][1] is Persistence.DAILY:
                events += self._clear(trigger, detail)
        return events

    def _end_pauses(self) -> list[KillEvent]:
        events: list[KillEvent] = []
        for trigger in _BURST_TRIGGER.values():
            reason = self._active.get(trigger)
            if reason is not None and reason.until_ns <= self._now_ns:
                events += self._clear(trigger, f"side pause of {self._config.side_pause_s:g} s ended")
        return events

    def _expire_errors(self) -> list[KillEvent]:
        events: list[KillEvent] = []
        for kind, times in self._errors_ns.items():
            if not times and not self._active:
                continue  # nothing to expire and nothing to clear (the usual case, once per input)
            trigger, max_errors, window_s = self._error_rule(kind)
            cutoff_ns = self._now_ns - round(window_s * NS_PER_S)
            _drop_older(times, cutoff_ns)
            answers = self._answers[kind]
            for answer in [answer for answer, ts_ns in answers.items() if ts_ns <= cutoff_ns]:
                del answers[answer]
            if len(times) <= max_errors and trigger in self._active:
                events += self._clear(
                    trigger, f"{len(times)} {kind} errors in the last {window_s:g} s <= max {max_errors}"
                )
        return events

    def _error_rule(self, kind: ErrorKind) -> tuple[Trigger, int, float]:
        cfg = self._config
        if kind is ErrorKind.RATE_LIMIT:
            return Trigger.RATE_LIMIT, cfg.max_rate_limit_errors, cfg.rate_limit_window_s
        return Trigger.REJECTS, cfg.max_rejects, cfg.reject_window_s

    def _recent_fill(self, ts_ns: int) -> bool:
        grace_ns = round(self._config.liquidation_fill_grace_s * NS_PER_S)
        return self._last_fill_ns is not None and ts_ns - self._last_fill_ns <= grace_ns

    def _trip(
        self, trigger: Trigger, detail: str, until_ns: int | None = None, since_ns: int | None = None
    ) -> list[KillEvent]:
        """Activate ``trigger`` (once: an already active trigger records nothing)."""
        if trigger in self._active:
            return []
        before = self.state
        self._active[trigger] = ActiveReason(trigger, self._now_ns if since_ns is None else since_ns, detail, until_ns)
        return [self._record(trigger, before, self.state, detail, cleared=False)]

    def _clear(self, trigger: Trigger, detail: str) -> list[KillEvent]:
        if trigger not in self._active:
            return []
        before = self.state
        del self._active[trigger]
        return [self._record(trigger, before, self.state, detail, cleared=True)]

    def _record(
        self, trigger: Trigger, from_state: KillState, to_state: KillState, detail: str, cleared: bool
    ) -> KillEvent:
        event = KillEvent(self._now_ns, trigger, from_state, to_state, detail, cleared)
        self._events.append(event)
        return event


def _drop_older(times: deque[int], cutoff_ns: int) -> None:
    """Drop timestamps at or before ``cutoff_ns`` from the left of a time-ordered deque."""
    while times and times[0] <= cutoff_ns:
        times.popleft()


def _book_problem(best_bid: float, best_ask: float) -> str | None:
    """Why a top of book cannot be quoted against, or None if it can."""
    if not (best_bid > 0.0 and best_ask > 0.0 and math.isfinite(best_bid) and math.isfinite(best_ask)):
        return f"invalid book: best bid {best_bid}, best ask {best_ask}"
    if best_bid >= best_ask:
        return f"crossed book: best bid {best_bid} >= best ask {best_ask} ({best_bid - best_ask:g} through)"
    return None


def _day_label(utc_day: int) -> str:
    """ISO date of a UTC day number (days since 1970-01-01)."""
    return (_EPOCH + timedelta(days=utc_day)).isoformat()


def _iso(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // NS_PER_S, tz=UTC).isoformat().replace("+00:00", "Z")
