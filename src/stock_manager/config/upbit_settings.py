"""Upbit's settings (Bitcoin on Upbit, spec 004; reference: Upbit Open API): one group of `Settings`' fields.

The keys are secrets (environment, ``.env`` or the OS credential store); base URLs are overrides for the local
simulator; the fee is a fraction per side; maintenance windows are ISO intervals in UTC.
"""

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

#: An Upbit KRW market code (``KRW-BTC``).
UPBIT_MARKET = re.compile(r"^KRW-[0-9A-Z]{2,10}$")

#: What ``--venue upbit`` uses unless told otherwise: the bundled year of 30-minute KRW-BTC candles; one market
#: traded by three strategies at once (a larger share of equity per symbol than the stock defaults allow), whose
#: daily moves are wider than stocks' (a daily loss limit of 5 % rather than 2 %).
UPBIT_DEFAULTS = {
    "sim_from": date(2024, 1, 24),
    "sim_to": date(2025, 1, 26),
    "sim_symbols": ("KRW-BTC",),
    "risk_max_symbol_weight_pct": Decimal(60),
    "risk_max_value_per_symbol_krw": Decimal(6_000_000),
    "risk_daily_loss_limit_pct": Decimal(5),
}
#: The stale-price limit of an Upbit replay, whose prints are 7.5 minutes apart (four per 30-minute candle).
UPBIT_SIM_MAX_QUOTE_AGE_SECS = 900


class UpbitSettings(BaseModel):
    """The ``UPBIT_*`` settings (`Settings` has them all; `UPBIT_DEFAULTS` apply under ``VENUE=upbit``)."""

    upbit_access_key: SecretStr | None = None
    upbit_secret_key: SecretStr | None = None
    upbit_rest_base_url: str | None = Field(default=None, description="override of https://api.upbit.com")
    upbit_ws_url: str | None = Field(
        default=None, description="override of wss://api.upbit.com/websocket/v1 (the private stream is <url>/private)"
    )
    upbit_fee_rate: Decimal = Field(
        default=Decimal("0.0005"), ge=0, le=Decimal("0.01"), description="fee per side (0.05 % on the KRW market)"
    )
    upbit_maintenance: str = Field(
        default="",
        description="maintenance windows, no order sent during one: "
        "ISO intervals, e.g. 2025-03-01T00:00Z/2025-03-01T02:00Z, comma-separated",
    )
    upbit_tick_table_file: Path | None = Field(
        default=None, description="JSON price-unit table replacing the built-in one (Upbit changes it by notice)"
    )

    def missing_upbit_settings(self) -> list[str]:
        """Return the names of the settings live Upbit trading needs but are not set."""
        return [
            name
            for name, value in {
                "UPBIT_ACCESS_KEY": self.upbit_access_key,
                "UPBIT_SECRET_KEY": self.upbit_secret_key,
            }.items()
            if not value
        ]
