"""The AI batch jobs' settings (spec 001 §1, §17; ai_developer_guides/AI_USAGE_GUIDE.md): one group of `Settings`'
fields with their checks. The jobs are outside the trading path."""

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

#: The figures ``AI_PROPOSE_OBJECTIVE`` may name (a backtest summary figure; max_drawdown_pct is minimised).
AI_OBJECTIVES = ("sharpe", "return_pct", "cagr_pct", "profit_factor", "win_rate_pct", "max_drawdown_pct")


class AiProvider(StrEnum):
    """Who writes the AI jobs' narrative and parameter ideas (spec 001 §17; the facts never need one)."""

    NONE = "none"  # keyless: the journal from the facts, proposals from the optimizer alone
    OPENAI = "openai"  # an OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, llama.cpp: AI_BASE_URL)
    ANTHROPIC = "anthropic"  # the Anthropic Messages API through its SDK

    def __str__(self) -> str:
        return self.value


class AiSettings(BaseModel):
    """The ``AI_*`` settings (`Settings` has them all; ``AI_API_KEY`` is with the other secrets)."""

    ai_provider: AiProvider = AiProvider.NONE
    ai_model: str = Field(default="", description="the provider's model name; required unless AI_PROVIDER=none")
    ai_base_url: str | None = Field(default=None, description="endpoint override (a local OpenAI-compatible server)")
    ai_timeout_secs: float = Field(default=60.0, gt=0, le=600)
    ai_max_retries: int = Field(default=2, ge=0, le=10)
    ai_max_output_tokens: int = Field(default=1500, ge=100, le=32_000)
    ai_budget_tokens_per_night: int = Field(default=100_000, ge=0)
    ai_budget_krw_per_night: Decimal | None = Field(default=None, ge=0)
    ai_price_input_krw_per_mtok: Decimal | None = Field(default=None, ge=0)
    ai_price_output_krw_per_mtok: Decimal | None = Field(default=None, ge=0)
    ai_journal_language: str = "ko"
    ai_journal_after_close: bool = False
    ai_propose_nightly: bool = False
    ai_propose_every_sessions: int = Field(default=1, ge=1)
    ai_propose_trials: int = Field(default=24, ge=1, le=1000)
    ai_propose_in_sample_days: int = Field(default=730, ge=30)
    ai_propose_out_of_sample_days: int = Field(default=180, ge=10)
    ai_propose_windows: int = Field(default=3, ge=1, le=20)
    ai_propose_objective: str = "sharpe"
    ai_propose_seed: int = 0
    ai_gate_oos_margin: Decimal = Decimal(0)
    ai_gate_max_drawdown_pct: Decimal = Field(default=Decimal(10), gt=0, le=100)
    ai_gate_max_change_pct: Decimal = Field(default=Decimal(30), gt=0, le=1000)
    ai_job_timeout_secs: float = Field(default=900.0, gt=0)

    @field_validator("ai_provider", mode="before")
    @classmethod
    def _lower_provider(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("ai_journal_language")
    @classmethod
    def _check_language(cls, value: str) -> str:
        if value.strip().lower() not in ("ko", "en"):
            raise ValueError("must be ko (Korean) or en (English)")
        return value.strip().lower()

    @field_validator("ai_propose_objective")
    @classmethod
    def _check_objective(cls, value: str) -> str:
        if value not in AI_OBJECTIVES:
            raise ValueError(f"must be one of {', '.join(AI_OBJECTIVES)}")
        return value
