"""The web dashboard (``stockbot dashboard``, ``stockbot run --dashboard``): server-rendered pages with live updates,
JSON endpoints behind them, and the kill switch, for a person looking at the bot from a browser.

Modules: `app` (the ASGI application and its state), `security` (password, session, CSRF, login limits),
`pages` (HTML), `api` (JSON), `controls` (kill and resume), `live` (Server-Sent Events on change), `present`
(formatting and masking for people), `server` (uvicorn: on its own, or alongside a running daemon). Templates
and static files (vendored htmx and uPlot with their licences) ship inside this package.
"""
