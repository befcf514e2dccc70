"""Fixtures of the KIS simulator specifications: a short replay behind the server, a settable wall clock,
and plain httpx / websockets clients speaking the KIS protocol over loopback (never the adapter)."""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from stock_manager.adapters.broker.kis_sim import DEFAULT_CREDENTIAL, KisCredential, KisExchangeSimulator
from stock_manager.adapters.broker.kis_sim.frames import SessionCipher
from stock_manager.adapters.broker.sim import SimBroker
from stock_manager.domain.clock import FixedClock
from stock_manager.domain.sessions import TradingSession

SAMSUNG, KODEX = "005930", "069500"
CRED = DEFAULT_CREDENTIAL
CANO, PRDT = CRED.cano, CRED.product_code
BASE = "/uapi/domestic-stock/v1"
WALL_START = datetime(2025, 5, 15, 0, 0, tzinfo=UTC)


def make_venue(
    state_dir: Path,
    start: date = date(2023, 12, 20),
    end: date = date(2023, 12, 22),
    clock_start: datetime = datetime(2000, 1, 1, tzinfo=UTC),
) -> SimBroker:
    """A replay of Samsung Electronics and KODEX 200 over a few December 2023 days."""
    return SimBroker(
        symbols=[SAMSUNG, KODEX], start_date=start, end_date=end, clock=FixedClock(clock_start), state_dir=state_dir
    )


class WallClock(FixedClock):
    """The simulator's wall clock, moved by the tests."""

    def tick(self, secs: float) -> None:
        self.advance(timedelta(seconds=secs))


@pytest.fixture
def wall() -> WallClock:
    return WallClock(WALL_START)


@pytest.fixture
async def venue(tmp_path: Path) -> AsyncIterator[SimBroker]:
    broker = make_venue(tmp_path / "venue")
    yield broker
    await broker.close()


async def start_sim(venue: SimBroker, wall: FixedClock, **kw: Any) -> KisExchangeSimulator:
    kw.setdefault("rate_limit_per_sec", None)
    kw.setdefault("pingpong_interval_secs", None)
    sim = KisExchangeSimulator(venue, wall_clock=wall, **kw)
    await sim.start()
    return sim


@pytest.fixture
async def sim(venue: SimBroker, wall: WallClock) -> AsyncIterator[KisExchangeSimulator]:
    """A paper-mode simulator without rate limit or heartbeats."""
    server = await start_sim(venue, wall, mode="paper")
    yield server
    await server.stop()


async def open_session(venue: SimBroker) -> TradingSession:
    """Open the replay's first session (clock at its pre-open, orders accepted)."""
    return await anext(aiter(venue.sessions()))


def unpad(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "_meta"}


class KisClient:
    """A minimal KIS REST client for the tests: token, approval key, headers, paging by hand."""

    def __init__(self, sim: KisExchangeSimulator, credential: KisCredential = CRED) -> None:
        self.sim = sim
        self.credential = credential
        self.http = httpx.AsyncClient(base_url=sim.rest_base_url, timeout=5)
        self.token = ""

    async def __aenter__(self) -> "KisClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def token_call(self, secret: str | None = None) -> httpx.Response:
        return await self.http.post(
            "/oauth2/tokenP",
            json={
                "grant_type": "client_credentials",
                "appkey": self.credential.app_key,
                "appsecret": secret if secret is not None else self.credential.app_secret,
            },
        )

    async def login(self) -> str:
        response = await self.token_call()
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return self.token

    async def approval_key(self) -> str:
        response = await self.http.post(
            "/oauth2/Approval",
            json={
                "grant_type": "client_credentials",
                "appkey": self.credential.app_key,
                "secretkey": self.credential.app_secret,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["approval_key"])

    def headers(self, tr_id: str, **extra: str) -> dict[str, str]:
        return {
            "content-type": "application/json; charset=utf-8",
            "authorization": f"Bearer {self.token}",
            "appkey": self.credential.app_key,
            "appsecret": self.credential.app_secret,
            "tr_id": tr_id,
            "custtype": "P",
            **extra,
        }

    async def post(self, path: str, tr_id: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        return await self.http.post(f"{BASE}/{path}", headers=self.headers(tr_id, **headers), json=body)

    async def get(self, path: str, tr_id: str, params: dict[str, str], **headers: str) -> httpx.Response:
        return await self.http.get(f"{BASE}/{path}", headers=self.headers(tr_id, **headers), params=params)

    async def order(
        self,
        tr_id: str = "VTTC0012U",
        symbol: str = SAMSUNG,
        qty: str = "10",
        dvsn: str = "01",
        price: str = "0",
        **extra: str,
    ) -> httpx.Response:
        body = {
            "CANO": self.credential.cano,
            "ACNT_PRDT_CD": self.credential.product_code,
            "PDNO": symbol,
            "ORD_DVSN": dvsn,
            "ORD_QTY": qty,
            "ORD_UNPR": price,
            "EXCG_ID_DVSN_CD": "KRX",
            **extra,
        }
        return await self.post("trading/order-cash", tr_id, body)

    async def cancel(self, odno: str, tr_id: str = "VTTC0013U", branch: str = "00950", **extra: str) -> httpx.Response:
        body = {
            "CANO": self.credential.cano,
            "ACNT_PRDT_CD": self.credential.product_code,
            "KRX_FWDG_ORD_ORGNO": branch,
            "ORGN_ODNO": odno,
            "ORD_DVSN": "00",
            "RVSE_CNCL_DVSN_CD": "02",
            "ORD_QTY": "0",
            "ORD_UNPR": "0",
            "QTY_ALL_ORD_YN": "Y",
            **extra,
        }
        return await self.post("trading/order-rvsecncl", tr_id, body)

    async def daily_ccld(
        self,
        tr_id: str = "VTTC0081R",
        day: str = "20231220",
        fk: str = "",
        nk: str = "",
        tr_cont: str = "",
        **extra: str,
    ) -> httpx.Response:
        params = {
            "CANO": self.credential.cano,
            "ACNT_PRDT_CD": self.credential.product_code,
            "INQR_STRT_DT": day,
            "INQR_END_DT": day,
            "SLL_BUY_DVSN_CD": "00",
            "PDNO": "",
            "ORD_GNO_BRNO": "",
            "ODNO": "",
            "CCLD_DVSN": "00",
            "INQR_DVSN": "01",
            "INQR_DVSN_1": "",
            "INQR_DVSN_3": "00",
            "EXCG_ID_DVSN_CD": "KRX",
            "CTX_AREA_FK100": fk,
            "CTX_AREA_NK100": nk,
            **extra,
        }
        return await self.get("trading/inquire-daily-ccld", tr_id, params, tr_cont=tr_cont)

    async def balance(self, tr_id: str = "VTTC8434R", fk: str = "", nk: str = "", tr_cont: str = "") -> httpx.Response:
        params = {
            "CANO": self.credential.cano,
            "ACNT_PRDT_CD": self.credential.product_code,
            "AFHR_FLPR_YN": "N",
            "OFL_YN": "",
            "INQR_DVSN": "01",
            "UNPR_DVSN": "01",
            "FUND_STTL_ICLD_YN": "N",
            "FNCG_AMT_AUTO_RDPT_YN": "N",
            "PRCS_DVSN": "00",
            "CTX_AREA_FK100": fk,
            "CTX_AREA_NK100": nk,
        }
        return await self.get("trading/inquire-balance", tr_id, params, tr_cont=tr_cont)


@pytest.fixture
async def client(sim: KisExchangeSimulator) -> AsyncIterator[KisClient]:
    async with KisClient(sim) as kis:
        await kis.login()
        yield kis


def subscribe_message(approval_key: str, tr_id: str, tr_key: str, tr_type: str = "1") -> str:
    return json.dumps(
        {
            "header": {"approval_key": approval_key, "custtype": "P", "tr_type": tr_type, "content-type": "utf-8"},
            "body": {"input": {"tr_id": tr_id, "tr_key": tr_key}},
        }
    )


class WsClient:
    """A websockets client speaking the KIS real-time protocol."""

    def __init__(self, conn: ClientConnection, approval_key: str) -> None:
        self.conn = conn
        self.approval_key = approval_key
        self.cipher: SessionCipher | None = None

    async def subscribe(self, tr_id: str, tr_key: str, tr_type: str = "1") -> dict[str, Any]:
        await self.conn.send(subscribe_message(self.approval_key, tr_id, tr_key, tr_type))
        ack = json.loads(await self.conn.recv())
        output = ack.get("body", {}).get("output")
        if output:
            self.cipher = SessionCipher(key=output["key"], iv=output["iv"])
        return ack

    async def recv(self, wait_secs: float = 2.0) -> str:
        return str(await asyncio.wait_for(self.conn.recv(), wait_secs))

    async def notice(self, wait_secs: float = 2.0) -> list[str]:
        """Return the next notice's decrypted fields (skipping trade frames)."""
        while True:
            frame = await self.recv(wait_secs)
            if frame.startswith("1|"):
                assert self.cipher is not None
                return self.cipher.decrypt(frame.split("|", 3)[3]).split("^")


async def ws_connect(sim: KisExchangeSimulator, approval_key: str, path: str = "/tryitout") -> WsClient:
    conn = await websockets.connect(sim.ws_url + path, ping_interval=None)
    return WsClient(conn, approval_key)
