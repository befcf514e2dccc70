"""Helpers of the AI job tests: a settled session seeded in a real database, a fake research engine (the
`ParameterResearch` port), and the jobs' context built like the composition root builds it."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from stock_manager.adapters.ai.journal_writer import FactsJournalWriter
from stock_manager.adapters.ai.openai_chat import OpenAiCompatibleChat
from stock_manager.adapters.observability.masking import mask
from stock_manager.adapters.venues.krx.rules import KRX_DAY
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.fills import Fill
from stock_manager.domain.model import Intent, OrderType, Side
from stock_manager.domain.order_status import OrderStatus
from stock_manager.domain.orders import Order
from stock_manager.domain.param_gate import GateRules, OutOfSample
from stock_manager.domain.strategies.base import StrategySpec
from stock_manager.domain.strategies.ma_cross import MA_CROSS, MaCrossParams
from stock_manager.service_layer.ai.context import AiConfig, AiContext, Budget
from stock_manager.service_layer.ports.ai import Evidence, Finding, LanguageModel, SearchPlan
from stock_manager.service_layer.ports.storage import (
    DaemonState,
    DailySettlement,
    EventRecord,
    RiskEventRecord,
    StoredFill,
    UnitOfWorkFactory,
)
from tests.fake_llm import FakeLlm
from tests.fakes import RecordingNotifier

ACCOUNT = "SIM-0a1b2c3d"
DAY = date(2023, 2, 17)
OPEN = datetime(2023, 2, 16, 23, 30, tzinfo=UTC)  # 08:30 KST
#: The wall clock of the jobs: a night after the session.
NIGHT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REASON = "golden cross SMA50 60434 > SMA200 60368"
CANDIDATE = {**MaCrossParams().to_mapping(), "short_window_days": 45, "long_window_days": 190}


async def seed_session(uow_factory: UnitOfWorkFactory, *, account: str = ACCOUNT, day: date = DAY) -> None:
    """Store one settled session: a filled limit buy with its reason, a risk denial, the market-open event with
    the parameters in force, the settlement and the daemon's state."""
    order = Order(
        idempotency_key=f"{account}:ma:005930:ENTRY:{day}",
        account_id=account,
        strategy_id=MA_CROSS.strategy_id,
        symbol="005930",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal(31),
        limit_price=Decimal(64300),
        intent=Intent.ENTRY,
        reason=REASON,
        trading_date=day,
        ts_created=OPEN,
        signal_price=Decimal(63700),
    )
    fill = Fill(
        broker_fill_id=f"F-{day}",
        broker_order_number="0000000001",
        symbol="005930",
        side=Side.BUY,
        quantity=Decimal(31),
        price=Decimal(62900),
        commission_krw=Decimal(274),
        tax_krw=Decimal(0),
        ts_filled=OPEN + timedelta(minutes=30),
        trading_date=day,
    )
    async with uow_factory() as uow:
        await uow.strategies.ensure_strategy(MA_CROSS.strategy_id, MA_CROSS.name, MA_CROSS.source, OPEN)
        added = await uow.orders.add(order)
        filled = replace(
            added,
            status=OrderStatus.FILLED,
            broker_order_number="0000000001",
            filled_quantity=Decimal(31),
            filled_amount_krw=Decimal(31 * 62900),
            ts_sent=OPEN,
            ts_filled=fill.ts_filled,
        )
        await uow.orders.update(filled, fill.ts_filled)
        await uow.fills.add(StoredFill(fill, account, added.id, "notice"), fill.ts_filled)
        await uow.events.add(
            EventRecord(
                OPEN,
                "market_open",
                "INFO",
                f"session {day}",
                {"params": MaCrossParams().to_mapping()},
                account_id=account,
            )
        )
        await uow.risk.add_event(
            RiskEventRecord(
                OPEN + timedelta(hours=1),
                "max_orders_per_minute",
                "DENY",
                "10 orders in the last minute",
                {},
                account,
                "000660",
            )
        )
        await uow.settlements.put(
            DailySettlement(
                account,
                day,
                "sim",
                Decimal(10_000_000),
                Decimal(9_990_426),
                Decimal(8_050_326),
                Decimal(0),
                Decimal(-9300),
                Decimal(274),
                Decimal(0),
                1,
                1,
                Decimal("-0.095740"),
                {"drawdown_pct": "0.10", "max_drawdown_pct": "0.10", "stopped": ""},
                OPEN + timedelta(hours=7),
            )
        )
        await uow.control.put_daemon_state(
            DaemonState(account, "sim", "CLOSED", "", day, Decimal(10_000_000), 1, OPEN, OPEN)
        )
        await uow.commit()


def evidence(proposed: str = "0.61", active: str = "-0.42", drawdown: str = "3.7") -> Evidence:
    """Return out-of-sample evidence (sharpe) of a proposal against the ACTIVE parameters."""
    oos = OutOfSample("sharpe", True, Decimal(proposed), Decimal(active), Decimal(drawdown))
    return Evidence(
        oos,
        {
            "out_of_sample_span": "2022-08-29..2023-02-24",
            "backtests": {"proposed": {"sharpe": proposed}, "active": {"sharpe": active}},
        },
    )


@dataclass
class FakeResearch:
    """**Fake** `ParameterResearch`: a fixed candidate and evidence; records what it was asked."""

    candidate: Mapping[str, Any] = field(default_factory=lambda: dict(CANDIDATE))
    verified: Evidence = field(default_factory=evidence)
    searches: list[SearchPlan] = field(default_factory=list)
    verifications: list[Mapping[str, Any]] = field(default_factory=list)

    def unsupported(self, spec: StrategySpec) -> str | None:
        return None if spec.strategy_id == MA_CROSS.strategy_id else "only the MA cross here"

    async def search(self, spec: StrategySpec, active: Mapping[str, Any], plan: SearchPlan) -> Finding:
        self.searches.append(plan)
        return Finding(self.candidate, "walk-forward search (fake): suggested", evidence())

    async def verify(
        self, spec: StrategySpec, proposed: Mapping[str, Any], active: Mapping[str, Any], plan: SearchPlan
    ) -> Evidence:
        self.verifications.append(dict(proposed))
        return self.verified

    async def day_comparison(self, account_id: str, day: date) -> Mapping[str, Any]:
        return {"unavailable": "no backtest in this test"}


def context(
    uow_factory: UnitOfWorkFactory,
    *,
    model: LanguageModel | None = None,
    research: FakeResearch | None = None,
    budget: Budget | None = None,
    language: str = "ko",
    specs: tuple[StrategySpec, ...] = (MA_CROSS,),
) -> tuple[AiContext, RecordingNotifier]:
    """Return the jobs' context on the test's database, and the notifier it announces to."""
    notifier = RecordingNotifier()
    config = AiConfig(
        language=language,
        max_output_tokens=400,
        job_timeout_secs=30,
        budget=budget or Budget(tokens_per_night=100_000),
        rules=GateRules(),
    )
    ctx = AiContext(
        uow_factory=uow_factory,
        notifier=notifier,
        wall_clock=FixedClock(NIGHT),
        day_boundary=KRX_DAY,
        venue="krx",
        specs={s.strategy_id: s for s in specs},
        writer=FactsJournalWriter(),
        research=research or FakeResearch(),
        mask=mask,
        config=config,
        model=model,
    )
    return ctx, notifier


def openai_model(llm: FakeLlm, **options: Any) -> OpenAiCompatibleChat:
    """Return the OpenAI-compatible adapter pointed at the fake server (short timeout, quick retries)."""
    values: dict[str, Any] = {
        "model": "gpt-test",
        "api_key": None,
        "base_url": llm.openai_url,
        "timeout_secs": 1.0,
        "max_retries": 1,
        "retry_base_secs": 0.01,
        **options,
    }
    return OpenAiCompatibleChat(**values)
