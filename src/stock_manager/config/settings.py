"""All settings, from the environment and ``.env`` (names from spec 001 §13, plus the project's own).

Every setting is listed, with its default, in ``.env.example``. Secrets are `SecretStr`: they never appear
in ``repr``, logs or exceptions; one set neither in the environment nor in ``.env`` is read from the OS
credential store (`secret_sources`, ``stockbot secrets``).
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
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from stock_manager.config.ai_settings import AiSettings
from stock_manager.config.dashboard_settings import DashboardSettings
from stock_manager.config.dotenv_check import check_sources
from stock_manager.config.lifecycle_settings import LifecycleSettings
from stock_manager.config.risk_settings import RiskSettings
from stock_manager.config.secret_sources import KeyringSettingsSource
from stock_manager.config.slack_settings import SlackSettings
from stock_manager.config.upbit_paper_settings import UpbitPaperSettings
from stock_manager.config.upbit_settings import (
    UPBIT_DEFAULTS,
    UPBIT_MARKET,
    UPBIT_SIM_MAX_QUOTE_AGE_SECS,
    UpbitSettings,
)
from stock_manager.domain.errors import ConfigurationError
from stock_manager.domain.modes import Mode, OrderMode

APP_NAME = "stockbot"


class SimProtocol(StrEnum):
    """How ``--mode sim`` reaches its replayed exchange."""

    KIS = "kis"  # the KIS adapter against the KIS-compatible simulator on loopback (the default)
    DIRECT = "direct"  # the replay's Broker port in-process (no protocol; fastest)

    def __str__(self) -> str:
        return self.value


class VenueName(StrEnum):
    """Which venue a daemon trades (``VENUE``, ``--venue``): KRX stocks through KIS, or Bitcoin on Upbit."""

    KIS = "kis"
    UPBIT = "upbit"

    def __str__(self) -> str:
        return self.value


class ParamsFallback(StrEnum):
    """What to do when no ACTIVE ``strategy_params`` row is effective today (spec 001 §4.1 step 4)."""

    FILE_OR_DEFAULTS = "file_or_defaults"  # STRATEGY_PARAMS_FILE if set, else built-in defaults; an event says so
    STOP = "stop"  # stop mode for the session: no parameters, no trading

    def __str__(self) -> str:
        return self.value


#: Bundled symbols replayed by default: Samsung Electronics, SK hynix, Hyundai Motor, NAVER, KODEX 200.
DEFAULT_SIM_SYMBOLS = ("005930", "000660", "005380", "035420", "069500")

#: A KRX short code: six digits or capital letters (``005930``, ``0025N0``).
KRX_SYMBOL = re.compile(r"^[0-9A-Z]{6}$")

#: The levels ``LOG_LEVEL`` accepts (Python's logging levels).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

#: Settings whose value an error message never shows (secrets, and a URL that may hold a password).
_NEVER_ECHOED = frozenset(
    {
        "kis_app_key",
        "kis_app_secret",
        "slack_bot_token",
        "db_url",
        "kis_account",
        "upbit_access_key",
        "upbit_secret_key",
        "ai_api_key",
        "dashboard_password_hash",
    }
)


class Settings(
    RiskSettings,
    UpbitSettings,
    UpbitPaperSettings,
    SlackSettings,
    LifecycleSettings,
    AiSettings,
    DashboardSettings,
    BaseSettings,
):
    """Validated settings; build with `load_settings`, which turns validation errors into a clear message.

    The AI jobs' and the dashboard's settings are declared with their checks in `ai_settings` and
    `dashboard_settings` (groups of fields this class has, like any other).
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    mode: Mode = Mode.SIM
    venue: VenueName = Field(default=VenueName.KIS, description="kis (KRX stocks) or upbit (Bitcoin)")
    strategies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="strategy ids to run, comma-separated; default: ma_cross for kis, "
        "volatility_breakout,grid,turtle for upbit",
    )
    db_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite file in DATA_DIR")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))
    log_level: str = "INFO"

    kis_app_key: SecretStr | None = None
    kis_app_secret: SecretStr | None = None
    kis_account: str | None = Field(default=None, description="CANO-ACNT_PRDT_CD, e.g. 50123456-01")
    kis_hts_id: str | None = None
    kis_rest_base_url: str | None = Field(default=None, description="override of the mode's REST host")
    kis_ws_url: str | None = Field(default=None, description="override of the mode's WebSocket host")
    kis_rate_limit_per_sec: float | None = Field(
        default=None, gt=0, description="REST calls per second; default 18 live, 1.8 paper"
    )
    kis_token_cache_dir: Path | None = Field(default=None, description="default: <DATA_DIR>/kis-tokens")
    kis_use_hashkey: bool = False
    kis_ws_max_registrations: int = Field(default=41, ge=1, le=41)

    sim_from: date = date(2023, 1, 2)
    sim_to: date = date(2023, 12, 22)
    sim_symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SIM_SYMBOLS
    sim_speed: str = "fastest"
    sim_start_cash_krw: Decimal = Field(default=Decimal(10_000_000), gt=0)
    sim_participation_rate: Decimal = Field(default=Decimal("0.25"), gt=0, le=1)
    sim_protocol: SimProtocol = Field(
        default=SimProtocol.KIS,
        description="kis: through the KIS adapter and the "
        "KIS-compatible simulator on loopback; direct: the replay in-process",
    )
    sim_faults: str = Field(
        default="",
        description="fault knobs of the KIS simulator, e.g. "
        "'error500_probability=0.05,drop_ws_every_secs=20,duplicate_fill_notices=true' "
        "(tests, drills)",
    )

    commission_rate: Decimal = Field(
        default=Decimal("0.000140527"),
        ge=0,
        le=Decimal("0.01"),
        description="per side, as a fraction (0.000140527 = 0.0140527 %)",
    )

    strategy_params_file: Path | None = None
    params_fallback: ParamsFallback = ParamsFallback.FILE_OR_DEFAULTS

    order_mode: OrderMode = OrderMode.SEND

    kill_poll_interval_secs: float = Field(default=0.25, gt=0, le=60)
    heartbeat_interval_secs: float = Field(default=5.0, gt=0)
    reconcile_interval_secs: float = Field(default=30.0, gt=0, description="continuous reconciliation period")
    close_cancel_lead_secs: float = Field(
        default=120.0, ge=0, le=1800, description="paper/live: working orders are cancelled this long before the close"
    )

    ai_api_key: SecretStr | None = None
    keyring_service: str = Field(
        default="stockbot",
        min_length=1,
        description="OS credential store service holding the secrets (a second name keeps a second set of keys apart)",
    )

    log_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    flatten_wait_secs: float = Field(default=30.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read arguments, the environment, ``.env``, then the OS credential store for secrets set nowhere else."""
        return init_settings, env_settings, dotenv_settings, KeyringSettingsSource(settings_cls), file_secret_settings

    @field_validator("mode", "venue", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("strategies", mode="before")
    @classmethod
    def _split_strategies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("strategies")
    @classmethod
    def _check_strategies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from stock_manager.domain.strategies.registry import STRATEGIES

        if unknown := [s for s in value if s not in STRATEGIES]:
            raise ValueError(f"unknown strategy {', '.join(unknown)}; known: {', '.join(STRATEGIES)}")
        if len(set(value)) != len(value):
            raise ValueError("names a strategy twice")
        return value

    @model_validator(mode="after")
    def _venue_defaults(self) -> "Settings":
        # Upbit's own defaults (UPBIT_DEFAULTS) for what was not given.
        if self.venue is VenueName.UPBIT:
            defaults: dict[str, object] = dict(UPBIT_DEFAULTS)
            if self.mode is Mode.SIM:
                defaults["risk_max_quote_age_secs"] = UPBIT_SIM_MAX_QUOTE_AGE_SECS
            for name, default in defaults.items():
                if name not in self.model_fields_set:
                    object.__setattr__(self, name, default)
        pattern, example = (
            (UPBIT_MARKET, "an Upbit KRW market such as KRW-BTC")
            if self.venue is VenueName.UPBIT
            else (KRX_SYMBOL, "a six-character KRX code such as 005930")
        )
        if bad := [s for s in self.sim_symbols if not pattern.match(s)]:
            raise ValueError(f"SIM_SYMBOLS: {', '.join(bad)} is not {example}")
        if self.upbit_tick_table_file is not None and not self.upbit_tick_table_file.is_file():
            raise ValueError(f"UPBIT_TICK_TABLE_FILE: no such file {self.upbit_tick_table_file}")
        return self

    @field_validator("order_mode", mode="before")
    @classmethod
    def _lower_order_mode(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

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
        """Return the directory holding the simulated exchange's journal (one per venue)."""
        return self.data_dir / ("sim-exchange" if self.venue is VenueName.KIS else f"sim-{self.venue}")

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
    dotenv_lines = check_sources(
        Path(env_file) if isinstance(env_file, str) else None, known_setting_names(), os.environ
    )
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as e:
        environment = {name.upper() for name in os.environ}
        from_file = {
            name: line for name, line in dotenv_lines.items() if name not in environment and name.lower() not in given
        }
        problems = "; ".join(_describe(err, from_file, env_file) for err in e.errors())
        raise ConfigurationError(f"invalid settings: {problems}") from None


def _describe(err: ErrorDetails, from_file: dict[str, int], env_file: object) -> str:
    # "NAME (.env line 4): why, was 'value'": the value only when it is not a secret.
    if not err["loc"]:  # a check across settings names them itself
        return err["msg"].removeprefix("Value error, ")
    field = str(err["loc"][0])
    name = "_".join(str(p) for p in err["loc"]).upper() or "settings"
    where = f" ({env_file} line {from_file[name]})" if name in from_file else ""
    message = err["msg"].removeprefix("Value error, ")
    value = err.get("input")
    shown = f", was {value!r}" if field not in _NEVER_ECHOED and isinstance(value, str | int | float | Decimal) else ""
    return f"{name}{where}: {message}{shown}"
