"""The operations pages' tests use the operations world of tests/operations/conftest.py."""

from operations.conftest import frozen_app, login, people

__all__ = ["frozen_app", "login", "people"]
