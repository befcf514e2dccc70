"""The research commands of the CLI: ``stockbot backtest`` and ``stockbot optimize`` (``stockbot divergence`` is in
`research_divergence`).

Thin like the rest of the CLI: read options, build the settings, call `stock_manager.research`, print. The
account defaults (cash, participation, commission) and the risk limits are the daemon's settings, so a backtest
trades under the rules the daemon would. Bad input (a bad file, an unknown symbol, a bad date) is one line
and exit 2 (`cli_app.guarded`). What ``optimize`` writes and prints is in `research_output`.
"""

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from stock_manager.adapters.clock import SystemClock
from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.cli_app import VenueOpt

if TYPE_CHECKING:
    from stock_manager.config.settings import Settings
    from stock_manager.research.backtester import IntradayBacktester
    from stock_manager.research.data import MarketData
    from stock_manager.research.intraday import IntradayConfig

DateFrom = Annotated[
    str | None, typer.Option("--from", help="First session, YYYY-MM-DD (default: 3 years before --to).")
]
DateTo = Annotated[str | None, typer.Option("--to", help="Last session, YYYY-MM-DD (default: the data's end).")]
Symbols = Annotated[
    str | None,
    typer.Option("--symbols", help="Comma-separated codes (default: SIM_SYMBOLS, or every symbol of --data)."),
]
DataFiles = Annotated[
    list[Path] | None,
    typer.Option("--data", help="CSV/Parquet bar file(s) instead of the bundled data (columns in README)."),
]
ParamsFile = Annotated[
    Path | None, typer.Option("--params-file", help="Strategy parameters (YAML/JSON); default: the built-in defaults.")
]
Record = Annotated[bool, typer.Option("--record", help="Also store the run in the database (backtest_runs).")]
Name = Annotated[str | None, typer.Option("--name", help="Name of the recorded run.")]
DbUrl = Annotated[str | None, typer.Option("--db-url", help="SQLAlchemy URL (default: DB_URL, else embedded SQLite).")]
OutDir = Annotated[Path, typer.Option("--out", help="Directory for the CSV/JSON/PNG/HTML outputs.")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")]
StrategiesOpt = Annotated[
    str | None,
    typer.Option("--strategies", help="--venue upbit: comma-separated strategies (default: STRATEGIES, or all three)."),
]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option} must be YYYY-MM-DD, was {text!r}") from None


def load_market(settings: "Settings", symbols: str | None, data_files: list[Path] | None) -> "MarketData":
    """Return the bars to run on: the user's files, else the bundled data of the symbols."""
    from stock_manager.research.data import bundled, from_files

    wanted = [s.strip() for s in symbols.split(",") if s.strip()] if symbols else None
    if data_files:
        return from_files(data_files, wanted)
    return bundled(wanted or list(settings.sim_symbols))


def period_of(market: "MarketData", date_from: str | None, date_to: str | None) -> tuple[date, date]:
    """Return the period: the options', else the last 3 years of the data."""
    end = _day(date_to, "--to") or max(bs.dates[-1] for bs in market.series.values())
    start = _day(date_from, "--from") or end - timedelta(days=3 * 365)
    if start > end:
        raise ConfigurationError(f"--from {start} is after --to {end}")
    if not market.trading_days(start, end):
        raise ConfigurationError(f"no session with data for {', '.join(market.symbols)} in {start}..{end}")
    return start, end


def read_params(params_file: Path | None) -> Any:
    """Return the MA cross parameters of `params_file`, or the defaults."""
    from stock_manager.domain.strategies.ma_cross import MaCrossParams
    from stock_manager.service_layer.params import read_params_file

    return read_params_file(params_file) if params_file is not None else MaCrossParams()


def backtest(
    date_from: DateFrom = None,
    date_to: DateTo = None,
    symbols: Symbols = None,
    data: DataFiles = None,
    params_file: ParamsFile = None,
    fill_model: Annotated[
        str, typer.Option("--fill-model", help="path (the daemon's intraday path), close, or next-open.")
    ] = "path",
    cash: Annotated[str | None, typer.Option("--cash", help="Start cash, KRW (default: SIM_START_CASH_KRW).")] = None,
    out: OutDir = Path("backtest-out"),
    record: Record = False,
    name: Name = None,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
    venue: VenueOpt = None,
    strategies: StrategiesOpt = None,
) -> None:
    """Backtest the strategy on bundled or your own daily bars, with the daemon's risk rules and fills
    (--venue upbit: the Bitcoin strategies on the bundled KRW-BTC 30-minute candles)."""
    from stock_manager.entrypoints.cli_app import console, err, guarded
    from stock_manager.entrypoints.cli_app import settings as app_settings
    from stock_manager.entrypoints.research_output import config_mapping, progress_bar

    async def main() -> int:
        from decimal import Decimal, InvalidOperation

        from stock_manager.config.settings import VenueName
        from stock_manager.entrypoints.bootstrap import risk_limits
        from stock_manager.research.engine import BacktestConfig, FillModel, run_backtest
        from stock_manager.research.report import jsonable, render, write_outputs

        settings = app_settings(db_url=db_url, **({"venue": venue} if venue is not None else {}))
        try:
            model = FillModel(fill_model)
        except ValueError:
            raise ConfigurationError(f"--fill-model must be path, close or next-open, was {fill_model!r}") from None
        try:
            start_cash = Decimal(cash) if cash is not None else settings.sim_start_cash_krw
        except InvalidOperation:
            raise ConfigurationError(f"--cash {cash!r} is not a number") from None
        if settings.venue is VenueName.UPBIT:
            from stock_manager.entrypoints.research_upbit import backtest_plan

            plan = backtest_plan(
                settings, strategies, symbols, (date_from, date_to), params_file, start_cash, data=data, model=model
            )
            start, end, config, run_symbols, source, params, title, days, run = plan
        else:
            if strategies:
                raise ConfigurationError("--strategies is available with --venue upbit (KRX runs the MA cross)")
            market = load_market(settings, symbols, data)
            start, end = period_of(market, date_from, date_to)
            ma = read_params(params_file)
            from stock_manager.adapters.venues.krx.rules import krx_cost_model

            config = BacktestConfig(
                start,
                end,
                params=ma,
                limits=risk_limits(settings),
                start_cash_krw=start_cash,
                participation_rate=settings.sim_participation_rate,
                cost_model=krx_cost_model(settings.commission_rate),
                fill_model=model,
            )
            run_symbols, source, params = market.symbols, market.source, ma.to_mapping()
            title = f"stockbot backtest {start}..{end} ({model})"
            days = len(market.trading_days(start, end))
            run = lambda advance=None: run_backtest(market, config, advance)  # noqa: E731
        advance, bar = progress_bar(err, days, "backtest")
        if bar is not None:
            with bar:
                result = run(advance)
        else:
            result = run()
        paths = write_outputs(result, out, title=title)
        if as_json:
            from stock_manager.research.metrics import summarize

            console.print_json(data=jsonable(summarize(result)))
        else:
            render(result, console)
            console.print(f"outputs: {', '.join(str(p) for p in paths)}", style="dim")
        if record:
            from stock_manager.entrypoints.bootstrap import open_storage
            from stock_manager.research.metrics import summarize
            from stock_manager.research.store import record_run

            intents = {o.broker_order_number: str(o.intent) for o in result.orders if o.broker_order_number}
            async with open_storage(settings, upgrade=False) as storage:
                run_id = await record_run(
                    storage.engine,
                    name=name or f"backtest {start}..{end}",
                    kind="BACKTEST",
                    period=(start, end),
                    ts_created=SystemClock().now(),
                    symbols=run_symbols,
                    params=params,
                    config=config_mapping(config, source),
                    summary=summarize(result),
                    fills=[(f, intents[f.broker_order_number]) for f in result.fills],
                )
            console.print(f"recorded as backtest run {run_id}")
        return 0

    guarded(main)


def optimize(
    spec_file: Annotated[
        Path,
        typer.Option(
            "--spec", help="Search file (YAML/JSON): objective, trials, seed, walk_forward, params ranges (see README)."
        ),
    ],
    date_from: DateFrom = None,
    date_to: DateTo = None,
    symbols: Symbols = None,
    data: DataFiles = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 2,
    seed: Annotated[int | None, typer.Option("--seed", help="Overrides the file's seed.")] = None,
    out: OutDir = Path("optimize-out"),
    record: Record = False,
    name: Name = None,
    db_url: DbUrl = None,
    as_json: JsonOut = False,
    venue: VenueOpt = None,
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="--venue upbit: the strategy to search (volatility_breakout…).")
    ] = None,
) -> None:
    """Walk-forward parameter search with optuna; every trial kept; out-of-sample next to in-sample
    (--venue upbit --strategy S: a Bitcoin strategy on the bundled KRW-BTC candles)."""
    from stock_manager.entrypoints.cli_app import console, err, guarded
    from stock_manager.entrypoints.cli_app import settings as app_settings
    from stock_manager.entrypoints.research_output import progress_bar

    async def main() -> int:
        import os
        from dataclasses import asdict, replace

        from stock_manager.adapters.venues.krx.rules import krx_cost_model
        from stock_manager.config.settings import VenueName
        from stock_manager.domain.strategies.ma_cross import MaCrossParams
        from stock_manager.entrypoints.bootstrap import open_storage, risk_limits
        from stock_manager.entrypoints.research_output import (
            recorded_trials,
            render_search,
            search_document,
            write_search,
        )
        from stock_manager.research.engine import BacktestConfig
        from stock_manager.research.optimize import optimize as run_search
        from stock_manager.research.optimize import read_spec
        from stock_manager.research.report import jsonable
        from stock_manager.research.store import active_params_rows, params_on, record_run

        settings = app_settings(db_url=db_url, **({"venue": venue} if venue is not None else {}))
        searched: MarketData | IntradayBacktester  # what `run_search` backtests: MA cross bars, or one strategy
        config: BacktestConfig | IntradayConfig
        if settings.venue is VenueName.UPBIT:
            from stock_manager.entrypoints.research_upbit import search_plan

            searched, config, strategy_id = search_plan(settings, strategy, symbols, (date_from, date_to), data)
            start, end, spec = config.start, config.end, read_spec(spec_file, searched.known())
            defaults, run_symbols = searched.defaults(), list(searched.market.symbols)
        else:
            if strategy:
                raise ConfigurationError("--strategy is available with --venue upbit (KRX runs the MA cross)")
            spec = read_spec(spec_file)
            market = load_market(settings, symbols, data)
            start, end = period_of(market, date_from, date_to)
            config = BacktestConfig(
                start,
                end,
                limits=risk_limits(settings),
                start_cash_krw=settings.sim_start_cash_krw,
                participation_rate=settings.sim_participation_rate,
                cost_model=krx_cost_model(settings.commission_rate),
            )
            searched, strategy_id, defaults, run_symbols = market, None, MaCrossParams().to_mapping(), market.symbols
        if seed is not None:
            spec = replace(spec, seed=seed)
        rows: list = []
        if db_url or os.environ.get("DB_URL"):  # a database is given: the baseline is its ACTIVE parameters
            async with open_storage(settings, upgrade=False) as storage:
                rows = await active_params_rows(storage.engine, *([strategy_id] if strategy_id else []))

        def baseline(day: date) -> dict:
            return params_on(rows, day) or defaults

        advance, bar = progress_bar(err, 250, "optimize")
        assert bar is not None
        with bar:
            result = run_search(searched, config, spec, jobs=jobs, baseline_for=baseline, progress=advance)
        document = search_document(result, spec, (start, end), run_symbols)
        write_search(document, result, out)
        if as_json:
            console.print_json(data=jsonable({k: v for k, v in document.items() if k != "trials"}))
        else:
            render_search(result, console)
            console.print(f"outputs: {out / 'optimize.json'}, {out / 'trials.csv'}", style="dim")
        if record:
            best = result.suggestion or result.baseline
            async with open_storage(settings, upgrade=False) as storage:
                run_id = await record_run(
                    storage.engine,
                    name=name or f"optimize {start}..{end}",
                    kind="OPTIMIZE",
                    period=(start, end),
                    ts_created=SystemClock().now(),
                    symbols=run_symbols,
                    params=best,
                    config={"spec": jsonable(asdict(spec)), "jobs": jobs},
                    summary={"verdict": result.verdict, "suggestion": result.suggestion, "windows": result.windows},
                    trials=recorded_trials(result),
                )
            console.print(f"recorded as optimize run {run_id}")
        return 0

    guarded(main)
