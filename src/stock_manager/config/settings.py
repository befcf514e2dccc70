"""All settings, from the environment and ``.env`` (names from spec 001 §13, plus the project's own).

Every setting is listed, with its default, in ``.env.example``. Secrets are `SecretStr`: they never appear
in ``repr``, logs or exceptions.
"""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from stock_manager.domain.errors import ConfigurationError

APP_NAME = "stockbot"


class Mode(StrEnum):
    """Where orders go (spec 001 §2): the replaying simulator, the KIS paper account or the live account."""

    SIM = "sim"
    PAPER = "paper"
    LIVE = "live"

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
    kis_rest_base_url: str | None = None
    kis_ws_url: str | None = None

    sim_from: date = date(2023, 1, 2)
    sim_to: date = date(2023, 12, 22)
    sim_symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SIM_SYMBOLS
    sim_speed: str = "fastest"
    sim_start_cash_krw: Decimal = Decimal(10_000_000)
    sim_participation_rate: Decimal = Decimal("0.25")

    commission_rate: Decimal = Decimal("0.000140527")

    strategy_params_file: Path | None = None
    params_fallback: ParamsFallback = ParamsFallback.FILE_OR_DEFAULTS

    risk_max_open_positions: int = 5
    risk_max_quantity_per_symbol: Decimal = Decimal(1_000)
    risk_daily_loss_limit_pct: Decimal = Decimal(2)

    kill_poll_interval_secs: float = 0.25
    heartbeat_interval_secs: float = 5.0

    @field_validator("mode", mode="before")
    @classmethod
    def _lower_mode(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("sim_symbols", mode="before")
    @classmethod
    def _split_symbols(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("sim_speed")
    @classmethod
    def _check_speed(cls, value: str) -> str:
        if value != "fastest":
            try:
                if float(value) <= 0:
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
        """Return the directory holding the simulated exchange's journal."""
        return self.data_dir / "sim-exchange"

    def missing_kis_settings(self) -> list[str]:
        """Return the names of the settings paper and live trading need but are not set."""
        required = {
            "KIS_APP_KEY": self.kis_app_key,
            "KIS_APP_SECRET": self.kis_app_secret,
            "KIS_ACCOUNT": self.kis_account,
            "KIS_HTS_ID": self.kis_hts_id,
        }
        return [name for name, value in required.items() if not value]


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and ``.env``, with `overrides` (from CLI options) on top.

    Raises
    ------
    ConfigurationError
        Naming each invalid setting and why; values are never echoed (they may be secrets).
    """
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValidationError as e:
        problems = "; ".join(
            f"{'_'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}" for err in e.errors()
        )
        raise ConfigurationError(f"invalid settings: {problems}") from None
