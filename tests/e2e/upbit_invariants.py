"""The invariants of an Upbit run: the database of a daemon compared with the venue's own records (the
journaled replay behind the Upbit-compatible simulator, attached read-only), as the Upbit wire names them.

Used by the Upbit fault-injection harness (tests/e2e/upbit_fault_harness.py); see its docstring for the list.
Order uuids and trade uuids are the simulator's (`OrderIds`: UUID-5s of the replay id and the engine's numbers),
balances its ``GET /v1/accounts`` (`render.balances`), identifiers mapped back to client order ids as the adapter
maps them (`reports.client_order_id_of`: ``<id>-r1`` → ``<id>``).
"""

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.broker.upbit.reports import client_order_id_of
from stock_manager.adapters.broker.upbit_sim.render import OrderIds, balances
from stock_manager.adapters.storage import tables
from stock_manager.domain.model import Side
from stock_manager.service_layer.ports.broker import BrokerOrderState
from tests.e2e.support import query

EIGHT_DECIMALS: Final = Decimal("0.00000001")
ONE_ORDER_PER_KEY: Final = "one venue order per idempotency key"
TRADES_ONCE: Final = "every venue trade recorded once, with the venue's amounts and fee"
ORDER_STATES: Final = "order states equal the venue's"
BALANCES: Final = "balances equal the venue's accounts"
WORKING: Final = {"SENT", "PARTIAL"}
STATE_OF: Final = {
    "FILLED": BrokerOrderState.FILLED,
    "CANCELED": BrokerOrderState.CANCELED,
    "REJECTED": BrokerOrderState.REJECTED,
}


@dataclass(slots=True)
class UpbitComparison:
    """Counts on both sides and what each invariant found."""

    orders: int = 0
    venue_orders: int = 0
    resent_orders: int = 0  # venue orders sent with a ``-r1`` identifier
    trades: int = 0
    venue_trades: int = 0
    balances: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # currency → (ours, venue's)
    violations: dict[str, list[str]] = field(
        default_factory=lambda: {name: [] for name in (ONE_ORDER_PER_KEY, TRADES_ONCE, ORDER_STATES, BALANCES)}
    )

    @property
    def checks(self) -> dict[str, bool]:
        """Return each invariant's name → held."""
        return {name: not found for name, found in self.violations.items()}

    @property
    def ok(self) -> bool:
        """Return True when every invariant held."""
        return all(self.checks.values())

    def report(self) -> str:
        """Return the counts, the balances and each invariant's result as text lines."""
        lines = [
            f"orders: ours {self.orders}, venue {self.venue_orders} (re-sent with -r1: {self.resent_orders}); "
            f"trades: ours {self.trades}, venue {self.venue_trades}",
            "balances (ours / venue): " + ", ".join(f"{c} {o} / {v}" for c, (o, v) in sorted(self.balances.items())),
            "invariants: " + ", ".join(f"{k} {'ok' if v else 'VIOLATED'}" for k, v in self.checks.items()),
        ]
        lines += [f"  violation: {name}: {v}" for name, found in self.violations.items() for v in found[:20]]
        return "\n".join(lines)


def upbit_account(db_url: str) -> str:
    """Return the one Upbit account of the database (AssertionError when there is not exactly one)."""
    a = tables.accounts.c
    rows = [r[0] for r in query(db_url, select(a.account_id).where(a.venue == "upbit"))]
    assert len(rows) == 1, f"expected one Upbit account, found {rows}"
    return rows[0]


def check_upbit_invariants(venue: SimBroker, db_url: str, start_cash_krw: Decimal) -> UpbitComparison:
    """Compare the database at `db_url` with `venue` (attached read-only); return what was found."""
    result = UpbitComparison()
    account = upbit_account(db_url)
    ids = OrderIds(venue.book, venue.replay_id)
    venue_orders = {ids.order_uuid(r.broker_order_number): r for r in venue.book.orders()}
    venue_trades = {ids.trade_uuid(f.broker_fill_id): f for f in venue.book.fills()}
    order_of_trade = {uuid: ids.order_uuid(f.broker_order_number) for uuid, f in venue_trades.items()}
    o, f = tables.orders.c, tables.fills.c
    ours: list[Any] = [
        r._mapping
        for r in query(
            db_url,
            select(
                o.id, o.idempotency_key, o.client_order_id, o.status, o.broker_order_number, o.filled_quantity
            ).where(o.account_id == account),
        )
    ]
    fills: list[Any] = [
        r._mapping
        for r in query(
            db_url,
            select(
                f.broker_fill_id,
                f.order_id,
                f.broker_order_number,
                f.symbol,
                f.side,
                f.quantity,
                f.price,
                f.commission_krw,
                f.tax_krw,
            ).where(f.account_id == account),
        )
    ]
    result.orders, result.venue_orders, result.trades, result.venue_trades = (
        len(ours),
        len(venue_orders),
        len(fills),
        len(venue_trades),
    )
    result.resent_orders = sum(
        1
        for r in venue_orders.values()
        if r.client_order_id and r.client_order_id != client_order_id_of(r.client_order_id)
    )
    _one_order_per_key(result, ours, venue_orders)
    _trades_once(result, ours, fills, venue_trades, order_of_trade)
    _order_states(result, ours, venue_orders)
    _balances(result, venue, account, db_url, fills, start_cash_krw)
    return result


def _one_order_per_key(result: UpbitComparison, ours: list[Any], venue_orders: dict[str, Any]) -> None:
    found = result.violations[ONE_ORDER_PER_KEY]
    by_client_id = {r["client_order_id"]: r for r in ours if r["client_order_id"]}
    per_key = Counter(client_order_id_of(r.client_order_id) for r in venue_orders.values())
    for key, count in sorted(per_key.items(), key=lambda kv: str(kv[0])):
        if key is None:
            found.append(f"{count} venue order(s) without an identifier (not ours)")
        elif count > 1:
            found.append(f"idempotency key {key}: {count} venue orders")
    for order_uuid, report in sorted(venue_orders.items()):
        key = client_order_id_of(report.client_order_id)
        mine = by_client_id.get(key)
        if mine is None:
            found.append(f"venue order {order_uuid} ({report.client_order_id}) is no order of ours")
        elif mine["broker_order_number"] != order_uuid:
            found.append(
                f"venue order {order_uuid} ({report.client_order_id}) is held by our order {mine['idempotency_key']} "
                f"as {mine['broker_order_number']}"
            )
    for row in ours:
        number = row["broker_order_number"]
        if number and number not in venue_orders:
            found.append(f"our order {row['idempotency_key']} claims {number}, which the venue does not know")
        if not number and row["status"] not in ("CANCELED", "REJECTED"):
            found.append(f"our order {row['idempotency_key']} never resolved: {row['status']} without a uuid")


def _trades_once(
    result: UpbitComparison,
    ours: list[Any],
    fills: list[Any],
    venue_trades: dict[str, Any],
    order_of_trade: dict[str, str],
) -> None:
    found = result.violations[TRADES_ONCE]
    number_of_order = {r["id"]: r["broker_order_number"] for r in ours}
    recorded = Counter(r["broker_fill_id"] for r in fills)
    for trade_uuid in sorted(set(venue_trades) | set(recorded)):
        times = recorded.get(trade_uuid, 0)
        if trade_uuid not in venue_trades:
            found.append(f"fill {trade_uuid} is recorded {times} time(s) but is no venue trade")
        elif times != 1:
            found.append(f"venue trade {trade_uuid} is recorded {times} time(s)")
    for row in fills:
        trade = venue_trades.get(row["broker_fill_id"])
        if trade is None:
            continue
        expected = (trade.quantity, trade.price, trade.commission_krw, trade.side.value)
        got = (row["quantity"], row["price"], row["commission_krw"], row["side"])
        if got != expected:
            found.append(f"trade {row['broker_fill_id']}: ours {got}, venue {expected}")
        venue_order = order_of_trade[row["broker_fill_id"]]
        if row["order_id"] is None or number_of_order.get(row["order_id"]) != venue_order:
            found.append(
                f"trade {row['broker_fill_id']} of venue order {venue_order} is recorded on our order "
                f"{row['order_id']} ({number_of_order.get(row['order_id'])})"
            )


def _order_states(result: UpbitComparison, ours: list[Any], venue_orders: dict[str, Any]) -> None:
    found = result.violations[ORDER_STATES]
    for row in ours:
        report = venue_orders.get(row["broker_order_number"] or "")
        if report is None:
            continue
        expected = BrokerOrderState.OPEN if row["status"] in WORKING else STATE_OF.get(row["status"])
        if expected is not report.state or row["filled_quantity"] != report.filled_quantity:
            found.append(
                f"order {row['idempotency_key']}: ours {row['status']} {row['filled_quantity']} executed, "
                f"venue {report.state.value} {report.filled_quantity} executed"
            )


def _balances(
    result: UpbitComparison, venue: SimBroker, account: str, db_url: str, fills: list[Any], start_cash_krw: Decimal
) -> None:
    found = result.violations[BALANCES]
    krw = start_cash_krw
    coins: Counter[str] = Counter()
    for row in fills:
        notional = row["quantity"] * row["price"]
        if row["side"] == Side.BUY.value:
            krw -= notional + row["commission_krw"] + row["tax_krw"]
            coins[row["symbol"]] += row["quantity"]
        else:
            krw += notional - row["commission_krw"] - row["tax_krw"]
            coins[row["symbol"]] -= row["quantity"]
    p = tables.positions.c
    table = {r[0]: r[1] for r in query(db_url, select(p.symbol, p.quantity).where(p.account_id == account))}
    theirs = {row["currency"]: Decimal(row["balance"]) + Decimal(row["locked"]) for row in balances(venue.book)}
    mine = {"KRW": krw} | {symbol.partition("-")[2]: qty for symbol, qty in coins.items()}
    for currency in sorted(set(theirs) | {c for c, q in mine.items() if q}):
        ours_q = mine.get(currency, Decimal(0)).quantize(EIGHT_DECIMALS)
        venue_q = theirs.get(currency, Decimal(0)).quantize(EIGHT_DECIMALS)
        result.balances[currency] = (ours_q, venue_q)
        if ours_q != venue_q:
            found.append(f"{currency}: from our fills {ours_q}, venue {venue_q}")
    for symbol, qty in sorted(table.items()):
        venue_q = theirs.get(symbol.partition("-")[2], Decimal(0))
        if qty.quantize(EIGHT_DECIMALS) != venue_q.quantize(EIGHT_DECIMALS):
            found.append(f"{symbol}: positions table {qty}, venue {venue_q}")
