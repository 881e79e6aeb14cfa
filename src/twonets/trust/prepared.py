"""Statements asked on every verification, run on the driver (``twonets.core.prepared``).

An online verification asks the database two small things: whether the trust it holds is
still the trust recorded, with the licence's status, and one more to its count. They run
through the core's ``Prepared``: compiled once per dialect, on the driver's cursor of the
session's connection, in the session's transaction.
"""

from __future__ import annotations

from twonets.core.prepared import Prepared

__all__ = ["Prepared"]
