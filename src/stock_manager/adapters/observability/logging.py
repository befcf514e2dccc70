"""Structured logging with structlog: JSON lines to a daily file and a readable (or JSON) console.

Every line carries ``ts_utc`` (the line's own wall time, ISO 8601 UTC) and ``ts_kst``; lines written inside
one trading decision carry its ``correlation_id`` (bound with structlog's context variables). Secrets are
masked by `masking.mask_data` as the last step before rendering, for structlog's lines and for the standard
library's (slack-sdk, httpx, SQLAlchemy) alike.
"""

import logging
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

from stock_manager.adapters.clock import SystemClock
from stock_manager.adapters.observability.masking import mask_data
from stock_manager.localtime import KST

#: The logger `record_event` writes through; its lines repeat what the console notifier already shows.
EVENTS_LOGGER = "stockbot.events"
LOG_FILE_PREFIX = "stockbot"
#: The name of the handlers `configure_logging` installs (and removes when called again).
_OUR_HANDLERS = "stockbot"


def mask_processor(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: hide secrets in every value (see `masking`)."""
    masked: EventDict = mask_data(event_dict)  # a mapping comes back as a dict
    return masked


def _mask_foreign(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # Lines from structlog were masked in its own chain; the standard library's are masked here.
    return event_dict if event_dict.get("_from_structlog") else mask_processor(_, __, event_dict)


def _add_kst(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    # The line's own wall time (stamped by TimeStamper, UTC), shown in KST too.
    if ts := event_dict.get("ts_utc"):
        event_dict["ts_kst"] = datetime.fromisoformat(ts).astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")
    return event_dict


class DailyFileHandler(logging.Handler):
    """Append each record to ``<directory>/stockbot-YYYY-MM-DD.jsonl``, one file per KST date.

    A new day opens a new file (no renaming, so it is safe on Windows while another program reads the
    file). Files are UTF-8.
    """

    def __init__(self, directory: Path, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.directory = directory
        self._day: date | None = None
        self._stream: TextIO | None = None

    def path_for(self, day: date) -> Path:
        """Return the file of KST date `day`."""
        return self.directory / f"{LOG_FILE_PREFIX}-{day.isoformat()}.jsonl"

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted record as a line."""
        try:
            line = self.format(record)
            day = datetime.fromtimestamp(record.created, UTC).astimezone(KST).date()
            self.acquire()  # the handler's lock (Handler.acquire: the typed face of `self.lock`)
            try:
                if day != self._day or self._stream is None:
                    self._close_stream()
                    self.directory.mkdir(parents=True, exist_ok=True)
                    self._stream = self.path_for(day).open("a", encoding="utf-8")
                    self._day = day
                self._stream.write(line + "\n")
                self._stream.flush()
            finally:
                self.release()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Close the current file."""
        self.acquire()
        try:
            self._close_stream()
        finally:
            self.release()
        super().close()

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class _HideEvents(logging.Filter):
    # The console notifier already prints events; the console log shows everything else.
    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != EVENTS_LOGGER


def _level(name: str) -> int:
    numeric = logging.getLevelName(name.upper())
    return numeric if isinstance(numeric, int) else logging.INFO


def _formatter(renderer: Any) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts_utc"),
            _add_kst,
        ],
        processors=[
            structlog.processors.format_exc_info,
            _mask_foreign,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )


def configure_logging(
    level: str = "INFO",
    *,
    json_lines: bool = False,
    log_dir: Path | None = None,
    console_level: str | None = None,
    hide_events_on_console: bool = False,
) -> Path | None:
    """Configure structlog and the standard library's root logger (again, replacing an earlier setup).

    Parameters
    ----------
    level : str
        DEBUG, INFO, WARNING, ERROR or CRITICAL: the file's threshold, and the console's by default.
    json_lines : bool
        JSON lines on the console (stderr) when True, a readable renderer otherwise.
    log_dir : Path | None
        Also write JSON lines to ``stockbot-<KST date>.jsonl`` in this directory (created when missing).
    console_level : str | None
        The console's threshold when it differs from `level`.
    hide_events_on_console : bool
        Leave `record_event`'s lines off the console (the console notifier shows events already).

    Returns
    -------
    Path | None
        Today's log file, or None without `log_dir`.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _OUR_HANDLERS]:
        root.removeHandler(handler)
        handler.close()
    file_level, shown_level = _level(level), _level(console_level or level)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(shown_level)
    console.setFormatter(
        _formatter(structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=False))
    )
    if hide_events_on_console:
        console.addFilter(_HideEvents())
    handlers: list[logging.Handler] = [console]
    path = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)  # an unusable LOG_DIR fails here, with its OSError
        daily = DailyFileHandler(log_dir, file_level)
        daily.setFormatter(_formatter(structlog.processors.JSONRenderer(ensure_ascii=False)))
        handlers.append(daily)
        path = daily.path_for(SystemClock().now().astimezone(KST).date())  # the day the next line lands in
    for handler in handlers:
        handler.set_name(_OUR_HANDLERS)  # ours, replaced on reconfiguration
        root.addHandler(handler)
    root.setLevel(min(file_level if log_dir is not None else shown_level, shown_level))
    for noisy in ("slack_sdk", "urllib3", "asyncio", "aiosqlite", "httpx", "httpcore", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts_utc"),
            _add_kst,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            mask_processor,  # before any handler sees the line (the formatter masks foreign lines too)
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    return path
