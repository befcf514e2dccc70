"""The Upbit paper account's settings (``--venue upbit --mode paper``): one group of `Settings`' fields with their
checks.

Upbit has no paper account: paper trading runs on Upbit's live public market data while a local matching engine
fills the orders in a journaled paper account (`adapters.broker.upbit_paper`). These settings say how much cash
that account starts with, how much of each public trade it may take, and which clock the daemon runs on.
"""

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

#: The smallest starting cash that can place one order: Upbit's 5,000 KRW minimum order value (§8.2).
MIN_PAPER_CASH_KRW = Decimal(5_000)
#: The largest starting cash accepted, KRW (one trillion: a typo guard, far above any real account).
MAX_PAPER_CASH_KRW = Decimal(1_000_000_000_000)


class PaperClock(StrEnum):
    """Which time a paper daemon runs on (``UPBIT_PAPER_CLOCK``)."""

    WALL = "wall"  # the machine's clock: trading against api.upbit.com (the default)
    VENUE = "venue"  # the time the venue publishes on its market data: a replaying simulator runs faster than real

    def __str__(self) -> str:
        return self.value


class UpbitPaperSettings(BaseModel):
    """The ``UPBIT_PAPER_*`` settings (`Settings` has them all)."""

    upbit_paper_cash_krw: Decimal = Field(
        default=Decimal(10_000_000), description="KRW the paper account starts with (only a new paper account reads it)"
    )
    upbit_paper_participation_rate: Decimal = Field(
        default=Decimal("0.25"),
        gt=0,
        le=1,
        description="largest share of each public trade's volume a paper order can fill on it",
    )
    upbit_paper_clock: PaperClock = Field(
        default=PaperClock.WALL,
        description="wall (api.upbit.com) or venue (follow the time a replaying simulator publishes)",
    )

    @field_validator("upbit_paper_cash_krw")
    @classmethod
    def _check_paper_cash(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or not MIN_PAPER_CASH_KRW <= value <= MAX_PAPER_CASH_KRW:
            raise ValueError(
                f"must be between {MIN_PAPER_CASH_KRW:,} KRW (the minimum order) and {MAX_PAPER_CASH_KRW:,} KRW"
            )
        if value != value.to_integral_value():
            raise ValueError("must be whole won")
        return value

    @field_validator("upbit_paper_clock", mode="before")
    @classmethod
    def _lower_paper_clock(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value
