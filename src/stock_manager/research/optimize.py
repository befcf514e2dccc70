"""Parameter search: walk-forward optimisation with optuna, every trial kept, and an overfitting guard.

The search file (YAML or JSON)::

    objective: sharpe          # a summary figure (metrics.summarize) to maximise; max_drawdown_pct is minimised
    trials: 40                 # trials per walk-forward window
    seed: 7                    # makes the whole search repeatable
    walk_forward:              # calendar days; windows roll by step_days until the period is used up
      in_sample_days: 730
      out_of_sample_days: 180
      step_days: 180           # default: out_of_sample_days
    params:                    # a range {low, high, step} (ints stay ints) or a list of choices
      short_window_days: {low: 10, high: 60, step: 5}
      long_window_days: {low: 100, high: 250, step: 10}
      stop_loss_pct: [-3, -5, -7, -10]
    fixed: {position_value_krw: 2000000}   # any other parameter, held constant

Each window is an in-sample span followed by the out-of-sample span right after it. A trial's parameters are
chosen by optuna's TPE sampler (seeded per window) from in-sample figures only: the in-sample backtest runs on
the data cut at the in-sample end (`MarketData.until`), so no later bar can reach it. The same parameters are
then backtested out of sample (history before the span feeds the indicators; nothing after it exists) and both
figures are kept. Trials are asked from optuna in batches of `BATCH` and evaluated by a process pool (`jobs`
processes), then told in order, so the result depends on the seed only, not on the number of processes.

The guard: per window, the in-sample best is shown with its out-of-sample figure next to the baseline's (the
ACTIVE parameters, or the defaults without a database) on the same out-of-sample span. The search suggests the
last window's in-sample best only when its out-of-sample objective, and the walk-forward out-of-sample
objective (each window's best on its own span, averaged), are both at least the baseline's; otherwise its
verdict is to keep the current parameters.
"""

import math
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.research.backtester import IntradayBacktester
from stock_manager.research.data import MarketData
from stock_manager.research.engine import BacktestConfig, BacktestResult, run_backtest
from stock_manager.research.intraday import IntradayConfig
from stock_manager.research.metrics import summarize

#: Trials asked from the sampler at once (fixed, so results do not depend on the number of processes).
BATCH = 4
MINIMISED = frozenset({"max_drawdown_pct"})
_QUICK = frozenset({"return_pct", "end_equity_krw"})
#: A trial whose objective is undefined (no trade, no variance) scores this for the sampler.
UNDEFINED_SCORE = -1e12


@dataclass(frozen=True, slots=True)
class Window:
    """One walk-forward window: in-sample [is_start, is_end], out-of-sample [oos_start, oos_end]."""

    index: int
    is_start: date
    is_end: date
    oos_start: date
    oos_end: date


@dataclass(frozen=True, slots=True)
class SearchSpec:
    """A parsed search file (module docstring)."""

    objective: str
    trials: int
    seed: int
    in_sample_days: int
    out_of_sample_days: int
    step_days: int
    space: dict[str, Any]
    fixed: dict[str, Any] = field(default_factory=dict)


def read_spec(path: Path, known: set[str] | None = None) -> SearchSpec:
    """Read a search file (`known`: the strategy's parameter names; default the MA cross's).

    Raises
    ------
    ConfigurationError
        Naming what is missing or wrong.
    """
    import json

    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except OSError as e:
        raise ConfigurationError(f"cannot read search file {path}: {e.strerror}") from None
    except (ValueError, yaml.YAMLError) as e:
        raise ConfigurationError(f"search file {path} is not valid: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("params"), dict) or not raw["params"]:
        raise ConfigurationError(f"search file {path} needs a mapping with a non-empty 'params' mapping")
    return spec_from_mapping(raw, known)


def spec_from_mapping(raw: Mapping[str, Any], known: set[str] | None = None) -> SearchSpec:
    """Build a `SearchSpec` from a mapping (the file's content; `known` as `read_spec`)."""
    wf = raw.get("walk_forward") or {}
    try:
        oos = int(wf.get("out_of_sample_days", 180))
        spec = SearchSpec(
            objective=str(raw.get("objective", "sharpe")),
            trials=int(raw.get("trials", 40)),
            seed=int(raw.get("seed", 0)),
            in_sample_days=int(wf.get("in_sample_days", 730)),
            out_of_sample_days=oos,
            step_days=int(wf.get("step_days", oos)),
            space=dict(raw["params"]),
            fixed=dict(raw.get("fixed") or {}),
        )
    except (TypeError, ValueError) as e:
        raise ConfigurationError(f"search file: {e}") from None
    from stock_manager.research.report import SUMMARY_ROWS

    objectives = {k for k, _ in SUMMARY_ROWS} - {"period", "sessions", "trades", "kill_switch"}
    if spec.objective not in objectives:
        raise ConfigurationError(f"objective {spec.objective!r} is not one of {', '.join(sorted(objectives))}")
    if spec.trials <= 0 or min(spec.in_sample_days, spec.out_of_sample_days, spec.step_days) <= 0:
        raise ConfigurationError("trials and the walk-forward days must be positive")
    unknown = sorted((set(spec.space) | set(spec.fixed)) - (known or set(MaCrossParams.__dataclass_fields__)))
    if unknown:
        raise ConfigurationError(f"unknown strategy parameter(s) in the search file: {', '.join(unknown)}")
    return spec


def windows(start: date, end: date, spec: SearchSpec) -> list[Window]:
    """Return the rolling windows that fit in [start, end] (the out-of-sample span may be cut at `end`).

    Raises
    ------
    ConfigurationError
        If not even one in-sample span and a day of out-of-sample fit in the period.
    """
    out: list[Window] = []
    is_start = start
    while True:
        is_end = is_start + timedelta(days=spec.in_sample_days - 1)
        oos_start = is_end + timedelta(days=1)
        if oos_start > end:
            break
        out.append(
            Window(
                len(out), is_start, is_end, oos_start, min(end, oos_start + timedelta(days=spec.out_of_sample_days - 1))
            )
        )
        is_start += timedelta(days=spec.step_days)
    if not out:
        raise ConfigurationError(
            f"{start}..{end} is too short for {spec.in_sample_days} in-sample days and an out-of-sample span"
        )
    return out


def suggest(trial: Any, spec: SearchSpec) -> dict[str, Any]:
    """Return the parameters optuna suggests for `trial` from the spec's space, plus the fixed ones."""
    values: dict[str, Any] = dict(spec.fixed)
    for name, rng in spec.space.items():
        if isinstance(rng, list):
            values[name] = trial.suggest_categorical(name, rng)
        elif isinstance(rng, dict):
            low, high, step = rng["low"], rng["high"], rng.get("step")
            if all(isinstance(v, int) for v in (low, high, step or 1)):
                values[name] = trial.suggest_int(name, low, high, step=step or 1)
            else:
                values[name] = trial.suggest_float(name, float(low), float(high), step=step)
                if step:  # keep the grid's decimals exact
                    exponent = Decimal(str(step)).as_tuple().exponent  # an int for a finite step
                    places = max(0, -exponent) if isinstance(exponent, int) else 0
                    values[name] = round(values[name], places)
        else:
            values[name] = rng
    return values


def objective_value(summary: Mapping[str, Any], name: str) -> float | None:
    """Return the objective's value (None when undefined)."""
    value = summary.get(name)
    return None if value is None else float(value)


def score(value: float | None, name: str) -> float:
    """Return what the sampler maximises: the value, negated when minimised; undefined ranks last."""
    if value is None or not math.isfinite(value):
        return UNDEFINED_SCORE
    return -value if name in MINIMISED else value


# -- EVALUATION (in worker processes) -------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(market: MarketData | IntradayBacktester, config: BacktestConfig | IntradayConfig) -> None:
    _WORKER["market"], _WORKER["config"] = market, config
    _WORKER["cut"] = {}


def _cut(last: date) -> MarketData:
    cuts = _WORKER["cut"]
    if last not in cuts:
        cuts[last] = _WORKER["market"].until(last)
    return cuts[last]


def figures(result: BacktestResult, objective: str) -> dict[str, Any]:
    """Return the summary figures of `result` (only the cheap ones when the objective needs no more)."""
    if objective in _QUICK:
        end = result.end_equity_krw
        start = result.config.start_cash_krw
        return {
            "return_pct": ((end / start - 1) * 100).quantize(Decimal("0.000001")),
            "end_equity_krw": end,
            "trades": len(result.fills),
            "orders": len(result.orders),
        }
    summary = summarize(result)
    del summary["symbols"]
    return summary


def evaluate(params: Mapping[str, Any], window: Window, objective: str) -> dict[str, Any]:
    """Backtest `params` in sample (data cut at its end) and out of sample; return both figures."""
    if not isinstance(_WORKER["market"], MarketData):  # another strategy's backtester (`research.backtester`)
        return _WORKER["market"].evaluate(params, window, lambda result: figures(result, objective))
    try:
        p = MaCrossParams.from_mapping(params)
    except ConfigurationError as e:
        return {"error": str(e)}
    config = replace(_WORKER["config"], params=p)
    ins = run_backtest(_cut(window.is_end), replace(config, start=window.is_start, end=window.is_end))
    oos = run_backtest(_cut(window.oos_end), replace(config, start=window.oos_start, end=window.oos_end))
    return {"in_sample": figures(ins, objective), "out_of_sample": figures(oos, objective)}


def _evaluate_batch(batch: Sequence[tuple[Mapping[str, Any], Window, str]]) -> list[dict[str, Any]]:
    return [evaluate(p, w, o) for p, w, o in batch]


def pool(market: MarketData | IntradayBacktester, config: BacktestConfig | IntradayConfig, jobs: int) -> Executor:
    """Return a process pool whose workers hold `market` and `config` (forked where the OS can); with `jobs`
    0, one worker thread of this process instead (no fork: a daemon's after-close search runs in a thread of
    a process with other threads)."""
    if jobs <= 0:
        _init_worker(market, config)
        return ThreadPoolExecutor(max_workers=1)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(market, config),
    )


# -- THE SEARCH -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class SearchResult:
    """Every trial and window of a search, and its verdict."""

    spec: SearchSpec
    baseline: dict[str, Any]
    windows: list[dict[str, Any]]
    trials: list[dict[str, Any]]
    suggestion: dict[str, Any] | None
    verdict: str


def optimize(
    market: MarketData | IntradayBacktester,
    config: BacktestConfig | IntradayConfig,
    spec: SearchSpec,
    *,
    jobs: int = 2,
    baseline_for: Callable[[date], Mapping[str, Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Run the walk-forward search over `config`'s period (`market`: MA cross bars, or an `IntradayBacktester`).

    Parameters
    ----------
    baseline_for : Callable[[date], Mapping[str, Any]] | None
        The parameters in force on a day (the ACTIVE ones); the defaults when None.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    wins = windows(config.start, config.end, spec)
    baseline_of = baseline_for or (lambda _day: MaCrossParams().to_mapping())
    trials: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total, done = len(wins) * spec.trials, 0
    _init_worker(market, config)  # for the baseline, evaluated here
    with pool(market, config, jobs) as executor:
        for w in wins:
            sampler = optuna.samplers.TPESampler(seed=spec.seed + w.index)
            study = optuna.create_study(direction="maximize", sampler=sampler)
            window_trials: list[dict[str, Any]] = []
            while len(window_trials) < spec.trials:
                asked = [study.ask() for _ in range(min(BATCH, spec.trials - len(window_trials)))]
                params = [suggest(t, spec) for t in asked]
                chunks = [[(p, w, spec.objective)] for p in params]
                outcomes = [r for chunk in executor.map(_evaluate_batch, chunks) for r in chunk]
                for trial, p, outcome in zip(asked, params, outcomes, strict=True):
                    row = _trial_row(w, trial.number, p, outcome, spec.objective)
                    study.tell(
                        trial,
                        score(row["objective_in_sample"], spec.objective)
                        if "error" not in outcome
                        else UNDEFINED_SCORE,
                    )
                    window_trials.append(row)
                done += len(asked)
                if progress is not None:
                    progress(done, total)
            trials.extend(window_trials)
            best = max(window_trials, key=lambda r: score(r["objective_in_sample"], spec.objective))
            base = evaluate(baseline_of(w.oos_start), w, spec.objective)
            rows.append(
                {
                    "window": w.index,
                    "in_sample": f"{w.is_start}..{w.is_end}",
                    "out_of_sample": f"{w.oos_start}..{w.oos_end}",
                    "best_params": best["params"],
                    "best_in_sample": best["objective_in_sample"],
                    "best_out_of_sample": best["objective_out_of_sample"],
                    "baseline_params": dict(baseline_of(w.oos_start)),
                    "baseline_in_sample": objective_value(base.get("in_sample", {}), spec.objective),
                    "baseline_out_of_sample": objective_value(base.get("out_of_sample", {}), spec.objective),
                }
            )
    suggestion, verdict = _guard(rows, spec.objective)
    return SearchResult(spec, dict(baseline_of(config.end)), rows, trials, suggestion, verdict)


def _trial_row(
    w: Window, number: int, params: Mapping[str, Any], outcome: Mapping[str, Any], objective: str
) -> dict[str, Any]:
    ins, oos = outcome.get("in_sample", {}), outcome.get("out_of_sample", {})
    return {
        "window": w.index,
        "trial": number,
        "params": dict(params),
        "in_sample": ins,
        "out_of_sample": oos,
        "objective_in_sample": objective_value(ins, objective),
        "objective_out_of_sample": objective_value(oos, objective),
        "error": outcome.get("error"),
    }


def _guard(rows: list[dict[str, Any]], objective: str) -> tuple[dict[str, Any] | None, str]:
    # Suggest the last window's in-sample best only if it is not worse out of sample than the baseline,
    # there and on average over the windows (walk-forward).
    last = rows[-1]
    cand, base = score(last["best_out_of_sample"], objective), score(last["baseline_out_of_sample"], objective)
    # The walk-forward means count the windows where both figures are defined (a span without a trade has
    # no Sharpe, for instance).
    both = [r for r in rows if r["best_out_of_sample"] is not None and r["baseline_out_of_sample"] is not None]
    wf_cand = sum(score(r["best_out_of_sample"], objective) for r in both) / len(both) if both else UNDEFINED_SCORE
    wf_base = sum(score(r["baseline_out_of_sample"], objective) for r in both) / len(both) if both else UNDEFINED_SCORE
    if last["best_out_of_sample"] is None:
        return None, "keep the current parameters: the best in-sample parameters have no out-of-sample figure"
    if cand < base or wf_cand < wf_base:
        return None, (
            f"keep the current parameters: out of sample the best in-sample parameters score "
            f"{last['best_out_of_sample']} (walk-forward mean {_fmt(wf_cand, objective)}) against "
            f"{last['baseline_out_of_sample']} ({_fmt(wf_base, objective)}) for the current ones"
        )
    return dict(last["best_params"]), (
        f"suggested: out of sample {last['best_out_of_sample']} (walk-forward mean {_fmt(wf_cand, objective)}) "
        f"against {last['baseline_out_of_sample']} ({_fmt(wf_base, objective)}) for the current parameters"
    )


def _fmt(value: float, objective: str) -> str:
    if value <= UNDEFINED_SCORE / 10:
        return "undefined"
    return f"{(-value if objective in MINIMISED else value):.4f}"
