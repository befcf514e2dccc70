"""The history `recovery_time.py` restarts on: orders, fills, settlements and a position checkpoint, seeded in
bulk into a migrated PostgreSQL database, and today's orders as the exchange holds them.

About 200 orders a session over the weekdays before `TODAY`, on 30 KOSPI names with prices walking 2 % a day on
the tick grid: mostly filled in 1-3 executions, some cancelled after a partial fill or none, some rejected; a
sell never exceeds the shares held. Commission and tax from the KIS cost model; fill identities as the daemon
records them; each session's settlement with the summary the close writes.
"""

import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import URL

from stock_manager.adapters.broker.fill_identity import cumulative_identity
from stock_manager.adapters.venues.krx.rules import krx_cost_model, round_to_tick
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import InstrumentKind, OrderType, Side
from stock_manager.domain.positions import Position, positions_from_fills
from stock_manager.localtime import kst_datetime
from stock_manager.service_layer.ports.broker import BrokerOrderReport, BrokerOrderState
from stock_manager.service_layer.position_history import PositionHistory

ACCOUNT = "50123456-01"
BRANCH = "06010"
TODAY = date(2025, 6, 13)  # a Friday; the history is the weekdays before it
CRASH = kst_datetime(TODAY, clock_time(10, 30))
RESTART = kst_datetime(TODAY, clock_time(10, 45))
PER_SESSION = 200
COSTS = krx_cost_model()
#: KOSPI names with a plausible price each (KRW); the ETF trades on its own tick grid.
SYMBOLS: dict[str, tuple[int, InstrumentKind]] = {
    "005930": (72_000, InstrumentKind.STOCK),
    "000660": (180_000, InstrumentKind.STOCK),
    "035420": (190_000, InstrumentKind.STOCK),
    "005380": (240_000, InstrumentKind.STOCK),
    "051910": (350_000, InstrumentKind.STOCK),
    "006400": (330_000, InstrumentKind.STOCK),
    "035720": (45_000, InstrumentKind.STOCK),
    "068270": (180_000, InstrumentKind.STOCK),
    "105560": (75_000, InstrumentKind.STOCK),
    "055550": (45_000, InstrumentKind.STOCK),
    "012330": (230_000, InstrumentKind.STOCK),
    "028260": (130_000, InstrumentKind.STOCK),
    "066570": (100_000, InstrumentKind.STOCK),
    "096770": (120_000, InstrumentKind.STOCK),
    "003550": (80_000, InstrumentKind.STOCK),
    "017670": (52_000, InstrumentKind.STOCK),
    "034730": (160_000, InstrumentKind.STOCK),
    "015760": (21_000, InstrumentKind.STOCK),
    "032830": (80_000, InstrumentKind.STOCK),
    "003490": (22_000, InstrumentKind.STOCK),
    "009150": (140_000, InstrumentKind.STOCK),
    "010950": (65_000, InstrumentKind.STOCK),
    "086790": (55_000, InstrumentKind.STOCK),
    "000270": (95_000, InstrumentKind.STOCK),
    "011200": (18_000, InstrumentKind.STOCK),
    "018260": (150_000, InstrumentKind.STOCK),
    "033780": (90_000, InstrumentKind.STOCK),
    "090430": (130_000, InstrumentKind.STOCK),
    "251270": (50_000, InstrumentKind.STOCK),
    "069500": (35_000, InstrumentKind.ETF),
}

# -- THE HISTORY ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class SeedOrder:
    """One order as the seed builds it: its row, its recorded fills, and what the broker did beyond them."""

    id: int
    day: date
    number: str
    symbol: str
    side: Side
    quantity: Decimal
    limit: Decimal
    signal: Decimal
    ts_created: datetime
    status: str
    recorded: list[Fill] = field(default_factory=list)
    unrecorded: list[Fill] = field(default_factory=list)  # executed at the broker while the daemon was down
    broker_state: BrokerOrderState = BrokerOrderState.OPEN

    def row(self) -> tuple[Any, ...]:
        """Return the ``orders`` row (columns as `ORDER_COLUMNS`)."""
        intent = "ENTRY" if self.side is Side.BUY else "EXIT"
        key = (
            f"{ACCOUNT}:ma_cross:{self.symbol}:{intent}:{self.ts_created:%Y%m%dT%H%M%S}:"
            f"{hashlib.sha256(f'{self.id}'.encode()).hexdigest()[:12]}"
        )
        filled = sum((f.quantity for f in self.recorded), Decimal(0))
        amount = sum((f.quantity * f.price for f in self.recorded), Decimal(0))
        ts_sent = self.ts_created + timedelta(milliseconds=180)
        last = self.recorded[-1].ts_filled if self.recorded else None
        ts_partial = (
            self.recorded[0].ts_filled
            if self.recorded and (self.status != "FILLED" or len(self.recorded) > 1)
            else None
        )
        ts_end = (last or ts_sent) + timedelta(seconds=1)
        reason = {"CANCELED": "session closed", "REJECTED": "APBK0919 주문가능금액을 초과했습니다"}.get(self.status, "")
        ts_updated = {"FILLED": last, "CANCELED": ts_end, "REJECTED": ts_sent}.get(self.status) or last or ts_sent
        return (
            self.id,
            key,
            ACCOUNT,
            "live",
            "ma_cross",
            self.symbol,
            self.side.value,
            "LIMIT",
            intent,
            self.quantity,
            self.limit,
            self.signal,
            self.status,
            reason,
            "MA50 crossed above MA200" if self.side is Side.BUY else "take profit +10%",
            hashlib.sha256(key.encode()).hexdigest()[:16],
            None if self.status == "REJECTED" else self.number,
            BRANCH,
            filled,
            amount,
            self.day,
            self.ts_created,
            None if self.status == "REJECTED" else ts_sent,
            ts_partial,
            last if self.status == "FILLED" else None,
            ts_end if self.status == "CANCELED" else None,
            ts_sent if self.status == "REJECTED" else None,
            ts_updated,
        )

    def report(self) -> BrokerOrderReport:
        """Return the order as the broker reports it after the daemon died."""
        executed = [*self.recorded, *self.unrecorded]
        qty = sum((f.quantity for f in executed), Decimal(0))
        amount = sum((f.quantity * f.price for f in executed), Decimal(0))
        return BrokerOrderReport(
            ACCOUNT,
            self.number,
            BRANCH,
            self.symbol,
            self.side,
            OrderType.LIMIT,
            self.quantity,
            self.limit,
            self.broker_state,
            qty,
            amount / qty if qty else None,
            self.ts_created + timedelta(milliseconds=150),
            self.day,
        )


ORDER_COLUMNS = (
    "id",
    "idempotency_key",
    "account_id",
    "mode",
    "strategy_id",
    "symbol",
    "side",
    "order_type",
    "intent",
    "quantity",
    "limit_price",
    "signal_price",
    "status",
    "status_reason",
    "reason",
    "correlation_id",
    "broker_order_number",
    "venue_order_ref",
    "filled_quantity",
    "filled_amount_krw",
    "trading_date",
    "ts_created",
    "ts_sent",
    "ts_partial",
    "ts_filled",
    "ts_canceled",
    "ts_rejected",
    "ts_updated",
)
FILL_COLUMNS = (
    "id",
    "broker_fill_id",
    "order_id",
    "account_id",
    "broker_order_number",
    "symbol",
    "side",
    "quantity",
    "price",
    "commission_krw",
    "tax_krw",
    "ts_filled",
    "ts_recorded",
    "source",
    "trading_date",
)


@dataclass(slots=True)
class Seed:
    """Everything written to the database, and the broker's view of today."""

    orders: list[SeedOrder]
    settlements: list[tuple[Any, ...]]
    today: list[SeedOrder]
    open_orders: list[SeedOrder]

    def recorded_fills(self) -> Iterator[tuple[SeedOrder, Fill]]:
        """Yield every recorded fill with its order, in execution order per order."""
        for order in self.orders:
            for fill in order.recorded:
                yield order, fill

    def all_fills(self) -> list[Fill]:
        """Return every execution the broker made (recorded or not)."""
        return [f for o in self.orders for f in (*o.recorded, *o.unrecorded)]


class History:
    """Builds the seeded history session by session, keeping holdings and prices consistent."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.prices = {s: Decimal(p) for s, (p, _) in SYMBOLS.items()}
        self.held: dict[str, Decimal] = dict.fromkeys(SYMBOLS, Decimal(0))
        self.orders: list[SeedOrder] = []
        self.number = 0

    def walk(self) -> None:
        """Move every price one session: a random walk of 2 % a day, on the tick grid."""
        for symbol, price in self.prices.items():
            moved = price * Decimal(str(round(math.exp(self.rng.gauss(0, 0.02)), 6)))
            self.prices[symbol] = round_to_tick(max(moved, Decimal(1_000)), Side.BUY, SYMBOLS[symbol][1])

    def order(
        self, day: date, ts: datetime, *, side: Side | None = None, reserve: dict[str, Decimal] | None = None
    ) -> SeedOrder:
        """Decide one order at `ts`: a sell only of shares held (less `reserve`), else a buy of 0.3-3 M KRW."""
        symbol = self.rng.choice(list(SYMBOLS))
        price, kind = self.prices[symbol], SYMBOLS[symbol][1]
        free = self.held[symbol] - (reserve or {}).get(symbol, Decimal(0))
        if side is None:
            side = Side.SELL if free > 0 and self.rng.random() < 0.45 else Side.BUY
        if side is Side.SELL and free <= 0:
            side = Side.BUY
        if side is Side.SELL:
            quantity = Decimal(self.rng.randint(1, int(free)))
        else:
            quantity = Decimal(max(2, int(self.rng.uniform(300_000, 3_000_000) / float(price))))
        offset = Decimal(str(self.rng.uniform(-0.004, 0.004)))
        limit = round_to_tick(price * (1 + offset), side, kind)
        self.number += 1
        order = SeedOrder(
            len(self.orders) + 1, day, f"{10_000 + self.number:010d}", symbol, side, quantity, limit, price, ts, "SENT"
        )
        self.orders.append(order)
        return order

    def execute(self, order: SeedOrder, quantity: Decimal, ts: datetime, *, recorded: bool = True) -> Fill:
        """Execute `quantity` of `order` at its limit or one tick better; record it or leave it to the broker."""
        done = sum((f.quantity for f in (*order.recorded, *order.unrecorded)), Decimal(0))
        kind = SYMBOLS[order.symbol][1]
        better = self.rng.random() < 0.3
        price = order.limit
        if better:
            price = round_to_tick(
                order.limit * Decimal("0.999") if order.side is Side.BUY else order.limit * Decimal("1.001"),
                order.side,
                kind,
            )
        notional = quantity * price
        fill = Fill(
            "seed",
            order.number,
            order.symbol,
            order.side,
            quantity,
            price,
            COSTS.commission_krw(notional),
            COSTS.tax_krw(order.side, notional, order.day),
            ts,
            order.day,
        )
        fill = replace(fill, broker_fill_id=cumulative_identity(ACCOUNT, fill, done + quantity))
        (order.recorded if recorded else order.unrecorded).append(fill)
        self.held[order.symbol] += quantity * order.side.sign
        return fill

    def settle_history_order(self, order: SeedOrder) -> None:
        """Play a past order to its end: mostly filled in 1-3 parts, else cancelled or rejected."""
        outcome = self.rng.random()
        ts = order.ts_created + timedelta(seconds=self.rng.uniform(0.5, 40))
        if outcome < 0.03:
            order.status = "REJECTED"
            return
        if outcome < 0.09:
            order.status = "CANCELED"
            return
        partial = outcome < 0.19 and order.quantity > 1
        target = order.quantity if not partial else Decimal(self.rng.randint(1, int(order.quantity) - 1))
        parts = self._split(target, self.rng.randint(1, 3))
        for part in parts:
            self.execute(order, part, ts)
            ts += timedelta(seconds=self.rng.uniform(0.2, 90))
        order.status = "CANCELED" if partial else "FILLED"

    def _split(self, quantity: Decimal, parts: int) -> list[Decimal]:
        parts = min(parts, int(quantity))
        cuts = sorted(self.rng.sample(range(1, int(quantity)), parts - 1)) if parts > 1 else []
        bounds = [0, *cuts, int(quantity)]
        return [Decimal(b - a) for a, b in itertools.pairwise(bounds)]


def build_seed(orders_count: int, open_count: int, seed: int) -> Seed:
    """Return the history: `orders_count` past orders (about 200 a session), today's orders and the broker's view."""
    rng = random.Random(seed)  # noqa: S311 - a synthetic history, not cryptography
    history = History(rng)
    days: list[date] = []
    day = TODAY
    while len(days) < max(1, math.ceil(orders_count / PER_SESSION)):
        day -= timedelta(days=1)
        if day.weekday() < 5:
            days.append(day)
    days.reverse()
    settlements: list[tuple[Any, ...]] = []
    cash = Decimal(300_000_000)
    positions: dict[str, Position] = {}
    start_equity = cash
    for index, day in enumerate(days):
        history.walk()
        first = len(history.orders)
        count = min(PER_SESSION, orders_count - first)
        for i in range(count):
            ts = kst_datetime(day, clock_time(9, 0)) + timedelta(seconds=(i + rng.random()) * 23_000 / count)
            order = history.order(day, ts)
            history.settle_history_order(order)
        day_orders = history.orders[first:]
        day_fills = sorted((f for o in day_orders for f in o.recorded), key=lambda f: (f.ts_filled, f.broker_fill_id))
        before = dict(positions)
        for fill in day_fills:
            positions[fill.symbol] = (positions.get(fill.symbol) or Position(ACCOUNT, fill.symbol)).apply_fill(fill)
            cash -= fill.quantity * fill.price * fill.side.sign + fill.commission_krw + fill.tax_krw
        held = {s: p for s, p in positions.items() if not p.is_flat}
        end_equity = cash + sum((p.quantity * history.prices[s] for s, p in held.items()), Decimal(0))

        def change(attribute: str, before: dict[str, Position] = before) -> Decimal:
            return sum(
                (
                    getattr(p, attribute) - (getattr(before[s], attribute) if s in before else 0)
                    for s, p in positions.items()
                ),
                Decimal(0),
            )

        summary = {
            "stopped": "",
            "drawdown_pct": "0",
            "max_drawdown_pct": "0",
            "peak_equity_krw": str(end_equity),
            "positions": {
                s: {"quantity": str(p.quantity), "avg_price": str(p.avg_price), "close": str(history.prices[s])}
                for s, p in sorted(held.items())
            },
            "orders": [
                {
                    "symbol": o.symbol,
                    "side": o.side.value,
                    "quantity": str(o.quantity),
                    "status": o.status,
                    "filled": str(sum((f.quantity for f in o.recorded), Decimal(0))),
                    "reason": "MA50 crossed above MA200",
                }
                for o in day_orders
            ],
        }
        unrealized = sum(((history.prices[s] - p.avg_price) * p.quantity for s, p in held.items()), Decimal(0))
        close_ts = kst_datetime(day, clock_time(15, 40))
        settlements.append(
            (
                ACCOUNT,
                day,
                "live",
                start_equity,
                end_equity,
                cash,
                change("realized_pnl_krw"),
                unrealized.quantize(Decimal("0.0001")),
                change("commission_krw"),
                change("tax_krw"),
                len(day_orders),
                len(day_fills),
                ((end_equity - start_equity) / start_equity * 100).quantize(Decimal("0.000001")),
                json.dumps(summary),
                close_ts,
            )
        )
        start_equity = end_equity
        del index
    history.walk()
    today: list[SeedOrder] = []
    # Today before the crash: 30 orders already done, then the open ones (SENT, some PARTIAL).
    for i in range(30):
        order = history.order(TODAY, kst_datetime(TODAY, clock_time(9, 0)) + timedelta(seconds=60 * i + 5))
        history.settle_history_order(order)
        today.append(order)
    reserve: dict[str, Decimal] = {}
    open_orders: list[SeedOrder] = []
    for i in range(open_count):
        ts = kst_datetime(TODAY, clock_time(10, 0)) + timedelta(seconds=30 * i + 3)
        order = history.order(TODAY, ts, reserve=reserve)
        if order.side is Side.SELL:
            reserve[order.symbol] = reserve.get(order.symbol, Decimal(0)) + order.quantity
        open_orders.append(order)
    for i, order in enumerate(open_orders):
        ts = order.ts_created + timedelta(seconds=2)
        if i % 3 == 0 and order.quantity > 3:  # partly filled, and recorded, before the crash
            history.execute(order, (order.quantity / 3).to_integral_value(), ts)
            order.status = "PARTIAL"
        done = sum((f.quantity for f in order.recorded), Decimal(0))
        remaining = order.quantity - done
        down = CRASH + timedelta(seconds=20 + 10 * i)  # while the daemon was down
        if i < 15:  # filled at the broker
            parts = history._split(remaining, 2 if remaining > 1 else 1)
            for part in parts:
                history.execute(order, part, down, recorded=False)
                down += timedelta(seconds=7)
            order.broker_state = BrokerOrderState.FILLED
        elif i < 25:  # cancelled at the broker (by hand in HTS, or refused late), 4 after a partial fill
            if i < 19 and remaining > 1:
                history.execute(order, remaining - 1, down, recorded=False)
            order.broker_state = BrokerOrderState.CANCELED
        elif i < 33 and remaining > 1:  # still working, partly filled meanwhile
            history.execute(order, Decimal(1), down, recorded=False)
    orders = [*history.orders]
    return Seed(orders, settlements, [*today, *open_orders], open_orders)


# -- THE DATABASE -----------------------------------------------------------------------------------------


def conninfo(url: URL) -> str:
    """Return a libpq connection string for `url`."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def admin(server: URL, *statements: str) -> None:
    """Run statements on the server's maintenance database, autocommit."""
    with psycopg.connect(conninfo(server), autocommit=True, connect_timeout=5) as connection:
        for statement in statements:
            connection.execute(statement)  # type: ignore[arg-type]  # names are generated here


def write_seed(url: URL, seed: Seed, *, checkpoint: bool = True) -> dict[str, int]:
    """COPY the seed into the migrated database at `url`; return the row counts.

    With `checkpoint`, also the position checkpoint the last close before today wrote (built by the
    daemon's own `PositionHistory.checkpoint`); without it, the database is as one from before revision
    0003's first close, and the restore folds every fill.
    """
    fills_written = 0
    with psycopg.connect(conninfo(url)) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
            for order in seed.orders:
                copy.write_row(order.row())
        with cursor.copy(f"COPY fills ({', '.join(FILL_COLUMNS)}) FROM STDIN") as copy:
            for order, fill in seed.recorded_fills():
                fills_written += 1
                copy.write_row(
                    (
                        fills_written,
                        fill.broker_fill_id,
                        order.id,
                        ACCOUNT,
                        fill.broker_order_number,
                        fill.symbol,
                        fill.side.value,
                        fill.quantity,
                        fill.price,
                        fill.commission_krw,
                        fill.tax_krw,
                        fill.ts_filled,
                        fill.ts_filled + timedelta(milliseconds=40),
                        "notice",
                        fill.trading_date,
                    )
                )
        columns = (
            "account_id",
            "trading_date",
            "mode",
            "start_equity_krw",
            "end_equity_krw",
            "cash_krw",
            "realized_pnl_krw",
            "unrealized_pnl_krw",
            "commission_krw",
            "tax_krw",
            "orders_count",
            "fills_count",
            "return_pct",
            "summary",
            "ts_created",
        )
        with cursor.copy(f"COPY daily_settlements ({', '.join(columns)}) FROM STDIN") as copy:
            for row in seed.settlements:
                copy.write_row(row)
        recorded = [f for _, f in seed.recorded_fills()]
        columns = (
            "account_id",
            "symbol",
            "quantity",
            "avg_price",
            "realized_pnl_krw",
            "commission_krw",
            "tax_krw",
            "ts_updated",
        )
        with cursor.copy(f"COPY positions ({', '.join(columns)}) FROM STDIN") as copy:
            for p in positions_from_fills(ACCOUNT, recorded).values():
                copy.write_row(
                    (ACCOUNT, p.symbol, p.quantity, p.avg_price, p.realized_pnl_krw, p.commission_krw, p.tax_krw, CRASH)
                )
        if checkpoint:  # what the last close wrote: the fold of every fill before today
            ids = {id(f): i for i, (_, f) in enumerate(seed.recorded_fills(), start=1)}
            past = [f for o in seed.orders if o.day < TODAY for f in o.recorded]
            last_day = max(o.day for o in seed.orders if o.day < TODAY)
            closed = kst_datetime(last_day, clock_time(15, 40))
            mark = PositionHistory(
                ACCOUNT, later=tuple(past), through_fill_id=max(ids[id(f)] for f in past)
            ).checkpoint(last_day, closed)
            assert mark is not None
            columns = (
                "account_id",
                "symbol",
                "quantity",
                "avg_price",
                "realized_pnl_krw",
                "commission_krw",
                "tax_krw",
                "trading_date",
                "through_fill_id",
                "last_ts_filled",
                "last_broker_fill_id",
                "ts_created",
                "last_trading_date",
            )
            with cursor.copy(f"COPY position_checkpoints ({', '.join(columns)}) FROM STDIN") as copy:
                for p in mark.positions.values():
                    copy.write_row(
                        (
                            ACCOUNT,
                            p.symbol,
                            p.quantity,
                            p.avg_price,
                            p.realized_pnl_krw,
                            p.commission_krw,
                            p.tax_krw,
                            mark.trading_date,
                            mark.through_fill_id,
                            mark.last_ts_filled,
                            mark.last_broker_fill_id,
                            mark.ts_created,
                            mark.last_trading_date,
                        )
                    )
        for table in ("orders", "fills"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - fixed names
                f"(SELECT max(id) FROM {table}))"
            )
        connection.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return {"orders": len(seed.orders), "fills": fills_written, "settlements": len(seed.settlements)}
