"""Who decides about holders: a scenario's codes authority, in the holder's region, and no one else.

Revoking and restoring go through ``POST /api/v1/codes/holders/status``; appeals through
``/api/v1/codes/appeals``. Staff without the role, authorities of another function or region,
the health planner and the administrator all get 403; the decision is kept with its reason,
its author and its time, and the holder reads the reason.
"""

from __future__ import annotations

from datetime import timedelta
from typing import get_args

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from builders import PASSWORD
from codes.world import T, World
from twonets.codes import service
from twonets.codes.models import Revocation
from twonets.codes.schemas import ScanOut
from twonets.core.auth import Principal
from twonets.core.errors import Conflict, Forbidden

STATUS = "/api/v1/codes/holders/status"


@pytest.fixture
def api(world: World, app: FastAPI, client: TestClient) -> TestClient:
    app.state.coding = world.ctx
    # Codes signed at T verify at T: the app's clock is the world's.
    app.state.clock = lambda: T
    return client


def _auth(client: TestClient, who: Principal) -> dict[str, str]:
    response = client.post(
        "/api/v1/auth/token", json={"username": who.username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _revoke(world: World, scenario: str = "health", **extra: object) -> dict[str, object]:
    return {
        "scenario": scenario,
        "id_number": world.resident_id_number,
        "revoke": True,
        "reason": "test results were reported under a borrowed identity",
        **extra,
    }


def _code(world: World, holder: Principal, scenario: str, *, ctx=None) -> str:  # type: ignore[no-untyped-def]
    with world.session() as session:
        return service.issue_code(session, ctx or world.ctx, holder, scenario=scenario, now=T).text


def _scan(world: World, scanner: Principal, text: str, place: str = "gate 1"):  # type: ignore[no-untyped-def]
    with world.session() as session:
        return service.scan(session, world.ctx, scanner, text=text, place=place, now=T)


def test_staff_without_the_authority_may_not_revoke(api: TestClient, world: World) -> None:
    for who in (world.health_staff, world.planner, world.library):
        response = api.post(STATUS, json=_revoke(world), headers=_auth(api, who))
        assert response.status_code == 403, (who.username, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    with world.session() as session:
        assert session.scalars(select(Revocation)).all() == []


def test_the_administrator_edits_scenarios_but_does_not_revoke(
    api: TestClient, world: World
) -> None:
    response = api.post(STATUS, json=_revoke(world), headers=_auth(api, world.admin))
    assert response.status_code == 403
    with world.session() as session, pytest.raises(Forbidden):
        service.set_holder_status(
            session,
            world.ctx,
            world.admin,
            now=T,
            **_revoke(world),  # type: ignore[arg-type]
        )


def test_an_authority_of_another_function_may_not_revoke_for_this_scenario(
    api: TestClient, world: World
) -> None:
    culture = _auth(api, world.culture_authority)
    refused = api.post(STATUS, json=_revoke(world, "health"), headers=culture)
    assert refused.status_code == 403
    assert "health department" in refused.json()["detail"]
    allowed = api.post(STATUS, json=_revoke(world, "library"), headers=culture)
    assert allowed.status_code == 200, allowed.text


def test_a_jiangsu_authority_may_not_revoke_a_shanghai_holder(
    api: TestClient, world: World
) -> None:
    js = _auth(api, world.js_health_authority)
    refused = api.post(STATUS, json=_revoke(world, "health"), headers=js)
    assert refused.status_code == 403
    assert "registered in Shanghai" in refused.json()["detail"]
    # Their own region's holder is theirs to decide about.
    _code(world, world.js_resident, "library", ctx=world.js_ctx)  # registers the holder in JS
    with world.session() as session:
        from twonets.core.models import Citizen

        number = session.scalar(
            select(Citizen.id_number).where(Citizen.id == world.js_resident.citizen_id)
        )
    allowed = api.post(STATUS, json=_revoke(world, "health", id_number=number), headers=js)
    assert allowed.status_code == 200, allowed.text
    shanghai = api.post(
        STATUS,
        json=_revoke(world, "health", id_number=number),
        headers=_auth(api, world.health_authority),
    )
    assert shanghai.status_code == 403


def test_the_reason_the_actor_and_the_time_are_kept_and_the_holder_reads_the_reason(
    api: TestClient, world: World
) -> None:
    authority = _auth(api, world.health_authority)
    revoked = api.post(STATUS, json=_revoke(world), headers=authority)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["department"] == "sh.health"  # the test offices' English name
    again = api.post(STATUS, json=_revoke(world), headers=authority)
    assert again.status_code == 409
    restored = api.post(
        STATUS,
        json=_revoke(world, revoke=False, reason="the identity was confirmed at the clinic"),
        headers=authority,
    )
    assert restored.status_code == 200, restored.text
    api.post(STATUS, json=_revoke(world, reason="a second report"), headers=authority)
    with world.session() as session:
        rows = session.scalars(select(Revocation).order_by(Revocation.id)).all()
        history = [
            (r.scenario_code, r.reason, r.revoked_by, r.revoked_at, r.restored_by, r.restore_reason)
            for r in rows
        ]
    assert history == [
        (
            "health",
            "test results were reported under a borrowed identity",
            world.health_authority.username,
            T,
            world.health_authority.username,
            "the identity was confirmed at the clinic",
        ),
        ("health", "a second report", world.health_authority.username, T, None, None),
    ]
    mine = api.get("/api/v1/codes/mine/revocations", headers=_auth(api, world.resident)).json()
    assert [(m["scenario"], m["reason"], m["every_code"]) for m in mine] == [
        ("health", "a second report", False)
    ]
    issued = api.post(
        "/api/v1/codes/mine", json={"scenario": "health"}, headers=_auth(api, world.resident)
    )
    assert issued.status_code == 409
    assert "a second report" in issued.json()["detail"]


def test_the_scan_refuses_a_holder_revoked_for_that_scenario_only(world: World) -> None:
    health = _code(world, world.resident, "health")
    library = _code(world, world.resident, "library")
    with world.session() as session:
        service.set_holder_status(
            session,
            world.ctx,
            world.health_authority,
            now=T,
            **_revoke(world),  # type: ignore[arg-type]
        )
    refused = _scan(world, world.checkpoint, health)
    assert refused.reason is service.Reason.REVOKED
    assert not refused.admit
    assert _scan(world, world.library, library).admit


def test_an_identity_revocation_withholds_every_code(world: World) -> None:
    library = _code(world, world.resident, "library")
    with world.session() as session:
        service.set_holder_status(
            session,
            world.ctx,
            world.police_authority,
            now=T,
            **_revoke(world, "identity", reason="phone reported stolen"),  # type: ignore[arg-type]
        )
    assert _scan(world, world.library, library).reason is service.Reason.REVOKED
    with world.session() as session, pytest.raises(service.CodeWithheld) as caught:
        service.issue_code(session, world.ctx, world.resident, scenario="health", now=T)
    assert caught.value.revocation.every_code
    assert "phone reported stolen" in caught.value.detail
    # The culture authority cannot lift what the police decided.
    with world.session() as session, pytest.raises(Conflict):
        service.set_holder_status(
            session,
            world.ctx,
            world.culture_authority,
            now=T,
            **_revoke(world, "library", revoke=False, reason="x"),  # type: ignore[arg-type]
        )
    with world.session() as session, pytest.raises(Forbidden):
        service.set_holder_status(
            session,
            world.ctx,
            world.culture_authority,
            now=T,
            **_revoke(world, "identity", revoke=False, reason="x"),  # type: ignore[arg-type]
        )


def _appeal(world: World) -> int:
    with world.session() as session:
        service.record_health_fact(
            session,
            world.ctx,
            world.health_staff,
            id_number=world.resident_id_number,
            kind="contact",
            value="close",
            observed_at=T - timedelta(days=1),
            now=T,
        )
        return service.file_appeal(
            session, world.ctx, world.resident, statement="I was at home all that week.", now=T
        ).id


def test_the_health_planner_may_not_decide_appeals_the_health_authority_does(
    api: TestClient, world: World
) -> None:
    appeal = _appeal(world)
    decision = {"uphold": True, "colour": "green", "reason": "the contact was someone else"}
    url = f"/api/v1/codes/appeals/{appeal}/decision"
    for who in (world.planner, world.health_staff, world.culture_authority, world.admin):
        refused = api.post(url, json=decision, headers=_auth(api, who))
        assert refused.status_code == 403, who.username
        assert api.get("/api/v1/codes/appeals", headers=_auth(api, who)).status_code == 403
    js = api.post(url, json=decision, headers=_auth(api, world.js_health_authority))
    assert js.status_code == 403
    decided = api.post(url, json=decision, headers=_auth(api, world.health_authority))
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"


def test_the_scan_answer_names_its_reason_codes(world: World) -> None:
    declared = set(get_args(ScanOut.model_fields["reason"].annotation))
    assert declared == {r.value for r in service.Reason}
    assert set(get_args(ScanOut.model_fields["action"].annotation)) == {
        a.value for a in service.Action
    }
