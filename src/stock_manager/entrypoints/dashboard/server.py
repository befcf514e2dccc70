"""Serving the dashboard with uvicorn: on its own (``stockbot dashboard``), or alongside a running daemon
(``stockbot run --dashboard``).

Alongside the daemon the server must never delay an order. Where it runs is `Placement`:

- ``process`` (the default of ``run --dashboard``): a child process started with the daemon and stopped with
  it. Page rendering then shares no event loop and no interpreter lock with the order path;
  ``benchmarks/dashboard_overhead.py`` measures the three placements side by side.
- ``thread``: its own thread and event loop in the daemon's process (shares the interpreter lock).
- ``loop``: a task on the daemon's own event loop (every page's Python work runs between the daemon's steps).

In every placement the server has its own engines: a read-only one for pages (`adapters.storage.read_only`)
and the usual one for the kill switch.
"""

import asyncio
import contextlib
import multiprocessing
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING

import uvicorn

from stock_manager.domain.errors import ConfigurationError
from stock_manager.entrypoints.dashboard.app import DashboardConfig, create_app
from stock_manager.entrypoints.dashboard.security import is_loopback

if TYPE_CHECKING:
    from stock_manager.config.settings import Settings

#: Seconds a stopping server waits for open responses (live streams are ended at once).
GRACEFUL_SHUTDOWN_SECS = 2
#: Seconds to wait for a server to start listening.
START_TIMEOUT_SECS = 20.0
#: The IPv4 wildcard, recognised in the configured host to show a usable address; never bound here.
ANY_IPV4 = "0.0.0.0"  # noqa: S104  # nosec B104  # compared with, not bound


class Placement(StrEnum):
    """Where a dashboard alongside the daemon runs."""

    PROCESS = "process"
    THREAD = "thread"
    LOOP = "loop"

    def __str__(self) -> str:
        return self.value


class _Server(uvicorn.Server):
    # The daemon (or the CLI) owns the process's signals; uvicorn must not take Ctrl+C from it.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def check_binding(config: DashboardConfig) -> None:
    """Refuse to serve beyond this computer without a password.

    Raises
    ------
    ConfigurationError
        If the host is not a loopback address and no password hash is set.
    """
    if not is_loopback(config.host) and config.password_hash is None:
        raise ConfigurationError(
            f"the dashboard on {config.host} would serve the network without a password: set "
            "one first with `stockbot dashboard --set-password` (DASHBOARD_PASSWORD_HASH), or "
            "bind 127.0.0.1"
        )


def url_of(config: DashboardConfig, port: int | None = None) -> str:
    """Return the address to open in a browser (a wildcard host is shown as this computer's loopback)."""
    host = "127.0.0.1" if config.host in (ANY_IPV4, "::") else config.host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port or config.port}/"


def bind(config: DashboardConfig) -> socket.socket:
    """Return a listening-ready socket bound to the configured host and port.

    Raises
    ------
    ConfigurationError
        If the address cannot be bound (in use, not this computer's).
    """
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
    except OSError as e:
        sock.close()
        raise ConfigurationError(
            f"the dashboard cannot listen on {config.host}:{config.port}: {e.strerror or e} (DASHBOARD_PORT / --port)"
        ) from None
    sock.set_inheritable(True)
    return sock


def make_server(config: DashboardConfig) -> uvicorn.Server:
    """Return a uvicorn server for the dashboard (no access log; the app's own lifespan)."""
    return _Server(
        uvicorn.Config(
            create_app(config),
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECS,
            server_header=False,
            proxy_headers=False,
            ws="none",
        )
    )


async def serve(config: DashboardConfig, sock: socket.socket) -> None:
    """Serve on `sock` until the server is told to stop (Ctrl+C for ``stockbot dashboard``)."""
    server = make_server(config)
    with sock:
        await server.serve(sockets=[sock])


@contextlib.asynccontextmanager
async def alongside(config: DashboardConfig, placement: Placement = Placement.PROCESS) -> AsyncIterator[str]:
    """Serve the dashboard while the block runs; yield its address.

    Raises
    ------
    ConfigurationError
        As `check_binding` and `bind`, or when the server does not start.
    """
    check_binding(config)
    sock = bind(config)
    port = sock.getsockname()[1]
    if placement is Placement.PROCESS:
        async with _in_child_process(config, sock):
            yield url_of(config, port)
        return
    server = make_server(config)
    if placement is Placement.LOOP:
        task = asyncio.create_task(server.serve(sockets=[sock]), name="dashboard")
        stop = task
    else:
        thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="dashboard", daemon=True
        )
        thread.start()
        stop = None
    try:
        await _wait_started(server, task if placement is Placement.LOOP else None)
        yield url_of(config, port)
    finally:
        server.should_exit = True
        if stop is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await stop
        else:
            await asyncio.to_thread(thread.join, GRACEFUL_SHUTDOWN_SECS + 3)
        sock.close()


async def _wait_started(server: uvicorn.Server, task: asyncio.Task[None] | None) -> None:
    waited = 0.0
    while not server.started:
        if task is not None and task.done():
            raise ConfigurationError("the dashboard did not start")
        if waited > START_TIMEOUT_SECS:
            raise ConfigurationError("the dashboard did not start within 20 s")
        await asyncio.sleep(0.05)
        waited += 0.05


@contextlib.asynccontextmanager
async def _in_child_process(config: DashboardConfig, sock: socket.socket) -> AsyncIterator[None]:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_child_main, args=(config, sock, ready), name="stockbot-dashboard", daemon=True)
    child.start()
    sock.close()  # the child holds its own copy
    try:
        started = await asyncio.to_thread(ready.wait, START_TIMEOUT_SECS)
        if not started:
            raise ConfigurationError(f"the dashboard did not start (its process exited with {child.exitcode})")
        yield
    finally:
        child.terminate()  # SIGTERM: uvicorn's graceful shutdown in the child
        await asyncio.to_thread(child.join, GRACEFUL_SHUTDOWN_SECS + 3)
        if child.is_alive():
            child.kill()
            await asyncio.to_thread(child.join, 2)


def _child_main(config: DashboardConfig, sock: socket.socket, ready: "multiprocessing.synchronize.Event") -> None:
    # The dashboard's own process: it serves until its parent (the daemon) terminates it.
    import signal

    from stock_manager.adapters.observability.logging import configure_logging

    configure_logging("WARNING", hide_events_on_console=True)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the terminal is the daemon's to handle

    async def main() -> None:
        server = make_server(config)
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):  # Windows: terminate() ends the process outright
            loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await _wait_started(server, task)
        ready.set()
        await task

    asyncio.run(main())


@contextlib.asynccontextmanager
async def serving_with_daemon(
    settings: "Settings", *, enabled: bool, say: Callable[[str], object], placement: Placement = Placement.PROCESS
) -> AsyncIterator[str | None]:
    """Serve the dashboard beside ``stockbot run`` when `enabled` (else do nothing); say where it is.

    Raises
    ------
    ConfigurationError
        As `alongside`: before the daemon starts, so a wrong address never leaves it running half-configured.
    """
    if not enabled:
        yield None
        return
    from stock_manager.entrypoints.dashboard.app import dashboard_config

    config = dashboard_config(settings)
    async with alongside(config, placement) as url:
        say(f"Dashboard on {url}{' (password required)' if config.password_hash else ''}")
        yield url
