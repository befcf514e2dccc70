"""What ``stockbot run`` checks before anything starts: part of the composition root.

- ``STRATEGY_PARAMS_FILE`` is read and validated (a broken file used to run a whole period in stop mode);
- in sim, the replay period against the bundled data: a period where no symbol can trade is refused, symbols
  without data (or without the history the strategy needs) are named in a warning, and a replay that will
  start on a new simulated account although a journal exists says so and why.
"""

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from stock_manager.adapters.marketdata.coverage import SymbolCoverage, period_coverage
from stock_manager.config.settings import Mode, Settings, VenueName
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross import MA_CROSS, MaCrossParams

#: What each replay parameter is called in the new-account notice.
_PARAM_NAMES = {
    "start_date": "period",
    "end_date": "period",
    "symbols": "symbols",
    "start_cash_krw": "starting cash",
    "participation_rate": "participation rate",
    "commission_rate": "costs",
    "sell_tax_schedule": "costs",
    "data": "bundled market data",
    "engine": "simulator version",
}


def check_before_run(
    settings: Settings, *, fresh: bool, say: Callable[[str], None], warn: Callable[[str], None]
) -> None:
    """Validate the strategy parameter file and, in sim, the replay; print notices and warnings.

    Parameters
    ----------
    say, warn : Callable[[str], None]
        Where a notice (a new simulated account) and a warning (symbols that will not trade) go.

    Raises
    ------
    ConfigurationError
        For an invalid ``STRATEGY_PARAMS_FILE``, or a sim period in which no symbol can trade.
    """
    from stock_manager.entrypoints.bootstrap import strategy_specs
    from stock_manager.service_layer.params import read_params_file

    params = {
        spec.strategy_id: read_params_file(settings.strategy_params_file, spec)
        if settings.strategy_params_file
        else spec.default_params()
        for spec in strategy_specs(settings)
    }
    if settings.mode is not Mode.SIM:
        return
    if settings.venue is VenueName.UPBIT:
        refusal, warnings = upbit_replay_problems(settings)
    else:
        ma = params.get(MA_CROSS.strategy_id)
        long_window = ma.long_window_days if isinstance(ma, MaCrossParams) else 1
        coverage = period_coverage(settings.sim_symbols, settings.sim_from, settings.sim_to)
        refusal, warnings = replay_problems(coverage, settings.sim_from, settings.sim_to, long_window)
    if refusal:
        raise ConfigurationError(refusal)
    for warning in warnings:
        warn(warning)
    if notice := new_account_notice(settings, fresh=fresh):
        say(notice)


def replay_problems(
    coverage: Sequence[SymbolCoverage], start: date, end: date, long_window_days: int
) -> tuple[str | None, list[str]]:
    """Return why a replay period cannot trade at all (or None), and a warning per kind of problem.

    A symbol can trade when it has a session in the period with at least ``long_window_days + 1`` bars
    before it (the strategy's longest moving average and the day before).
    """
    needed = long_window_days + 1
    period = f"{start} → {end}"
    absent = [c for c in coverage if not c.sessions_in_period]
    short = [c for c in coverage if c.sessions_in_period and c.bars_before_last < needed]
    ending = [c for c in coverage if c.sessions_in_period and c.last is not None and c.last < end]
    reasons = []
    if absent:
        reasons.append("no market data for " + ", ".join(f"{c.symbol} ({_span(c, start, end)})" for c in absent))
    if short:
        reasons.append(
            ", ".join(f"{c.symbol} has {c.bars_before_last} daily bar(s) before {c.last_in_period}" for c in short)
            + f" and the strategy needs {needed} (long_window_days {long_window_days} + 1)"
        )
    if len(absent) + len(short) == len(coverage):
        return f"nothing to trade in {period}: {'; '.join(reasons)}", []
    warnings = [
        f"{reason} in {period}: {'it' if n == 1 else 'they'} will not trade"
        for reason, n in zip(reasons, [n for n in (len(absent), len(short)) if n], strict=True)
    ]
    warnings += [
        f"{c.symbol}'s data ends {c.last}, before {end}: it trades until then" for c in ending if c not in short
    ]
    return None, warnings


def upbit_replay_problems(settings: Settings) -> tuple[str | None, list[str]]:
    """Return why an Upbit replay period cannot trade (no 30-minute candles in it), or None, and warnings (the
    bundled candles start later or end earlier than the period)."""
    from stock_manager.adapters.venues.upbit.data import minute_days

    start, end = settings.sim_from, settings.sim_to
    warnings = []
    for market in settings.sim_symbols:
        days = minute_days(market)
        inside = [d for d in days if start <= d <= end]
        if not inside:
            return (
                f"nothing to trade in {start} → {end}: the bundled {market} candles cover {days[0]} → {days[-1]}"
            ), []
        if inside[0] > start or inside[-1] < end:
            warnings.append(
                f"{market}'s bundled candles cover {inside[0]} → {inside[-1]} of {start} → {end}: it trades only then"
            )
    return None, warnings


def _span(c: SymbolCoverage, start: date, end: date) -> str:
    if c.first is None or c.last is None:
        return "no data at all"
    if c.first > end:
        return f"its data starts {c.first}"
    if c.last < start:
        return f"its data ends {c.last}"
    return "no bar in the period"


def new_account_notice(settings: Settings, *, fresh: bool) -> str | None:
    """Return the notice that this run starts a new simulated account, and why; None when it resumes one.

    Compares the parameters of the replay journaled in the data directory with the settings' (the same
    comparison the simulator makes: any difference starts a new replay and archives the old journal).
    """
    from stock_manager.adapters.broker.sim.journal import JOURNAL_FILE

    journaled = _journaled_params(settings.sim_state_dir / JOURNAL_FILE)
    if journaled is None:
        return None
    if fresh:
        return "a new simulated account (--fresh): the replay journaled before is archived"
    ours = replay_parameters(settings)
    differing = sorted({_PARAM_NAMES.get(k, k) for k in ours if ours.get(k) != journaled.get(k)})
    if not differing:
        return None
    before = f"{journaled.get('start_date')} → {journaled.get('end_date')}, {','.join(journaled.get('symbols') or [])}"
    verb = "differs" if len(differing) == 1 else "differ"
    return (
        f"a new simulated account: the {' and '.join(differing)} {verb} from the journal's ({before}); "
        "the replay journaled before is archived"
    )


def replay_parameters(settings: Settings) -> dict[str, Any]:
    """Return the parameters identifying the replay of `settings` (as the simulator journals them)."""
    from stock_manager.adapters.broker.sim.matching import MatchingConfig
    from stock_manager.adapters.broker.sim.records import replay_params
    from stock_manager.adapters.venues.krx.rules import krx_cost_model
    from stock_manager.adapters.venues.upbit.rules import upbit_cost_model

    upbit = settings.venue is VenueName.UPBIT
    costs = upbit_cost_model(settings.upbit_fee_rate) if upbit else krx_cost_model(settings.commission_rate)
    config = MatchingConfig(settings.sim_participation_rate, settings.sim_start_cash_krw, costs)
    if upbit:
        from stock_manager.adapters.venues.upbit.data import upbit_data_fingerprint

        return replay_params(
            tuple(sorted(set(settings.sim_symbols))),
            settings.sim_from,
            settings.sim_to,
            config,
            venue="upbit",
            data=upbit_data_fingerprint(),
        )
    return replay_params(tuple(sorted(set(settings.sim_symbols))), settings.sim_from, settings.sim_to, config)


def _journaled_params(path: Any) -> dict[str, Any] | None:
    # The parameters in the journal's start record (its first line), without the generation; None if unreadable.
    try:
        with path.open("rb") as journal:
            first = journal.readline()
        params = json.loads(first).get("params")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(params, dict):
        return None
    return {k: v for k, v in params.items() if k != "generation"}
