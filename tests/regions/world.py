"""Two regions as two platforms: Jiangsu served over HTTP by uvicorn (in a thread of the test,
on its own SQLite database and its own root secret), Shanghai on another database, reached
through a test client. They share nothing but the clock of the test and what Jiangsu
publishes at its URLs."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx2 as httpx
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from builders import PASSWORD, create_citizen, create_staff, next_id_number
from local_servers import free_port
from twonets import migrations
from twonets.core import service as core_service
from twonets.core.config import Settings
from twonets.core.db import make_engine, make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.core.service import ensure_reference_data
from twonets.trust import remote
from twonets.trust import service as trust

# Seconds a test waits for the other platform's answer: a loaded machine, not a rule.
SLOW_MACHINE = 60.0


@dataclass
class Clock:
    """The one clock both platforms read (the test moves it)."""

    now: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    )

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def department(session: Session, code: str, function: str, region: str, body: str | None) -> None:
    """A city-level department; with ``body``, a credit code to issue under."""
    core_service.create_department(
        session,
        code=code,
        name=code,
        name_en=code,
        function=function,
        level=DepartmentLevel.CITY,
        region_code=region,
        credit_code=make_credit_code(
            authority="1",
            kind="1",
            region_code="310000" if region == "SH" else "320000",
            organisation_body=body,
        )
        if body
        else None,
    )


def platform(folder: Path, region: str, clock: Clock) -> FastAPI:
    """A migrated platform of ``region`` in ``folder``: its keys, police, an admin, a resident."""
    from twonets.web import create_app

    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'twonets.db'}"
    migrations.upgrade(url)
    settings = Settings(var_dir=folder, database_url=url, events_url=None, region=region)
    app = create_app(settings, engine=make_engine(url), clock=clock, relay=False)
    lower = region.lower()
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        ensure_reference_data(session)
        trust.ensure_issuing_region(
            session, region=region, root_secret=app.state.secret_key, now=clock()
        )
        department(session, f"{lower}.police", "police", region, "00240001")
        department(session, f"{lower}.platform", "platform", region, None)
        police = core_service.get_department(session, f"{lower}.police")
        create_staff(session, username=f"{lower}.clerk", department=police)
        create_staff(
            session,
            username=f"{lower}.verifier",
            department=police,
            roles=(Role.VERIFIER,),
        )
        admin = core_service.get_department(session, f"{lower}.platform")
        create_staff(session, username=f"{lower}.admin", department=admin, roles=(Role.ADMIN,))
        number = next_id_number(birth=date(1985, 3, 4))
        create_citizen(session, id_number=number, name="李四", password=PASSWORD)
    app.state.resident = number
    # Both platforms and the test share one process and two busy cores: the other region's
    # answer may take longer than a deployment's time-out, which would fail the test at random.
    patient = partial(remote.http_get, timeout=SLOW_MACHINE)
    app.state.licensing.fetch = patient
    app.state.coding.fetch = patient
    return app


def anchor_of(app: FastAPI, region: str) -> str:
    """The region's trust anchor (PEM), as its administrator hands it over out of band."""
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        return trust.anchor_pem(session, region, app.state.secret_key)


class Served:
    """A platform served over HTTP by uvicorn in a thread, until ``stop``."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise AssertionError(f"the platform did not listen on {self.url} within 10 s")
            time.sleep(0.02)

    def stop(self) -> None:
        """Take the platform down: its URL no longer answers."""
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def bearer(self, username: str) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/token",
            json={"username": username, "password": PASSWORD},
            timeout=SLOW_MACHINE,
        )
        assert answer.status_code == 200, answer.text
        return {"authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, username: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", SLOW_MACHINE)
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=self.bearer(username), **kwargs
        )


def bearer(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['access_token']}"}


def id_card(id_number: str) -> dict[str, str]:
    return {
        "name": "李四",
        "id_number": id_number,
        "sex": "female" if int(id_number[16]) % 2 == 0 else "male",
        "birth_date": "1985-03-04",
        "address": "江苏省南京市玄武区北京东路1号",
        "photo_hash": hashlib.sha256(b"photo").hexdigest(),
    }


@dataclass
class Regions:
    """Jiangsu served at its URL, Shanghai through a client, and the clock of both."""

    clock: Clock
    js_app: FastAPI
    js: Served
    sh_app: FastAPI
    sh: TestClient

    def issue_in_jiangsu(self) -> tuple[int, str]:
        """A Jiangsu ID card for Jiangsu's resident: its id and its QR text."""
        body = {
            "type_code": "ID",
            "claims": id_card(self.js_app.state.resident),
            "valid_from": "2024-01-01",
        }
        issued = self.js.call("POST", "/licences", "js.clerk", json=body)
        assert issued.status_code == 201, issued.text
        licence_id = int(issued.json()["id"])
        qr = self.js.call("GET", f"/wallet/{licence_id}/qr", self.js_app.state.resident)
        assert qr.status_code == 200, qr.text
        return licence_id, str(qr.json()["text"])

    def revoke_in_jiangsu(self, licence_id: int) -> None:
        body = {"action": "revoke", "reason": "withdrawn by the issuer"}
        answer = self.js.call("POST", f"/licences/{licence_id}/status", "js.clerk", json=body)
        assert answer.status_code == 200, answer.text

    def verify_in_shanghai(self, text: str) -> dict[str, Any]:
        answer = self.sh.post(
            "/api/v1/verify", json={"credential": text}, headers=bearer(self.sh, "sh.verifier")
        )
        assert answer.status_code == 200, answer.text
        verdict: dict[str, Any] = answer.json()
        return verdict

    def recognise_jiangsu(self) -> httpx.Response | Any:
        body = {"region": "JS", "url": self.js.url, "anchor": anchor_of(self.js_app, "JS")}
        return self.sh.post(
            "/api/v1/trust/remote-regions", json=body, headers=bearer(self.sh, "sh.admin")
        )


def two_regions(tmp_path: Path) -> Iterator[Regions]:
    """Shanghai and Jiangsu, each its own platform; Jiangsu listening on a free port."""
    clock = Clock()
    js_app = platform(tmp_path / "js", "JS", clock)
    sh_app = platform(tmp_path / "sh", "SH", clock)
    js = Served(js_app)
    headers = {"Origin": "http://testserver", "Accept-Language": "en"}
    try:
        with TestClient(sh_app, headers=headers) as sh:
            yield Regions(clock, js_app, js, sh_app, sh)
    finally:
        js.stop()
        js_app.state.engine.dispose()
        sh_app.state.engine.dispose()
