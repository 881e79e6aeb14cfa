"""One typed settings object for every command and the server (``TWONETS_`` environment)."""

from __future__ import annotations

import secrets
from enum import StrEnum
from pathlib import Path

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    SecretStr,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from twonets.core.errors import ConfigurationError


class Mode(StrEnum):
    """How the platform runs: the demo generates what it lacks, production refuses to."""

    DEMO = "demo"
    PRODUCTION = "production"


class SmsAdapter(StrEnum):
    """Where text messages to residents' and enterprises' phones go."""

    CONSOLE = "console"  # printed on the server's console (the demo)
    FILE = "file"  # appended to a file, one JSON line each (tests, a gateway that reads it)


class Settings(BaseSettings):
    """Settings of one deployment; built once by an entry point and passed down."""

    model_config = SettingsConfigDict(env_prefix="TWONETS_", extra="ignore")

    mode: Mode = Mode.DEMO
    var_dir: Path = Path("var")
    database_url: str | None = None
    # Database connections one process keeps open for its requests, and how many more it may
    # open at a busy moment (closed again as each request ends). A request's database work
    # holds one connection; the web app runs up to 40 requests' database work at once (its
    # thread pool), so 20 + 20 never makes a request wait for a connection, and the 20 kept
    # spare the cost of opening one (a new server process on PostgreSQL) at every request.
    # Several worker processes each hold their own: workers × (both) must stay within
    # PostgreSQL's max_connections (`twonets serve` checks).
    database_pool_size: PositiveInt = 20
    database_max_overflow: NonNegativeInt = 20
    # A PostgreSQL connection back in the pool for less than this is taken again without a
    # ping first (one round trip saved per request under load); 0: ping at every checkout.
    database_ping_after_idle_seconds: NonNegativeFloat = 1.0
    secret_key: SecretStr | None = None
    events_url: str | None = None
    events_stream: str = "TWONETS"
    events_subject_prefix: str = "twonets"
    host: str = "127.0.0.1"
    port: int = 8000
    # The region this deployment is the platform of (its codes' holders are registered here);
    # other regions run their own deployments, recognised by `twonets trust recognise`.
    region: str = "SH"
    # A city's own street-map tile server for the maps ("https://tiles.example/{z}/{x}/{y}.png",
    # Leaflet's template); empty: the maps show only the offline layers the package carries.
    map_tiles_url: str = ""
    # What the tile server's licence asks the maps to say (e.g. "© 天地图").
    map_tiles_attribution: str = ""
    token_ttl_hours: int = 12
    outbox_poll_seconds: float = 0.5
    ledger_seconds: float = 2.0
    # The background work's lease (core/leases.py): how long a worker holds it unrenewed.
    lease_seconds: float = Field(default=15.0, gt=0.3)
    require_services: bool = False
    # How long a resolved login is reused without asking the database (0: always ask).
    principal_cache_seconds: float = 5.0
    # Personal and enterprise codes: how long a code is shown, and accepted after that.
    codes_rotation_seconds: int = 60
    codes_grace_seconds: int = 30
    # Device intake: where the JT/T 808 gateway listens ("host:port"; empty: not started with
    # the web app) and the MQTT broker whose sensor and meter topics it subscribes to.
    jt808_listen: str = ""
    mqtt_url: str = ""
    # Text messages (sign-up codes): the adapter, and the file the "file" adapter appends to
    # (empty: var/sms-outbox.jsonl).
    sms_adapter: SmsAdapter = SmsAdapter.CONSOLE
    sms_outbox: Path | None = None
    # E-mail to filers of requests: the SMTP server (empty: e-mails are only logged).
    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = "noreply@twonets.local"
    # Sign-up: a code's life, its tries, and how often a register entry's phone gets a message.
    signup_code_minutes: PositiveInt = 10
    signup_code_tries: PositiveInt = 5
    signup_resend_seconds: PositiveInt = 60
    signup_messages_per_day: PositiveInt = 5
    # Failed logins: per user name (then locked), per client address (then refused), within
    # a sliding window; how long a lock lasts unless an administrator lifts it.
    login_failures_per_account: PositiveInt = 5
    login_failures_per_address: PositiveInt = 20
    login_window_minutes: PositiveInt = 15
    login_lock_minutes: PositiveInt = 15
    # Days a terminal's authentication code is accepted after it registered (0: until staff
    # reset the enrolment); an expired code fails and the terminal registers for a new one.
    jt808_code_days: NonNegativeInt = 30
    # H3 resolution of the shared-bike cells (8: about 0.74 km², a few street blocks).
    bikes_h3_resolution: NonNegativeInt = 8

    @field_validator("database_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("sms_outbox", mode="before")
    @classmethod
    def _blank_path_is_unset(cls, value: object) -> object:
        return value or None

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one, or a SQLite file under ``var/``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'twonets.db').as_posix()}"

    @property
    def effective_sms_outbox(self) -> Path:
        """The file the ``file`` SMS adapter appends to."""
        return self.sms_outbox or self.var_dir / "sms-outbox.jsonl"


def resolve_secret_key(settings: Settings) -> bytes:
    """The platform's root secret: configured, or (demo only) generated once into ``var/``."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 32:
            raise ConfigurationError("TWONETS_SECRET_KEY: should be at least 32 characters")
        return value.encode()
    if settings.mode is Mode.PRODUCTION:
        raise ConfigurationError(
            "TWONETS_SECRET_KEY: required in production mode (generated only in demo mode)"
        )
    path = settings.var_dir / "secret.key"
    if not path.exists():
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        # Written with owner-only permissions before any content lands in it.
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()
