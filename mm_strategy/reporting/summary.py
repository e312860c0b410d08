"""The key figures of a report as (label, value) rows: printed to the console and shown at the top of the HTML."""

from __future__ import annotations

SUMMARY_MARKOUT_HORIZON = "5s"


def summary_rows(metrics: dict) -> list[tuple[str, str]]:
    """Fills, volume, requests, net PnL (its split, after exit), reconciliation, 5 s markout, uptime, position,
    drawdown, kill events."""
    fills, pnl, requests = metrics["fills"], metrics["pnl"], metrics["requests"]
    markout = metrics["markouts"]["by_group"]["all"]["horizons"][SUMMARY_MARKOUT_HORIZON]
    quoting, position, drawdown = metrics["quoting"], metrics["position"], metrics["drawdown"]
    reconciliation = (
        f"{_money(pnl['equity_change'])} / {_money(pnl['reconciliation_error'])}"
        if pnl["equity_change"] is not None
        else "n/a (final equity unknown)"
    )
    return [
        (
            "fills",
            f"{fills['count']} (buy {fills['buy']} / sell {fills['sell']}, taker {fills['taker']}; "
            f"{fills['fill_events']} fill events on {fills['orders_filled']} orders)",
        ),
        (
            "fills per hour",
            f"{fmt_number(fills['fills_per_hour'], '.1f')} "
            f"({fmt_number(fills['fills_per_hour_live_feed'], '.1f')} while the feed was live)",
        ),
        (
            "volume",
            f"{fmt_number(fills['volume_base'], '.6g')} base / {fmt_number(fills['volume_notional'], ',.2f')} quote",
        ),
        (
            "requests",
            f"{requests['orders']:,} orders + {requests['cancels']:,} cancels + {requests['modifies']:,} modifies "
            f"({fmt_number(requests['per_hour'], ',.0f')}/h), "
            f"{fmt_number(requests['notional_per_request'], ',.2f')} quote traded per request",
        ),
        ("net PnL", _money(pnl["net"])),
        ("  spread capture", _money(pnl["spread_capture"])),
        ("  inventory", _money(pnl["inventory"])),
        ("  fees (paid +)", _money(pnl["fees"])),
        ("  funding", _money(pnl["funding"])),
        ("net after exit", f"{_money(pnl['net_after_exit'])} (exit cost {_money(pnl['exit_cost'])}: "
         f"final position at the taker fee + half the final spread)"),
        ("equity change / recon err", reconciliation),
        (
            f"markout {SUMMARY_MARKOUT_HORIZON}",
            f"{fmt_number(markout['markout_bps'], '+.2f')} ± {fmt_number(markout['markout_se_bps'], '.2f')} bps "
            f"(n={markout['fills']} fills in {markout['markout_se_clusters']} clusters, "
            f"{markout['excluded_past_end']} past end), AS {fmt_number(markout['adverse_selection_bps'], '+.2f')} bps",
        ),
        ("two-sided", f"{_pct(quoting['two_sided_frac'])} of quoting time ({_pct(quoting['none_frac'])} none)"),
        (
            "two-sided, feed live",
            f"{_pct(quoting['two_sided_frac_live_feed'])} (feed down {quoting['feed_down_s']:.0f} s excluded)",
        ),
        (
            "max |position|",
            f"{fmt_number(position['max_abs'], '.6g')} base (final {fmt_number(position['final'], '+.6g')})",
        ),
        (
            "max drawdown",
            f"{_money(drawdown['max_abs'])} ({fmt_number(drawdown['max_pct_of_starting_equity'], '.3f')} % of start)",
        ),
        ("kill events", f"{sum(not e['cleared'] for e in metrics['kill_events'])} trips, "
         f"{sum(e['cleared'] for e in metrics['kill_events'])} clears"),
    ]


def summary_table(metrics: dict) -> str:
    """A short fixed-width table of the key figures for the console."""
    rows = summary_rows(metrics)
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + 40)
    lines = [rule, *(f"{label:<{width}}  {value}" for label, value in rows), rule]
    return "\n".join(lines)


def fmt_number(value: float | None, spec: str) -> str:
    """``format(value, spec)``, or "n/a" for a metric that could not be measured (None in the JSON)."""
    return "n/a" if value is None else format(value, spec)


def _money(value: float | None) -> str:
    return fmt_number(value, "+,.4f")


def _pct(frac: float | None) -> str:
    return "n/a" if frac is None else f"{frac * 100:.2f} %"
