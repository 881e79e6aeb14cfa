"""The shared reference data laid beside the clone (``../shared/data``), for tests that read it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """The path ``../shared/data/<parts>`` from the repository root.

    When it is missing the test skips with the reason, or fails under
    ``TWONETS_REQUIRE_SERVICES=1`` (CI has the data, so a missing folder there is an error).
    """
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = f"shared data not found at {path} (../shared/data is laid beside the clone)"
        if os.environ.get("TWONETS_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and TWONETS_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(reason)
    return path
