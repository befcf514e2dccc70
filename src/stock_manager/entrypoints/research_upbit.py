"""``stockbot backtest --venue upbit`` and ``stockbot optimize --venue upbit``: the Bitcoin strategies on the
bundled KRW-BTC 30-minute candles (`research.intraday`), under the daemon's Upbit settings: the instruments
(the price-unit table of ``UPBIT_TICK_TABLE_FILE``, else the built-in one), the fee (``UPBIT_FEE_RATE``), the
venue's risk limits (``RISK_*``, with the Upbit defaults), the sim's start cash and participation rate.

Thin like the rest of the CLI: it builds the run from the options and settings; `research_cli` prints and
writes. Bad input (an unknown strategy, a bad date, a period without candles, an option the venue has no
meaning for) raises `ConfigurationError` (one line, exit 2).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stock_manager.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from stock_manager.adapters.broker.sim.market import ReplayMarket
    from stock_manager.config.settings import Settings
    from stock_manager.domain.strategies.base import StrategyParams, StrategySpec
    from stock_manager.research.backtester import IntradayBacktester
    from stock_manager.research.intraday import IntradayConfig
    from stock_manager.research.records import BacktestResult
    from stock_manager.service_layer.ports.venue import VenueProfile


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} must be YYYY-MM-DD, was {text!r}") from None


def strategy_specs(settings: "Settings", names: str | None) -> tuple["StrategySpec", ...]:
    """Return the strategies named in `names` (comma-separated), else the account's (``STRATEGIES``, else the
    venue's three).

    Raises
    ------
    ConfigurationError
        Naming an unknown strategy.
    """
    from stock_manager.domain.strategies.registry import STRATEGIES
    from stock_manager.entrypoints.bootstrap import strategy_specs as account_specs

    if not names:
        return account_specs(settings)
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if unknown := [n for n in wanted if n not in STRATEGIES]:
        raise ConfigurationError(f"unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGIES)}")
    return tuple(STRATEGIES[n] for n in dict.fromkeys(wanted))


def upbit_run(
    settings: "Settings",
    specs: tuple["StrategySpec", ...],
    *,
    symbols: str | None,
    date_from: str | None,
    date_to: str | None,
    params_file: Path | None = None,
    cash_krw: Decimal | None = None,
) -> tuple["ReplayMarket", "VenueProfile", "IntradayConfig"]:
    """Return the replayed market, its venue profile and the backtest's config (period default: every day of
    the bundled 30-minute candles; parameters: `params_file`'s entry per strategy, else the defaults).

    Raises
    ------
    ConfigurationError
        For a market without bundled candles, a bad date, a period without candles, invalid parameters.
    """
    from stock_manager.adapters.venues.upbit.rules import load_tick_table, upbit_cost_model
    from stock_manager.entrypoints.bootstrap import risk_limits
    from stock_manager.research.intraday import IntradayConfig, upbit_replay
    from stock_manager.service_layer.params import read_params_file

    markets = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else list(settings.sim_symbols)
    ticks = load_tick_table(settings.upbit_tick_table_file) if settings.upbit_tick_table_file else None
    market, venue = upbit_replay(markets, ticks)
    every = market.trading_days(date.min, date.max)
    start = _day(date_from, "--from") or every[0]
    end = _day(date_to, "--to") or every[-1]
    if start > end:
        raise ConfigurationError(f"--from {start} is after --to {end}")
    if not market.trading_days(start, end):
        raise ConfigurationError(
            f"no 30-minute candles of {', '.join(market.symbols)} in {start}..{end} (bundled: {every[0]}..{every[-1]})"
        )
    strategies = tuple(
        (spec, read_params_file(params_file, spec) if params_file is not None else spec.default_params())
        for spec in specs
    )
    config = IntradayConfig(
        start,
        end,
        strategies,
        limits=risk_limits(settings),
        start_cash_krw=cash_krw if cash_krw is not None else settings.sim_start_cash_krw,
        participation_rate=settings.sim_participation_rate,
        cost_model=upbit_cost_model(settings.upbit_fee_rate),
    )
    return market, venue, config


def params_payload(config: "IntradayConfig") -> dict[str, Any]:
    """Return the run's parameters, JSON-safe: the one strategy's, or one entry per strategy id."""
    if len(config.strategies) == 1:
        return config.strategies[0][1].to_mapping()
    return {spec.strategy_id: params.to_mapping() for spec, params in config.strategies}


def refuse_options(**given: object) -> None:
    """Refuse the KRX backtest's options that mean nothing on Upbit (one line naming them)."""
    if bad := [name for name, value in given.items() if value]:
        raise ConfigurationError(f"{', '.join(bad)} is not available with --venue upbit")


def backtest_plan(
    settings: "Settings",
    strategies: str | None,
    symbols: str | None,
    period: tuple[str | None, str | None],
    params_file: Path | None,
    cash_krw: Decimal,
    *,
    data: object,
    model: object,
) -> tuple[Any, ...]:
    """Return what ``stockbot backtest --venue upbit`` runs and reports: (start, end, the account's config as
    `BacktestConfig`, symbols, data source, parameters, title, sessions, the run: progress → `BacktestResult`).

    Raises
    ------
    ConfigurationError
        For ``--data`` or a fill model other than ``path`` (the daemon's prints are the only path here), and as
        `upbit_run`.
    """
    from stock_manager.research.engine import FillModel
    from stock_manager.research.intraday import run_intraday

    refuse_options(**{"--data": data, "--fill-model": model is not FillModel.PATH})
    specs = strategy_specs(settings, strategies)
    replay, profile, config = upbit_run(
        settings,
        specs,
        symbols=symbols,
        date_from=period[0],
        date_to=period[1],
        params_file=params_file,
        cash_krw=cash_krw,
    )
    title = f"stockbot backtest upbit {config.start}..{config.end} ({', '.join(s.strategy_id for s in specs)})"

    def run(progress: Callable[[int, int], None] | None = None) -> "BacktestResult":
        return run_intraday(replay, profile, config, progress)

    return (
        config.start,
        config.end,
        config.account(),
        list(replay.symbols),
        f"bundled Upbit 30-minute candles ({', '.join(replay.symbols)})",
        params_payload(config),
        title,
        len(replay.trading_days(config.start, config.end)),
        run,
    )


def intraday_research(settings: "Settings", storage: Any) -> Any:
    """Return the AI jobs' research engine for the Bitcoin strategies (`research.ai_intraday.IntradayResearch`)
    on the bundled Upbit candles of the settings' markets (``KRW-BTC`` unless the venue's ``SIM_SYMBOLS`` say
    otherwise), with the price units, account, fee and risk limits of `upbit_run`; its day against the backtest
    compares the account's strategies (`bootstrap.strategy_specs`), on days without an ACTIVE row with the
    daemon's parameters (``STRATEGY_PARAMS_FILE``'s entry, else the defaults)."""
    from stock_manager.adapters.venues.upbit.rules import load_tick_table, upbit_cost_model
    from stock_manager.entrypoints.bootstrap import risk_limits
    from stock_manager.entrypoints.bootstrap import strategy_specs as account_specs
    from stock_manager.research.ai_intraday import IntradayResearch
    from stock_manager.research.intraday import IntradayConfig, upbit_replay
    from stock_manager.service_layer.params import read_params_file

    markets = [s for s in settings.sim_symbols if s.startswith("KRW-")] or ["KRW-BTC"]
    config = IntradayConfig(
        settings.sim_from,
        settings.sim_to,
        (),
        limits=risk_limits(settings),
        start_cash_krw=settings.sim_start_cash_krw,
        participation_rate=settings.sim_participation_rate,
        cost_model=upbit_cost_model(settings.upbit_fee_rate),
    )
    params_file = settings.strategy_params_file

    def replay() -> tuple["ReplayMarket", "VenueProfile"]:
        ticks = load_tick_table(settings.upbit_tick_table_file) if settings.upbit_tick_table_file else None
        return upbit_replay(markets, ticks)

    def fallback(spec: "StrategySpec") -> "StrategyParams":
        return read_params_file(params_file, spec) if params_file is not None else spec.default_params()

    return IntradayResearch(replay, config, storage=storage, strategies=account_specs(settings), fallback=fallback)


def search_plan(
    settings: "Settings", strategy: str | None, symbols: str | None, period: tuple[str | None, str | None], data: object
) -> tuple["IntradayBacktester", "IntradayConfig", str]:
    """Return what ``stockbot optimize --venue upbit --strategy S`` searches: the strategy's backtester, its config
    (the search's period) and the strategy id.

    Raises
    ------
    ConfigurationError
        Without ``--strategy`` or with several, with ``--data``, and as `upbit_run`.
    """
    from stock_manager.research.backtester import IntradayBacktester

    refuse_options(**{"--data": data})
    if not strategy or "," in strategy:
        raise ConfigurationError("--venue upbit needs --strategy naming one strategy to search (volatility_breakout…)")
    (spec,) = strategy_specs(settings, strategy)
    market, venue, config = upbit_run(settings, (spec,), symbols=symbols, date_from=period[0], date_to=period[1])
    return IntradayBacktester(market, venue, config, spec), config, spec.strategy_id


async def upbit_divergence(
    settings: "Settings",
    storage: Any,
    period: tuple[date, date],
    *,
    strategies: str | None,
    symbols: str | None,
    account: str | None,
    params_file: Path | None,
) -> dict[str, Any]:
    """Return ``stockbot divergence --venue upbit``'s report (`research.divergence_upbit.upbit_divergence_report`):
    the daemon's Upbit orders over `period` against the backtest with `upbit_run`'s account, fee and limits; the
    strategies `strategies` names, else those on the period's orders in the account's order (``STRATEGIES``,
    else the venue's three); on days without an ACTIVE row, `params_file`'s entry per strategy, else the
    defaults.

    Raises
    ------
    ConfigurationError
        As `strategy_specs`, `upbit_run` (a period without bundled candles) and the report (no Upbit orders in
        the period, several accounts without `account`).
    """
    from stock_manager.entrypoints.bootstrap import strategy_specs as account_specs
    from stock_manager.research.divergence_upbit import upbit_divergence_report
    from stock_manager.service_layer.params import read_params_file

    start, end = period
    specs = strategy_specs(settings, strategies) if strategies else account_specs(settings)
    market, venue, config = upbit_run(
        settings, (), symbols=symbols, date_from=start.isoformat(), date_to=end.isoformat()
    )
    return await upbit_divergence_report(
        storage,
        start,
        end,
        market=market,
        venue=venue,
        template=config,
        strategies=specs,
        named=bool(strategies),
        account=account,
        fallback=lambda spec: read_params_file(params_file, spec) if params_file is not None else spec.default_params(),
    )
