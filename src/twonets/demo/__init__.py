"""The demo city: a deterministic synthetic Shanghai that shows every capability working."""

from twonets.demo.runner import DemoAccount, run_demo

__all__ = ["DemoAccount", "run_demo"]
