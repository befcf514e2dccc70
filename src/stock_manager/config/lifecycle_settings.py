"""The settings of a daemon left running (issue 12): where the KIS symbol master comes from and when it is
refreshed. One group of `Settings`' fields with their checks."""

from datetime import time

from pydantic import BaseModel, Field, field_validator

#: KIS's KOSPI master download (KIS reference §7.5: a zip holding one ``kospi_code.mst``).
KIS_MASTER_DEFAULT_URL = "https://new.real.download.dws.co.kr/common/master/kospi_code.mst.zip"
#: When KIS updates its master files, every day, KST (spec 001 §4.1.7).
KIS_MASTER_DEFAULT_TIMES = "06:00,06:55,07:35,07:55,08:45,09:46,10:55,17:10,17:30,17:55,18:10,18:30,18:55"


class LifecycleSettings(BaseModel):
    """The ``KIS_MASTER_*`` settings (paper and live: sim trades the bundled master)."""

    kis_master_url: str = Field(
        default=KIS_MASTER_DEFAULT_URL,
        description="KOSPI master download (.mst or a .zip holding one); `stockbot exchange-sim` prints its own; "
        "`off` refreshes nothing",
    )
    kis_master_refresh_times: str = Field(
        default=KIS_MASTER_DEFAULT_TIMES, description="KST times of day, HH:MM comma-separated, to refresh it"
    )
    kis_master_timeout_secs: float = Field(default=30.0, gt=0, le=600)

    @field_validator("kis_master_url")
    @classmethod
    def _check_master_url(cls, value: str) -> str:
        value = value.strip()
        if value.lower() != "off" and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL of the KOSPI master (.mst or .mst.zip), or off")
        return value

    @field_validator("kis_master_refresh_times")
    @classmethod
    def _check_refresh_times(cls, value: str) -> str:
        refresh_times(value)
        return value

    @property
    def kis_master_refresh_at(self) -> tuple[time, ...]:
        """Return the refresh times of day (KST), sorted."""
        return refresh_times(self.kis_master_refresh_times)


def refresh_times(value: str) -> tuple[time, ...]:
    """Return the sorted times of ``HH:MM,HH:MM,…``.

    Raises
    ------
    ValueError
        Naming a part that is not a time of day, or when there is none.
    """
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("must name at least one time, HH:MM")
    found: list[time] = []
    for part in parts:
        try:
            hours, minutes = part.split(":")
            found.append(time(int(hours), int(minutes)))
        except ValueError:
            raise ValueError(f"{part!r} is not a time of day HH:MM") from None
    return tuple(sorted(set(found)))
