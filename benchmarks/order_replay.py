"""The engine's own cost of an order flow: a strategy that replays recorded order commands and computes nothing.

A full-stack run's orders, read back from its cache, give every command the strategy sent: a submit at the order's
``ts_init`` (price, size, side, flags, tags), a modify at each ``OrderPendingUpdate`` (to the price and size of the
``OrderUpdated`` that answered it; one the venue refused, because the order had filled or gone by then, is not
replayed: nothing says what it asked for) and a cancel at its ``OrderPendingCancel``. ``OrderReplay`` sends the
same commands on the first book batch or tick of the strategy's timers at or after each time, as the strategy does
from its quote cycle and its risk timer (the modifies, one batch cancel, then one order list), so the engine does the
same order work (risk checks, matching, events, account and margin updates) as in the full run, with none of our computation.
The timers matter beyond the commands they send: the engine hands the simulated venue its pending commands at every
timer tick as well as at every data point, so without them a cancel sent before a gap in the feed would wait for the
next data point, where a trade could fill the order first (on the BTC capture: 6 fills instead of 3). The time of that
run, against the bare replay, is the floor the order flow alone sets on the full stack's throughput
(``backtest_throughput.py``).
"""

from __future__ import annotations

import pickle
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd
from nautilus_trader.common.config import resolve_config_path
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.enums import TimeInForce
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.events import OrderPendingCancel
from nautilus_trader.model.events import OrderPendingUpdate
from nautilus_trader.model.events import OrderUpdated
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.config import ImportableStrategyConfig
from nautilus_trader.trading.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy

# (ts_ns, 0, order index, price, quantity) a modify, (ts_ns, 1, order index) a cancel, or
# (ts_ns, 2, order index, side, price, quantity, post_only, reduce_only, tags) a submit: in a cycle's sending order
Command = tuple
MODIFY, CANCEL, SUBMIT = 0, 1, 2


def commands_from_orders(orders: list[Order]) -> list[Command]:
    """Every submit, modify and cancel of ``orders`` (one strategy's, from a finished run's cache) in time order."""
    commands: list[Command] = []
    for index, order in enumerate(sorted(orders, key=lambda o: o.ts_init)):
        init = order.init_event
        commands.append(
            (order.ts_init, SUBMIT, index, int(order.side), Decimal(init.options["price"]), init.quantity.as_decimal(),
             order.is_post_only, order.is_reduce_only, order.tags),
        )
        pending_update, cancelled = None, False
        for event in order.events:  # a modify's answer may come after a cancel sent while it was in flight
            if isinstance(event, OrderPendingUpdate):
                pending_update = event
            elif isinstance(event, OrderModifyRejected):
                pending_update = None
            elif isinstance(event, OrderUpdated) and pending_update is not None:
                price = None if event.price is None else event.price.as_decimal()
                commands.append((pending_update.ts_init, MODIFY, index, price, event.quantity.as_decimal()))
                pending_update = None
            elif isinstance(event, OrderPendingCancel) and not cancelled:
                commands.append((event.ts_init, CANCEL, index))
                cancelled = True
    commands.sort(key=lambda c: (c[0], c[1], c[2]))
    return commands


class OrderReplayConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    commands_path: str
    timer_intervals_s: list[float] = []  # the replayed strategy's timers (its risk check and status intervals)


class OrderReplay(Strategy):
    """Sends the recorded commands (``commands_path``: a pickled list from :func:`commands_from_orders`)."""

    def __init__(self, config: OrderReplayConfig) -> None:
        super().__init__(config)
        self._commands: list[Command] = pickle.loads(Path(config.commands_path).read_bytes())
        self._next = 0
        self._sent: dict[int, Order] = {}

    def on_start(self) -> None:
        self.subscribe_order_book_deltas(self.config.instrument_id, BookType.L2_MBP)
        for index, interval_s in enumerate(self.config.timer_intervals_s):
            self.clock.set_timer(f"replay-{index}", pd.Timedelta(seconds=interval_s), callback=self._send_due)

    def on_order_book_deltas(self, deltas) -> None:
        self._send_due()

    def _send_due(self, _event=None) -> None:
        now, commands = self.clock.timestamp_ns(), self._commands
        instrument = self.cache.instrument(self.config.instrument_id)
        modifies, cancels, orders = [], [], []
        while self._next < len(commands) and commands[self._next][0] <= now:
            command = commands[self._next]
            self._next += 1
            if command[1] == MODIFY:
                _, _, index, price, quantity = command
                if (order := self._sent.get(index)) is not None and not order.is_closed:
                    modifies.append((order, price, quantity))
            elif command[1] == SUBMIT:
                _, _, index, side, price, quantity, post_only, reduce_only, tags = command
                order = self.order_factory.limit(
                    instrument_id=instrument.id,
                    order_side=OrderSide(side),
                    quantity=instrument.make_qty(Decimal(quantity)),
                    price=instrument.make_price(Decimal(price)),
                    time_in_force=TimeInForce.GTC,
                    post_only=post_only,
                    reduce_only=reduce_only,
                    tags=tags,
                )
                self._sent[index] = order
                orders.append(order)
            elif (order := self._sent.get(command[2])) is not None and not order.is_closed:
                cancels.append(order)
        for order, price, quantity in modifies:
            self.modify_order(
                order,
                quantity=instrument.make_qty(quantity),
                price=None if price is None else instrument.make_price(price),
            )
        if cancels:
            self.cancel_orders(cancels)
        if len(orders) > 1:
            self.submit_order_list(self.order_factory.create_list(orders))
        elif orders:
            self.submit_order(orders[0])


def replay_strategy(
    replayed: ImportableStrategyConfig, instrument_id: str, commands_path: Path
) -> ImportableStrategyConfig:
    """The replay of ``replayed``'s commands, with its timers."""
    strategy = resolve_config_path(replayed.config_path).parse(msgspec.json.encode(replayed.config))
    return ImportableStrategyConfig(
        strategy_path="benchmarks.order_replay:OrderReplay",
        config_path="benchmarks.order_replay:OrderReplayConfig",
        config={
            "instrument_id": instrument_id,
            "commands_path": str(commands_path),
            "timer_intervals_s": [strategy.risk_check_interval_s, strategy.status_interval_s],
        },
    )
