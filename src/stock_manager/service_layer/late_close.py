"""Closes the daemon missed: a session that closed while the daemon was down is settled from the broker's
records when the daemon starts again (paper and live; the simulator's schedule offers such a session again).

A session is settled late when its close has passed, it has no `daily_settlements` row, and orders of ours
are dated on it (the daemon traded that day, then died before its close). Its settlement is the usual
close's (`SessionRunner.close`) after the usual restore and recovery for that day (`SessionRunner.restore`:
the broker's orders and fills of that date, read by inquiry), marked ``settled_late`` in the summary and in
the ``market_close`` event, whose announcement reaches the notifier (Slack) as "session … settled late". The
report and the position checkpoint are written as at any close.
"""

from collections.abc import Callable, Iterable
from decimal import Decimal

import structlog

from stock_manager.domain.errors import StockbotError
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.ports.storage import DailySettlement
from stock_manager.service_layer.trading_day import SessionRunner

log = structlog.get_logger("stockbot.late_close")


async def settle_missed_sessions(
    runner: SessionRunner, closed: Callable[[], Iterable[TradingSession]] | None
) -> list[DailySettlement]:
    """Settle each session `closed` returns (their close passed, oldest first) that has orders of ours and no
    settlement; return the settlements made, in date order. None: nothing to do. A broker or database error
    is logged and ends the attempt (the next start tries again); what was settled stays settled.
    """
    settled: list[DailySettlement] = []
    if closed is None:
        return settled
    try:
        for session in closed():
            settlement = await _settle_if_missed(runner, session)
            if settlement is not None:
                settled.append(settlement)
    except StockbotError as e:
        log.warning("missed_close_not_settled", error=str(e))
    return settled


async def _settle_if_missed(runner: SessionRunner, session: TradingSession) -> DailySettlement | None:
    account_id = runner.account_id
    day = session.trading_date
    async with runner.uow_factory() as uow:
        done = await uow.settlements.get(account_id, day)
        orders = await uow.orders.list_for_date(account_id, day) if done is None else []
    if done is not None or not orders:
        return None
    log.warning("settling_missed_close", trading_date=day.isoformat(), orders=len(orders))
    return await settle_late(runner, session)


async def settle_late(runner: SessionRunner, session: TradingSession) -> DailySettlement:
    """Restore and recover `session`'s day from the database and the broker, then settle it (late)."""
    runner.session = session
    runner.last_prices.clear()
    runner.open_prices.clear()
    runner.day_range.clear()
    restored = await runner.restore(session)
    if restored.previous:
        start_equity = restored.previous[-1].end_equity_krw
    else:  # no earlier settlement: cash and the holdings before that day at today's base prices
        cash = await runner.broker.get_cash(runner.account_id)
        start_equity = cash.deposit_krw
        for symbol, position in restored.before_today.items():
            if not position.is_flat:
                start_equity += position.quantity * (await runner.broker.get_price(symbol)).base_price
    runner.execution.set_start_of_day_equity(Decimal(start_equity))
    return await runner.close(session, late=True)
