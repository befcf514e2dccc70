"""Trading metrics for Prometheus (prometheus-client), served on 127.0.0.1 only when METRICS_PORT is set.

| metric | meaning |
| --- | --- |
| ``stockbot_order_latency_seconds{outcome}`` | histogram: broker order request to its answer |
| ``stockbot_orders_total{outcome}`` | order requests: ``sent``, ``rejected``, ``unknown``, ``fatal`` |
| ``stockbot_order_failure_ratio`` | share of order requests not ``sent`` |
| ``stockbot_order_quantity_total{side}``, ``stockbot_fill_quantity_total{side}`` | accepted and filled shares |
| ``stockbot_fill_ratio`` | filled shares / accepted shares |
| ``stockbot_slippage_bps`` | histogram: fill price against the signal price, basis points, positive = worse |
| ``stockbot_slippage_bps_mean`` | the mean of those (the histogram has no ``_sum``: its buckets go below 0) |
| ``stockbot_exposure_krw`` | holdings at the latest known prices |
| ``stockbot_equity_krw``, ``stockbot_drawdown_pct``, ``stockbot_max_drawdown_pct`` | at each open and close |

Gauges are floats (Prometheus's type); the figures the daemon keeps stay Decimal.
"""

import time
from collections.abc import Callable
from decimal import Decimal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from stock_manager.service_layer.ports.metrics import OrderTimer

_LATENCY_BUCKETS_SECS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SLIPPAGE_BUCKETS_BPS = (-100.0, -50.0, -20.0, -10.0, -5.0, 0.0, 5.0, 10.0, 20.0, 50.0, 100.0)


class _Timer:
    def __init__(self, metrics: "PrometheusMetrics") -> None:
        self._metrics = metrics
        self._started = time.perf_counter()  # a duration, not a time of day

    def done(self, outcome: str) -> None:
        self._metrics.record_order(outcome, time.perf_counter() - self._started)


class PrometheusMetrics:
    """**Adapter:** the `Metrics` port as Prometheus collectors in their own registry.

    Parameters
    ----------
    registry : CollectorRegistry | None
        Where the collectors live (a fresh one by default, so two instances never clash).
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self._latency = Histogram(
            "stockbot_order_latency_seconds",
            "Broker order request to its answer",
            ["outcome"],
            buckets=_LATENCY_BUCKETS_SECS,
            registry=r,
        )
        self._orders = Counter("stockbot_orders", "Order requests by outcome", ["outcome"], registry=r)
        self._failure_ratio = Gauge("stockbot_order_failure_ratio", "Share of order requests not sent", registry=r)
        self._ordered = Counter("stockbot_order_quantity", "Shares in orders the broker accepted", ["side"], registry=r)
        self._filled = Counter("stockbot_fill_quantity", "Shares filled in our orders", ["side"], registry=r)
        self._fill_ratio = Gauge("stockbot_fill_ratio", "Filled shares / accepted shares", registry=r)
        self._slippage = Histogram(
            "stockbot_slippage_bps",
            "Fill price against the signal price, bps (+ = worse)",
            buckets=_SLIPPAGE_BUCKETS_BPS,
            registry=r,
        )
        self._slippage_mean = Gauge(
            "stockbot_slippage_bps_mean", "Mean slippage against the signal price, bps", registry=r
        )
        self._exposure = Gauge("stockbot_exposure_krw", "Holdings at the latest known prices, KRW", registry=r)
        self._equity = Gauge("stockbot_equity_krw", "Equity at the last open or close, KRW", registry=r)
        self._drawdown = Gauge("stockbot_drawdown_pct", "Equity below its peak, percent", registry=r)
        self._max_drawdown = Gauge("stockbot_max_drawdown_pct", "Largest decline from a peak, percent", registry=r)
        self._requests = self._failures = 0
        self._ordered_qty = self._filled_qty = self._slippage_sum_bps = Decimal(0)
        self._slippage_count = 0

    # -- PORT ---------------------------------------------------------------------------------------

    def order_timer(self) -> OrderTimer:
        """Start timing one order request."""
        return _Timer(self)

    def record_order(self, outcome: str, elapsed_secs: float) -> None:
        """Count one order request with its outcome and latency."""
        self._latency.labels(outcome).observe(elapsed_secs)
        self._orders.labels(outcome).inc()
        self._requests += 1
        self._failures += outcome != "sent"
        self._failure_ratio.set(self._failures / self._requests)

    def order_accepted(self, side: str, quantity: Decimal) -> None:
        """Count shares the broker accepted."""
        self._ordered.labels(side).inc(float(quantity))
        self._ordered_qty += quantity
        self._update_fill_ratio()

    def fill(self, side: str, quantity: Decimal, price: Decimal, signal_price: Decimal | None) -> None:
        """Count filled shares and the slippage against the signal's price."""
        self._filled.labels(side).inc(float(quantity))
        self._filled_qty += quantity
        self._update_fill_ratio()
        if signal_price:
            worse = (price - signal_price) if side == "BUY" else (signal_price - price)
            bps = worse / signal_price * 10_000
            self._slippage.observe(float(bps))
            self._slippage_sum_bps += bps
            self._slippage_count += 1
            self._slippage_mean.set(float(self._slippage_sum_bps / self._slippage_count))

    def exposure(self, exposure_krw: Decimal) -> None:
        """Set the holdings' value."""
        self._exposure.set(float(exposure_krw))

    def equity(self, equity_krw: Decimal, drawdown_pct: Decimal, max_drawdown_pct: Decimal) -> None:
        """Set equity and drawdowns."""
        self._equity.set(float(equity_krw))
        self._drawdown.set(float(drawdown_pct))
        self._max_drawdown.set(float(max_drawdown_pct))

    # -- SERVING ------------------------------------------------------------------------------------

    def serve(self, port: int) -> Callable[[], None]:
        """Serve ``/metrics`` on ``127.0.0.1:<port>`` from a background thread; return the function that stops it.

        Raises
        ------
        OSError
            If the port cannot be bound.
        """
        server, thread = start_http_server(port, addr="127.0.0.1", registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(5)

        return stop

    def _update_fill_ratio(self) -> None:
        if self._ordered_qty:
            self._fill_ratio.set(float(self._filled_qty / self._ordered_qty))
