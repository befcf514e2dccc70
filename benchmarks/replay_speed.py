"""Replay speed: the README's main job (`stockbot run --mode sim`, KIS protocol path) here and at a baseline commit.

Runs the same command, ``uv run stockbot run --mode sim --fresh`` with a new temporary ``DATA_DIR`` each time,
in the current tree and in a git worktree of the baseline commit (made here, or given with --baseline-dir),
interleaved (baseline, current, baseline, current, ...), on the same machine. Prints each run's wall and CPU
seconds (CPU: user + system of the process tree), the medians and the speed-up, then checks that both trees
traded alike: the same event lines (orders, fills, cancels), session summaries and period summary, or it
exits 1 naming the first difference. A run without orders also exits 1.

Then the bounds (--no-bounds skips them): the current tree with ``SIM_PROTOCOL=direct`` (the same daemon and
sessions, no protocol) joins each round, and a one-session run (the fixed start-up) follows it; from their
medians it prints the time an 8× run would have per session against what the direct path spends.

Then the growth check: the current tree over 1 year and over 3 years (`--long-from`), interleaved, the ratio of
their medians against the ratio of their sessions (--growth-only: this check alone). It is shown three ways: the
whole run's wall time (start-up included, a fixed cost that makes a longer run look cheaper per session), its
CPU time, and the sessions alone (from the first session's summary line to the last, as the lines arrive).

Each tree gets its own ``uv sync --locked`` and one untimed run of one session that writes its bytecode, as a
normal install does at its first run (``PYTHONDONTWRITEBYTECODE`` is dropped from the runs' environment, which
would otherwise compile every module at every start; --no-compile keeps it and skips the warm-up).

    uv run python benchmarks/replay_speed.py                       # baseline 7a69f51, 3 rounds, growth 3 rounds
    uv run python benchmarks/replay_speed.py --baseline-dir ../base --rounds 5 --growth-rounds 0
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _measured import require

ROOT = Path(__file__).resolve().parents[1]
#: A session whose run writes each tree's bytecode before the timed runs.
WARM_UP_DAY = "2023-01-02"
#: Whether runs may write bytecode (--no-compile: as the environment says).
WRITE_BYTECODE = True
BASELINE = "7a69f51"
UV = shutil.which("uv") or "uv"
GIT = shutil.which("git") or "git"
COMMAND = [UV, "run", "stockbot", "run", "--mode", "sim", "--fresh"]
#: The current tree without the protocol: the bound of what the protocol path can reach (`bounds`).
DIRECT = {"SIM_PROTOCOL": "direct"}
#: What a run prints that differs between trees for reasons other than trading (paths, the log file).
_HEADER = re.compile(r"^(stockbot \w+ sim: |log )")
_SUMMARY = re.compile(r"^── \d{4}-\d{2}-\d{2}.* summary: ")
_EVENT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} KST\s+(\w+)")
_ROW = re.compile(r"^│ (.+?)\s+│\s+(.+?) │$")


@dataclass
class Run:
    """One timed run of the command."""

    tree: str
    period: str
    wall_secs: float
    cpu_secs: float
    sessions_secs: float  # first session summary line → last
    lines: list[str] = field(repr=False)

    @property
    def trading(self) -> list[str]:
        """Every line that says what was traded (events, session summaries, the period's table)."""
        return [line for line in self.lines if not _HEADER.match(line)]

    @property
    def table(self) -> dict[str, str]:
        """The period summary table: measure → value."""
        return {m.group(1).strip(): m.group(2).strip() for line in self.lines if (m := _ROW.match(line))}

    @property
    def sessions(self) -> int:
        return sum(1 for line in self.lines if _SUMMARY.match(line))

    @property
    def orders(self) -> int:
        return sum(1 for line in self.lines if (m := _EVENT.match(line)) and m.group(1) == "order_created")


def run_once(tree: Path, label: str, period: tuple[str, str] | None, extra_env: dict[str, str] | None = None) -> Run:
    """Run the command in `tree` with a fresh DATA_DIR (and `extra_env`); return its timings and output."""
    command = [*COMMAND, *(["--from", period[0], "--to", period[1]] if period else [])]
    with tempfile.TemporaryDirectory(prefix="replay-speed-") as data_dir:
        env = {**os.environ, "DATA_DIR": data_dir, "NO_COLOR": "1", "COLUMNS": "200", **(extra_env or {})}
        env.pop("VIRTUAL_ENV", None)
        if WRITE_BYTECODE:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        first = last = None
        lines: list[str] = []
        with subprocess.Popen(  # noqa: S603 - this benchmark's own fixed command
            command, cwd=tree, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                if _SUMMARY.match(line):
                    last = time.perf_counter()
                    first = first or last
                lines.append(line.rstrip("\n"))
            stderr = proc.stderr.read() if proc.stderr else ""
            code = proc.wait()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        sys.exit(f"replay_speed.py: {label} in {tree} exited {code}: {stderr.strip()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    span = (last - first) if first is not None and last is not None else 0.0
    return Run(label, " → ".join(period) if period else "default", wall, cpu, span, lines)


def prepare(tree: Path, bytecode: bool) -> None:
    """`uv sync --locked` in `tree`, then one untimed session so that Python writes its bytecode (unless not)."""
    _run([UV, "sync", "--locked", "--quiet"], cwd=tree)
    if bytecode:
        run_once(tree, "warm-up", (WARM_UP_DAY, WARM_UP_DAY))


def baseline_tree(args: argparse.Namespace, scratch: Path) -> Path:
    """The baseline's worktree: --baseline-dir, or a detached worktree of --baseline made under `scratch`."""
    if args.baseline_dir:
        return Path(args.baseline_dir).resolve()
    tree = base_path(args, scratch)
    _run([GIT, "-C", str(ROOT), "worktree", "add", "--detach", str(tree), args.baseline])
    return tree


def base_path(args: argparse.Namespace, scratch: Path) -> Path:
    return scratch / f"baseline-{args.baseline}"


def _run(command: list[str], *, cwd: Path | None = None, check: bool = True) -> None:
    subprocess.run(command, cwd=cwd, check=check)  # noqa: S603 - this benchmark's own fixed commands


def show(runs: list[Run]) -> None:
    print(
        f"{'tree':9s} {'period':26s} {'wall s':>8s} {'CPU s':>8s} {'sessions s':>11s} {'sessions':>8s} {'orders':>6s}"
    )
    for r in runs:
        print(
            f"{r.tree:9s} {r.period:26s} {r.wall_secs:8.2f} {r.cpu_secs:8.2f} {r.sessions_secs:11.2f} "
            f"{r.sessions:8d} {r.orders:6d}"
        )


def median(runs: list[Run], attribute: str) -> float:
    return statistics.median(getattr(r, attribute) for r in runs)


def same_trading(expected: Run, got: Run) -> None:
    """Exit 1 naming the first line where `got` traded otherwise than `expected`."""
    require(got.orders, f"{got.tree} {got.period}: no order was placed")
    a, b = expected.trading, got.trading
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            sys.exit(
                f"replay_speed.py: {got.tree} traded otherwise than {expected.tree} at line {i + 1}:\n  {x}\n  {y}"
            )
    if len(a) != len(b):
        sys.exit(f"replay_speed.py: {got.tree} printed {len(b)} trading lines, {expected.tree} {len(a)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare with (default %(default)s)")
    parser.add_argument("--baseline-dir", help="an existing checkout of the baseline (its own .venv is synced)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tree, interleaved (≥ 3)")
    parser.add_argument("--growth-rounds", type=int, default=3, help="runs per period of the growth check (0: skip)")
    parser.add_argument("--growth-only", action="store_true", help="only the growth check (no baseline)")
    parser.add_argument("--long-from", default="2021-01-04", help="start of the long period (end: the default's)")
    parser.add_argument(
        "--no-bounds", action="store_true", help="skip the direct-path and one-session runs (the bounds)"
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="no warm-up run, and PYTHONDONTWRITEBYTECODE left as it is"
    )
    args = parser.parse_args()
    global WRITE_BYTECODE
    WRITE_BYTECODE = not args.no_compile
    if args.rounds < 3:
        parser.error("--rounds must be at least 3")
    # Both trees on this interpreter (uv would otherwise pick, or download, its own).
    os.environ.setdefault("UV_PYTHON", getattr(sys, "_base_executable", sys.executable))
    if args.growth_only:
        prepare(ROOT, not args.no_compile)
        growth(args)
        return
    scratch = Path(tempfile.mkdtemp(prefix="replay-speed-trees-"))
    made_worktree = not args.baseline_dir
    try:
        base = baseline_tree(args, scratch)
        for tree in (base, ROOT):
            prepare(tree, not args.no_compile)
        runs: list[Run] = []
        start_ups: list[Run] = []
        variants = [("baseline", base, None), ("current", ROOT, None)]
        if not args.no_bounds:
            variants.append(("direct", ROOT, DIRECT))
        for i in range(args.rounds):
            for label, tree, extra in variants:
                runs.append(run_once(tree, label, None, extra))
                print(
                    f"round {i + 1}: {label:8s} wall {runs[-1].wall_secs:6.2f} s, CPU {runs[-1].cpu_secs:6.2f} s",
                    flush=True,
                )
            if not args.no_bounds:
                start_ups.append(run_once(ROOT, "start-up", (WARM_UP_DAY, WARM_UP_DAY)))
        baseline = [r for r in runs if r.tree == "baseline"]
        current = [r for r in runs if r.tree == "current"]
        for r in runs:
            if r.tree == "direct":  # its cancel lines word the reason its own way; the figures must agree
                require(r.table == baseline[0].table, f"direct: period summary {r.table} != {baseline[0].table}")
            else:
                same_trading(baseline[0], r)
        print()
        show(runs)
        table = baseline[0].table
        print(
            f"\nboth trees: {table.get('sessions')} sessions, {table.get('orders')} orders, {table.get('fills')} "
            f"fills, realized PnL net {table.get('realized PnL, net KRW')} KRW, identical in every run"
        )
        for what in ("wall_secs", "cpu_secs"):
            b, c = median(baseline, what), median(current, what)
            print(f"median {what[:-5]:4s}: baseline {b:7.2f} s, current {c:7.2f} s, speed-up {b / c:5.2f}×")
        if start_ups:
            bounds(baseline, [r for r in runs if r.tree == "direct"], start_ups)
        if args.growth_rounds:
            growth(args)
    finally:
        if made_worktree:
            _run([GIT, "-C", str(ROOT), "worktree", "remove", "--force", str(base_path(args, scratch))], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def bounds(baseline: list[Run], direct: list[Run], start_ups: list[Run]) -> None:
    """Print what an 8× protocol path would need against two measured floors of the current tree.

    * ``direct``: the same daemon, database and sessions with ``SIM_PROTOCOL=direct`` (the simulator called in
      process: no REST, no WebSocket). The protocol path does all of that work plus the protocol, so its wall
      time cannot go below this run's without making the daemon's own per-session work cheaper.
    * ``start-up``: a run of one session (imports, migrations of a new database, pre-flight, the simulator's
      start): the fixed cost every run pays before its sessions.
    """
    b = median(baseline, "wall_secs")
    d = median(direct, "wall_secs")
    s = median(start_ups, "wall_secs")
    sessions = baseline[0].sessions
    target = b / 8
    print(
        f"\nbounds: 8× needs a run of at most {target:.2f} s; start-up alone (one session) {s:.2f} s leaves "
        f"{(target - s) / (sessions - 1) * 1000:.1f} ms per further session"
    )
    print(
        f"  no protocol at all (SIM_PROTOCOL=direct): {d:.2f} s = {b / d:.2f}× the baseline, "
        f"{(d - s) / (sessions - 1) * 1000:.1f} ms per further session"
    )


def growth(args: argparse.Namespace) -> None:
    """Print the 1-year vs long-period ratio of the current tree against the ratio of sessions (runs interleaved)."""
    end = "2023-12-22"
    short_runs: list[Run] = []
    long_runs: list[Run] = []
    for _ in range(args.growth_rounds):
        short_runs.append(run_once(ROOT, "current", None))
        long_runs.append(run_once(ROOT, "current", (args.long_from, end)))
    for r in (*short_runs, *long_runs):
        require(r.orders, f"{r.period}: no order was placed")
    for r in long_runs[1:]:
        same_trading(long_runs[0], r)
    print()
    show([*short_runs, *long_runs])
    sessions = long_runs[0].sessions / short_runs[0].sessions
    spans = (long_runs[0].sessions - 1) / (short_runs[0].sessions - 1)
    wall = median(long_runs, "wall_secs") / median(short_runs, "wall_secs")
    span = median(long_runs, "sessions_secs") / median(short_runs, "sessions_secs")
    counts = f"{long_runs[0].sessions} / {short_runs[0].sessions}"
    print(f"\ngrowth {args.long_from} → {end} vs the default year: sessions {counts} = {sessions:.2f}×")
    cpu = median(long_runs, "cpu_secs") / median(short_runs, "cpu_secs")
    print(f"  whole run (start-up included): {wall:.2f}× ({(wall / sessions - 1) * 100:+.1f} % of the session ratio)")
    print(f"  CPU of the whole run: {cpu:.2f}× ({(cpu / sessions - 1) * 100:+.1f} %)")
    print(f"  sessions alone (first → last summary): {span:.2f}× for {spans:.2f}× ({(span / spans - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
