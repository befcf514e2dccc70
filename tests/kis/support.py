"""Helpers of the KIS adapter tests: the shared samples, a config, clocks and an instant sleep."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from stock_manager.adapters.broker.kis.config import KisConfig, KisMode

SAMPLES = Path(__file__).resolve().parent.parent / "kis_samples"
APP_KEY = "PSabcdefghijklmnopqrstuvwxyz0123456789"
APP_SECRET = "secret-" + "x" * 60
ACCOUNT = "50123456-01"
HTS_ID = "testhts"


def sample(name: str) -> Any:
    """Return a JSON sample without its ``_meta`` (not part of the real message)."""
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data.pop("_meta", None)
    return data


def sample_meta(name: str) -> dict[str, Any]:
    """Return the ``_meta`` of a JSON sample (HTTP status, headers)."""
    return json.loads((SAMPLES / name).read_text(encoding="utf-8")).get("_meta", {})


def config(tmp_path: Path | None = None, **overrides: Any) -> KisConfig:
    """Return a paper config towards loopback URLs, cache in `tmp_path`, with `overrides`."""
    values: dict[str, Any] = {
        "mode": KisMode.PAPER,
        "app_key": SecretStr(APP_KEY),
        "app_secret": SecretStr(APP_SECRET),
        "account": ACCOUNT,
        "hts_id": HTS_ID,
        "rest_base_url": "http://127.0.0.1:9",
        "ws_url": "ws://127.0.0.1:9",
        "rate_limit_per_sec": 1000.0,
        "token_cache_dir": tmp_path,
        "subscribe_pacing_secs": 0.0,
        "reconnect_initial_secs": 0.01,
        "reconnect_max_secs": 0.05,
    }
    values.update(overrides)
    return KisConfig(**values)


class WallClock:
    """A settable aware-UTC clock that `sleep` advances (no real waiting)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2025, 5, 15, 0, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        """Return the current time."""
        return self._now

    def advance(self, secs: float) -> None:
        """Move the clock forward."""
        from datetime import timedelta

        self._now += timedelta(seconds=secs)

    async def sleep(self, secs: float) -> None:
        """Record the sleep and advance the clock by it, at once."""
        self.slept.append(secs)
        self.advance(secs)
