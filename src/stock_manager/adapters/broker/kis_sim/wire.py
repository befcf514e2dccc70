"""Wire shapes of the KIS Open API as the simulator speaks them (KIS reference §2, §3, §6).

Everything here is data and pure formatting: the response envelope (``rt_cd``/``msg_cd``/``msg1``), the
token endpoint's other error shape (``error_code``/``error_description``), space padding of ``msg1`` and
of the paging context strings, KST time formats, and the TR ids of each endpoint in each mode.

Where the reference marks a code or text unconfirmed ([U]/[?]) the choice is noted next to it.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from stock_manager.localtime import KST

type KisMode = Literal["real", "paper"]

#: ``msg1`` is right-padded with spaces to 80 bytes of cp949 (a Korean syllable counts 2) on inquiry
#: responses, as in the balance and daily-ccld samples (reference §3.2).
MSG1_PAD = 80
#: Paging context strings ``ctx_area_fk100``/``ctx_area_nk100`` are padded to 100 characters (§3.3).
CTX_PAD = 100
#: The KRX forwarding branch (``KRX_FWDG_ORD_ORGNO``/``ord_gno_brno``) of every order, as seen on paper accounts.
BRANCH = "00950"


@dataclass(eq=False)
class KisError(Exception):
    """A failure answered in KIS's own shape.

    Attributes
    ----------
    http_status : int
        200 for business rejections, 500 for gateway/TR errors, 403 for the token gate (reference §6.2).
    msg_cd, msg1, rt_cd : str
        The envelope fields; ``rt_cd`` ``"1"`` mostly, ``"7"`` for account/paging errors.
    oauth_shape : bool
        True for the token endpoint's ``{"error_code", "error_description"}`` body (EGW00133).
    """

    http_status: int
    msg_cd: str
    msg1: str
    rt_cd: str = "1"
    oauth_shape: bool = False

    def body(self) -> dict[str, Any]:
        """Return the JSON body KIS sends for this error."""
        if self.oauth_shape:
            return {"error_description": self.msg1, "error_code": self.msg_cd}
        return {"rt_cd": self.rt_cd, "msg_cd": self.msg_cd, "msg1": self.msg1}


# -- Gateway and TR errors (reference §6.2) -----------------------------------------------------------------


def rate_limited() -> KisError:
    """EGW00201, HTTP 500 (sample ``rest-error-500-EGW00201-rate-limit.json``)."""
    return KisError(500, "EGW00201", "초당 거래건수를 초과하였습니다.")


def token_expired() -> KisError:
    """EGW00123, HTTP 500 (reference §2.1, §8.2)."""
    return KisError(500, "EGW00123", "기간이 만료된 token 입니다.")


def token_invalid() -> KisError:
    """EGW00121, HTTP 500 (status [?]: 500 or 401 reported; 500 chosen)."""
    return KisError(500, "EGW00121", "유효하지 않은 token 입니다.")


def bearer_missing() -> KisError:
    """EGW00205, HTTP 500: no ``authorization: Bearer <token>`` header (verbatim text from §6.2)."""
    return KisError(500, "EGW00205", "credentials_type이 유효하지 않습니다.(Bearer)")


def token_gate() -> KisError:
    """EGW00133, HTTP 403, oauth shape (sample ``rest-oauth-tokenP-403-EGW00133.json``)."""
    return KisError(403, "EGW00133", "접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)", oauth_shape=True)


def bad_appkey() -> KisError:
    """Wrong app key or secret. KIS's code for it is [?]; EGW00103 "유효하지 않은 AppKey입니다." chosen, 403."""
    return KisError(403, "EGW00103", "유효하지 않은 AppKey입니다.", oauth_shape=True)


def wrong_environment(mode: KisMode) -> KisError:
    """EGW02004 (paper key on the real host, verbatim); the mirror text for a real key on paper is [?]."""
    if mode == "real":
        return KisError(500, "EGW02004", "실전투자 도메인은 모의투자 앱키로 호출하실 수 없습니다.")
    return KisError(500, "EGW02004", "모의투자 도메인은 실전투자 앱키로 호출하실 수 없습니다.")


def not_paper_tr() -> KisError:
    """A real TR id on the paper host: "모의투자 TR 이 아닙니다." HTTP 500 [U]; the msg_cd is [?] (OPSQ0002 used)."""
    return KisError(500, "OPSQ0002", "모의투자 TR 이 아닙니다.")


def not_real_tr() -> KisError:
    """A paper (V) TR id on the real host; KIS's text is [?]."""
    return KisError(500, "OPSQ0002", "실전투자 TR 이 아닙니다.")


def unknown_tr(tr_id: str) -> KisError:
    """OPSQ0002, HTTP 500: the TR id does not name this endpoint's service (text [?])."""
    return KisError(500, "OPSQ0002", f"없는 서비스 코드 입니다 ({tr_id or 'tr_id 없음'}).")


def service_not_found() -> KisError:
    """MCA00124: an endpoint that does not exist on this host (e.g. paper ``inquire-psbl-rvsecncl``); HTTP 500 [?]."""
    return KisError(500, "MCA00124", "해당 서비스를 찾을수 없습니다.")


def missing_param(name: str) -> KisError:
    """OPSQ2001, a required parameter is absent (e.g. ``CTX_AREA_NK100``); HTTP 500 and text [?]."""
    return KisError(500, "OPSQ2001", f"필수 입력값이 누락되었습니다 ({name}).")


def invalid_param(name: str, value: str) -> KisError:
    """OPSQ2001 for a malformed parameter; HTTP 500 and text [?]."""
    return KisError(500, "OPSQ2001", f"입력값 오류입니다 ({name}={value!r}).")


def bad_account() -> KisError:
    """APAC0081 with rt_cd ``"7"``, HTTP 200 (reference §3.2)."""
    return KisError(200, "APAC0081", "계좌번호 입력 오류입니다", rt_cd="7")


def paging_changed() -> KisError:
    """SYDB0050 with rt_cd ``"7"``, HTTP 200: the data changed between two pages (reference §3.3)."""
    return KisError(200, "SYDB0050", "조회이후에 자료가 변경되었습니다.(다시 조회하세요)", rt_cd="7")


def internal_error() -> KisError:
    """A random gateway failure (fault knob); KIS's body for it is [?]."""
    return KisError(500, "EGW00001", "일시적인 오류가 발생했습니다.")


# -- Success envelopes --------------------------------------------------------------------------------------

INQUIRY_OK: dict[KisMode, tuple[str, str]] = {
    "real": ("KIOK0460", "조회 되었습니다. (마지막 자료)"),
    "paper": ("20310000", "모의투자 조회가 완료되었습니다."),
}
INQUIRY_MORE: dict[KisMode, tuple[str, str]] = {
    "real": ("KIOK0510", "조회가 계속됩니다. (다음 자료 있음)"),  # text [?]
    "paper": ("20310000", "모의투자 조회가 완료되었습니다."),
}
QUOTE_OK = ("MCA00000", "정상처리 되었습니다.")


def order_ok(mode: KisMode, buy: bool) -> tuple[str, str]:
    """Return the accept code and text of an order (samples ``rest-order-cash-200-*.json``)."""
    if mode == "real":
        return "APBK0013", "주문 전송 완료 되었습니다."
    return "40600000", "모의투자 매수주문이 완료 되었습니다." if buy else "모의투자 매도주문이 완료 되었습니다."


def cancel_ok(mode: KisMode) -> tuple[str, str]:
    """Return the accept code and text of a revise/cancel (real APBK0013 [U]; paper text [?])."""
    if mode == "real":
        return "APBK0013", "주문 전송 완료 되었습니다."
    return "40640000", "모의투자 정정/취소주문이 완료 되었습니다."


def envelope(msg: tuple[str, str], *, pad: bool = False, status_first: bool = False, **payload: Any) -> dict[str, Any]:
    """Return a success body: ``rt_cd "0"``, ``msg_cd``, ``msg1`` (space-padded when `pad`) and `payload`.

    Key order follows the samples: the status first on order responses (`status_first`), last on inquiries.
    """
    code, text = msg
    status = {"rt_cd": "0", "msg_cd": code, "msg1": pad_msg1(text) if pad else text}
    return {**status, **payload} if status_first else {**payload, **status}


def pad_msg1(text: str) -> str:
    """Return `text` right-padded with spaces to 80 cp949 bytes (the samples' ``msg1``)."""
    return text + " " * max(0, MSG1_PAD - len(text.encode("cp949")))


def pad_ctx(text: str) -> str:
    """Return a paging context string padded with spaces to 100 characters."""
    return text.ljust(CTX_PAD)


# -- Values -------------------------------------------------------------------------------------------------


def num(value: Decimal | int | None, places: int | None = None) -> str:
    """Return a number as KIS writes it: a plain string, ``"0"`` for None; `places` fixes the decimals."""
    if value is None:
        return "0"
    if places is not None:
        return f"{Decimal(value):.{places}f}"
    text = format(Decimal(value).normalize(), "f")
    return text


def kst_hhmmss(ts: datetime) -> str:
    """Return the KST wall time of `ts` as ``HHMMSS``."""
    return ts.astimezone(KST).strftime("%H%M%S")


def kst_yyyymmdd(ts: datetime) -> str:
    """Return the KST date of `ts` as ``YYYYMMDD``."""
    return ts.astimezone(KST).strftime("%Y%m%d")


def kst_timestamp(ts: datetime) -> str:
    """Return ``YYYY-MM-DD HH:MM:SS`` in KST, no zone suffix (``access_token_token_expired``)."""
    return ts.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def mask(secret: str, keep: int = 4) -> str:
    """Return `secret` with all but its first `keep` characters hidden (for records and logs)."""
    return secret[:keep] + "*" * max(0, min(8, len(secret) - keep)) if secret else ""


# -- TR ids per endpoint (reference §0, §4) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrSpec:
    """The TR ids one endpoint accepts, with what each means.

    Attributes
    ----------
    real : dict[str, str]
        Real TR id → meaning (e.g. ``"TTTC0012U": "buy"``); old ids included (the simulator accepts both).
    paper_derived : bool
        Paper ids are ``"V" + real[1:]`` for trading TRs; quotation TRs (``FH…``) are the same on both.
    paper_supported : bool
        False for real-only services (``inquire-psbl-rvsecncl``): MCA00124 on the paper host.
    """

    real: dict[str, str]
    paper_derived: bool = True
    paper_supported: bool = True

    def resolve(self, mode: KisMode, tr_id: str) -> str:
        """Return the meaning of `tr_id` in `mode`.

        Raises
        ------
        KisError
            "모의투자 TR 이 아닙니다." for a real TR on paper, its mirror for a paper TR on real, OPSQ0002 for
            an id of another service, MCA00124 for a real-only service on paper.
        """
        if mode == "paper" and not self.paper_supported:
            raise service_not_found()
        if not self.paper_derived:
            if tr_id in self.real:
                return self.real[tr_id]
            raise unknown_tr(tr_id)
        paper = {"V" + real[1:]: meaning for real, meaning in self.real.items()}
        if mode == "real":
            if tr_id in self.real:
                return self.real[tr_id]
            if tr_id in paper:
                raise not_real_tr()
        else:
            if tr_id in paper:
                return paper[tr_id]
            if tr_id in self.real:
                raise not_paper_tr()
        raise unknown_tr(tr_id)


ORDER_CASH = TrSpec({"TTTC0012U": "buy", "TTTC0011U": "sell", "TTTC0802U": "buy", "TTTC0801U": "sell"})
ORDER_RVSECNCL = TrSpec({"TTTC0013U": "rvsecncl", "TTTC0803U": "rvsecncl"})
PSBL_RVSECNCL = TrSpec({"TTTC0084R": "psbl", "TTTC8036R": "psbl"}, paper_supported=False)
BALANCE = TrSpec({"TTTC8434R": "balance"})
DAILY_CCLD = TrSpec({"TTTC0081R": "recent", "TTTC8001R": "recent", "CTSC9215R": "old", "CTSC9115R": "old"})
PSBL_ORDER = TrSpec({"TTTC8908R": "psbl"})
PRICE = TrSpec({"FHKST01010100": "price"}, paper_derived=False)
DAILY_CHART = TrSpec({"FHKST03010100": "chart"}, paper_derived=False)
