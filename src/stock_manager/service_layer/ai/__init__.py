"""The AI batch jobs (spec 001 §1, §2, §17; PRD §9, §15; spec 004's AI service): outside the trading path.

- `journal`: after a session's close, the trade journal (매매일지) from the facts in the database, with a
  language model's narrative when one is configured; stored and announced (Slack's trades channel).
- `proposals`: at night, a walk-forward search of each strategy's parameters around the ACTIVE ones (and a
  model's proposal), each judged by the gate (`domain.param_gate`) and stored as a draft.
- `approval`: a person approves or rejects a draft; an approval writes the ACTIVE ``strategy_params`` row the
  daemon reads at its next open. Nothing here approves anything by itself.
- `nightly`: the daemon's after-close hook running the jobs; `runs` records every run and model call
  (masked) and keeps the night's budget.

The jobs are built from the database, the notifier, a wall clock, the research engine and, optionally, a
language model: never a broker, an execution or the kill switch, so they cannot place, cancel or change an
order (import-linter checks that this package imports none of them).
"""
