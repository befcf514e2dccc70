"""The market-open sequence under a transient outage: its reads (cash, holdings, orders, prices, history) are
retried with back-off for as long as the session lasts, in stop mode; trading starts when they succeed.

The first failure enters stop mode with one alert (a ``stop_mode`` event, CRITICAL, naming the error); later
failures are logged only. Each attempt runs the whole open sequence again (it is reads and idempotent
corrections; the strategies' orders are only sent at its end), and its restore step clears stop mode, so a
succeeding attempt trades as usual and records an ``open_recovered`` event. Only `TemporaryBrokerError` is
retried: configuration and authentication failures (`ConfigurationError`, `FatalBrokerError`) end the daemon
as before. When the session closes before the reads succeed, the daemon goes on to the close in stop mode.
"""

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential_jitter

from stock_manager.domain.errors import TemporaryBrokerError
from stock_manager.domain.sessions import TradingSession
from stock_manager.service_layer.events import record_event
from stock_manager.service_layer.trading_day import SessionRunner

log = structlog.get_logger("stockbot.open")

#: Back-off between attempts of the open sequence: 1 s doubling to 60 s, with up to 1 s of jitter.
INITIAL_WAIT_SECS = 1.0
MAX_WAIT_SECS = 60.0


async def open_with_retries(runner: SessionRunner, session: TradingSession) -> bool:
    """Run `runner.open(session)` until it succeeds or `session` closes (by the runner's clock); return True
    when it succeeded. Waits with `runner.sleep`.

    Raises
    ------
    ConfigurationError, FatalBrokerError
        At once, from the open sequence (not retried).
    """
    failures = 0

    def session_over(state: RetryCallState) -> bool:
        return runner.clock.now() >= session.ts_close

    async def note_failure(state: RetryCallState) -> None:
        nonlocal failures
        failures += 1
        error = state.outcome.exception() if state.outcome else None
        reason = f"market-open reads failing ({error}); retrying with back-off until they succeed"
        ex = runner.execution
        if failures == 1:
            await ex.enter_stop_mode(reason, rule="open_reads")  # the one alert
        elif ex.stopped_reason is None:
            ex.state.stopped_reason = reason  # the attempt's restore cleared it: the same stop, told once
        log.warning("open_sequence_retry", attempt=state.attempt_number, error=str(error))

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TemporaryBrokerError),
        stop=session_over,
        wait=wait_exponential_jitter(initial=INITIAL_WAIT_SECS, max=MAX_WAIT_SECS, jitter=1.0),
        sleep=runner.sleep,
        before_sleep=note_failure,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                await runner.open(session)
    except TemporaryBrokerError as e:
        log.error("open_sequence_given_up", trading_date=session.trading_date.isoformat(), error=str(e))
        if runner.execution.stopped_reason is None:
            await runner.execution.enter_stop_mode(f"market-open reads failed until the close: {e}")
        return False
    if failures:
        async with runner.uow_factory() as uow:
            await record_event(
                uow,
                runner.notifier,
                ts=runner.clock.now(),
                kind="open_recovered",
                severity="INFO",
                account_id=runner.account_id,
                message=f"session {session.trading_date}: market-open reads succeeded after {failures} failure(s); "
                "trading",
                payload={"failures": failures},
            )
            await uow.commit()
    return True
