"""The research engine as the AI jobs use it: the `ParameterResearch` port over the backtest, the walk-forward
search and the divergence report.

What it covers: the MA cross (``ma_cross_50_200``), the strategy the engine replays (`engine` runs
`evaluate_daily`/`evaluate_tick` of `domain.strategies.ma_cross`), on the bundled KRX daily bars or the
user's files. The Bitcoin strategies (volatility breakout, turtle, grid) are backtested by
`ai_intraday.IntradayResearch` on the replayed Upbit prints; `ai_intraday.VenueResearch` sends each strategy to
its engine, and `unsupported` here names any other strategy given to this one.

The search (`search`) is `optimize.optimize` over `SearchPlan.windows` walk-forward windows ending on
`data_until`, in a space around the ACTIVE parameters no wider than the gate's step limit (so the optimizer
never proposes a move the gate must refuse): windows, stop-loss, take-profit and the volume filter; the
entry budget, the entry limit offset and the volume window stay as they are (the owner's choices, not
fitted). Its candidate is the last window's in-sample best; the evidence is that candidate and the ACTIVE
parameters backtested on the last out-of-sample span (the one span the candidate never saw), and the search's
walk-forward means. Searches run in a worker thread (the daemon's event loop keeps running).
"""

import asyncio
import math
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import OutOfSample, decimal_or_none
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID, MaCrossParams
from stock_manager.research.data import MarketData
from stock_manager.research.engine import BacktestConfig, run_backtest
from stock_manager.research.metrics import summarize
from stock_manager.research.optimize import MINIMISED, SearchResult, SearchSpec, optimize, spec_from_mapping
from stock_manager.research.report import jsonable
from stock_manager.service_layer.ports.ai import Evidence, Finding, SearchPlan
from stock_manager.service_layer.risk_config import effective_limits

#: The MA cross parameters the search fits; the others are held at their ACTIVE values.
SEARCHED = ("short_window_days", "long_window_days", "stop_loss_pct", "take_profit_pct", "min_volume_ratio")
#: The figures of a backtest kept as evidence.
KEPT = (
    "period",
    "return_pct",
    "sharpe",
    "max_drawdown_pct",
    "trades",
    "closed_trades",
    "win_rate_pct",
    "costs_krw",
    "end_equity_krw",
    "risk_denials",
    "kill_switch",
)


def nice_step(span: Decimal) -> Decimal:
    """Return a round grid step (1, 2 or 5 × a power of ten) giving about ten points over `span`."""
    raw = span / 10
    if raw <= 0:
        return Decimal(1)
    power = Decimal(10) ** math.floor(math.log10(raw))
    return next(power * m for m in (Decimal(5), Decimal(2), Decimal(1)) if power * m <= raw)


def search_space(active: Mapping[str, Any], max_change_pct: Decimal) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the optimizer's ranges around `active` (no wider than `max_change_pct` percent) and the fixed rest.

    Whole-number parameters get whole ranges; decimals a round grid (`nice_step`). A parameter at 0, or one
    whose range holds a single point, is held fixed.
    """
    kinds = {f.name: f.type for f in fields(MaCrossParams)}
    full = MaCrossParams.from_mapping(active).to_mapping()
    space: dict[str, Any] = {}
    fixed: dict[str, Any] = {k: v for k, v in full.items() if k not in SEARCHED}
    share = max_change_pct / 100
    for name in SEARCHED:
        value = Decimal(str(full[name]))
        low, high = sorted((value * (1 - share), value * (1 + share)))
        if kinds[name] is int:
            lo, hi = math.ceil(low), math.floor(high)
            rng: Any = {"low": lo, "high": hi} if lo < hi else None
        else:
            step = nice_step(high - low)
            lo_d, hi_d = (
                (low / step).to_integral_value(rounding="ROUND_CEILING") * step,
                (high / step).to_integral_value(rounding="ROUND_FLOOR") * step,
            )
            rng = {"low": float(lo_d), "high": float(hi_d), "step": float(step)} if value and lo_d < hi_d else None
        if rng is not None:
            rng = _clipped(full, name, rng)
        if rng is None:
            fixed[name] = full[name]
        else:
            space[name] = rng
    return space, fixed


def _clipped(full: Mapping[str, Any], name: str, rng: dict[str, Any]) -> dict[str, Any] | None:
    # Pull each end of the range in, one grid step at a time, until the strategy accepts it (the windows'
    # 250-session cap, the signs of the stop and target); None when nothing valid is left.
    step = rng.get("step", 1)
    low, high = rng["low"], rng["high"]
    while low < high and MaCrossParams.problems({**full, name: high}):
        high = round(high - step, 10) if "step" in rng else high - 1
    while low < high and MaCrossParams.problems({**full, name: low}):
        low = round(low + step, 10) if "step" in rng else low + 1
    if low >= high:
        return None
    return {**rng, "low": low, "high": high}


class BacktestResearch:
    """**Adapter:** `ParameterResearch` on the research engine (module docstring).

    Parameters
    ----------
    market : Callable[[], MarketData]
        The bars (bundled, or the user's files); called once, on first use.
    config : BacktestConfig
        The simulated account (cash, participation, costs) and the settings' risk limits; the database's newest
        limit changes override them at each search, as at the daemon's open.
    storage : Any
        The `Storage` of the composition root (engine and unit-of-work factory), for the day's comparison.
    settings : Any
        The daemon's settings (the divergence report reads the simulated account's defaults from them).
    """

    def __init__(
        self, market: Callable[[], MarketData], config: BacktestConfig, *, storage: Any, settings: Any
    ) -> None:
        self._market_of = market
        self._market: MarketData | None = None
        self._config = config
        self._storage = storage
        self._settings = settings

    def unsupported(self, spec: StrategySpec) -> str | None:
        """Return why `spec` cannot be backtested, or None for the MA cross."""
        if spec.strategy_id == STRATEGY_ID:
            return None
        return f"the research engine backtests only {STRATEGY_ID}; {spec.strategy_id} has no backtest yet"

    def market(self) -> MarketData:
        """Return the bars (loaded once)."""
        if self._market is None:
            self._market = self._market_of()
        return self._market

    def _market_until(self, day: date) -> MarketData:
        # The bars up to `day`; refused when a symbol's data stops more than a week before it (a stale search
        # would judge parameters on a period that is not the one they are for).
        market = self.market()
        stale = {
            s: bs.dates[-1] if bs.dates else None
            for s, bs in market.series.items()
            if not bs.dates or bs.dates[-1] < day - timedelta(days=7)
        }
        if stale:
            said = ", ".join(f"{s} ends {last or 'empty'}" for s, last in stale.items())
            raise ConfigurationError(
                f"the {market.source} bars do not reach {day} ({said}); proposals need daily "
                "bars up to the day searched (`stockbot ai propose --data FILE`)"
            )
        return market.until(day)

    async def _config_until(self, plan: SearchPlan) -> BacktestConfig:
        async with self._storage.uow_factory() as uow:
            limits = await effective_limits(uow, self._config.limits)
        start = plan.data_until - timedelta(days=plan.in_sample_days + plan.windows * plan.out_of_sample_days - 1)
        return replace(self._config, start=start, end=plan.data_until, limits=limits)

    async def search(self, spec: StrategySpec, active: Mapping[str, Any], plan: SearchPlan) -> Finding:
        """Return the search's candidate and evidence (module docstring).

        Raises
        ------
        ConfigurationError
            For a strategy other than the MA cross, or bars that stop more than a week before `data_until`.
        """
        self._require(spec)
        config = await self._config_until(plan)
        space, fixed = search_space(active, plan.max_change_pct)
        search = spec_from_mapping(
            {
                "objective": plan.objective,
                "trials": plan.trials,
                "seed": plan.seed,
                "walk_forward": {"in_sample_days": plan.in_sample_days, "out_of_sample_days": plan.out_of_sample_days},
                "params": space,
                "fixed": fixed,
            }
        )
        market = self._market_until(plan.data_until)
        result = await asyncio.to_thread(
            optimize, market, config, search, jobs=plan.jobs, baseline_for=lambda _day: dict(active)
        )
        candidate = dict(result.windows[-1]["best_params"])
        evidence = self._evidence(market, config, search, candidate, active, plan)
        return walk_forward_finding(result, evidence, space, plan, "walk-forward search")

    async def verify(
        self, spec: StrategySpec, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        """Return `proposed` and `active` backtested on the last out-of-sample span ending on `plan.data_until`."""
        self._require(spec)
        config = await self._config_until(plan)
        search = SearchSpec(
            plan.objective,
            plan.trials,
            plan.seed,
            plan.in_sample_days,
            plan.out_of_sample_days,
            plan.out_of_sample_days,
            {},
        )
        market = self._market_until(plan.data_until)
        return await asyncio.to_thread(self._evidence, market, config, search, proposed, active, plan)

    def _evidence(
        self,
        market: MarketData,
        config: BacktestConfig,
        search: SearchSpec,
        proposed: Mapping[str, Any],
        active: Mapping[str, Any],
        plan: SearchPlan,
    ) -> Evidence:
        start = plan.data_until - timedelta(days=plan.out_of_sample_days - 1)
        span = replace(config, start=start, end=plan.data_until)
        figures = {}
        for label, params in (("proposed", proposed), ("active", active)):
            result = run_backtest(market, replace(span, params=MaCrossParams.from_mapping(params)))
            summary = summarize(result)
            figures[label] = {k: summary.get(k) for k in KEPT}
        objective = search.objective
        oos = OutOfSample(
            objective,
            objective not in MINIMISED,
            decimal_or_none(figures["proposed"][objective]),
            decimal_or_none(figures["active"][objective]),
            decimal_or_none(figures["proposed"]["max_drawdown_pct"]),
            figures["proposed"]["kill_switch"] or None,
        )
        return Evidence(oos, {"out_of_sample_span": f"{start}..{plan.data_until}", "backtests": jsonable(figures)})

    @staticmethod
    def _require(spec: StrategySpec) -> None:
        if spec.strategy_id != STRATEGY_ID:
            raise ConfigurationError(f"the research engine backtests only {STRATEGY_ID}, not {spec.strategy_id}")

    async def day_comparison(self, account_id: str, day: date) -> Mapping[str, Any]:
        """Return the account's day against the backtest of its traded period up to `day` (the divergence
        report, restricted to the day's trades), or ``{"unavailable": why}``."""
        from stock_manager.research.divergence_run import divergence_report

        market = self.market()
        short = [s for s, bs in market.series.items() if not bs.dates or bs.dates[-1] < day]
        if short:
            return {"unavailable": f"no bars of {', '.join(short)} on {day} in the {market.source} data"}
        async with self._storage.uow_factory() as uow:
            settled = [s.trading_date for s in await uow.settlements.list_all(account_id, with_summary=False)]
        start = settled[0] if settled else day
        try:
            report = await divergence_report(
                self._storage,
                start,
                day,
                market.symbols,
                account=account_id,
                settings=self._settings,
                fallback=MaCrossParams(),
                limits=self._config.limits,
                market=market,
            )
        except ConfigurationError as e:
            return {"unavailable": str(e)}
        of_day = [p for p in report["pairs"] if p["trading_date"] == day]
        missing = [r for r in report["missing"] if r["trading_date"] == day]
        extra = [r for r in report["extra"] if r["trading_date"] == day]
        return jsonable(
            {
                "period": report["period"],
                "orders_daemon": len(of_day) + len(extra),
                "orders_backtest": len(of_day) + len(missing),
                "pairs": of_day,
                "missing": missing,
                "extra": extra,
                "pnl_difference_krw": report["pnl_difference_krw"],
                "held_at_start": report["held_at_start"],
            }
        )


def walk_forward_finding(
    result: SearchResult, evidence: Evidence, space: Mapping[str, Any], plan: SearchPlan, headline: str
) -> Finding:
    """The finding of a walk-forward search: the last window's best parameters, `evidence` with the mean
    out-of-sample figures of the proposed and the ACTIVE parameters over the windows where both traded (6 decimal
    places), and the search's own figures (trials, space, seed, verdict, windows)."""
    candidate = dict(result.windows[-1]["best_params"])
    both = [
        w for w in result.windows if w["best_out_of_sample"] is not None and w["baseline_out_of_sample"] is not None
    ]

    def mean(key: str) -> Decimal | None:
        return Decimal(str(round(sum(w[key] for w in both) / len(both), 6))) if both else None

    oos = replace(
        evidence.out_of_sample,
        walk_forward_proposed=mean("best_out_of_sample"),
        walk_forward_active=mean("baseline_out_of_sample"),
    )
    search = {
        "trials_per_window": plan.trials,
        "space": space,
        "seed": plan.seed,
        "verdict": result.verdict,
        "windows": jsonable(result.windows),
    }
    figures = {**evidence.figures, "search": search}
    return Finding(
        candidate,
        f"{headline} ({len(result.windows)} windows, {plan.trials} trials each, {plan.objective}): {result.verdict}",
        Evidence(oos, figures),
    )
