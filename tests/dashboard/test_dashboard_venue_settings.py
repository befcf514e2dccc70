"""Each venue's settings as the dashboard reads them: the dashboard's own with ``VENUE`` switched, the venue's
defaults where the owner set nothing (as ``--venue upbit`` does), and what the owner set kept for both."""

from decimal import Decimal
from pathlib import Path

import pytest

from stock_manager.config.settings import VenueName, load_settings
from stock_manager.entrypoints.dashboard.venues import settings_for, venue_configs


@pytest.fixture(autouse=True)
def no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./.env of the developer's
    for name in ("VENUE", "SIM_SYMBOLS", "SIM_FROM", "SIM_TO", "STRATEGIES", "RISK_DAILY_LOSS_LIMIT_PCT"):
        monkeypatch.delenv(name, raising=False)


def test_settings_for_upbit_when_the_dashboard_runs_with_kis_settings_then_upbits_defaults_and_the_owners_values(
    tmp_path,
):
    kis = load_settings(data_dir=tmp_path, mode="sim", sim_symbols="005930", risk_max_open_positions=3)

    upbit = settings_for(kis, VenueName.UPBIT)
    back = settings_for(upbit, VenueName.KIS)

    assert upbit.venue is VenueName.UPBIT and upbit.sim_symbols == ("KRW-BTC",)
    assert upbit.risk_daily_loss_limit_pct == Decimal(5) and upbit.risk_max_symbol_weight_pct == Decimal(60)
    assert upbit.risk_max_quote_age_secs == 900  # a replay's prints are 7.5 minutes apart
    assert upbit.risk_max_open_positions == 3  # what the owner set holds for both venues
    assert back.risk_daily_loss_limit_pct == kis.risk_daily_loss_limit_pct
    assert back.risk_max_quote_age_secs == kis.risk_max_quote_age_secs
    assert settings_for(kis, VenueName.KIS) is kis


def test_venue_configs_when_built_then_krx_first_with_its_strategies_and_upbit_in_utc_to_8_decimals(tmp_path):
    configs = venue_configs(load_settings(data_dir=tmp_path, mode="sim"))

    assert [(c.name, c.option, c.strategies, c.utc_too, c.quantity_places) for c in configs] == [
        ("krx", "kis", ("ma_cross_50_200",), False, None),
        ("upbit", "upbit", ("volatility_breakout", "grid", "turtle"), True, 8),
    ]
    assert configs[1].risk_limits.daily_loss_limit_pct == Decimal(5)


def test_dashboard_config_when_settings_hold_secrets_then_the_kept_settings_hold_none(tmp_path):
    from pydantic import SecretStr

    from stock_manager.entrypoints.dashboard.app import dashboard_config

    settings = load_settings(data_dir=tmp_path, mode="sim", kis_app_key="PSabcdefghijklmnop", kis_app_secret="s" * 40)

    kept = dashboard_config(settings).settings

    assert kept is not None and kept.kis_app_key is None and kept.kis_app_secret is None
    assert not [n for n in type(kept).model_fields if isinstance(getattr(kept, n), SecretStr)]
    assert kept.database_url == settings.database_url and kept.strategy_params_file == settings.strategy_params_file
