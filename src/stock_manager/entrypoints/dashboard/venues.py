"""The venues a dashboard shows, each with what its pages need (the risk limits and trading day of its own
settings, its strategies, how its times and quantities are shown), and the venue a request has selected.

One dashboard serves every venue of its database: the KRX daemon (through KIS) and the Upbit daemon run as their
own accounts beside each other. A venue's settings are the dashboard's with ``VENUE`` switched (`settings_for`):
what the owner set applies to both, the venue's own defaults (`UPBIT_DEFAULTS`) fill the rest, as when the
daemon is started with ``--venue``.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from pydantic import SecretStr

from stock_manager.config.settings import UPBIT_DEFAULTS, UPBIT_SIM_MAX_QUOTE_AGE_SECS, Mode, Settings, VenueName
from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.risk import RiskLimits

if TYPE_CHECKING:
    from stock_manager.entrypoints.dashboard.app import DashboardConfig

#: Session key of the venue a person selected on the pages.
SESSION_VENUE = "venue"
#: The selector's value for "the venue of the latest daemon" (what the pages show without a choice).
LATEST = "latest"
#: The kill switch scope that stops every daemon.
EVERY_VENUE = "*"


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """One venue as the dashboard shows it.

    Attributes
    ----------
    name : str
        The market as the database names it: ``krx`` or ``upbit`` (``accounts.venue``, a kill switch's scope).
    option : str
        Its ``--venue`` value: ``kis`` or ``upbit``.
    utc_too : bool
        Times are shown in KST and UTC (Upbit's day runs 00:00 → 24:00 UTC; spec 004).
    quantity_places : int | None
        Decimal places every quantity is shown with (8 for Bitcoin); None: as recorded (whole shares).
    """

    name: str
    option: str
    label: str
    risk_limits: RiskLimits
    trading_day: DayBoundary
    strategies: tuple[str, ...]
    utc_too: bool
    quantity_places: int | None


def settings_for(settings: Settings, venue: VenueName) -> Settings:
    """Return `settings` as a daemon of `venue` reads them: ``VENUE`` switched, the venue's defaults where the
    owner set nothing, and the symbols and strategies of `venue`'s defaults unless `settings` are that venue's."""
    if settings.venue is venue:
        return settings
    defaults: dict[str, object] = dict(UPBIT_DEFAULTS)
    if settings.mode is Mode.SIM:
        defaults["risk_max_quote_age_secs"] = UPBIT_SIM_MAX_QUOTE_AGE_SECS
    given = settings.model_fields_set
    update: dict[str, object] = {"venue": venue, "strategies": ()}
    for name, upbit_default in defaults.items():
        venue_specific = name in ("sim_symbols", "sim_from", "sim_to")
        if name in given and not venue_specific:
            continue
        default = Settings.model_fields[name].get_default(call_default_factory=True)
        update[name] = upbit_default if venue is VenueName.UPBIT else default
    # Only what the owner set stays "set" (a copy's updates would count as set, and then as the owner's).
    return Settings.model_construct(_fields_set=set(given) | {"venue"}, **{**dict(settings), **update})


def without_secrets(settings: Settings) -> Settings:
    """Return `settings` with every secret (broker keys, tokens, the password hash) removed: what the dashboard
    keeps for approvals needs none, and a server facing the LAN should not hold them."""
    cleared = {name: None for name in Settings.model_fields if isinstance(getattr(settings, name), SecretStr)}
    return Settings.model_construct(_fields_set=set(settings.model_fields_set), **{**dict(settings), **cleared})


def venue_configs(settings: Settings) -> tuple["VenueConfig", ...]:
    """Return every venue's configuration, KRX first.

    Raises
    ------
    ConfigurationError
        As `bootstrap.venue_profile` for a venue's symbols.
    """
    from stock_manager.entrypoints.bootstrap import risk_limits, strategy_specs, venue_profile, venue_scope

    configs = []
    for venue in (VenueName.KIS, VenueName.UPBIT):
        own = settings_for(settings, venue)
        configs.append(
            VenueConfig(
                name=venue_scope(venue),
                option=str(venue.value),
                label="KRX stocks (KIS)" if venue is VenueName.KIS else "Bitcoin (Upbit)",
                risk_limits=risk_limits(own),
                trading_day=venue_profile(own).trading_day,
                strategies=tuple(s.strategy_id for s in strategy_specs(own)),
                utc_too=venue is VenueName.UPBIT,
                quantity_places=8 if venue is VenueName.UPBIT else None,
            )
        )
    return tuple(configs)


def venue_named(config: "DashboardConfig", name: str | None) -> VenueConfig | None:
    """Return the venue called `name` (``krx``/``upbit``, or the ``--venue`` value ``kis``); None for None.

    Raises
    ------
    HTTPException
        422 for a name no venue has.
    """
    if name is None or name in ("", LATEST):
        return None
    for venue in config.venues:
        if name in (venue.name, venue.option):
            return venue
    known = ", ".join(v.name for v in config.venues)
    raise HTTPException(422, f"unknown venue {name!r}; one of {known}")


def selected_venue(request: Request) -> VenueConfig | None:
    """Return the venue the pages are filtered to: ``?venue=`` (remembered in the session; ``latest`` forgets
    it), else the session's choice; None: the latest daemon's venue."""
    from stock_manager.entrypoints.dashboard.app import state_of

    config = state_of(request).config
    asked = request.query_params.get("venue")
    if asked is not None:
        venue = venue_named(config, asked)
        request.session[SESSION_VENUE] = venue.name if venue is not None else LATEST
        return venue
    remembered = request.session.get(SESSION_VENUE)
    try:
        return venue_named(config, remembered if isinstance(remembered, str) else None)
    except HTTPException:  # a venue this dashboard no longer knows
        return None


def kill_scopes(config: "DashboardConfig") -> list[str]:
    """Return the scopes a kill or resume may name: every daemon (``*``) and each venue."""
    return [EVERY_VENUE, *(v.name for v in config.venues)]
