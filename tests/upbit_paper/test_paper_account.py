"""The Upbit paper account: the local matching engine on public trades, journaled so that a process killed at any
point comes back with the same orders, fills, cash and used identifiers; another account's journal is refused
unless ``--fresh``; the ``UPBIT_PAPER_*`` settings are validated."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.adapters.broker.sim.journal import JournalError
from stock_manager.adapters.broker.upbit_paper import PaperAccount, PaperParams, VenueClock
from stock_manager.config.settings import load_settings
from stock_manager.domain.errors import ConfigurationError, OrderRejectedByBroker
from stock_manager.domain.market import Tick
from stock_manager.domain.model import OrderType, Side, TimeInForce
from stock_manager.service_layer.ports.broker import BrokerOrderState, OrderRequest

BTC = "KRW-BTC"
PARAMS = PaperParams((BTC,), Decimal(10_000_000), Decimal("0.5"), Decimal("0.0005"))
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
REFERENCE = {BTC: Decimal(85_000_000)}


def buy(account: PaperAccount, quantity: str, price: int | None, client_id: str) -> OrderRequest:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    limit = Decimal(price) if price is not None else None
    return OrderRequest(account.account_id, BTC, Side.BUY, kind, Decimal(quantity), limit, client_id, TimeInForce.GTC)


def trade(minutes: int, price: int, volume: str) -> Tick:
    return Tick(BTC, Decimal(price), Decimal(volume), T0 + timedelta(minutes=minutes))


def state(account: PaperAccount) -> tuple:
    return (
        [(o.broker_order_number, o.state, o.filled_quantity, o.client_order_id) for o in account.engine.orders()],
        [(f.broker_fill_id, f.quantity, f.price, f.trading_date) for f in account.fills()],
        account.cash(),
        account.positions(),
    )


def test_journal_when_the_process_dies_then_a_new_account_object_has_the_same_orders_fills_cash_and_ids(tmp_path: Path):
    account = PaperAccount(tmp_path, PARAMS)
    account.on_trade(trade(0, 85_100_000, "0.3"), REFERENCE)  # nothing working: not journaled
    first = account.place(buy(account, "0.05", 85_000_000, "a"), T0 + timedelta(minutes=1), REFERENCE)
    account.on_trade(trade(2, 85_050_000, "1"), REFERENCE)  # above the limit: no fill
    fills = account.on_trade(trade(3, 84_990_000, "0.06"), REFERENCE)  # 0.03 of the 0.05 (half the volume)
    account.place(buy(account, "0.01", None, "b"), T0 + timedelta(minutes=4), REFERENCE)  # market, on the next trade
    with pytest.raises(OrderRejectedByBroker):
        account.place(buy(account, "5", 85_000_000, "c"), T0 + timedelta(minutes=5), REFERENCE)  # beyond the cash
    account.on_trade(trade(24 * 60 + 1, 84_900_000, "0.2"), REFERENCE)  # the next UTC day: both fill
    third = account.place(buy(account, "0.01", 80_000_000, "d"), T0 + timedelta(days=1, minutes=2), REFERENCE)
    account.cancel(third.broker_order_number, T0 + timedelta(days=1, minutes=3))
    before = state(account)
    account.journal.close()  # what a SIGKILL leaves: the file, no clean-up

    again = PaperAccount(tmp_path, PARAMS)

    assert state(again) == before
    assert [f.quantity for f in fills] == [Decimal("0.03")] and first.broker_order_number == "0000000001"
    orders = {o.client_order_id: o for o in again.engine.orders()}
    assert orders["a"].state is BrokerOrderState.FILLED and orders["b"].state is BrokerOrderState.FILLED
    assert orders["d"].state is BrokerOrderState.CANCELED and "c" not in orders
    assert [o.client_order_id for o in again.orders(T0.date() + timedelta(days=1))] == ["d"]
    assert {f.trading_date for f in again.fills()} == {T0.date(), T0.date() + timedelta(days=1)}
    for used in ("a", "c"):  # identifiers are single-use, even a refused order's, after the restart too
        with pytest.raises(OrderRejectedByBroker):
            again.place(buy(again, "0.001", 85_000_000, used), T0 + timedelta(days=1, minutes=5), REFERENCE)
    again.close()


def test_journal_when_cut_mid_line_then_the_partial_line_is_dropped_and_the_rest_replays(tmp_path: Path):
    account = PaperAccount(tmp_path, PARAMS)
    account.place(buy(account, "0.05", 85_000_000, "a"), T0, REFERENCE)
    before = state(account)
    account.close()
    with (tmp_path / "journal.jsonl").open("ab") as journal:
        journal.write(b'{"type":"place","ts":"2024-03-01T12:')  # killed while writing

    assert state(PaperAccount(tmp_path, PARAMS)) == before


def test_journal_when_it_contradicts_the_engine_then_refused(tmp_path: Path):
    account = PaperAccount(tmp_path, PARAMS)
    account.place(buy(account, "0.05", 85_000_000, "a"), T0, REFERENCE)
    account.on_trade(trade(1, 84_000_000, "1"), REFERENCE)
    account.close()
    path = tmp_path / "journal.jsonl"
    path.write_text(path.read_text().replace('"0.05"', '"0.04"', 1))

    with pytest.raises(JournalError):
        PaperAccount(tmp_path, PARAMS)


def test_account_when_the_journal_has_other_parameters_then_refused_unless_fresh_which_opens_a_new_account(
    tmp_path: Path,
):
    old = PaperAccount(tmp_path, PARAMS)
    old_id = old.account_id
    old.close()
    richer = PaperParams((BTC,), Decimal(50_000_000), PARAMS.participation_rate, PARAMS.fee_rate)

    with pytest.raises(ConfigurationError, match=r"start_cash_krw=10000000.*--fresh"):
        PaperAccount(tmp_path, richer)
    new = PaperAccount(tmp_path, richer, fresh=True)

    assert new.account_id.startswith("UPBIT-PAPER-") and new.account_id != old_id
    assert new.cash().deposit_krw == Decimal(50_000_000)
    assert len(list((tmp_path / "archive").glob("journal-*.jsonl"))) == 1
    with pytest.raises(ConfigurationError, match="in use"):
        PaperAccount(tmp_path, richer)  # one process at a time
    new.close()


def test_venue_clock_when_times_arrive_then_it_keeps_the_latest_and_never_runs_backwards():
    clock = VenueClock()
    with pytest.raises(RuntimeError):
        clock.now()

    clock.observe(T0)
    clock.observe(T0 - timedelta(seconds=1))

    assert clock.now() == T0
    with pytest.raises(ValueError):
        clock.observe(datetime(2024, 3, 1))  # a naive time: the error under test


@pytest.mark.parametrize(
    ("value", "problem"),
    [("4999", "between 5,000 KRW"), ("abc", "UPBIT_PAPER_CASH_KRW"), ("10000.5", "whole won"), ("1e13", "between")],
)
def test_settings_when_the_paper_cash_is_not_usable_then_one_clear_message(value: str, problem: str):
    with pytest.raises(ConfigurationError, match=problem) as raised:
        load_settings(upbit_paper_cash_krw=value, venue="upbit", mode="paper")
    assert "UPBIT_PAPER_CASH_KRW" in str(raised.value) and "\n" not in str(raised.value)


def test_settings_when_defaults_then_ten_million_krw_a_quarter_of_each_trade_and_the_wall_clock():
    settings = load_settings(venue="upbit", mode="paper")

    assert (settings.upbit_paper_cash_krw, settings.upbit_paper_participation_rate) == (
        Decimal(10_000_000),
        Decimal("0.25"),
    )
    assert str(settings.upbit_paper_clock) == "wall"
