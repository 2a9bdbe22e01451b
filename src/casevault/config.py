"""Typed settings, read from CASEVAULT_* environment variables; weak or default secrets are refused outside demo."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ConfigError", "ReadBudgetLimits", "Settings"]


class ConfigError(ValueError):
    """The configuration cannot be used; the message says what to change."""


class ReadBudgetLimits(BaseModel):
    """Distinct customers one staff member may read in a rolling hour and day: over soft needs a fresh step-up,
    over hard contains the account. `opened` counts customers opened or revealed; `listed` also counts those
    that only appeared in a list or search result, so its limits are higher."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Ten new customers an hour before a step-up: an attacker riding a stolen cookie (no second factor) stops there.
    opened_soft_hour: int = Field(default=10, ge=1)
    opened_hard_hour: int = Field(default=40, ge=1)
    opened_soft_day: int = Field(default=80, ge=1)
    opened_hard_day: int = Field(default=150, ge=1)
    listed_soft_hour: int = Field(default=150, ge=1)
    listed_hard_hour: int = Field(default=400, ge=1)
    listed_soft_day: int = Field(default=600, ge=1)
    listed_hard_day: int = Field(default=1500, ge=1)
    # Refusals at the soft limit within an hour, with no step-up since, that contain the account as the hard
    # limit does: a person steps up when asked; a thief without the second factor keeps trying.
    soft_refusals_to_contain: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _soft_below_hard(self) -> ReadBudgetLimits:
        for kind in ("opened", "listed"):
            for window in ("hour", "day"):
                soft, hard = getattr(self, f"{kind}_soft_{window}"), getattr(self, f"{kind}_hard_{window}")
                if soft > hard:
                    raise ValueError(f"{kind}_soft_{window} must not exceed {kind}_hard_{window}")
        return self


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
    # Below both the 40-thread pool and the database pool (20): see ConcurrencyLimitMiddleware.
    max_concurrent_requests: int = 16
    request_queue_timeout: timedelta = timedelta(seconds=10)
    session_idle_timeout: timedelta = timedelta(minutes=15)
    session_absolute_timeout: timedelta = timedelta(hours=8)
    step_up_window: timedelta = timedelta(minutes=5)
    token_default_ttl: timedelta = timedelta(days=30)

    # Staff sign-in (identity). argon2id defaults are RFC 9106's second recommendation (64 MiB, t=3, p=4);
    # only tests lower them.
    password_min_length: int = 12
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Consecutive failures per account name before backoff starts, and before the account is locked for an admin.
    signin_backoff_after: int = 3
    signin_lockout_after: int = 10
    # Failed sign-ins per client address in a rolling hour before that address is backed off.
    signin_ip_failures_per_hour: int = 30
    # WebAuthn relying party: the registrable domain (never an IP) and the exact origins browsers will report.
    webauthn_rp_id: str = "localhost"
    webauthn_origins: tuple[str, ...] = ()
    mfa_issuer: str = "casevault"
    # Audit: sign a checkpoint of the chain head whenever a commit carries it past a multiple of this (0 = never).
    audit_checkpoint_every: int = Field(default=1000, ge=0)
    # Least privilege (access): how long an approved just-in-time grant and a break-glass session last, and an
    # optional webhook told at once when someone breaks the glass (POST, no redirects, failures only logged).
    grant_ttl: timedelta = timedelta(hours=1)
    break_glass_ttl: timedelta = timedelta(minutes=30)
    break_glass_webhook_url: SecretStr | None = None
    break_glass_webhook_timeout: float = Field(default=3.0, gt=0, le=30)
    # Read budgets (access/budgets.py): distinct customers per staff member per hour and day, by role; a role
    # with no entry gets the agent's limits. See docs/adr/0580-read-budgets-count-distinct-customers.md.
    read_budgets: dict[str, ReadBudgetLimits] = Field(
        default_factory=lambda: {
            "agent": ReadBudgetLimits(),
            "supervisor": ReadBudgetLimits(
                opened_soft_hour=20,
                opened_hard_hour=80,
                opened_soft_day=160,
                opened_hard_day=300,
                listed_soft_hour=300,
                listed_hard_hour=800,
                listed_soft_day=1200,
                listed_hard_day=3000,
            ),
        }
    )
    # Reveals (one PII value shown in clear) per staff member in a rolling hour.
    reveal_budget_per_hour: int = Field(default=20, ge=1)

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
