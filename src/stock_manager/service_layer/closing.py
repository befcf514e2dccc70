"""The close of a session. Where orders expire at it: the working orders are cancelled a lead before the
session's end (paper and live: the venue refuses cancels once it has closed, e.g. "모의투자 장종료 입니다"),
fills that arrive after that are recorded as usual (the notice stream stays subscribed), and the day's orders
get their final state from the venue's totals the same evening (`await_final_states`).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import date

import structlog

from stock_manager.domain.errors import FatalBrokerError, StockbotError
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.execution import Execution
from stock_manager.service_layer.ports.schedule import SessionSchedule

log = structlog.get_logger("stockbot.closing")

#: Returns when a session's closing cancels are due (its close less the lead), in the schedule's time.
type BeforeClose = Callable[[TradingSession], Awaitable[None]]

CLOSING_REASON = "session closing: cancelled before the venue stops taking cancels"


async def run_until_close(
    schedule: SessionSchedule, session: TradingSession, execution: Execution, before_close: BeforeClose | None
) -> None:
    """Return when `session` has closed; meanwhile, where its orders expire at the close and `before_close` is
    given, cancel every working order when `before_close` returns (a failed cancel is the execution's to
    record; the close cancels what is left again)."""
    if before_close is None or not session.orders_expire_at_close:
        await schedule.run_until_close(session)
        return

    async def cancel_ahead() -> None:
        await before_close(session)
        try:
            cancelled = await execution.cancel_open_orders(CLOSING_REASON)
        except StockbotError as e:
            log.warning("closing_cancels_failed", error=str(e))
        else:
            log.info("closing_cancels_sent", orders=cancelled)

    ahead = asyncio.create_task(cancel_ahead(), name="closing-cancels")
    try:
        await schedule.run_until_close(session)
    finally:
        if not ahead.done():
            ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ahead


async def await_final_states(
    execution: Execution, day: date, *, checks: int, interval_secs: float, sleep: Callable[[float], Awaitable[None]]
) -> int:
    """After the close, until no order of `day` is working in our records (at most `checks` looks, every
    `interval_secs`): take each working order's state and executions from the venue's totals (the venue
    reports an order's final state once it has expired it, and a closing-auction fill after the close).
    Return how many of the day's orders are still working after the last look (0: all final).

    A failed look is logged and the next one tried; a fatal broker error enters stop mode.
    """

    def working() -> int:
        return sum(1 for o in execution.open_orders.values() if o.trading_date == day)

    for _ in range(checks):
        if not working():
            break
        await sleep(interval_secs)
        try:
            await execution.reconcile_open_orders("after the close: the venue's final state")
        except FatalBrokerError as e:
            await execution.enter_stop_mode(f"after the close: {e}")
            break
        except StockbotError as e:
            log.warning("final_state_check_failed", error=str(e))
    left = working()
    if left:
        log.warning("orders_still_working_after_close", trading_date=day.isoformat(), orders=left)
    return left


async def read_living_orders(execution: Execution) -> None:
    """At the close of a session whose orders live on (good till cancelled): read what the working orders
    executed, so a fill whose notice was lost is recorded on the day it traded (found by the fault harness).

    A fatal broker answer (authentication, a venue's block) puts the daemon in stop mode; any other failure is
    logged, and the next open's recovery reads the venue again.
    """
    try:
        await execution.reconcile_open_orders("session closed")
    except FatalBrokerError as e:
        await execution.enter_stop_mode(f"reconciliation at the close: {e}")
    except StockbotError as e:
        log.warning("close_reconciliation_failed", error=str(e))
