"""A small city for the services API tests: departments, staff, a resident, a movable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, create_citizen, create_staff, next_id_number, purpose_for_function
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role
from twonets.governance.catalogue import Catalogue
from twonets.governance.models import GranteeKind
from twonets.governance.service import set_policy
from twonets.services import service
from twonets.trust import service as trust

NEV_FORM: dict[str, Any] = {
    "has_residence": True,
    "social_insurance_months": 0,
    "plates_held": 0,
    "charging_point": True,
    "vin": "LSVAU2180N2183294",
    "vehicle_model": "荣威 Ei5",
}
# (department code, function, region, district, credit code body)
DEPARTMENTS = (
    ("sh.police", "police", "SH", None, "00241001"),
    ("sh.transport", "transport", "SH", None, "00241002"),
    ("sh.health", "health", "SH", None, "00241003"),
    ("310101.operations", "operations", "SH", "310101", None),
    ("310104.operations", "operations", "SH", "310104", None),
    ("js.police", "police", "JS", None, "00241004"),
    ("sh.services", "government-services", "SH", None, "00241005"),
)
# Functions granted the NEV plate application's form (transport deliberately is not).
FORM_READERS = ("operations", "police")


@dataclass
class MovableClock:
    """The app's clock, moved by the test."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    """Tokens by name: a resident and a member of staff of each department."""

    client: TestClient
    clock: MovableClock
    tokens: dict[str, str] = field(default_factory=dict)
    resident_id_number: str = ""
    # Who follows the applications (the applicant): a resident, or an enterprise's account.
    viewer: str = "resident"

    def call(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, f"/api/v1/services{path}", headers=headers, **kwargs)

    def ok(self, method: str, path: str, who: str, **kwargs: Any) -> Any:
        response = self.call(method, path, who, **kwargs)
        assert response.status_code < 300, response.text
        return response.json()

    def apply(self, **form: Any) -> dict[str, Any]:
        body = {"process_id": "nev_plate", "district_code": "310101", "data": {**NEV_FORM, **form}}
        answer: dict[str, Any] = self.ok("POST", "/applications", "resident", json=body)
        return answer

    def step(self, application: dict[str, Any], activity: str) -> int:
        view = self.ok("GET", f"/applications/{application['id']}", self.viewer)
        [found] = [s["id"] for s in view["steps"] if s["activity"] == activity]
        return int(found)

    def work(self, application: dict[str, Any], activity: str, who: str, **data: Any) -> Any:
        task = self.step(application, activity)
        self.ok("POST", f"/tasks/{task}/claim", who)
        return self.ok("POST", f"/tasks/{task}/complete", who, json={"data": data})


def build_world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    """Departments, their staff, a resident; the NEV plate process deployed; keys for SH."""
    clock = MovableClock()
    app.state.clock = clock
    world = World(client, clock)
    ttl = timedelta(days=60)
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=app.state.secret_key, now=NOW)
        for code, function, region, district, body in DEPARTMENTS:
            department = core_service.create_department(
                session,
                code=code,
                name=code,
                name_en=code,
                function=function,
                level=DepartmentLevel.DISTRICT if district else DepartmentLevel.CITY,
                region_code=region,
                district_code=district,
                credit_code=make_credit_code(
                    authority="1",
                    kind="1",
                    region_code="310000" if region == "SH" else "320000",
                    organisation_body=body,
                )
                if body
                else None,
            )
            account = create_staff(session, username=f"clerk.{code}", department=department)
            world.tokens[code] = auth.issue_token(session, account, now=NOW, ttl=ttl)
        admin = create_staff(session, username="admin", roles=(Role.ADMIN,))
        world.tokens["admin"] = auth.issue_token(session, admin, now=NOW, ttl=ttl)
        world.resident_id_number = next_id_number()
        resident = create_citizen(session, id_number=world.resident_id_number, name="李四")
        world.tokens["resident"] = auth.issue_token(session, resident, now=NOW, ttl=ttl)
        other = create_citizen(session, name="王五")
        world.tokens["other"] = auth.issue_token(session, other, now=NOW, ttl=ttl)
        service.deploy_builtin(session, now=NOW)
        grant_nev_purpose(session)
    return world


def grant_nev_purpose(session: Session) -> None:
    """The NEV plate's purpose: the desk reads residence and licences; some staff the form."""
    purpose_for_function(
        session,
        code="services.nev-plate",
        name="新能源汽车专用牌照一件事",
        owner="sh.transport",
        function="government-services",
        dataset="core.citizen",
        fields={"district_code": "keep", "address": "keep"},
        since=NOW - timedelta(days=1),
    )
    for function, dataset, fields in (
        ("government-services", "licences.licence", {"type_code": "keep", "status": "keep"}),
        *(
            (f, "services.application", {"id": "keep", "form": "keep", "field_origins": "keep"})
            for f in FORM_READERS
        ),
    ):
        set_policy(
            session,
            Catalogue(),
            actor="dpo",
            grantee_kind=GranteeKind.FUNCTION,
            grantee=function,
            purpose_code="services.nev-plate",
            dataset=dataset,
            fields=fields,
            reason="test",
            now=NOW - timedelta(days=1),
        )


def add_jiangsu(world: World, app: FastAPI, session_factory: sessionmaker[Session]) -> None:
    """Jiangsu's keys recognised by the city, social security in both regions, their staff."""
    secret = app.state.secret_key
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(
            session, region="JS", root_secret=secret, now=NOW, recognise=False
        )
        trust.recognise_region(
            session,
            anchor=trust.anchor_pem(session, "JS", secret),
            trust_list=trust.get_issuing_region(session, "JS").trust_list or "",
            now=NOW,
        )
        for code, function, region in (
            ("js.hrss", "social-security", "JS"),
            ("sh.hrss", "social-security", "SH"),
            ("sh.medical", "medical-insurance", "SH"),
            ("sh.fund", "housing-fund", "SH"),
        ):
            department = core_service.create_department(
                session,
                code=code,
                name=code,
                name_en=code,
                function=function,
                level=DepartmentLevel.CITY,
                region_code=region,
                district_code=None,
            )
            account = create_staff(session, username=f"clerk.{code}", department=department)
            world.tokens[code] = auth.issue_token(session, account, now=NOW, ttl=timedelta(days=60))
