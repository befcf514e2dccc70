"""Research: the backtest, parameter search and the backtest-to-paper divergence report.

The backtest replays bundled or user-supplied daily bars through the daemon's own pieces: the pure strategy
functions (`domain.strategies`), the pre-trade risk gate (`service_layer.risk_gate.pre_trade_denial` with a
`RiskBook`), the venue's instruments, costs and sessions (`adapters.venues.krx`), the intraday paths
(`adapters.marketdata.paths`) and the simulator's `MatchingEngine`. It runs in memory and only visits the
days on which something can happen (see `engine`).

Modules: `data` (bars from the bundled data or CSV/Parquet files), `screen` (vectorised candidate days),
`engine` (the event-day replay) with its `records`, `metrics` (summary figures), `charts` (PNG and HTML), `optimize`
(walk-forward search with optuna), `divergence` (a traded period against its backtest; `divergence_run` for the MA
cross, `divergence_upbit` with `divergence_upbit_view` for the Bitcoin strategies on Upbit), `store` (``--record``).
"""
