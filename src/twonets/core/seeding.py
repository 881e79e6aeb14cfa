"""The context a demo-city seeding step receives; domains type their steps against it.

Steps are registered under the ``twonets.demo`` entry-point group as ``module:function``
taking one ``DemoCity``; the demo runner builds the context and runs the steps in name order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from rich.progress import Progress
from sqlalchemy import select
from sqlalchemy.orm import Session

from twonets.core import auth
from twonets.core.models import Account, AccountKind, Department, DepartmentLevel, Role

T = TypeVar("T")

DEMO_PASSWORD = "twonets-demo"


@dataclass(frozen=True)
class DemoAccount:
    """A login printed for the person trying the demo."""

    username: str
    password: str
    description: str


@dataclass
class DemoCity:
    """What a seeding step gets: one session, random streams, the clock, secrets, lookups."""

    session: Session
    seed: int
    scale: int
    now: datetime
    root_secret: bytes = field(repr=False)
    progress: Progress | None = None
    accounts: list[DemoAccount] = field(default_factory=list)
    citizen_ids: list[int] = field(default_factory=list)
    enterprise_ids: list[int] = field(default_factory=list)
    departments: dict[str, Department] = field(default_factory=dict)
    _password_hash: str | None = None

    def rng(self, step: str) -> random.Random:
        """A random stream of its own per step, so adding a step does not change the others."""
        return random.Random(f"{self.seed}:{step}")

    @property
    def password_hash(self) -> str:
        """One argon2 hash of the demo password, computed once for all demo accounts."""
        if self._password_hash is None:
            self._password_hash = auth.hash_password(DEMO_PASSWORD)
        return self._password_hash

    def track(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a progress bar when a terminal is watching."""
        if self.progress is None:
            yield from items
            return
        task = self.progress.add_task(description, total=total)
        for item in items:
            yield item
            self.progress.advance(task)

    def add_account(self, username: str, description: str) -> None:
        """Announce a demo login (created by the step with ``DEMO_PASSWORD``)."""
        self.accounts.append(DemoAccount(username, DEMO_PASSWORD, description))

    def operator(self) -> auth.Principal:
        """The city operations centre's demo operator, who registers what operations use.

        Its login is made by the core step; a trimmed demo that runs one operations step
        alone gets the same principal without a login.
        """
        account = self.session.scalar(
            select(Account).where(Account.username == "operator")  # governance: demo login
        )
        if account is not None:
            return auth.principal_of(account)
        return auth.Principal(
            0,
            "operator",
            "城运值班员",
            AccountKind.STAFF,
            frozenset({Role.OPERATOR}),
            department_level=DepartmentLevel.CITY.value,
            region_code="SH",
            department_function="operations",
        )


Step = Callable[[DemoCity], None]
