"""Part of the composition root: building a `KisBroker` from the project's settings."""

import asyncio

import httpx

from stock_manager.adapters.broker.kis.auth import Sleep
from stock_manager.adapters.broker.kis.broker import KisBroker
from stock_manager.adapters.broker.kis.config import KisConfig, KisMode
from stock_manager.adapters.secrets.keyring_store import KeyringStore
from stock_manager.adapters.secrets.sealing import KeyringSealer
from stock_manager.adapters.venues.krx.rules import krx_cost_model
from stock_manager.config.settings import Mode, Settings
from stock_manager.domain.clock import Clock
from stock_manager.domain.costs import CostModel
from stock_manager.domain.errors import ConfigurationError


def kis_config_from_settings(settings: Settings, *, mode: KisMode | None = None) -> KisConfig:
    """Return the adapter's configuration from `settings` (``KIS_*`` variables).

    `mode` defaults from ``MODE``: live → REAL, paper → PAPER; ``--mode sim`` must pass it (the simulator
    speaks either). The cached access token is sealed with a key kept in the OS credential store
    (``KEYRING_SERVICE``).

    Raises
    ------
    ConfigurationError
        Naming every missing ``KIS_*`` setting, or the invalid one.
    """
    missing = settings.missing_kis_settings()
    if missing:
        raise ConfigurationError(f"the KIS adapter needs these settings: {', '.join(missing)} (see .env.example)")
    if mode is None:
        if settings.mode is Mode.SIM:
            raise ConfigurationError("the KIS mode (real or paper) must be given explicitly with MODE=sim")
        mode = KisMode.REAL if settings.mode is Mode.LIVE else KisMode.PAPER
    assert settings.kis_app_key is not None and settings.kis_app_secret is not None
    return KisConfig(
        mode=mode,
        app_key=settings.kis_app_key,
        app_secret=settings.kis_app_secret,
        account=settings.kis_account or "",
        hts_id=settings.kis_hts_id or "",
        rest_base_url=settings.kis_rest_base_url,
        ws_url=settings.kis_ws_url,
        rate_limit_per_sec=settings.kis_rate_limit_per_sec,
        token_cache_dir=settings.kis_token_cache_path,
        use_hashkey=settings.kis_use_hashkey,
        max_registrations=settings.kis_ws_max_registrations,
        token_sealer=KeyringSealer(KeyringStore(settings.keyring_service)),
    )


def from_settings(
    settings: Settings,
    *,
    clock: Clock,
    market_clock: Clock | None = None,
    cost_model: CostModel | None = None,
    mode: KisMode | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
) -> KisBroker:
    """Return a `KisBroker` for `settings` (see `kis_config_from_settings`), costs from ``COMMISSION_RATE``.

    Raises
    ------
    ConfigurationError
        On missing or invalid ``KIS_*`` settings.
    """
    config = kis_config_from_settings(settings, mode=mode)
    return KisBroker(
        config,
        clock=clock,
        market_clock=market_clock,
        cost_model=cost_model or krx_cost_model(settings.commission_rate),
        transport=transport,
        sleep=sleep,
    )
