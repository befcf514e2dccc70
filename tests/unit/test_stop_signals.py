"""Stop signals: the first asks the daemon for an orderly stop with the signal's name, a second forces an exit
with 128 + the first signal's number; where the loop takes no signal handlers (Windows), `signal.signal` is used
and the request reaches the loop's thread."""

import asyncio
import signal

import pytest

from stock_manager.entrypoints.stop_signals import StopRequest, StopSignals, exit_code


class Forced(Exception):
    pass


def forced(code: int):
    raise Forced(code)


def test_first_signal_when_heard_then_an_orderly_stop_is_asked_once_with_its_name():
    asked: list[str] = []
    said: list[str] = []
    signals = StopSignals(asked.append, said.append, force_exit=forced)

    signals.heard(signal.SIGTERM)

    assert asked == ["SIGTERM received"]
    assert said == ["SIGTERM received: stopping in order (nothing new is sent); a second signal forces."]
    assert signals.code == 143


def test_second_signal_when_heard_then_it_forces_the_exit_with_the_first_signals_code():
    asked: list[str] = []
    signals = StopSignals(asked.append, lambda _: None, force_exit=forced)
    signals.heard(signal.SIGINT)

    with pytest.raises(Forced) as exited:
        signals.heard(signal.SIGTERM)

    assert exited.value.args == (130,)
    assert asked == ["SIGINT received"]  # the orderly stop was asked once


def test_exit_codes_when_documented_then_128_plus_the_signal_number():
    assert (exit_code(signal.SIGINT), exit_code(signal.SIGTERM)) == (130, 143)


class NoSignalHandlersLoop:
    """A loop like Windows' selector loop: add_signal_handler is not implemented."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def add_signal_handler(self, *args):
        raise NotImplementedError

    def call_soon_threadsafe(self, callback, *args):
        return self._loop.call_soon_threadsafe(callback, *args)


async def test_installed_when_the_loop_takes_no_signal_handlers_then_signal_signal_delivers_to_the_loop():
    asked: list[str] = []
    signals = StopSignals(asked.append, lambda _: None, force_exit=forced)
    before = signal.getsignal(signal.SIGINT)
    loop = NoSignalHandlersLoop(asyncio.get_running_loop())

    with signals.installed(loop):  # type: ignore[arg-type]
        signal.raise_signal(signal.SIGINT)
        await asyncio.sleep(0.05)
        assert asked == ["SIGINT received"]

    assert signal.getsignal(signal.SIGINT) is before  # restored


async def test_installed_when_the_loop_takes_handlers_then_sigterm_asks_the_stop_and_is_restored_after():
    asked: list[str] = []
    signals = StopSignals(asked.append, lambda _: None, force_exit=forced)

    with signals.installed(asyncio.get_running_loop()):
        signal.raise_signal(signal.SIGTERM)
        await asyncio.sleep(0.05)

    assert asked == ["SIGTERM received"]
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)


def test_stop_request_when_asked_before_the_daemon_exists_then_passed_on_when_bound():
    asked: list[str] = []
    stop = StopRequest()

    stop("SIGTERM received")
    assert asked == []
    stop.bind(asked.append)
    stop("SIGINT received")

    assert asked == ["SIGTERM received", "SIGINT received"]
