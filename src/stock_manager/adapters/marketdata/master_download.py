"""The KIS KOSPI master downloaded (`SymbolMaster`): KIS reference §7.5 (a zip holding one ``kospi_code.mst``,
cp949 fixed-width records; a bare ``.mst`` is read too), refreshed at KIS's update times (spec 001 §4.1.7,
KST every day). Each master read is also written to ``<data dir>/kis-master/kospi_code.mst``.
"""

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from pathlib import Path

import httpx

from stock_manager.adapters.marketdata.master import parse_kospi_master
from stock_manager.domain.clock import Clock
from stock_manager.localtime import KST
from stock_manager.service_layer.ports.symbol_master import ListedSymbols, SymbolMasterUnavailable

#: Where each master read is kept, under the data directory.
MASTER_CACHE = Path("kis-master") / "kospi_code.mst"


class KisMasterDownload:
    """**Adapter:** `SymbolMaster` over HTTP(S).

    Parameters
    ----------
    url : str
        The download (KIS's, or the local simulator's ``/common/master/kospi_code.mst.zip``).
    clock : Clock
        The wall clock (when it was fetched).
    cache_path : Path | None
        Where the last master read is written; None: nowhere.
    timeout_secs : float
        The whole download's timeout.
    transport : httpx.AsyncBaseTransport | None
        For tests.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        cache_path: Path | None = None,
        timeout_secs: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._clock = clock
        self._cache = cache_path
        self._timeout = timeout_secs
        self._transport = transport

    async def fetch(self) -> ListedSymbols:
        """Download and read the master.

        Raises
        ------
        SymbolMasterUnavailable
            Naming the host's failure, the HTTP status, or what is wrong with the file.
        """
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport, trust_env=False) as http:
                response = await http.get(self._url)
        except httpx.HTTPError as e:
            raise SymbolMasterUnavailable(f"{type(e).__name__} from {self._url}") from None
        if response.status_code != 200:
            raise SymbolMasterUnavailable(f"HTTP {response.status_code} from {self._url}")
        data = _mst_bytes(response.content)
        try:
            infos = parse_kospi_master(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise SymbolMasterUnavailable(f"the master from {self._url} is malformed: {e}") from None
        if not infos:
            raise SymbolMasterUnavailable(f"the master from {self._url} lists no symbol")
        if self._cache is not None:
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            self._cache.write_bytes(data)
        return ListedSymbols(frozenset(infos), self._clock.now())


def _mst_bytes(content: bytes) -> bytes:
    # A zip holding one .mst (KIS's download), or the .mst itself.
    if not content.startswith(b"PK"):
        return content
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".mst")]
            if len(names) != 1:
                raise SymbolMasterUnavailable(f"the zip holds {len(names)} .mst files, not one")
            return archive.read(names[0])
    except zipfile.BadZipFile:
        raise SymbolMasterUnavailable("the download is not a readable zip") from None


def next_update(after: datetime, times: Sequence[time]) -> datetime:
    """Return the first of the daily KST `times` strictly after `after` (aware UTC in, aware UTC out)."""
    local = after.astimezone(KST)
    for days in (0, 1):
        day = local.date() + timedelta(days=days)
        for at in sorted(times):
            candidate = datetime.combine(day, at, tzinfo=KST)
            if candidate > local:
                return candidate.astimezone(after.tzinfo)
    raise ValueError("no update time given")
