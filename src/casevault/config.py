"""Typed settings, read from CASEVAULT_* environment variables; weak or default secrets are refused outside demo."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigError", "Settings"]


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to change."""


class Settings(BaseSettings):
    """Everything the app needs to start; one instance is passed to create_app()."""

    model_config = SettingsConfigDict(env_prefix="CASEVAULT_", extra="ignore", frozen=True)

    data_dir: Path = Field(default=Path(".casevault"))
    database_url: SecretStr | None = None
    key_file: Path | None = None
    demo: bool = False
    debug: bool = False

    host: str = "127.0.0.1"
    port: int = 8000
    # Cookies are Secure unless the server is plain HTTP on loopback (the embedded demo).
    cookie_secure: bool = True

    max_body_bytes: int = 1_000_000
    session_idle_timeout: timedelta = timedelta(minutes=15)
    session_absolute_timeout: timedelta = timedelta(hours=8)
    step_up_window: timedelta = timedelta(minutes=5)
    token_default_ttl: timedelta = timedelta(days=30)

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("port must be between 1 and 65535")
        return value

    @property
    def resolved_key_file(self) -> Path:
        """Where the local key-encryption key lives (production uses a KMS/HSM provider instead)."""
        return self.key_file if self.key_file is not None else self.data_dir / "keys" / "master.key"

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy URL; the embedded default is a SQLite file in the data directory."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'casevault.db').resolve()}"
