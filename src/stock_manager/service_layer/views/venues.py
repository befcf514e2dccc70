"""Read-only view of every venue at once, for a dashboard's overview: each venue's latest daemon (state,
heartbeat) and the kill switch it honours, and the switch that stops every daemon (``*``).

A venue is listed when it is asked for (the venues the caller knows) or when a daemon of one of its accounts
has run against the database. Nothing here writes.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from stock_manager.service_layer.ports.records import DaemonState, KillSwitchState
from stock_manager.service_layer.ports.storage import UnitOfWorkFactory

#: The scope of the switch that stops every daemon.
EVERY_VENUE = "*"


@dataclass(frozen=True, slots=True)
class VenueState:
    """One venue as a person checking the bot sees it.

    Attributes
    ----------
    venue : str
        The market as the database names it (``accounts.venue``, a kill switch's scope).
    daemon : DaemonState | None
        The most recently started daemon of an account of this venue; None when none has run.
    kill_switch : KillSwitchState
        The switch that daemon honours: the ``*`` switch when set, else the venue's own.
    own_switch : KillSwitchState | None
        The venue's own switch (its scope), None when it was never set.
    """

    venue: str
    daemon: DaemonState | None
    kill_switch: KillSwitchState
    own_switch: KillSwitchState | None


@dataclass(frozen=True, slots=True)
class VenueBoard:
    """Every venue and the switch of every daemon."""

    venues: tuple[VenueState, ...]
    every_venue_switch: KillSwitchState

    def of(self, venue: str) -> VenueState | None:
        """Return the state of `venue`, or None when it is not listed."""
        return next((v for v in self.venues if v.venue == venue), None)


async def venue_board(uow_factory: UnitOfWorkFactory, known: Sequence[str]) -> VenueBoard:
    """Return the state of the `known` venues, in that order, then of any other venue a daemon has run on."""
    async with uow_factory() as uow:
        switches = {s.scope: s for s in await uow.control.list_kill_switches()}
        seen = [await uow.accounts.venue_of(d.account_id) for d in await uow.control.list_daemon_states()]
        names = list(dict.fromkeys([*known, *(v for v in seen if v)]))
        venues = tuple(
            [
                VenueState(
                    name,
                    await uow.control.get_daemon_state(None, name),
                    await uow.control.get_kill_switch(name),
                    switches.get(name),
                )
                for name in names
            ]
        )
    every = switches.get(EVERY_VENUE) or KillSwitchState(False, "", "", None, scope=EVERY_VENUE)
    return VenueBoard(venues, every)


async def venue_of_latest(uow_factory: UnitOfWorkFactory) -> str | None:
    """Return the venue of the most recently started daemon, None when none has run (or its venue is unknown)."""
    async with uow_factory() as uow:
        daemon = await uow.control.get_daemon_state(None)
        return await uow.accounts.venue_of(daemon.account_id) if daemon is not None else None
