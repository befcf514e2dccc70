"""What a daemon left running needs beside its sessions, built for the composition root: the KIS symbol
master refreshed at KIS's update times (``KIS_MASTER_URL``, ``KIS_MASTER_REFRESH_TIMES``; paper and live)."""

from stock_manager.config.settings import Mode, Settings, VenueName
from stock_manager.entrypoints.venues import Venue
from stock_manager.service_layer.ports.notifications import Notifier
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory
from stock_manager.service_layer.universe import UniverseRefresh


def universe_refresh(
    settings: Settings, uow_factory: UnitOfWorkFactory, venue: Venue, notifier: Notifier
) -> UniverseRefresh | None:
    """Return the master's refresh of a KIS paper or live daemon; None in sim (the bundled master), on Upbit,
    and with ``KIS_MASTER_URL=off``."""
    if settings.mode is Mode.SIM or settings.venue is not VenueName.KIS or settings.kis_master_url.lower() == "off":
        return None
    from stock_manager.adapters.marketdata.master_download import MASTER_CACHE, KisMasterDownload, next_update

    times = settings.kis_master_refresh_at
    master = KisMasterDownload(
        settings.kis_master_url,
        clock=venue.clock,
        cache_path=settings.data_dir / MASTER_CACHE,
        timeout_secs=settings.kis_master_timeout_secs,
    )
    return UniverseRefresh(
        master=master,
        traded=settings.sim_symbols,
        next_refresh=lambda after: next_update(after, times),
        clock=venue.clock,
        uow_factory=uow_factory,
        notifier=notifier,
        sleep=venue.sleep,
    )
