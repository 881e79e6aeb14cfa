"""The demo city: a deterministic synthetic Shanghai that shows every capability working."""

from twonets.core.seeding import DemoAccount
from twonets.demo.runner import run_demo

__all__ = ["DemoAccount", "run_demo"]
