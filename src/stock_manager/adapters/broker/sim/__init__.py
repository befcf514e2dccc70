"""The replaying exchange simulator: matching engine, persistent journal and the sim broker.

Public API: `SimBroker` (implements the `Broker` and `SessionSchedule` ports), `MatchingEngine` with
`MatchingConfig` and `RejectCode`, and `JournalError`.
"""

from stock_manager.adapters.broker.sim.broker import SimBroker
from stock_manager.adapters.broker.sim.journal import JournalError
from stock_manager.adapters.broker.sim.matching import MatchingConfig, MatchingEngine
from stock_manager.adapters.broker.sim.rejections import RejectCode

__all__ = ["JournalError", "MatchingConfig", "MatchingEngine", "RejectCode", "SimBroker"]
