"""The dashboard's settings (``stockbot dashboard``, ``run --dashboard``): one group of `Settings`' fields with
their checks."""

import ipaddress

from pydantic import BaseModel, Field, SecretStr, field_validator


class DashboardSettings(BaseModel):
    """The ``DASHBOARD_*`` settings."""

    dashboard_host: str = Field(
        default="127.0.0.1",
        description="address `stockbot dashboard` binds; not loopback needs DASHBOARD_PASSWORD_HASH",
    )
    dashboard_port: int = Field(default=8765, ge=1, le=65535)
    dashboard_password_hash: SecretStr | None = Field(
        default=None, description="argon2 hash of the dashboard's password (`stockbot dashboard --set-password`)"
    )
    dashboard_read_only: bool = False
    dashboard_session_hours: float = Field(default=12.0, gt=0, le=720)

    @field_validator("dashboard_host")
    @classmethod
    def _check_dashboard_host(cls, value: str) -> str:
        if value.strip() != "localhost":
            try:
                ipaddress.ip_address(value.strip())
            except ValueError:
                raise ValueError("must be an IP address such as 127.0.0.1 or 0.0.0.0 (or localhost)") from None
        return value.strip()

    @field_validator("dashboard_password_hash")
    @classmethod
    def _check_password_hash(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("$argon2"):
            raise ValueError("must be an argon2 hash ($argon2id$...); set it with `stockbot dashboard --set-password`")
        return value
