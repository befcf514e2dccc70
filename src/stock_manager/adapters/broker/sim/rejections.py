"""Rejections of the simulated venue: codes, and messages worded like KIS's.

The messages KIS is known to send (reference §6.2: hours, tick size, quantity, cash) are used verbatim;
the others are the simulator's own wording.
"""

from enum import StrEnum

from stock_manager.domain.errors import OrderRejectedByBroker


class RejectCode(StrEnum):
    """Codes of the simulator's rejections (`OrderRejectedByBroker.code`); the messages follow KIS."""

    MARKET_CLOSED = "SIM_MARKET_CLOSED"
    ACCOUNT = "APAC0081"  # KIS's own code for a wrong account number
    UNKNOWN_SYMBOL = "SIM_UNKNOWN_SYMBOL"
    HALTED = "SIM_HALTED"
    QUANTITY = "SIM_QUANTITY"
    PRICE = "SIM_PRICE"
    TICK_SIZE = "SIM_TICK_SIZE"
    ABOVE_UPPER_LIMIT = "SIM_ABOVE_UPPER_LIMIT"
    BELOW_LOWER_LIMIT = "SIM_BELOW_LOWER_LIMIT"
    INSUFFICIENT_CASH = "SIM_INSUFFICIENT_CASH"
    INSUFFICIENT_HOLDINGS = "SIM_INSUFFICIENT_HOLDINGS"
    ORDER_NOT_FOUND = "SIM_ORDER_NOT_FOUND"
    NOT_CANCELABLE = "SIM_NOT_CANCELABLE"
    UNDER_MIN_NOTIONAL = "SIM_UNDER_MIN_NOTIONAL"
    DUPLICATE_CLIENT_ORDER_ID = "SIM_DUPLICATE_CLIENT_ORDER_ID"


MESSAGES: dict[RejectCode, str] = {
    RejectCode.MARKET_CLOSED: "장운영시간이 아닙니다.",
    RejectCode.ACCOUNT: "계좌번호 입력 오류입니다.",
    RejectCode.UNKNOWN_SYMBOL: "종목코드 오류입니다.",
    RejectCode.HALTED: "거래정지 종목입니다.",
    RejectCode.QUANTITY: "주문수량을 확인 하여 주십시요.",
    RejectCode.PRICE: "주문단가를 확인 하여 주십시요.",
    RejectCode.TICK_SIZE: "주식주문호가단위 오류입니다.",
    RejectCode.ABOVE_UPPER_LIMIT: "주문가격이 상한가를 초과합니다.",
    RejectCode.BELOW_LOWER_LIMIT: "주문가격이 하한가 미만입니다.",
    RejectCode.INSUFFICIENT_CASH: "주문가능금액을 초과 했습니다",
    RejectCode.INSUFFICIENT_HOLDINGS: "주문가능수량을 초과 했습니다",
    RejectCode.ORDER_NOT_FOUND: "해당 주문이 없습니다.",
    RejectCode.NOT_CANCELABLE: "정정취소가능수량이 없습니다.",
    RejectCode.UNDER_MIN_NOTIONAL: "최소주문금액 미만입니다.",
    RejectCode.DUPLICATE_CLIENT_ORDER_ID: "이미 사용한 주문 식별자입니다.",
}


def reject(code: RejectCode, detail: str = "") -> OrderRejectedByBroker:
    """Return the rejection error for `code`, with `detail` in parentheses after the message."""
    message = MESSAGES[code] if not detail else f"{MESSAGES[code]} ({detail})"
    return OrderRejectedByBroker(message, code=code.value)
