"""Safety: stop mode, the last check before every broker call, the kill switch tripped by the daemon itself
(repeated broker failures, the daily loss limit) and the daily loss stop.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from stock_manager.domain.modes import OrderMode
from stock_manager.domain.orders import Order
from stock_manager.domain.risk import daily_loss_limit_breached
from stock_manager.service_layer.execution.state import ExecutionPorts, ExecutionState
from stock_manager.service_layer.ports.storage import RiskEventRecord
from stock_manager.service_layer.risk_gate import record_risk_decision


class Safety:
    """Stop mode and the kill switch for one account.

    Parameters
    ----------
    cancel_entries : Callable[[str], Awaitable[int]]
        Cancels the working entry orders (given once the broker dialogue exists); used by the daily loss stop.
    """

    def __init__(self, state: ExecutionState, ports: ExecutionPorts) -> None:
        self._state = state
        self._ports = ports
        self.cancel_entries: Callable[[str], Awaitable[int]] | None = None

    # -- STOP MODE ------------------------------------------------------------------------------------

    async def enter_stop_mode(self, reason: str, *, rule: str = "stop_mode") -> None:
        """Stop sending new orders for the rest of the session; record why (an event and a STOP risk decision
        naming `rule`). Idempotent, and safe with or without the lock held (it writes no order)."""
        if self._state.stopped_reason is not None:
            return
        self._state.stopped_reason = reason
        async with self._ports.uow() as uow:
            await record_risk_decision(
                uow,
                self._ports.notifier,
                ts=self._ports.clock.now(),
                rule=rule,
                decision="STOP",
                message=f"stop mode: {reason}",
                snapshot={"reason": reason},
                account_id=self._state.account_id,
                event_kind="stop_mode",
                severity="CRITICAL",
            )
            await uow.commit()
        if self._ports.on_stop is not None:
            await self._ports.on_stop(reason)

    # -- THE LAST CHECK BEFORE THE BROKER -------------------------------------------------------------

    async def send_blocker(self, *, flatten: bool = False) -> str | None:
        """Return why an order must not be sent now, or None.

        The kill switch (in memory and in the database) and stop mode; any failure while checking blocks the
        order. A flatten order passes the switch that asked for it, never a failed check.
        """
        try:
            if self._state.config.order_mode is not OrderMode.SEND:
                return f"ORDER_MODE={self._state.config.order_mode}"
            if not flatten:
                if self._ports.kill_switch.reason is not None:
                    return f"kill switch: {self._ports.kill_switch.reason}"
                if self._state.stopped_reason is not None:
                    return f"stop mode: {self._state.stopped_reason}"
            async with self._ports.uow() as uow:
                switch = await uow.control.get_kill_switch()
            if switch.active and not (flatten and switch.action == "flatten"):
                self._ports.kill_switch.trip(switch.reason or "no reason given")
                return f"kill switch: {switch.reason or 'no reason given'}"
            return None
        except Exception as e:
            return f"the kill switch could not be read ({type(e).__name__}); nothing is sent"

    async def quiesce(self, timeout_secs: float) -> bool:
        """Wait until no order submission is under way (at most `timeout_secs`); return False on timeout.

        Ticks may reach the strategy from a broker stream's own task, so stopping the session task does not
        stop a submission that is already sending. Called after the kill switch is tripped (which keeps any
        new one from reaching the broker) so that what follows sees every order that was sent.
        """
        try:
            await asyncio.wait_for(self._state.idle.wait(), timeout_secs)
        except TimeoutError:
            return False
        return True

    # -- THE DAEMON'S OWN TRIPS -----------------------------------------------------------------------

    def note_broker_failure(self, order: Order) -> None:
        """Count a broker failure on a send (and a failed order on its symbol)."""
        self._state.book.broker_failures += 1
        self._state.book.note_failed_order(order.symbol, self._ports.clock.now())

    async def trip_on_broker_failures(self, error: Exception) -> None:
        """Set the kill switch (``cancel_open``) once consecutive broker failures reach the limit."""
        limit = self._state.limits.max_consecutive_broker_failures
        failures = self._state.book.broker_failures
        if limit is not None and failures >= limit:
            await self.trip_kill_switch(
                "broker_failures",
                f"{failures} consecutive broker failures on sends (last: {type(error).__name__}: {error})",
                action="cancel_open",
            )

    async def trip_kill_switch(self, rule: str, reason: str, *, action: str = "halt") -> None:
        """Set the latched kill switch from the daemon (an event and a KILL risk decision), then stop.

        Used for repeated broker failures and, at the close, for a session that hit the daily loss limit.
        """
        now = self._ports.clock.now()
        async with self._ports.uow() as uow:
            await uow.control.set_kill_switch(True, reason, "daemon", now, action)
            await record_risk_decision(
                uow,
                self._ports.notifier,
                ts=now,
                rule=rule,
                decision="KILL",
                message=f"kill switch set by the daemon ({action}): {reason}",
                snapshot={"action": action, "set_by": "daemon"},
                account_id=self._state.account_id,
                event_kind="kill_switch_set",
                severity="CRITICAL",
            )
            await uow.commit()
        self._ports.kill_switch.trip(reason)
        await self.enter_stop_mode(f"kill switch: {reason}", rule=rule)

    async def check_daily_loss(self) -> None:
        """Enter stop mode and cancel working entries once today's loss reaches the limit (once a session)."""
        state = self._state
        if state.loss_limit_hit or state.start_of_day_equity_krw <= 0:
            return
        risk = state.risk_state(self._ports.clock.now(), self._ports.kill_switch)
        if not daily_loss_limit_breached(risk, state.limits):
            return
        state.loss_limit_hit = True
        pnl = risk.realized_pnl_today_krw + (
            risk.unrealized_pnl_krw if state.limits.daily_loss_includes_unrealized else 0
        )
        reason = (
            f"daily loss limit: {pnl:.0f} KRW today (limit -{state.limits.daily_loss_limit_pct}% of "
            f"{state.start_of_day_equity_krw:.0f} KRW)"
        )
        await self.enter_stop_mode(reason, rule="daily_loss_limit")
        if self.cancel_entries is not None:
            await self.cancel_entries("daily loss limit reached")


def order_risk_record(ts: datetime, rule: str, decision: str, message: str, order: Order) -> RiskEventRecord:
    """Return a ``risk_events`` row about one order (its id, key, symbol, side and quantity as the snapshot)."""
    return RiskEventRecord(
        ts_event=ts,
        rule=rule,
        decision=decision,
        message=message,
        snapshot={
            "order_id": order.id,
            "idempotency_key": order.idempotency_key,
            "symbol": order.symbol,
            "side": order.side.value,
            "quantity": str(order.quantity),
        },
        account_id=order.account_id,
        symbol=order.symbol,
        correlation_id=order.correlation_id,
    )
