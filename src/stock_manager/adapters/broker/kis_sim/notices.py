"""The simulator's order notices (H0STCNI0 / H0STCNI9): what the venue's fill and cancel events become on the
wire, built by `build_notice` (26 fields, `frames.Notice`) and sent by `NoticeRelay` with the fault knobs'
duplicates and delays (KIS reference §5.3)."""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from stock_manager.adapters.broker.kis_sim.auth import KisCredential
from stock_manager.adapters.broker.kis_sim.frames import Notice
from stock_manager.adapters.broker.kis_sim.ledger import OrderMeta
from stock_manager.adapters.broker.kis_sim.wire import BRANCH
from stock_manager.adapters.broker.sim.matching import REASON_EXPIRED
from stock_manager.domain.model import OrderType, Side
from stock_manager.service_layer.ports.broker import BrokerOrderReport, CancelReport, FillReport

if TYPE_CHECKING:
    from stock_manager.adapters.broker.kis_sim.server import KisExchangeSimulator


def order_price(report: BrokerOrderReport) -> Decimal:
    """Return the order's limit price, or 0 for a market order (as notices show it)."""
    return report.limit_price if report.order_type is OrderType.LIMIT and report.limit_price else Decimal(0)


def build_notice(
    meta: OrderMeta,
    report: BrokerOrderReport,
    *,
    symbol_name: str,
    quantity: Decimal,
    price: Decimal,
    ts: datetime,
    acceptance: str,
    is_fill: bool = False,
    rejected: bool = False,
    number: str | None = None,
    original: str = "",
    revise_cancel: str = "0",
) -> Notice:
    """Return the 26-field notice of an event of `meta`'s order."""
    credential = meta.credential
    return Notice(
        hts_id=credential.hts_id,
        account=credential.cano + credential.product_code,
        order_number=number or meta.number,
        original_number=original,
        side="01" if report.side is Side.SELL else "02",
        revise_cancel=revise_cancel,
        order_kind=meta.ord_dvsn,
        symbol=report.symbol,
        quantity=quantity,
        price=price,
        ts=ts,
        rejected=rejected,
        is_fill=is_fill,
        acceptance=acceptance,
        branch=BRANCH,
        order_quantity=report.quantity,
        order_price=order_price(report),
        account_name=credential.account_name,
        symbol_name=symbol_name,
    )


class NoticeRelay:
    """Turns the venue's fill and cancel events into notices of the simulator `sim` (a collaborator of it)."""

    def __init__(self, sim: "KisExchangeSimulator") -> None:
        self._sim = sim

    async def fill(self, event: FillReport) -> None:
        """Send the fill notice of `event` (twice or late as the fault knobs say)."""
        fill = event.fill
        report = self._sim.venue.book.order(fill.broker_order_number)
        if report is None:
            return
        meta = self._sim.meta_for(report.broker_order_number)
        notice = self._sim.notice(
            meta, report, quantity=fill.quantity, price=fill.price, ts=fill.ts_filled, is_fill=True, acceptance="2"
        )
        copies = 2 if self._sim.faults.duplicate_fill_notices else 1
        delay = self._sim.faults.fill_notice_delay_secs
        if copies > 1:
            self._sim.fault_log.note("duplicate_fill_notice", order=report.broker_order_number)
        if delay > 0:
            self._sim.fault_log.note("delayed_fill_notice", order=report.broker_order_number, delay_secs=delay)
            self._sim.spawn(self._send_later(delay, meta.credential, notice, copies))
            return
        for _ in range(copies):
            await self._sim.send_notice(meta.credential, notice)

    async def cancel(self, event: CancelReport) -> None:
        """Send the notice of a cancel, an expiry or a refusal after acceptance of `event`'s order."""
        report = self._sim.venue.book.order(event.broker_order_number)
        if report is None:
            return
        meta = self._sim.meta_for(report.broker_order_number)
        pending, meta.pending = meta.pending, None
        if meta.rejected:
            notice = self._sim.notice(
                meta,
                report,
                quantity=event.canceled_quantity,
                price=order_price(report),
                ts=event.ts_event,
                rejected=True,
                acceptance="2",
            )
        elif pending is not None:
            pending.confirmed_quantity = event.canceled_quantity
            number = pending.replacement or pending.number
            notice = self._sim.notice(
                meta,
                report,
                quantity=event.canceled_quantity,
                price=order_price(report),
                ts=event.ts_event,
                acceptance="2",
                number=number,
                original=meta.number,
                revise_cancel="1" if pending.kind == "01" else "2",
            )
        else:
            # Expiry at the close (or a cancel nobody asked for here): the exchange cancelled the remainder.
            acceptance = "3" if event.reason == REASON_EXPIRED else "2"
            notice = self._sim.notice(
                meta,
                report,
                quantity=event.canceled_quantity,
                price=order_price(report),
                ts=event.ts_event,
                acceptance=acceptance,
                original=meta.number,
                revise_cancel="2",
            )
        await self._sim.send_notice(meta.credential, notice)

    async def _send_later(self, delay: float, credential: KisCredential, notice: Notice, copies: int) -> None:
        await self._sim.sleep(delay)
        for _ in range(copies):
            await self._sim.send_notice(credential, notice)
