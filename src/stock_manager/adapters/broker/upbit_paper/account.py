"""The paper account: the venue-neutral `MatchingEngine` with Upbit's instruments, GTC days and fee, fed by live
public trades, journaled so that it survives a SIGKILL of the daemon like a real exchange account would.

The journal is ``<DATA_DIR>/upbit-paper/journal.jsonl`` (the simulator's `Journal`: JSON Lines, one ``write``
per record, a partial last line dropped on open, an exclusive lock while a process holds it). Rebuilding means
re-running the journal through the deterministic engine; nothing else is stored. Records (``type`` first; money
and quantities as decimal strings, times ISO 8601 UTC):

* ``start`` - ``{"type":"start","format":1,"account_id":"UPBIT-PAPER-…","params":{…}}``: the account's markets,
  starting cash, participation rate, fee rate and engine version. Another account's journal is refused (with
  ``--fresh`` it is archived and a new paper account starts).
* ``session`` - ``{"type":"session","day":"2024-03-01","ts":…,"base_prices":{"KRW-BTC":"…"}}``: a new UTC day
  opened in the engine (working orders carry over: Upbit orders are good till cancelled).
* ``place`` - ``{"type":"place","ts":…,"order_number":"0000000001","request":{…},"marks":{"KRW-BTC":"…"},
  "last_trade_ts":…}``: an accepted order, with the last trade price of each market the engine had seen (a MARKET
  buy reserves cash and every order is valued against it) and the time of the latest of those trades.
* ``burn`` - ``{"type":"burn","ts":…,"client_order_id":…}``: an identifier refused with its order (Upbit burns
  identifiers of failed orders too, §9 pitfall 13).
* ``cancel`` - ``{"type":"cancel","ts":…,"order_number":…}``: an accepted cancel.
* ``print`` - ``{"type":"print","ts":…,"symbol":…,"price":…,"volume":…,"fills":[["0000000001-0001","0.01",
  "…"],…]}``: a public trade that filled paper orders, with its fills [id, quantity, price]. Trades that fill
  nothing change nothing but the last price, which the next command's ``marks`` carry, so they are not written.

A restarted broker offers the trades published after the journal's latest time (`PaperAccount.last_ts`) again:
none of them filled anything before (that would have been journaled), so the engine, in the same state, matches
them as it would have.

Durability: every record is written before the call that caused it returns (an order's acknowledgement, a fill's
notice); ``place``, ``burn``, ``cancel``, ``print`` and ``session`` are fsync-ed. A rebuild checks each order
number and each trade's fills against the journal (`JournalError` on any difference).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from stock_manager.adapters.broker.sim.journal import Journal, JournalError, Record
from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.records import (
    ENGINE_VERSION,
    decode_request,
    encode_fill,
    encode_request,
    number,
)
from stock_manager.adapters.venues.upbit.calendar import session_for
from stock_manager.adapters.venues.upbit.rules import UPBIT_DAY, upbit_cost_model, upbit_instrument
from stock_manager.domain.errors import ConfigurationError, FatalBrokerError, OrderRejectedByBroker
from stock_manager.domain.fills import Fill
from stock_manager.domain.instruments import Instrument
from stock_manager.domain.market import Tick
from stock_manager.service_layer.ports.broker import (
    BrokerOrderReport,
    BrokerPosition,
    CancelReport,
    CashBalance,
    OrderAck,
    OrderRequest,
)

JOURNAL_FORMAT: Final = 1
ACCOUNT_PREFIX: Final = "UPBIT-PAPER-"


@dataclass(frozen=True, slots=True)
class PaperParams:
    """What identifies a paper account: its markets, starting cash (KRW), participation rate and fee rate."""

    markets: tuple[str, ...]
    start_cash_krw: Decimal
    participation_rate: Decimal
    fee_rate: Decimal

    def as_json(self) -> dict[str, Any]:
        """Return the parameters as the ``start`` record holds them."""
        return {
            "markets": sorted(self.markets),
            "start_cash_krw": number(self.start_cash_krw),
            "participation_rate": number(self.participation_rate),
            "fee_rate": number(self.fee_rate),
            "engine": ENGINE_VERSION,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PaperParams":
        """Return the parameters of a ``start`` record."""
        return cls(
            tuple(data["markets"]),
            Decimal(data["start_cash_krw"]),
            Decimal(data["participation_rate"]),
            Decimal(data["fee_rate"]),
        )


class PaperAccount:
    """One paper account: a matching engine and its journal (module docstring).

    Parameters
    ----------
    state_dir : Path
        The journal's directory (created if needed).
    params : PaperParams
        The account's parameters; a journal of other parameters is refused unless `fresh`.
    instruments : dict[str, Instrument] | None
        The markets' instruments (Upbit's default price-unit table when None).
    fresh : bool
        Archive the journal of another (or the same) account and start a new one.
    read_only : bool
        Attach to a journal without writing (its lock is still taken: refused while a daemon holds it).

    Raises
    ------
    ConfigurationError
        If another process holds the journal, or it belongs to an account of other parameters.
    JournalError
        If the journal is corrupt or no longer replays through the engine.
    """

    def __init__(
        self,
        state_dir: Path,
        params: PaperParams,
        instruments: dict[str, Instrument] | None = None,
        *,
        fresh: bool = False,
        read_only: bool = False,
    ) -> None:
        self.params = params
        self._read_only = read_only
        self.last_ts: datetime | None = None  # the latest journaled time
        self.journal = Journal.open(state_dir, read_only=read_only)
        try:
            records = self.journal.records
            if records and (fresh or records[0].get("params") != params.as_json()):
                if not fresh or read_only:
                    raise ConfigurationError(_other_account(state_dir, records[0], params))
                self.journal.archive(str(records[0].get("account_id", "unknown")))
                records = []
            if not records:
                if read_only:
                    raise ConfigurationError(f"no paper account in {state_dir}")
                generation = self.journal.archived_count()
                digest = hashlib.sha256(json.dumps([params.as_json(), generation], sort_keys=True).encode())
                self.account_id = f"{ACCOUNT_PREFIX}{digest.hexdigest()[:8]}"
                start = {"type": "start", "format": JOURNAL_FORMAT, "account_id": self.account_id}
                self._write(start | {"params": params.as_json()})
            else:
                self.account_id = str(records[0]["account_id"])
            costs = upbit_cost_model(params.fee_rate)
            config = MatchingConfig(params.participation_rate, params.start_cash_krw, costs)
            markets = instruments or {m: upbit_instrument(m) for m in params.markets}
            self.engine = MatchingEngine(self.account_id, markets, config)
            self._rebuild(records[1:])
        except BaseException:
            self.journal.close()
            raise

    @classmethod
    def attach(cls, state_dir: Path) -> "PaperAccount | None":
        """Open the paper account journaled in `state_dir` read-only (tests, inspection); None when there is none.

        Raises
        ------
        ConfigurationError, JournalError
            As the constructor.
        """
        path = state_dir / "journal.jsonl"
        if not path.exists() or not path.read_bytes().strip():
            return None
        params = PaperParams.from_json(json.loads(path.read_bytes().split(b"\n", 1)[0])["params"])
        return cls(state_dir, params, read_only=True)

    # -- COMMANDS -------------------------------------------------------------------------------------

    def place(self, request: OrderRequest, ts: datetime, references: dict[str, Decimal]) -> OrderAck:
        """Accept an order at `ts` (journaled and fsync-ed first), or refuse it and burn its identifier.

        `references` are the markets' latest known prices (a new day's base price when no trade was seen yet).

        Raises
        ------
        OrderRejectedByBroker
            On the engine's rules (price unit, 5,000 KRW minimum, cash, holdings, a used identifier).
        FatalBrokerError
            When the journal cannot be written.
        """
        self.roll_to(ts, references)
        marks = {s: number(t.price) for s in self.params.markets if (t := self.engine.last_print(s)) is not None}
        try:
            ack = self.engine.submit(request, ts)
        except OrderRejectedByBroker:
            if request.client_order_id is not None and not self.engine.client_order_id_used(request.client_order_id):
                self.engine.burn_client_order_id(request.client_order_id)
                self._write({"type": "burn", "ts": ts.isoformat(), "client_order_id": request.client_order_id})
            raise
        record = {"type": "place", "ts": ts.isoformat(), "order_number": ack.broker_order_number}
        if seen := [t.ts_event for m in self.params.markets if (t := self.engine.last_print(m)) is not None]:
            record["last_trade_ts"] = max(seen).isoformat()  # the restart's catch-up starts after it too
        self._write(record | {"request": encode_request(request), "marks": marks})
        return ack

    def cancel(self, order_number: str, ts: datetime) -> CancelReport:
        """Cancel the remainder of an order at `ts` (journaled); return its confirmation.

        Raises
        ------
        OrderRejectedByBroker
            If the order is unknown or has nothing left to cancel.
        FatalBrokerError
            When the journal cannot be written.
        """
        self.require_usable()
        report = self.engine.cancel(order_number, ts)
        self._write({"type": "cancel", "ts": ts.isoformat(), "order_number": report.broker_order_number})
        return report

    def on_trade(self, tick: Tick, references: dict[str, Decimal]) -> list[Fill]:
        """Match one public trade against the working orders; a trade that fills is journaled before its fills
        are returned.

        Raises
        ------
        FatalBrokerError
            When the journal cannot be written.
        """
        self.roll_to(tick.ts_event, references)
        fills = self.engine.on_print(tick)
        if fills:
            self._write(
                {
                    "type": "print",
                    "ts": tick.ts_event.isoformat(),
                    "symbol": tick.symbol,
                    "price": number(tick.price),
                    "volume": number(tick.volume),
                    "fills": [encode_fill(f) for f in fills],
                }
            )
        return fills

    def roll_to(self, ts: datetime, references: dict[str, Decimal]) -> None:
        """Open the UTC day holding `ts` in the engine when it is later than the current one (journaled); each
        market's base price is its last trade seen, else its entry in `references` (a market with neither does
        not trade that day)."""
        self.require_usable()
        day = UPBIT_DAY.date_of(ts)
        current = self.engine.session
        if current is not None and current.trading_date >= day:
            return
        base: dict[str, Decimal] = {}
        for market in self.params.markets:
            last = self.engine.last_print(market)
            price = last.price if last is not None else references.get(market)
            if price is not None:
                base[market] = price
        record = {"type": "session", "day": day.isoformat(), "ts": ts.isoformat()}
        self._write(record | {"base_prices": {m: number(p) for m, p in sorted(base.items())}})
        self._open_day(day, base)

    # -- READS ----------------------------------------------------------------------------------------

    def cash(self) -> CashBalance:
        """Return the deposit and the cash orderable after working buys' reservations, KRW."""
        return self.engine.cash()

    def positions(self) -> list[BrokerPosition]:
        """Return the holdings with non-zero quantity (average price without the fee)."""
        return self.engine.positions()

    def orders(self, trading_date: date) -> list[BrokerOrderReport]:
        """Return the orders of `trading_date` and the older ones still working, in order-number order."""
        carried = [r for r in self.engine.working_orders() if r.trading_date < trading_date]
        return carried + self.engine.orders(trading_date)

    def fills(self, trading_date: date | None = None) -> list[Fill]:
        """Return the fills of `trading_date` (every fill when None), in execution order."""
        return self.engine.fills(trading_date)

    def require_usable(self) -> None:
        """Raise `FatalBrokerError` once the journal is closed (or failed)."""
        if self.journal.closed:
            raise FatalBrokerError("the paper account is closed (or its journal failed); start the daemon again")

    def close(self) -> None:
        """Release the journal and its lock; safe to call twice."""
        self.journal.close()

    # -- INTERNALS ------------------------------------------------------------------------------------

    def _write(self, record: Record) -> None:
        if self._read_only:
            raise FatalBrokerError("this paper account was attached read-only")
        try:
            self.journal.append(record, sync=True)
        except OSError as exc:
            raise FatalBrokerError(f"the paper account's journal {self.journal.path} cannot be written: {exc}") from exc
        self._note_time(record)

    def _note_time(self, record: Record) -> None:
        # The latest time the journal vouches for: its records', and the last trade seen when an order was placed
        # (a machine clock behind the venue's must not let a trade seen before an order be offered to it again).
        times = [datetime.fromisoformat(record[k]) for k in ("ts", "last_trade_ts") if k in record]
        if self.last_ts is not None:
            times.append(self.last_ts)
        self.last_ts = max(times) if times else None

    def _open_day(self, day: date, base: dict[str, Decimal]) -> None:
        current = self.engine.session
        if current is not None:
            self.engine.expire_open_orders(current.ts_close)  # GTC: nothing expires, the day only closes
        session = session_for(day)
        self.engine.open_session(session, base, session.ts_first_order)

    def _rebuild(self, records: list[Record]) -> None:
        try:
            for record in records:
                self._replay(record)
        except (KeyError, TypeError, ValueError, OrderRejectedByBroker) as exc:
            raise JournalError(f"the paper journal {self.journal.path} does not replay: {exc!r}") from exc

    def _replay(self, record: Record) -> None:
        kind, ts = record["type"], datetime.fromisoformat(record["ts"])
        self._note_time(record)
        if kind == "session":
            self._open_day(date.fromisoformat(record["day"]), {m: Decimal(p) for m, p in record["base_prices"].items()})
        elif kind == "place":
            for market, price in record["marks"].items():
                last = self.engine.last_print(market)
                if last is None or last.price != Decimal(price):
                    self.engine.on_print(Tick(market, Decimal(price), Decimal(0), ts))  # the price, no volume
            ack = self.engine.submit(decode_request(record["request"]), ts)
            if ack.broker_order_number != record["order_number"]:
                raise JournalError(f"journaled order {record['order_number']} came back as {ack.broker_order_number}")
        elif kind == "burn":
            self.engine.burn_client_order_id(record["client_order_id"])
        elif kind == "cancel":
            self.engine.cancel(record["order_number"], ts)
        elif kind == "print":
            tick = Tick(record["symbol"], Decimal(record["price"]), Decimal(record["volume"]), ts)
            fills = [encode_fill(f) for f in self.engine.on_print(tick)]
            if fills != record["fills"]:
                raise JournalError(f"the trade at {ts.isoformat()} fills {fills}; the journal says {record['fills']}")
        else:
            raise JournalError(f"unknown paper journal record {kind!r}")


def _other_account(state_dir: Path, start: Record, params: PaperParams) -> str:
    theirs = start.get("params") or {}
    ours = params.as_json()
    differing = sorted(k for k in ours if ours.get(k) != theirs.get(k)) or ["format"]
    return (
        f"the paper account {start.get('account_id', '?')} in {state_dir} was opened with other "
        f"{', '.join(differing)} ({', '.join(f'{k}={theirs.get(k)}' for k in differing)}); "
        "`stockbot run --venue upbit --mode paper --fresh` archives it and opens a new paper account"
    )
