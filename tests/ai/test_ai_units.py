"""Pure pieces of the AI jobs: the budget, the reading of answers, the keyless writer, the search space around
the ACTIVE parameters, and the AI settings checked together."""

import re
from decimal import Decimal

import pytest

from stock_manager.adapters.ai.journal_writer import FactsJournalWriter
from stock_manager.config.settings import load_settings
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.strategies.ma_cross import MaCrossParams
from stock_manager.entrypoints.ai_jobs import build_language_model
from stock_manager.research.ai_research import nice_step, search_space
from stock_manager.service_layer.ai.context import Budget
from stock_manager.service_layer.ai.prompts import JournalNarrative, ParamProposal, parse_answer
from stock_manager.service_layer.ports.ai import ModelRequest

REQUEST = ModelRequest("journal", "s" * 100, "p" * 900, 500)  # estimate: 500 in + 500 out


@pytest.mark.parametrize(
    "budget, used_tokens, used_krw, refused",
    [
        (Budget(tokens_per_night=1000), 0, Decimal(0), None),
        (
            Budget(tokens_per_night=999),
            0,
            Decimal(0),
            "budget of 999 tokens would be passed: 0 used, this call may use up to 1,000",
        ),
        (Budget(tokens_per_night=5000), 4001, Decimal(0), "4,001 used"),
        (
            Budget(
                tokens_per_night=10**6,
                krw_per_night=Decimal(10),
                price_input_krw_per_mtok=Decimal(4000),
                price_output_krw_per_mtok=Decimal(16000),
            ),
            0,
            Decimal(0),
            None,
        ),  # 2 + 8 = 10 KRW: allowed
        (
            Budget(
                tokens_per_night=10**6,
                krw_per_night=Decimal(10),
                price_input_krw_per_mtok=Decimal(4000),
                price_output_krw_per_mtok=Decimal(16000),
            ),
            0,
            Decimal("0.01"),
            "budget of 10 KRW would be passed",
        ),
    ],
)
def test_budget_refuses_a_call_that_would_pass_the_night(budget, used_tokens, used_krw, refused):
    said = budget.refusal(used_tokens, used_krw, REQUEST)

    assert said is None if refused is None else refused in said


def test_budget_cost_is_known_only_with_both_prices():
    priced = Budget(price_input_krw_per_mtok=Decimal(4000), price_output_krw_per_mtok=Decimal(16000))

    assert priced.cost(1_000_000, 500_000) == Decimal(12000)
    assert Budget().cost(10, 10) is None


@pytest.mark.parametrize(
    "text, problem",
    [
        ('{"summary": "ok", "observations": ["a"]}', ""),
        ('```json\n{"summary": "fenced"}\n```', ""),
        ('Sure! {"summary": "after a word"}', ""),
        ("no json here", "not valid JSON"),
        ("[1, 2]", "JSON but not an object (list)"),
        ('{"summary": ""}', "summary: String should have at least 1 character"),
        ('{"summary": "x", "order": "BUY"}', "order: Extra inputs are not permitted"),
    ],
)
def test_parse_answer_returns_the_value_or_the_problem(text, problem):
    parsed = parse_answer(text, JournalNarrative)

    assert (parsed.value is None) == bool(problem)
    assert problem in parsed.problem


def test_parse_answer_keeps_what_was_found_when_the_shape_is_wrong():
    parsed = parse_answer('{"params": {"k": 1}}', ParamProposal)

    assert parsed.value is None and parsed.raw == {"params": {"k": 1}} and "rationale: Field required" in parsed.problem


FACTS = {
    "trading_date": "2023-03-09",
    "account_id": "SIM-1",
    "venue": "krx",
    "params": {"ma_cross_50_200": {"short_window_days": 57}},
    "orders": [
        {
            "time": "2023-03-08T23:30:00+00:00",
            "strategy": "ma_cross_50_200",
            "symbol": "035420",
            "side": "SELL",
            "type": "MARKET",
            "intent": "EXIT",
            "quantity": "9",
            "limit_price": None,
            "signal_price": "191700",
            "status": "CANCELED",
            "filled": "0",
            "avg_price": None,
            "reason": "stop-loss: 191700 is -6.26% from average 204500",
            "status_reason": "expired at the close",
        }
    ],
    "fills": [],
    "risk": [],
    "events": [{"time": "2023-03-09T00:00:00+00:00", "kind": "stop_mode", "message": "daily loss limit"}],
    "settlement": None,
    "positions": [],
    "backtest": {
        "period": "2023-03-06..2023-03-09",
        "orders_daemon": 1,
        "orders_backtest": 0,
        "pairs": [],
        "missing": [],
        "extra": [{"symbol": "035420", "side": "SELL", "quantity": "9"}],
        "pnl_difference_krw": "-1200.0000",
    },
}


def test_writer_in_english_says_every_fact_in_kst():
    text = FactsJournalWriter().write(FACTS, "en")

    assert text.splitlines() == [
        "[Trade journal] 2023-03-09 · account SIM-1 · krx",
        "ma_cross_50_200 parameters: short_window_days=57",
        "Result: not settled",
        "Orders: 1",
        " • 08:30:00 SELL 9 035420 MARKET → CANCELED (expired at the close) — reason: stop-loss: 191700 is -6.26% "
        "from average 204500",
        "Fills: 0: none",
        "Risk decisions: 0: none",
        "Events",
        " • 09:00:00 stop_mode: daily loss limit",
        "Against the backtest: period 2023-03-06..2023-03-09: today the daemon placed 1 order(s), the backtest 0",
        " • only the daemon traded: 035420 SELL 9",
        " • period PnL difference (daemon − backtest) -1,200 KRW",
    ]


def test_writer_in_korean_when_no_backtest_says_why():
    text = FactsJournalWriter().write({**FACTS, "backtest": {"unavailable": "no bars of 005930 on 2026-03-02"}}, "ko")

    assert "매도 9주 035420 시장가 → 취소 (expired at the close) — 사유: stop-loss" in text
    assert text.endswith("백테스트 비교: 없음 (no bars of 005930 on 2026-03-02)")


def test_writer_in_korean_when_compared_per_strategy_names_each_strategy():
    backtest = {
        "period": "2024-03-01..2024-03-02",
        "orders_daemon": 2,
        "orders_backtest": 2,
        "pairs": [
            {
                "strategy": "grid",
                "symbol": "KRW-BTC",
                "side": "BUY",
                "quantity_daemon": "0.00931204",
                "price_daemon": "85911000",
                "quantity_backtest": "0.00931204",
                "price_backtest": "85910000",
                "slippage_krw": "9.31204",
            }
        ],
        "missing": [{"strategy": "turtle", "symbol": "KRW-BTC", "side": "BUY", "quantity": "0.01882601"}],
        "extra": [],
        "pnl_difference_krw": "-9.316696020000",
        "by_strategy": {
            "grid": {"pairs": 1, "missing": 0, "extra": 0, "pnl_difference_krw": "-9.316696020000"},
            "turtle": {"pairs": 0, "missing": 1, "extra": 0, "pnl_difference_krw": "0.000000000000"},
        },
    }

    text = FactsJournalWriter().write({**FACTS, "venue": "upbit", "backtest": backtest}, "ko")

    assert text.splitlines()[-6:] == [
        "백테스트 비교: 기간 2024-03-01..2024-03-02: 오늘 데몬 주문 2건, 백테스트 2건",
        " • grid KRW-BTC 매수: 데몬 0.00931204 @ 85,911,000, 백테스트 0.00931204 @ 85,910,000 (슬리피지 +9.31원)",
        " • 백테스트만 거래: turtle KRW-BTC 매수 0.01882601",
        " • 기간 손익 차이 (데몬 − 백테스트) -9.32원",
        " • grid: 오늘 일치 1건, 백테스트만 0건, 데몬만 0건, 기간 손익 차이 -9.32원",
        " • turtle: 오늘 일치 0건, 백테스트만 1건, 데몬만 0건, 기간 손익 차이 0원",
    ]


def test_search_space_stays_within_the_step_limit_and_the_strategys_bounds():
    space, fixed = search_space(MaCrossParams().to_mapping(), Decimal(30))

    assert space["short_window_days"] == {"low": 35, "high": 65}
    assert space["long_window_days"] == {"low": 140, "high": 250}  # 260 would pass the 250-session cap
    assert space["stop_loss_pct"] == {"low": -6.4, "high": -3.6, "step": 0.2}
    assert fixed == {"volume_window_days": 20, "position_value_krw": "2000000", "entry_limit_offset_pct": "1"}


def test_search_space_holds_a_parameter_at_zero():
    _, fixed = search_space({"min_volume_ratio": "0"}, Decimal(30))

    assert fixed["min_volume_ratio"] == "0"


@pytest.mark.parametrize("span, step", [("3", "0.2"), ("6", "0.5"), ("0.48", "0.02"), ("30", "2")])
def test_nice_step_gives_about_ten_round_points(span, step):
    assert nice_step(Decimal(span)) == Decimal(step)


@pytest.mark.parametrize(
    "env, words",
    [
        ({"AI_PROVIDER": "openai"}, "AI_PROVIDER=openai needs AI_MODEL"),
        ({"AI_PROVIDER": "anthropic", "AI_MODEL": "claude-x"}, "AI_PROVIDER=anthropic needs AI_API_KEY"),
        (
            {"AI_PROVIDER": "openai", "AI_MODEL": "m", "AI_BASE_URL": "http://10.0.0.5:11434/v1", "AI_API_KEY": "k"},
            "AI_BASE_URL may use plain http only for a server on this machine",
        ),
        ({"AI_BASE_URL": "ftp://host"}, "AI_BASE_URL must be an http(s) URL"),
        ({"AI_BUDGET_KRW_PER_NIGHT": "500"}, "AI_BUDGET_KRW_PER_NIGHT needs AI_PRICE_INPUT_KRW_PER_MTOK"),
    ],
)
def test_ai_settings_when_they_cannot_work_together_then_one_line_naming_them(monkeypatch, env, words):
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=re.escape(words)):
        build_language_model(load_settings())


def test_ai_settings_when_a_local_server_then_no_key_needed(monkeypatch):
    monkeypatch.setenv("AI_PROVIDER", "openai")
    monkeypatch.setenv("AI_MODEL", "llama3.1")
    monkeypatch.setenv("AI_BASE_URL", "http://127.0.0.1:11434/v1")

    model = build_language_model(load_settings())

    assert model is not None and (model.provider, model.model) == ("openai", "llama3.1")


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("AI_JOURNAL_LANGUAGE", "fr", "AI_JOURNAL_LANGUAGE: must be ko (Korean) or en (English)"),
        ("AI_PROVIDER", "gemini", "AI_PROVIDER: Input should be 'none', 'openai' or 'anthropic'"),
        ("AI_PROPOSE_OBJECTIVE", "luck", "AI_PROPOSE_OBJECTIVE: must be one of sharpe"),
        ("AI_GATE_MAX_CHANGE_PCT", "0", "AI_GATE_MAX_CHANGE_PCT: Input should be greater than 0"),
    ],
)
def test_ai_settings_when_one_is_out_of_range_then_named(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=re.escape(words)):
        load_settings()


def test_ai_api_key_is_never_echoed(monkeypatch):
    monkeypatch.setenv("AI_API_KEY", "sk-very-secret-value-123456")
    monkeypatch.setenv("AI_TIMEOUT_SECS", "-1")

    with pytest.raises(ConfigurationError) as raised:
        load_settings()

    assert "sk-very-secret" not in str(raised.value)


def test_a_journal_event_goes_to_slacks_trades_channel_at_once():
    from datetime import UTC, datetime

    from stock_manager.adapters.notifications.slack_routing import format_event, route
    from stock_manager.service_layer.ports.storage import EventRecord

    record = EventRecord(datetime(2026, 3, 2, 7, 0, tzinfo=UTC), "trade_journal", "INFO", "[매매일지] 2023-02-17 …")

    assert route(record, alerts_channel="CALERTS01", trades_channel="CTRADES01").now == ("CTRADES01",)
    assert "[매매일지] 2023-02-17" in format_event(record, "sim")
