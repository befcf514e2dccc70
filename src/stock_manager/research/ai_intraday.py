"""The research engine of the AI jobs for the strategies that act on every print (the Bitcoin strategies:
volatility breakout, grid, turtle): the `ParameterResearch` port over `research.intraday` on the replayed Upbit
market, and `VenueResearch`, which sends each strategy to the engine that backtests it (the MA cross to
`ai_research.BacktestResearch`).

The search (`IntradayResearch.search`) is `optimize.optimize` with an `IntradayBacktester` of the one strategy
over `SearchPlan.windows` walk-forward windows ending on `data_until`, in a space around the ACTIVE parameters no
wider than the gate's step limit (`SEARCHED` names the fitted parameters; budgets and limit offsets stay as they
are). The evidence is the candidate and the ACTIVE parameters, each backtested alone on the last out-of-sample
span, and the search's walk-forward means, as for the MA cross.

The journal's day against its backtest (`IntradayResearch.day_comparison`) is
`divergence_upbit.upbit_divergence_report` (what ``stockbot divergence --venue upbit`` prints) over the Upbit
account's traded period up to the day, kept to the day's rows.
"""

import asyncio
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.adapters.broker.sim.market import ReplayMarket
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.param_gate import OutOfSample, decimal_or_none
from stock_manager.domain.strategies.base import StrategyParams, StrategySpec
from stock_manager.domain.strategies.ma_cross import STRATEGY_ID as MA_CROSS_ID
from stock_manager.research.ai_research import KEPT, nice_step, walk_forward_finding
from stock_manager.research.backtester import IntradayBacktester
from stock_manager.research.intraday import IntradayConfig
from stock_manager.research.metrics import summarize
from stock_manager.research.optimize import MINIMISED, optimize, spec_from_mapping
from stock_manager.research.report import jsonable
from stock_manager.service_layer.ports.ai import Evidence, Finding, ParameterResearch, SearchPlan
from stock_manager.service_layer.ports.venue import VenueProfile
from stock_manager.service_layer.risk_config import effective_limits

#: The parameters the search fits, per strategy; the others are held at their ACTIVE values.
SEARCHED: Mapping[str, tuple[str, ...]] = {
    "volatility_breakout": ("k", "ma_filter_days"),
    "grid": ("levels", "band_pct"),
    "turtle": ("entry_days", "exit_days", "stop_n"),
}


def intraday_space(
    spec: StrategySpec, active: Mapping[str, Any], max_change_pct: Decimal
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the optimizer's ranges around `active` (no wider than `max_change_pct` percent, within the
    strategy's bounds) and the fixed rest; a parameter whose range holds one point is held fixed."""
    params = spec.params_from(active)
    kinds = {f.name: f.type for f in fields(params)}  # type: ignore[arg-type]
    full = params.to_mapping()
    searched = SEARCHED.get(spec.strategy_id, ())
    space: dict[str, Any] = {}
    fixed: dict[str, Any] = {k: v for k, v in full.items() if k not in searched}
    share = max_change_pct / 100
    for name in searched:
        value = Decimal(str(full[name]))
        low, high = sorted((value * (1 - share), value * (1 + share)))
        rng: dict[str, Any] | None
        if kinds[name] is int:
            rng = {"low": math.ceil(low), "high": math.floor(high)}
        else:
            step = nice_step(high - low)
            lo = (low / step).to_integral_value(rounding="ROUND_CEILING") * step
            hi = (high / step).to_integral_value(rounding="ROUND_FLOOR") * step
            rng = {"low": float(lo), "high": float(hi), "step": float(step)} if value else None
        while rng is not None and rng["low"] < rng["high"] and spec.problems({**full, name: rng["high"]}):
            rng["high"] = round(rng["high"] - rng.get("step", 1), 10)
        while rng is not None and rng["low"] < rng["high"] and spec.problems({**full, name: rng["low"]}):
            rng["low"] = round(rng["low"] + rng.get("step", 1), 10)
        if rng is None or rng["low"] >= rng["high"]:
            fixed[name] = full[name]
        else:
            space[name] = rng
    return space, fixed


class IntradayResearch:
    """**Adapter:** `ParameterResearch` on the intraday backtest (module docstring).

    Parameters
    ----------
    replay : Callable[[], tuple[ReplayMarket, VenueProfile]]
        The replayed market and its venue profile; called once, on first use.
    config : IntradayConfig
        The simulated account (cash, participation, fee) and the settings' risk limits; the database's newest
        limit changes override them at each search, as at the daemon's open.
    storage : Any
        The `Storage` of the composition root (its engine and unit-of-work factory).
    strategies : Sequence[StrategySpec]
        The account's strategies in the daemon's order (the day's comparison orders its strategies so; one
        recorded on the orders but not named here follows in the registry's order).
    fallback : Callable[[StrategySpec], StrategyParams] or None
        A strategy's parameters on days without an ACTIVE ``strategy_params`` row, as the daemon's (its
        parameter file's entry, else the defaults); None: the strategy's defaults.
    """

    def __init__(
        self,
        replay: Callable[[], tuple[ReplayMarket, VenueProfile]],
        config: IntradayConfig,
        *,
        storage: Any,
        strategies: Sequence[StrategySpec] = (),
        fallback: Callable[[StrategySpec], StrategyParams] | None = None,
    ) -> None:
        self._replay_of = replay
        self._replay: tuple[ReplayMarket, VenueProfile] | None = None
        self._config = config
        self._storage = storage
        self._strategies = tuple(strategies)
        self._fallback = fallback or (lambda spec: spec.default_params())

    def unsupported(self, spec: StrategySpec) -> str | None:
        """Return None: any strategy plays on the replayed prints."""
        del spec
        return None

    def _replayed(self) -> tuple[ReplayMarket, VenueProfile]:
        if self._replay is None:
            self._replay = self._replay_of()
        return self._replay

    def _backtester(self, spec: StrategySpec, config: IntradayConfig) -> IntradayBacktester:
        market, venue = self._replayed()
        days = market.trading_days(date.min, config.end)
        if not days or days[-1] < config.end - timedelta(days=7):
            raise ConfigurationError(
                f"the replayed {', '.join(market.symbols)} candles do not reach {config.end} "
                f"(they end {days[-1] if days else 'before it'}); proposals need data up to the day searched"
            )
        return IntradayBacktester(market, venue, config, spec)

    async def _config_until(self, plan: SearchPlan) -> IntradayConfig:
        async with self._storage.uow_factory() as uow:
            limits = await effective_limits(uow, self._config.limits)
        start = plan.data_until - timedelta(days=plan.in_sample_days + plan.windows * plan.out_of_sample_days - 1)
        return replace(self._config, start=start, end=plan.data_until, limits=limits)

    async def search(self, spec: StrategySpec, active: Mapping[str, Any], plan: SearchPlan) -> Finding:
        """Return the search's candidate and evidence (module docstring).

        Raises
        ------
        ConfigurationError
            When the replayed candles stop more than a week before `data_until`.
        """
        config = await self._config_until(plan)
        backtester = self._backtester(spec, config)
        space, fixed = intraday_space(spec, active, plan.max_change_pct)
        search = spec_from_mapping(
            {
                "objective": plan.objective,
                "trials": plan.trials,
                "seed": plan.seed,
                "walk_forward": {"in_sample_days": plan.in_sample_days, "out_of_sample_days": plan.out_of_sample_days},
                "params": space or {next(iter(fixed)): [next(iter(fixed.values()))]},
                "fixed": fixed,
            },
            backtester.known(),
        )
        result = await asyncio.to_thread(
            optimize, backtester, config, search, jobs=plan.jobs, baseline_for=lambda _day: dict(active)
        )
        candidate = dict(result.windows[-1]["best_params"])
        evidence = self._evidence(backtester, candidate, active, plan)
        headline = f"walk-forward search of {spec.strategy_id} on the replayed prints"
        return walk_forward_finding(result, evidence, space, plan, headline)

    async def verify(
        self, spec: StrategySpec, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        """Return `proposed` and `active` backtested on the last out-of-sample span ending on `plan.data_until`."""
        backtester = self._backtester(spec, await self._config_until(plan))
        return await asyncio.to_thread(self._evidence, backtester, proposed, active, plan)

    def _evidence(
        self, backtester: IntradayBacktester, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        start = plan.data_until - timedelta(days=plan.out_of_sample_days - 1)
        figures = {}
        for label, params in (("proposed", proposed), ("active", active)):
            summary = summarize(backtester.backtest(params, start, plan.data_until))
            figures[label] = {k: summary.get(k) for k in KEPT}
        objective = plan.objective
        oos = OutOfSample(
            objective,
            objective not in MINIMISED,
            decimal_or_none(figures["proposed"][objective]),
            decimal_or_none(figures["active"][objective]),
            decimal_or_none(figures["proposed"]["max_drawdown_pct"]),
            figures["proposed"]["kill_switch"] or None,
        )
        return Evidence(oos, {"out_of_sample_span": f"{start}..{plan.data_until}", "backtests": jsonable(figures)})

    async def day_comparison(self, account_id: str, day: date) -> Mapping[str, Any]:
        """Return the Upbit account's day `day` (a UTC trading date) against the backtest of its traded period (its
        first settled day, or `day`, through `day`), JSON-safe (KRW amounts as exact decimal strings, quantities
        with Upbit's 8 decimals, dates ISO).

        Returns
        -------
        Mapping
            ``period`` (``"start..day"``), ``strategies`` (compared, in the account's order), ``orders_daemon`` and
            ``orders_backtest`` (the day's: its pairs plus its extra, resp. missing, orders), the day's ``pairs``,
            ``missing`` (traded by the backtest alone) and ``extra`` (by the daemon alone) rows of
            `divergence.compare` (each naming its strategy), ``pnl_difference_krw`` (daemon − backtest over the
            period), ``held_at_start`` and ``by_strategy`` ({strategy id: the day's ``pairs``, ``missing`` and
            ``extra`` counts and the period's ``pnl_difference_krw``}); or ``{"unavailable": why}`` when it cannot
            be built: no replayed candles on `day`, and any error of the report (a `ConfigurationError` such as no
            Upbit orders of the account in the period, an invalid ACTIVE row), which it never raises.
        """
        from stock_manager.research.divergence_upbit import upbit_divergence_report

        try:
            market, venue = self._replayed()
            if not market.trading_days(day, day):
                every = market.trading_days(date.min, date.max)
                bundled = f"{every[0]}..{every[-1]}" if every else "none"
                return {
                    "unavailable": f"no 30-minute candles of {', '.join(market.symbols)} on {day} "
                    f"in the bundled Upbit data ({bundled})"
                }
            async with self._storage.uow_factory() as uow:
                settled = [s.trading_date for s in await uow.settlements.list_all(account_id, with_summary=False)]
            start = min([*settled, day])
            report = await upbit_divergence_report(
                self._storage,
                start,
                day,
                market=market,
                venue=venue,
                template=replace(self._config, start=start, end=day),
                strategies=self._strategies,
                named=False,
                account=account_id,
                fallback=self._fallback,
            )
        except ConfigurationError as e:
            return {"unavailable": str(e)}
        except Exception as e:  # the comparison is a fact of the journal; why it failed is one too
            return {"unavailable": f"{type(e).__name__}: {e}"}
        return jsonable(day_of(report, day))


def day_of(report: Mapping[str, Any], day: date) -> dict[str, Any]:
    """Return `IntradayResearch.day_comparison`'s figures from an Upbit divergence report whose period ends on
    `day` (Decimals and dates as they are)."""

    def on_day(key: str) -> list[dict[str, Any]]:
        return [r for r in report[key] if r["trading_date"] == day]

    rows = {key: on_day(key) for key in ("pairs", "missing", "extra")}
    by_strategy = {
        sid: {
            **{key: sum(1 for r in rows[key] if r.get("strategy") == sid) for key in rows},
            "pnl_difference_krw": figures["pnl_difference_krw"],
        }
        for sid, figures in report["by_strategy"].items()
    }
    return {
        "period": report["period"],
        "strategies": list(report["strategies"]),
        "orders_daemon": len(rows["pairs"]) + len(rows["extra"]),
        "orders_backtest": len(rows["pairs"]) + len(rows["missing"]),
        **rows,
        "pnl_difference_krw": report["pnl_difference_krw"],
        "held_at_start": report["held_at_start"],
        "by_strategy": by_strategy,
    }


class VenueResearch:
    """**Adapter:** `ParameterResearch` that sends the MA cross to `ma_cross` and every other strategy to
    `intraday`; the day's comparison comes from the venue's own (`intraday_venue`: the Upbit account)."""

    def __init__(self, ma_cross: ParameterResearch, intraday: ParameterResearch, *, intraday_venue: bool) -> None:
        self._ma, self._intraday, self._intraday_venue = ma_cross, intraday, intraday_venue

    def _of(self, spec: StrategySpec) -> ParameterResearch:
        return self._ma if spec.strategy_id == MA_CROSS_ID else self._intraday

    def unsupported(self, spec: StrategySpec) -> str | None:
        """Return why `spec` cannot be backtested, or None."""
        return self._of(spec).unsupported(spec)

    async def search(self, spec: StrategySpec, active: Mapping[str, Any], plan: SearchPlan) -> Finding:
        """Return the search of `spec`'s engine."""
        return await self._of(spec).search(spec, active, plan)

    async def verify(
        self, spec: StrategySpec, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        """Return the evidence of `spec`'s engine."""
        return await self._of(spec).verify(spec, proposed, active, plan)

    async def day_comparison(self, account_id: str, day: date) -> Mapping[str, Any]:
        """Return the account's day against its backtest (the venue's engine)."""
        engine = self._intraday if self._intraday_venue else self._ma
        return await engine.day_comparison(account_id, day)
