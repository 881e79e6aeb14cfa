"""Settings come from TWONETS_* only; secrets are generated in demo mode, demanded in production."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from twonets.core.config import Mode, Settings, resolve_secret_key
from twonets.core.errors import ConfigurationError


def test_environment_is_read_with_the_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWONETS_DATABASE_URL", "postgresql+psycopg://db/x")
    monkeypatch.setenv("TWONETS_PORT", "9100")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///ignored.db")
    settings = Settings()
    assert settings.effective_database_url == "postgresql+psycopg://db/x"
    assert settings.port == 9100


def test_default_database_is_a_sqlite_file_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", database_url="")
    assert settings.effective_database_url == f"sqlite:///{tmp_path}/var/twonets.db"


def test_demo_mode_generates_a_private_secret_once(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    first = resolve_secret_key(settings)
    second = resolve_secret_key(settings)
    assert first == second
    assert len(first) >= 32
    mode = (tmp_path / "var" / "secret.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_production_mode_demands_a_secret(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, mode=Mode.PRODUCTION)
    with pytest.raises(ConfigurationError, match="TWONETS_SECRET_KEY: required in production"):
        resolve_secret_key(settings)
    assert not (tmp_path / "secret.key").exists()


def test_short_secrets_are_refused(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, secret_key="too-short")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="at least 32"):
        resolve_secret_key(settings)


def test_unknown_mode_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWONETS_MODE", "staging")
    with pytest.raises(ValueError, match="mode"):
        Settings()
