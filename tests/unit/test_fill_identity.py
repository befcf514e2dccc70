"""Fill identity by cumulative quantity (venues without execution ids, such as KIS) and by the venue's trade id,
and the executions a venue reports beyond ours."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from stock_manager.adapters.broker.fill_identity import CumulativeFillIdentity, TradeIdFillIdentity, cumulative_identity
from stock_manager.domain.fill_matching import normalize_order_number
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Side

ACCOUNT = "50123456-01"
T0 = datetime(2024, 3, 4, 0, 5, 1, tzinfo=UTC)  # 09:05:01 KST, 2024-03-04


def execution(
    quantity: int, price: str, *, seconds: int = 0, ref: str = "r", commission: str = "0", number: str = "0000011774"
) -> Fill:
    return Fill(
        broker_fill_id=ref,
        broker_order_number=number,
        symbol="005930",
        side=Side.BUY,
        quantity=Decimal(quantity),
        price=Decimal(price),
        commission_krw=Decimal(commission),
        tax_krw=Decimal(0),
        ts_filled=T0 + timedelta(seconds=seconds),
        trading_date=date(2024, 3, 4),
    )


def missing_fills(account: str, recorded: list[Fill], at_broker: list[Fill]):
    return CumulativeFillIdentity().missing(account, recorded, at_broker)


def test_identity_when_order_number_padded_or_not_then_same_identity_with_kst_date():
    padded = cumulative_identity(ACCOUNT, execution(1, "1", number="0000011774"), Decimal("10.0000"))
    short = cumulative_identity(ACCOUNT, execution(1, "1", number="11774"), Decimal(10))

    assert padded == short == "50123456-01:20240304:11774@10"
    assert normalize_order_number("0000000000") == "0"


def test_missing_when_broker_reports_individual_executions_beyond_ours_then_the_later_ones_reidentified():
    recorded = [execution(4, "72000", ref="A")]
    at_broker = [execution(4, "72000", ref="X1"), execution(6, "72100", seconds=5, ref="X2")]

    found = missing_fills(ACCOUNT, recorded, at_broker)

    [fill] = found.fills
    assert (fill.quantity, fill.price, fill.broker_fill_id) == (
        Decimal(6),
        Decimal(72100),
        "50123456-01:20240304:11774@10",
    )
    assert found.surplus_quantity == 0


def test_missing_when_broker_reports_one_aggregate_straddling_ours_then_remainder_at_the_price_that_makes_it_whole():
    # KIS inquire-daily-ccld: tot_ccld_qty 10, avg_prvs 72,060 = (4 × 72,000 + 6 × 72,100) / 10.
    recorded = [execution(4, "72000", commission="43")]
    aggregate = [execution(10, "72060", seconds=5, commission="108")]

    found = missing_fills(ACCOUNT, recorded, aggregate)

    [fill] = found.fills
    assert (fill.quantity, fill.price, fill.commission_krw) == (Decimal(6), Decimal(72100), Decimal(65))
    assert fill.broker_fill_id.endswith(":11774@10")
    assert sum(f.notional_krw for f in [*recorded, fill]) == Decimal(720_600)


def test_missing_when_recorded_equals_broker_total_then_nothing_to_record():
    found = missing_fills(ACCOUNT, [execution(4, "72000"), execution(6, "72100")], [execution(10, "72060")])

    assert (found.fills, found.surplus_quantity) == ((), Decimal(0))


def test_missing_when_we_recorded_more_than_the_broker_executed_then_surplus_reported():
    found = missing_fills(ACCOUNT, [execution(4, "72000"), execution(4, "72000")], [execution(4, "72000")])

    assert (found.fills, found.surplus_quantity) == ((), Decimal(4))


def test_missing_when_nothing_recorded_then_every_broker_execution_with_its_cumulative_identity():
    found = missing_fills(ACCOUNT, [], [execution(3, "100"), execution(2, "101", seconds=1)])

    assert [f.broker_fill_id.rsplit(":", 1)[1] for f in found.fills] == ["11774@3", "11774@5"]


def test_trade_id_identity_when_venue_names_each_trade_then_missing_are_the_unrecorded_trades():
    identity = TradeIdFillIdentity()
    recorded = [execution(4, "72000", ref="trade-a")]
    at_broker = [execution(4, "72000", ref="trade-a"), execution(6, "72100", seconds=5, ref="trade-b")]

    found = identity.missing(ACCOUNT, recorded, at_broker)

    assert [f.broker_fill_id for f in found.fills] == ["trade-b"]
    assert identity.identify(ACCOUNT, at_broker[1], Decimal(4)) == "trade-b"
    assert identity.missing(ACCOUNT, at_broker, recorded).surplus_quantity == Decimal(6)
