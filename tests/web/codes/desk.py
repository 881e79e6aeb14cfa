"""The code world behind the app, with a clock the test moves, and steps the page tests share."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import PASSWORD
from codes.world import T, World
from twonets.codes import service
from twonets.codes.models import ScanRecord
from twonets.core.auth import Principal

CHINESE_GATE = "上海图书馆 东门"


@dataclass
class Desk:
    """The app on the code world, with a clock the test moves."""

    app: FastAPI
    world: World
    now: list[datetime]

    def browser(self, who: Principal, *, language: str = "en") -> TestClient:
        """A client logged in as ``who`` through the login form (a session cookie)."""
        headers = {"Origin": "http://testserver", "Accept-Language": language}
        client = TestClient(self.app, headers=headers)
        response = client.post(
            "/login",
            data={"username": who.username, "password": PASSWORD, "next": "/"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client

    def code(
        self, holder: Principal, scenario: str = "library", *, at: datetime | None = None
    ) -> str:
        """A code of ``holder`` signed at ``at`` (the desk's time by default)."""
        with self.world.session() as session:
            return service.issue_code(
                session, self.world.ctx, holder, scenario=scenario, now=at or self.now[0]
            ).text

    def scans(self) -> list[str]:
        """The results of the scans kept."""
        with self.world.session() as session:
            return list(session.scalars(select(ScanRecord.result).order_by(ScanRecord.id)))


def scan(client: TestClient, text: str, place: str = "east gate") -> Any:
    return client.post("/code/scan", data={"code": text, "place": place})


def banner_of(page: str) -> str:
    found = re.search(
        r'<div class="gate (\w+)"[^>]*data-testid="banner">(.*?)</div>\s*</div>', page, re.S
    )
    assert found, "no banner on the page"
    return found.group(1) + "|" + html.unescape(re.sub(r"<[^>]+>", " ", found.group(2)))


def outcome_attr(page: str, name: str) -> str:
    found = re.search(rf'data-testid="outcome"[^>]*?{name}="([^"]*)"', page, re.S)
    assert found, f"no {name} on the outcome"
    return found.group(1)


def report_fact(desk: Desk, holder_number: str, kind: str, value: str) -> None:
    with desk.world.session() as session:
        service.record_health_fact(
            session,
            desk.world.ctx,
            desk.world.health_staff,
            id_number=holder_number,
            kind=kind,
            value=value,
            observed_at=T - timedelta(days=1),
            now=T,
        )


def id_number_of(desk: Desk, who: Principal) -> str:
    from twonets.core.models import Citizen

    with desk.world.session() as session:
        found = session.scalar(select(Citizen.id_number).where(Citizen.id == who.citizen_id))
    assert found is not None
    return found


def revoke_library_code(desk: Desk) -> tuple[Principal, str]:
    text = desk.code(desk.world.resident)
    with desk.world.session() as session:
        service.set_holder_status(
            session,
            desk.world.ctx,
            desk.world.culture_authority,
            scenario="library",
            id_number=desk.world.resident_id_number,
            revoke=True,
            reason="card lent to others",
            now=T,
        )
    return desk.world.library, text
