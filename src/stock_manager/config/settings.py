"""All settings, from the environment and ``.env`` (names from spec 001 §13, plus the project's own).

Every setting is listed, with its default, in ``.env.example``. Secrets are `SecretStr`: they never appear
in ``repr``, logs or exceptions.
"""

import math
import os
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stock_manager.config.dotenv_check import check_sources
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.modes import Mode, OrderMode

APP_NAME = "stockbot"


class SimProtocol(StrEnum):
    """How ``--mode sim`` reaches its replayed exchange."""

    KIS = "kis"  # the KIS adapter against the KIS-compatible simulator on loopback (the default)
    DIRECT = "direct"  # the replay's Broker port in-process (no protocol; fastest)

    def __str__(self) -> str:
        return self.value


#: Risk settings a value of ``off`` (or ``none``) turns off.
_OPTIONAL_RISK = (
    "risk_max_open_positions", "risk_max_quantity_per_symbol", "risk_daily_loss_limit_pct",
    "risk_max_value_per_symbol_krw", "risk_max_symbol_weight_pct", "risk_max_order_value_krw",
    "risk_price_collar_pct", "risk_max_quote_age_secs", "risk_max_orders_per_minute",
    "risk_cooldown_after_failures", "risk_max_consecutive_broker_failures",
)


class ParamsFallback(StrEnum):
    """What to do when no ACTIVE ``strategy_params`` row is effective today (spec 001 §4.1 step 4)."""

    FILE_OR_DEFAULTS = "file_or_defaults"  # STRATEGY_PARAMS_FILE if set, else built-in defaults; an event says so
    STOP = "stop"  # stop mode for the session: no parameters, no trading

    def __str__(self) -> str:
        return self.value


#: Bundled symbols replayed by default: Samsung Electronics, SK hynix, Hyundai Motor, NAVER, KODEX 200.
DEFAULT_SIM_SYMBOLS = ("005930", "000660", "005380", "035420", "069500")

#: A Slack channel (or group / DM) ID such as ``C0123ABCD``; names are never used (spec 001 §6.3).
SLACK_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")

#: A KRX short code: six digits or capital letters (``005930``, ``0025N0``).
KRX_SYMBOL = re.compile(r"^[0-9A-Z]{6}$")

#: The figures ``AI_PROPOSE_OBJECTIVE`` may name (a backtest summary figure; max_drawdown_pct is minimised).
AI_OBJECTIVES = ("sharpe", "return_pct", "cagr_pct", "profit_factor", "win_rate_pct", "max_drawdown_pct")

#: The levels ``LOG_LEVEL`` accepts (Python's logging levels).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: Settings whose value an error message never shows (secrets, and a URL that may hold a password).
_NEVER_ECHOED = frozenset({"kis_app_key", "kis_app_secret", "slack_bot_token", "db_url", "kis_account", "ai_api_key"})


class AiProvider(StrEnum):
    """Who writes the AI jobs' narrative and parameter ideas (spec 001 §17; the facts never need one)."""

    NONE = "none"  # keyless: the journal from the facts, proposals from the optimizer alone
    OPENAI = "openai"  # an OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, llama.cpp: AI_BASE_URL)
    ANTHROPIC = "anthropic"  # the Anthropic Messages API through its SDK

    def __str__(self) -> str:
        return self.value


class Settings(BaseSettings):
    """Validated settings; build with `load_settings`, which turns validation errors into a clear message."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    mode: Mode = Mode.SIM
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite file in DATA_DIR")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))
    log_level: str = "INFO"

    kis_app_key: SecretStr | None = None
    kis_app_secret: SecretStr | None = None
    kis_account: str | None = Field(default=None, description="CANO-ACNT_PRDT_CD, e.g. 50123456-01")
    kis_hts_id: str | None = None
    kis_rest_base_url: str | None = Field(default=None, description="override of the mode's REST host")
    kis_ws_url: str | None = Field(default=None, description="override of the mode's WebSocket host")
    kis_rate_limit_per_sec: float | None = Field(default=None, gt=0,
                                                 description="REST calls per second; default 18 live, 1.8 paper")
    kis_token_cache_dir: Path | None = Field(default=None, description="default: <DATA_DIR>/kis-tokens")
    kis_use_hashkey: bool = False
    kis_ws_max_registrations: int = Field(default=41, ge=1, le=41)

    sim_from: date = date(2023, 1, 2)
    sim_to: date = date(2023, 12, 22)
    sim_symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SIM_SYMBOLS
    sim_speed: str = "fastest"
    sim_start_cash_krw: Decimal = Field(default=Decimal(10_000_000), gt=0)
    sim_participation_rate: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    sim_protocol: SimProtocol = Field(default=SimProtocol.KIS, description="kis: through the KIS adapter and the "
                                      "KIS-compatible simulator on loopback; direct: the replay in-process")
    sim_faults: str = Field(default="", description="fault knobs of the KIS simulator, e.g. "
                            "'error500_probability=0.05,drop_ws_every_secs=20,duplicate_fill_notices=true' "
                            "(tests, drills)")

    commission_rate: Decimal = Field(default=Decimal("0.000140527"), ge=0, le=Decimal("0.01"),
                                     description="per side, as a fraction (0.000140527 = 0.0140527 %)")

    strategy_params_file: Path | None = None
    params_fallback: ParamsFallback = ParamsFallback.FILE_OR_DEFAULTS

    order_mode: OrderMode = OrderMode.SEND

    # Risk limits are positive, or `off` (None) for the optional ones; percentages at most 100.
    risk_max_open_positions: int | None = Field(default=5, gt=0)
    risk_max_quantity_per_symbol: Decimal | None = Field(default=Decimal(1_000), gt=0)
    risk_daily_loss_limit_pct: Decimal | None = Field(default=Decimal(2), gt=0, le=100)
    risk_daily_loss_includes_unrealized: bool = False
    risk_daily_loss_trips_kill_switch: bool = True
    risk_max_value_per_symbol_krw: Decimal | None = Field(default=Decimal(3_000_000), gt=0)
    risk_max_symbol_weight_pct: Decimal | None = Field(default=Decimal(20), gt=0, le=100)
    risk_max_order_value_krw: Decimal | None = Field(default=Decimal(3_000_000), gt=0)
    risk_price_collar_pct: Decimal | None = Field(default=Decimal(5), gt=0, le=100)
    risk_max_quote_age_secs: int | None = Field(default=60, gt=0)
    risk_max_orders_per_minute: int | None = Field(default=10, gt=0)
    risk_cooldown_after_failures: int | None = Field(default=3, gt=0)
    risk_cooldown_secs: int = Field(default=300, gt=0)
    risk_max_consecutive_broker_failures: int | None = Field(default=3, gt=0)

    kill_poll_interval_secs: float = Field(default=0.25, gt=0, le=60)
    heartbeat_interval_secs: float = Field(default=5.0, gt=0)
    reconcile_interval_secs: float = Field(default=30.0, gt=0, description="continuous reconciliation period")

    slack_bot_token: SecretStr | None = None
    slack_alerts_channel_id: str | None = None
    slack_trades_channel_id: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    log_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    flatten_wait_secs: float = Field(default=30.0, gt=0)

    # AI batch jobs (spec 001 §1, §17; ai_developer_guides/AI_USAGE_GUIDE.md): outside the trading path.
    ai_provider: AiProvider = AiProvider.NONE
    ai_model: str = Field(default="", description="the provider's model name; required unless AI_PROVIDER=none")
    ai_base_url: str | None = Field(default=None, description="endpoint override (a local OpenAI-compatible server)")
    ai_api_key: SecretStr | None = None
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

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("order_mode", mode="before")
    @classmethod
    def _lower_order_mode(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator(*_OPTIONAL_RISK, mode="before")
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("off", "none") else value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper()

    @field_validator("data_dir", "log_dir", "kis_token_cache_dir")
    @classmethod
    def _check_directory(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError("is a file, not a directory")
        return value

    @field_validator("strategy_params_file")
    @classmethod
    def _check_params_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file" if not value.exists() else "is not a file")
        return value

    @field_validator("sim_symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("sim_symbols")
    @classmethod
    def _check_symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("needs at least one symbol")
        if bad := [s for s in value if not KRX_SYMBOL.match(s)]:
            raise ValueError(f"{', '.join(bad)} is not a six-character KRX code such as 005930")
        return value

    @field_validator("sim_speed")
    @classmethod
    def _check_speed(cls, value: str) -> str:
        if value != "fastest":
            try:
                if not (math.isfinite(float(value)) and float(value) > 0):
                    raise ValueError
            except ValueError:
                raise ValueError("must be 'fastest' or a positive number (times real time)") from None
        return value

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

    @field_validator("slack_alerts_channel_id", "slack_trades_channel_id")
    @classmethod
    def _check_channel_id(cls, value: str | None) -> str | None:
        if value is not None and not SLACK_CHANNEL_ID.match(value.strip()):
            raise ValueError("must be a Slack channel ID like C0123ABCD (channel names are not accepted)")
        return value.strip() if value is not None else None

    @property
    def slack_enabled(self) -> bool:
        """Return True when a Slack bot token is set (the channels are then required)."""
        return self.slack_bot_token is not None and bool(self.slack_bot_token.get_secret_value())

    def slack_problem(self) -> str | None:
        """Return what is missing for Slack, or None when it is configured or deliberately off."""
        if self.slack_enabled and not self.slack_alerts_channel_id:
            return "SLACK_BOT_TOKEN is set but SLACK_ALERTS_CHANNEL_ID is not"
        if not self.slack_enabled and (self.slack_alerts_channel_id or self.slack_trades_channel_id):
            return "a Slack channel ID is set but SLACK_BOT_TOKEN is not"
        return None

    def ai_problem(self) -> str | None:
        """Return what is wrong with the AI settings taken together (see `config.ai_checks`), or None."""
        from stock_manager.config.ai_checks import ai_problem

        return ai_problem(self)

    @property
    def sim_speed_factor(self) -> float | None:
        """Return the replay speed as a multiple of real time, or None for 'fastest'."""
        return None if self.sim_speed == "fastest" else float(self.sim_speed)

    @property
    def database_url(self) -> str:
        """Return `db_url`, or the embedded SQLite file ``<data_dir>/stockbot.db``."""
        if self.db_url:
            return self.db_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'stockbot.db').as_posix()}"

    @property
    def sim_state_dir(self) -> Path:
        """Return the directory holding the simulated exchange's journal."""
        return self.data_dir / "sim-exchange"

    @property
    def kis_token_cache_path(self) -> Path:
        """Return the directory of the cached KIS access token (``KIS_TOKEN_CACHE_DIR`` or in `data_dir`)."""
        return self.kis_token_cache_dir or self.data_dir / "kis-tokens"

    def missing_kis_settings(self) -> list[str]:
        """Return the names of the settings paper and live trading need but are not set."""
        required = {
            "KIS_APP_KEY": self.kis_app_key,
            "KIS_APP_SECRET": self.kis_app_secret,
            "KIS_ACCOUNT": self.kis_account,
            "KIS_HTS_ID": self.kis_hts_id,
        }
        return [name for name, value in required.items() if not value]


def known_setting_names() -> frozenset[str]:
    """Return every setting's name as written in ``.env`` and the environment (upper case)."""
    return frozenset(name.upper() for name in Settings.model_fields)


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``, with `overrides` (from CLI options) on top.

    The ``.env`` file and the environment are checked first (see `dotenv_check`): a malformed line, a file
    that is not UTF-8, or an unknown name that looks like one of ours is refused.

    Raises
    ------
    ConfigurationError
        Naming each problem (and its ``.env`` line) on one line; secret values are never echoed.
    """
    env_file = Settings.model_config.get("env_file")
    dotenv_lines = check_sources(Path(env_file) if isinstance(env_file, str) else None, known_setting_names(),
                                 os.environ)
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as e:
        environment = {name.upper() for name in os.environ}
        from_file = {name: line for name, line in dotenv_lines.items()
                     if name not in environment and name.lower() not in given}
        problems = "; ".join(_describe(err, from_file, env_file) for err in e.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from None


def _describe(err: ErrorDetails, from_file: dict[str, int], env_file: object) -> str:
    # "NAME (.env line 4): why, was 'value'": the value only when it is not a secret.
    field = str(err["loc"][0]) if err["loc"] else ""
    name = "_".join(str(p) for p in err["loc"]).upper() or "settings"
    where = f" ({env_file} line {from_file[name]})" if name in from_file else ""
    message = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    shown = f", was {value!r}" if field not in _NEVER_ECHOED and isinstance(value, str | int | float | Decimal) else ""
    return f"{name}{where}: {message}{shown}"
