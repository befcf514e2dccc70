"""How a running daemon hears that it should stop: SIGINT (Ctrl+C), SIGTERM (``kill``, ``systemctl stop``), and
on Windows CTRL_C and CTRL_BREAK (SIGINT, SIGBREAK) all ask for the same orderly stop
(`TradingDaemon.request_stop`: nothing new is sent, the state is STOPPED with the reason, then EXITED). A second
signal forces: the logs are flushed and the process exits at once with the same code.

Exit codes: 128 + the signal's number, as shells report a process ended by it: 130 after SIGINT, 143 after
SIGTERM, 149 after SIGBREAK (the systemd unit counts 130 as success, ``SuccessExitStatus``).

Where the event loop cannot take signal handlers (Windows), ``signal.signal`` is used and the handler hands the
request to the loop's thread (``call_soon_threadsafe``); the daemon's loop wakes at least every kill-switch poll.
"""

import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import Callable, Iterator
from types import FrameType
from typing import NoReturn

#: The signals that ask for an orderly stop, where the platform has them.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGBREAK") if hasattr(signal, name))


def exit_code(signum: int) -> int:
    """Return the exit code of a daemon stopped by signal `signum`: 128 + its number."""
    return 128 + int(signum)


def flush_logs() -> None:
    """Flush every handler of the root logger (the day's JSON log file, the console)."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()


class StopRequest:
    """A stop asked for before the daemon exists (a signal while ``run`` starts) is kept and passed on once the
    daemon is bound; later ones go straight to it."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._target: Callable[[str], None] | None = None

    def __call__(self, reason: str) -> None:
        self.reason = self.reason or reason
        if self._target is not None:
            self._target(reason)

    def bind(self, target: Callable[[str], None]) -> None:
        """Pass every stop request to `target` (the daemon's `request_stop`), one already asked at once."""
        self._target = target
        if self.reason is not None:
            target(self.reason)


class StopSignals:
    """Turns the first stop signal into `request_stop("<SIGNAME> received")` and a second into a forced exit.

    Parameters
    ----------
    request_stop : Callable[[str], None]
        The daemon's `request_stop`.
    say : Callable[[str], None]
        One line for the owner (stderr).
    force_exit : Callable[[int], NoReturn]
        Ends the process at once with a code (``os._exit``; tests pass their own).
    """

    def __init__(
        self,
        request_stop: Callable[[str], None],
        say: Callable[[str], None],
        force_exit: Callable[[int], NoReturn] = os._exit,
    ) -> None:
        self._request_stop = request_stop
        self._say = say
        self._force_exit = force_exit
        self.received: int | None = None  # the first stop signal's number

    @property
    def code(self) -> int:
        """Return the exit code for the signal received (0 when none was)."""
        return 0 if self.received is None else exit_code(self.received)

    def heard(self, signum: int) -> None:
        """Handle signal `signum` on the loop's thread: the first asks for an orderly stop, a second forces."""
        name = signal.Signals(signum).name
        if self.received is None:
            self.received = signum
            self._say(f"{name} received: stopping in order (nothing new is sent); a second signal forces.")
            self._request_stop(f"{name} received")
            return
        self._say(f"{name} received again: exiting now, without waiting for the orderly stop.")
        flush_logs()
        self._force_exit(exit_code(self.received))

    @contextlib.contextmanager
    def installed(self, loop: asyncio.AbstractEventLoop) -> Iterator["StopSignals"]:
        """Handle the stop signals for the body of the ``with``; restore what was there before."""
        restore: list[Callable[[], object]] = []
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self.heard, signum)
                restore.append(functools.partial(loop.remove_signal_handler, signum))
            except (NotImplementedError, RuntimeError):  # Windows: no loop signal handlers

                def handler(received: int, _frame: FrameType | None) -> None:
                    loop.call_soon_threadsafe(self.heard, received)

                previous = signal.signal(signum, handler)
                restore.append(functools.partial(signal.signal, signum, previous))
        try:
            yield self
        finally:
            for undo in reversed(restore):
                with contextlib.suppress(Exception):
                    undo()
