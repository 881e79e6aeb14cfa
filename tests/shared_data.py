"""Reference data kept beside the project (``../shared/data``): skipped where it is absent,
a failure where the run requires it (``TWONETS_REQUIRE_SERVICES=1``, as CI sets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import services_required

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """The file or folder ``parts`` under the shared data; skip, or fail in CI, if it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        message = f"reference data not found at {path}"
        if services_required():
            pytest.fail(message + " and TWONETS_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    return path
