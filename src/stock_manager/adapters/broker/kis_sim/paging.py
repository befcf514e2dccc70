"""Query parameters and ``tr_cont`` paging of the simulated inquiries (KIS reference §3.1, §3.3).

Paging: the first call sends ``tr_cont`` empty, the next ones ``tr_cont: N`` with the previous answer's
``ctx_area_fk100``/``ctx_area_nk100`` (100 characters, space-padded; sent back unstripped). The response
header ``tr_cont`` is ``F`` (first page, more follow), ``M`` (a later page, more follow), ``D`` (the only
page) or ``E`` (the last of several) [?: KIS only says F/M = more, D/E = last]. ``nk100`` holds
``<next row>!^<data version>``; when orders or fills changed since the first page the answer is SYDB0050
(rt_cd ``"7"``) and the client must start again.
"""

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from stock_manager.adapters.broker.kis_sim import wire


def param(request: web.Request, name: str, *, required: bool = True, default: str = "") -> str:
    """Return query parameter `name` (UPPERCASE, or its lowercase form; KIS accepts both).

    Raises
    ------
    KisError
        OPSQ2001 when `required` and absent (present but empty is fine).
    """
    for key in (name, name.lower()):
        if key in request.query:
            return request.query[key]
    if required:
        raise wire.missing_param(name)
    return default


@dataclass(frozen=True, slots=True)
class Page:
    """One page of rows with its response header ``tr_cont`` and the two context strings."""

    rows: list[Any]
    tr_cont: str
    ctx_fk: str
    ctx_nk: str


def paginate(request: web.Request, rows: list[Any], size: int, fk_text: str, version: int) -> Page:
    """Return the page of `rows` the request asks for.

    Raises
    ------
    KisError
        OPSQ2001 without the ``CTX_AREA_FK100``/``CTX_AREA_NK100`` parameters or with a malformed context;
        SYDB0050 when the data version changed since the context was issued.
    """
    param(request, "CTX_AREA_FK100")
    nk = param(request, "CTX_AREA_NK100")
    offset = 0
    continued = request.headers.get("tr_cont", "") == "N" and nk.strip() != ""
    if continued:
        try:
            offset_text, version_text = nk.strip().split("!^")
            offset, issued = int(offset_text), int(version_text)
        except ValueError:
            raise wire.invalid_param("CTX_AREA_NK100", nk.strip()) from None
        if issued != version:
            raise wire.paging_changed()
    end = offset + size
    more = end < len(rows)
    tr_cont = ("M" if more else "E") if continued else ("F" if more else "D")
    next_nk = f"{end}!^{version}" if more else ""
    return Page(rows[offset:end], tr_cont, wire.pad_ctx(fk_text), wire.pad_ctx(next_nk))
