"""The venue's rejections as KIS business errors: HTTP 200, ``rt_cd`` ``"1"`` (``"7"`` for the account), the
KIS wording of the message (reference §6.2) and a ``msg_cd`` per mode.

Only a few codes are documented: APAC0081 (account), paper 40570000 (before the open), the paper
qty/price family 40310000 [?] and APBK0656 (not found). The others are the simulator's choice inside the
families KIS uses (``APBK…`` real, ``40…`` paper) and are marked [?]; clients must switch on
``rt_cd != "0"`` and the family, not on these exact codes.
"""

from datetime import datetime

from stock_manager.adapters.broker.kis_sim.wire import KisError, KisMode
from stock_manager.adapters.broker.sim.rejections import MESSAGES, RejectCode
from stock_manager.adapters.venues.krx.calendar import pre_open, session_for
from stock_manager.domain.errors import OrderRejectedByBroker
from stock_manager.localtime import kst_date

#: RejectCode -> (real msg_cd, paper msg_cd).
CODES: dict[RejectCode, tuple[str, str]] = {
    RejectCode.MARKET_CLOSED: ("APBK0918", "40580000"),  # [?]; paper before the open is 40570000 [U]
    RejectCode.ACCOUNT: ("APAC0081", "APAC0081"),  # [U]
    RejectCode.UNKNOWN_SYMBOL: ("APBK0402", "40100000"),  # [?]
    RejectCode.HALTED: ("APBK0404", "40110000"),  # [?]
    RejectCode.QUANTITY: ("APBK0017", "40310000"),  # paper [?] per reference
    RejectCode.PRICE: ("APBK0018", "40310000"),
    RejectCode.TICK_SIZE: ("APBK1050", "40310000"),
    RejectCode.ABOVE_UPPER_LIMIT: ("APBK0524", "40310000"),
    RejectCode.BELOW_LOWER_LIMIT: ("APBK0525", "40310000"),
    RejectCode.INSUFFICIENT_CASH: ("APBK0952", "40250000"),
    RejectCode.INSUFFICIENT_HOLDINGS: ("APBK0986", "40260000"),
    RejectCode.ORDER_NOT_FOUND: ("APBK0656", "40330000"),  # real [U]
    RejectCode.NOT_CANCELABLE: ("APBK0915", "40340000"),
}
PAPER_BEFORE_OPEN = ("40570000", "모의투자 장시작전 입니다.")
PAPER_AFTER_CLOSE_TEXT = "모의투자 장종료 입니다."
UNSUPPORTED = "SIMU0001"


def business_error(mode: KisMode, code: RejectCode, now: datetime) -> KisError:
    """Return the KIS answer to a venue rejection `code` at market time `now`."""
    if code is RejectCode.MARKET_CLOSED and mode == "paper":
        if now < pre_open(session_for(kst_date(now))):
            return KisError(200, *PAPER_BEFORE_OPEN)
        return KisError(200, CODES[code][1], PAPER_AFTER_CLOSE_TEXT)
    real, paper = CODES[code]
    rt_cd = "7" if code is RejectCode.ACCOUNT else "1"
    return KisError(200, real if mode == "real" else paper, MESSAGES[code], rt_cd=rt_cd)


def from_rejection(mode: KisMode, error: OrderRejectedByBroker, now: datetime) -> KisError:
    """Return the KIS answer to the venue's `OrderRejectedByBroker`."""
    try:
        code = RejectCode(error.code)
    except ValueError:
        return KisError(200, UNSUPPORTED, str(error)[:80])
    return business_error(mode, code, now)


def unsupported(what: str) -> KisError:
    """Return a business error for a request the simulator does not model (its own code ``SIMU0001``)."""
    return KisError(200, UNSUPPORTED, f"모의거래소 미지원: {what}"[:80])
