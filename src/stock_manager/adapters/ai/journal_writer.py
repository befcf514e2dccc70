"""**Adapter:** `JournalWriter`, the keyless journal: the facts of a session in Korean or English, times in KST.

Deterministic: the same facts give the same text. It says what traded and why (each order's reason), what
filled at what slippage against the signal price and at what cost, what risk refused, the result after costs,
the positions at the close, and how the day compares with its backtest (per strategy where the comparison has
``by_strategy``: the Bitcoin account's).
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from stock_manager.localtime import KST

_WORDS = {
    "ko": {
        "title": "매매일지",
        "account": "계좌",
        "params": "파라미터",
        "result": "결과",
        "realized": "실현손익 {net}원 (세전 {gross}원, 수수료 {commission}원, 세금 {tax}원)",
        "unrealized": "미실현 {value}원",
        "equity": "자산 {start} → {end}원 ({ret}%)",
        "drawdown": "낙폭 {dd}% (최대 {max}%)",
        "stopped": "거래중지: {why}",
        "unsettled": "정산 기록 없음",
        "orders": "주문 {n}건",
        "fills": "체결 {n}건",
        "risk": "리스크 판단 {n}건",
        "events": "이벤트",
        "none": "없음",
        "reason": "사유",
        "positions": "보유 (종가 기준)",
        "backtest": "백테스트 비교",
        "no_backtest": "백테스트 비교: 없음 ({why})",
        "shares": "주",
        "krw": "원",
        "avg": "평균",
        "close": "종가",
        "signal_vs": "신호가 {price}원 대비",
        "commission": "수수료",
        "tax": "세금",
        "bt_line": "기간 {period}: 오늘 데몬 주문 {d}건, 백테스트 {b}건",
        "bt_same": "오늘 거래가 백테스트와 같음",
        "bt_pair": "{symbol} {side}: 데몬 {qd} @ {pd}, 백테스트 {qb} @ {pb} (슬리피지 {slip}원)",
        "bt_missing": "백테스트만 거래: {items}",
        "bt_extra": "데몬만 거래: {items}",
        "bt_pnl": "기간 손익 차이 (데몬 − 백테스트) {diff}원",
        "bt_strategy": "{strategy}: 오늘 일치 {pairs}건, 백테스트만 {missing}건, 데몬만 {extra}건, "
        "기간 손익 차이 {diff}원",
        "BUY": "매수",
        "SELL": "매도",
        "LIMIT": "지정가",
        "MARKET": "시장가",
        "FILLED": "체결",
        "PARTIAL": "부분체결",
        "CANCELED": "취소",
        "REJECTED": "거부",
        "SENT": "접수",
        "NEW": "신규",
        "DENY": "거부",
        "STOP": "거래중지",
        "KILL": "킬스위치",
    },
    "en": {
        "title": "Trade journal",
        "account": "account",
        "params": "parameters",
        "result": "Result",
        "realized": "realized {net} KRW net ({gross} gross, commission {commission}, tax {tax})",
        "unrealized": "unrealized {value} KRW",
        "equity": "equity {start} → {end} KRW ({ret}%)",
        "drawdown": "drawdown {dd}% (max {max}%)",
        "stopped": "stop mode: {why}",
        "unsettled": "not settled",
        "orders": "Orders: {n}",
        "fills": "Fills: {n}",
        "risk": "Risk decisions: {n}",
        "events": "Events",
        "none": "none",
        "reason": "reason",
        "positions": "Held at the close",
        "backtest": "Against the backtest",
        "no_backtest": "Against the backtest: none ({why})",
        "shares": "",
        "krw": " KRW",
        "avg": "avg",
        "close": "close",
        "signal_vs": "against the signal price {price} KRW:",
        "commission": "commission",
        "tax": "tax",
        "bt_line": "period {period}: today the daemon placed {d} order(s), the backtest {b}",
        "bt_same": "today's trades are the backtest's",
        "bt_pair": "{symbol} {side}: daemon {qd} @ {pd}, backtest {qb} @ {pb} (slippage {slip} KRW)",
        "bt_missing": "only the backtest traded: {items}",
        "bt_extra": "only the daemon traded: {items}",
        "bt_pnl": "period PnL difference (daemon − backtest) {diff} KRW",
        "bt_strategy": "{strategy}: today {pairs} matched, {missing} backtest only, {extra} daemon only; "
        "period PnL difference {diff} KRW",
        "BUY": "BUY",
        "SELL": "SELL",
        "LIMIT": "LIMIT",
        "MARKET": "MARKET",
        "FILLED": "FILLED",
        "PARTIAL": "PARTIAL",
        "CANCELED": "CANCELED",
        "REJECTED": "REJECTED",
        "SENT": "SENT",
        "NEW": "NEW",
        "DENY": "DENY",
        "STOP": "STOP",
        "KILL": "KILL",
    },
}


def _n(value: Any, places: int = 0) -> str:
    # A decimal string as people read it: thousands separated, `places` decimals (money: none).
    if value is None or value == "":
        return "-"
    number = Decimal(str(value))
    if places == 0 and number == number.to_integral_value():
        return f"{number:,.0f}"
    return f"{number:,.{places or 2}f}"


def _qty(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)).normalize():,f}"


def _signed(value: Any) -> str:
    number = Decimal(str(value or 0))
    return ("+" if number > 0 else "") + _n(number)


def _who(row: Mapping[str, Any]) -> str:
    # The row's strategy before its symbol, where the comparison is per strategy (the Bitcoin account's).
    return f"{row['strategy']} {row['symbol']}" if row.get("strategy") else str(row["symbol"])


def _time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(KST).strftime("%H:%M:%S")


class FactsJournalWriter:
    """**Adapter:** `JournalWriter` writing the facts as text (module docstring)."""

    def write(self, facts: Mapping[str, Any], language: str) -> str:
        """Return the journal of `facts` in `language` (``ko`` or ``en``; anything else: English)."""
        w = _WORDS.get(language, _WORDS["en"])
        lines = [f"[{w['title']}] {facts['trading_date']} · {w['account']} {facts['account_id']} · {facts['venue']}"]
        for strategy, params in (facts.get("params") or {}).items():
            shown = ", ".join(f"{k}={v}" for k, v in params.items()) if isinstance(params, Mapping) else str(params)
            lines.append(f"{strategy} {w['params']}: {shown}")
        lines.append(self._result(facts.get("settlement"), w))
        lines += self._orders(facts.get("orders") or [], w)
        lines += self._fills(facts.get("fills") or [], w)
        risk = facts.get("risk") or []
        lines.append(w["risk"].format(n=len(risk)) + ("" if risk else f": {w['none']}"))
        lines += [
            f" • {_time(r['time'])} {r['rule']} {w.get(r['decision'], r['decision'])}"
            f"{' ' + r['symbol'] if r.get('symbol') else ''}: {r['message']}"
            for r in risk
        ]
        if events := facts.get("events") or []:
            lines.append(w["events"])
            lines += [f" • {_time(e['time'])} {e['kind']}: {e['message']}" for e in events]
        if positions := facts.get("positions") or []:
            lines.append(w["positions"])
            lines += [
                f" • {p['symbol']} {_qty(p['quantity'])}{w['shares']} {w['avg']} {_n(p['avg_price'])}"
                f"{w['krw']}, {w['close']} {_n(p['close'])}{w['krw']}, "
                f"{w['unrealized'].format(value=_signed(p['unrealized_krw']))}"
                for p in positions
            ]
        lines += self._backtest(facts.get("backtest") or {}, w)
        return "\n".join(lines)

    @staticmethod
    def _result(s: Mapping[str, Any] | None, w: Mapping[str, str]) -> str:
        if not s:
            return f"{w['result']}: {w['unsettled']}"
        parts = [
            w["realized"].format(
                net=_signed(s["realized_net_krw"]),
                gross=_signed(s["realized_gross_krw"]),
                commission=_n(s["commission_krw"]),
                tax=_n(s["tax_krw"]),
            ),
            w["unrealized"].format(value=_signed(s["unrealized_krw"])),
            w["equity"].format(
                start=_n(s["start_equity_krw"]),
                end=_n(s["end_equity_krw"]),
                ret=f"{Decimal(str(s['return_pct'])):+.3f}",
            ),
            w["drawdown"].format(dd=_n(s.get("drawdown_pct"), 2), max=_n(s.get("max_drawdown_pct"), 2)),
        ]
        if s.get("stopped"):
            parts.append(w["stopped"].format(why=s["stopped"]))
        return f"{w['result']}: " + ", ".join(parts)

    @staticmethod
    def _orders(orders: Sequence[Mapping[str, Any]], w: Mapping[str, str]) -> list[str]:
        lines = [w["orders"].format(n=len(orders)) + ("" if orders else f": {w['none']}")]
        for o in orders:
            price = f" {_n(o['limit_price'])}{w['krw']}" if o.get("limit_price") else ""
            done = (
                f" → {w.get(o['status'], o['status'])} {_qty(o['filled'])}{w['shares']} {w['avg']} "
                f"{_n(o['avg_price'])}{w['krw']}"
                if Decimal(str(o.get("filled") or 0))
                else f" → {w.get(o['status'], o['status'])}"
            )
            why = f" ({o['status_reason']})" if o.get("status_reason") else ""
            lines.append(
                f" • {_time(o['time'])} {w.get(o['side'], o['side'])} {_qty(o['quantity'])}{w['shares']} "
                f"{o['symbol']} {w.get(o['type'], o['type'])}{price}{done}{why} — {w['reason']}: "
                f"{o['reason']}"
            )
        return lines

    @staticmethod
    def _fills(fills: Sequence[Mapping[str, Any]], w: Mapping[str, str]) -> list[str]:
        lines = [w["fills"].format(n=len(fills)) + ("" if fills else f": {w['none']}")]
        for f in fills:
            slip = (
                f" ({w['signal_vs'].format(price=_n(f['signal_price']))} {_signed(f['slippage_krw'])}{w['krw']}, "
                f"{f['slippage_bps']} bp)"
                if f.get("signal_price")
                else ""
            )
            lines.append(
                f" • {_time(f['time'])} {w.get(f['side'], f['side'])} {_qty(f['quantity'])}{w['shares']} "
                f"{f['symbol']} @ {_n(f['price'])}{w['krw']}{slip}, {w['commission']} "
                f"{_n(f['commission_krw'])}{w['krw']}, {w['tax']} {_n(f['tax_krw'])}{w['krw']}"
            )
        return lines

    @staticmethod
    def _backtest(bt: Mapping[str, Any], w: Mapping[str, str]) -> list[str]:
        if "unavailable" in bt or not bt:
            return [w["no_backtest"].format(why=bt.get("unavailable", w["none"]))]
        lines = [
            f"{w['backtest']}: "
            + w["bt_line"].format(period=bt["period"], d=bt["orders_daemon"], b=bt["orders_backtest"])
        ]
        pairs, missing, extra = bt.get("pairs") or [], bt.get("missing") or [], bt.get("extra") or []
        differing = [
            p
            for p in pairs
            if Decimal(str(p.get("slippage_krw") or 0))
            or Decimal(str(p.get("quantity_daemon") or 0)) != Decimal(str(p.get("quantity_backtest") or 0))
        ]
        if not differing and not missing and not extra:
            lines.append(f" • {w['bt_same']}")
        for p in differing:
            lines.append(
                " • "
                + w["bt_pair"].format(
                    symbol=_who(p),
                    side=w.get(p["side"], p["side"]),
                    qd=_qty(p["quantity_daemon"]),
                    pd=_n(p["price_daemon"]),
                    qb=_qty(p["quantity_backtest"]),
                    pb=_n(p["price_backtest"]),
                    slip=_signed(p.get("slippage_krw")),
                )
            )
        for key, items in (("bt_missing", missing), ("bt_extra", extra)):
            if items:
                said = "; ".join(f"{_who(r)} {w.get(r['side'], r['side'])} {_qty(r['quantity'])}" for r in items)
                lines.append(" • " + w[key].format(items=said))
        if bt.get("pnl_difference_krw") is not None:
            lines.append(" • " + w["bt_pnl"].format(diff=_signed(bt["pnl_difference_krw"])))
        for strategy, f in (bt.get("by_strategy") or {}).items():
            lines.append(
                " • "
                + w["bt_strategy"].format(
                    strategy=strategy,
                    pairs=f["pairs"],
                    missing=f["missing"],
                    extra=f["extra"],
                    diff=_signed(f["pnl_difference_krw"]),
                )
            )
        return lines
