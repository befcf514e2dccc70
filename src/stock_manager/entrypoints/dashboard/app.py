"""The dashboard's ASGI application: configuration, state (read-only and control engines, the change watcher,
the login limiter), middleware (session cookie, security headers) and the routers.

The pages and endpoints read through a read-only engine (`adapters.storage.read_only`): a snapshot per request
that never waits for, nor holds up, the daemon's transactions. Only the controls write, through the usual
engine, exactly as ``stockbot kill`` and ``stockbot resume`` do.
"""

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stock_manager.adapters.storage.engine import create_engine
from stock_manager.adapters.storage.history_repository import SqlHistoryFactory
from stock_manager.adapters.storage.read_only import create_read_only_engine
from stock_manager.adapters.storage.unit_of_work import SqlUnitOfWorkFactory
from stock_manager.config.settings import Settings
from stock_manager.domain.clock import DayBoundary
from stock_manager.domain.risk import RiskLimits
from stock_manager.entrypoints.dashboard.live import ChangeWatcher
from stock_manager.entrypoints.dashboard.present import template_helpers
from stock_manager.entrypoints.dashboard.security import SESSION_AUTHENTICATED, LoginLimiter
from stock_manager.entrypoints.dashboard.venues import VenueConfig, venue_configs, without_secrets

PACKAGE_DIR = Path(__file__).resolve().parent
SESSION_COOKIE = "stockbot_session"
#: Pages may load scripts, styles and images from this server only (the vendored libraries included).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)


@dataclass(frozen=True, slots=True)
class DashboardConfig:
    """What one dashboard serves and how.

    Attributes
    ----------
    password_hash : str | None
        argon2 hash; None: no login (only allowed on a loopback `host`).
    session_hours : float
        How long a login lasts.
    live_interval_secs : float
        How often the change watcher looks at the database while a page listens.
    venues : tuple[VenueConfig, ...]
        Every venue the pages show (`venues.venue_configs`), KRX first.
    settings : Settings | None
        The settings the dashboard was started with, every secret removed: what a parameter approval needs (the
        strategies, the venue's calendar, ``STRATEGY_PARAMS_FILE``), as ``stockbot params approve`` reads them.
        None: approving is unavailable.
    """

    database_url: str
    host: str
    port: int
    password_hash: str | None
    read_only: bool
    session_hours: float
    mode: str
    risk_limits: RiskLimits
    trading_day: DayBoundary
    live_interval_secs: float = 0.5
    venues: tuple[VenueConfig, ...] = ()
    settings: Settings | None = None


def dashboard_config(
    settings: Settings, *, host: str | None = None, port: int | None = None, read_only: bool | None = None
) -> DashboardConfig:
    """Return the dashboard's configuration from settings, with command-line overrides on top."""
    from stock_manager.entrypoints.bootstrap import risk_limits, venue_profile

    secret = settings.dashboard_password_hash
    return DashboardConfig(
        database_url=settings.database_url,
        host=host or settings.dashboard_host,
        port=port or settings.dashboard_port,
        password_hash=secret.get_secret_value() if secret else None,
        read_only=settings.dashboard_read_only if read_only is None else read_only,
        session_hours=settings.dashboard_session_hours,
        mode=str(settings.mode),
        risk_limits=risk_limits(settings),
        trading_day=venue_profile(settings).trading_day,
        venues=venue_configs(settings),
        settings=without_secrets(settings),
    )


class DashboardState:
    """What the routes share: engines and their factories, the change watcher, the login limiter, templates."""

    def __init__(self, config: DashboardConfig) -> None:
        self.config = config
        self.read_engine = create_read_only_engine(config.database_url)
        self.write_engine = create_engine(config.database_url)
        self.uow_factory = SqlUnitOfWorkFactory(self.read_engine, mode=config.mode)
        self.history = SqlHistoryFactory(self.read_engine)
        self.control_uow_factory = SqlUnitOfWorkFactory(self.write_engine, mode=config.mode)
        self.watcher = ChangeWatcher(self.uow_factory, config.live_interval_secs)
        self.limiter = LoginLimiter()
        self.templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
        self.templates.env.globals.update(template_helpers())
        self.templates.env.globals.update(
            read_only=config.read_only,
            login_required=config.password_hash is not None,
            mode=config.mode,
            venues=config.venues,
        )

    async def close(self) -> None:
        """Stop the watcher and dispose of both engines."""
        await self.watcher.stop()
        await self.read_engine.dispose()
        await self.write_engine.dispose()


class NotLoggedIn(Exception):
    """A request without a login where one is required: pages redirect to it, the rest answer 401."""


def state_of(request: Request) -> DashboardState:
    """Return the dashboard's state from a request."""
    state: DashboardState = request.app.state.dashboard
    return state


def is_authenticated(request: Request) -> bool:
    """Return True when no password is configured or the session has logged in."""
    return state_of(request).config.password_hash is None or request.session.get(SESSION_AUTHENTICATED) is True


def require_login(request: Request) -> None:
    """Dependency of every route but the login page and static files.

    Raises
    ------
    NotLoggedIn
        If a password is configured and the session has not logged in.
    """
    if not is_authenticated(request):
        raise NotLoggedIn


class SecurityHeaders:
    """ASGI middleware adding the security headers to every response (and ``no-store`` to all but assets)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"max-age=3600" if cacheable else b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(config: DashboardConfig) -> FastAPI:
    """Return the dashboard application; its lifespan opens (and closes) the engines."""
    from stock_manager.entrypoints.dashboard import api, api_params, controls, pages, param_controls, params_pages

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.dashboard = DashboardState(config)
        try:
            yield
        finally:
            await app.state.dashboard.close()

    app = FastAPI(
        title="stockbot dashboard",
        version="1",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by `api.openapi` behind the login
        description="Read-only JSON views behind the dashboard's pages (the shapes of `stockbot status "
        "--json`, `risk show --json`, `report --json`, `params drafts|show --json` and `ai journal show --json` where "
        "those exist). Endpoints of one account take `venue` (krx or upbit; default: the latest daemon's). Times "
        "are UTC ISO 8601 (the drafts' and journals' KST, as the CLI's), amounts KRW as decimal strings, "
        "quantities as recorded (Bitcoin to 8 decimals), accounts masked.",
    )

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, _error: NotLoggedIn) -> Response:
        if (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api/", "/fragments/", "/stream"))
        ):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse({"detail": "login required"}, status_code=401)

    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(params_pages.router)
    app.include_router(api.router)
    app.include_router(api_params.router)
    app.include_router(controls.router)
    app.include_router(param_controls.router)
    # Outermost last: security headers on every response, then the session cookie (signed with a key made for
    # this process: a restart logs everybody out).
    app.add_middleware(
        SessionMiddleware,
        secret_key=secrets.token_urlsafe(32),
        session_cookie=SESSION_COOKIE,
        max_age=int(config.session_hours * 3600),
        same_site="strict",
        https_only=False,
    )
    app.add_middleware(SecurityHeaders)
    return app
