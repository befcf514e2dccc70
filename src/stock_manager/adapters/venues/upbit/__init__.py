"""Upbit (KRW spot): the KRW-market price-unit table, 1e-8 sizes, order value limits and the 0.05 % fee
(`rules`), the 24/7 day cut at 00:00 UTC with maintenance windows (`calendar`), the bundled KRW-BTC candles
(`data`) replayed by `replay.UpbitReplayMarket`, and the venue profile (`profile.upbit_profile`). Used by the
Upbit adapter, the Upbit-compatible simulator and the replaying simulator."""
