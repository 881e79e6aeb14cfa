"""Fixtures of the requests tests (the world itself lives in ``tests/requests_world.py``).

Not in this folder: a module of ``tests/requests/`` could not be imported by name, as the
folder's name is also that of the HTTP library the Open311 client uses.
"""

from __future__ import annotations

from requests_world import world

__all__ = ["world"]
