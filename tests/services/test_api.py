"""The NEV plate through the API: apply once, districts and departments in parallel, the
certificate in the wallet; return for material; rejection; who may do what (403)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import World, build_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    return build_world(app, client, session_factory)


def test_the_processes_one_can_apply_for_are_listed(world: World) -> None:
    answer = world.client.get("/api/v1/services/processes").json()

    assert [(p["process_id"], p["version"]) for p in answer] == [
        ("nev_plate", 1),
        ("retirement", 1),
        ("tax_and_fees", 1),
    ]


def test_the_nev_plate_from_application_to_the_wallet(world: World) -> None:
    application = world.apply()
    assert application["status"] == "running"
    [district] = application["steps"]
    assert (district["activity"], district["lane"], district["status"]) == (
        "confirm_charging_point",
        "operations",
        "open",
    )
    assert district["due_at"].startswith("2026-12-02T09:00")  # 48 hours

    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="CP-9")
    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    parallel = {s["activity"]: s["lane"] for s in view["steps"] if s["status"] == "open"}
    assert parallel == {"register_vehicle": "transport", "allocate_plate": "police"}

    world.work(application, "allocate_plate", "sh.police", plate="沪AD12345")
    world.work(application, "register_vehicle", "sh.transport", registration_number="R-77")
    done = world.work(application, "issue_certificate", "sh.police")

    assert done["status"] == "completed"
    assert done["outcome"] == "issued"
    assert done["licence_identifier"]
    assert [h["action"] for h in done["history"]] == [
        "applied",
        "claimed",
        "step-completed",
        "claimed",
        "step-completed",
        "claimed",
        "step-completed",
        "claimed",
        "step-completed",
        "completed",
    ]
    assert {h["version"] for h in done["history"]} == {1}
    wallet = world.client.get(
        "/api/v1/wallet", headers={"Authorization": f"Bearer {world.tokens['resident']}"}
    ).json()
    [certificate] = [w for w in wallet if w["type"] == "NP"]
    assert certificate["identifier"] == done["licence_identifier"]
    assert certificate["claims"]["plate"] == "沪AD12345"
    assert certificate["claims"]["id_number"] == world.resident_id_number
    assert certificate["claims"]["name"] == "李四"
    assert certificate["claims"]["vehicle_model"] == "荣威 Ei5"


def test_an_applicant_who_is_not_eligible_is_told_why_at_once(world: World) -> None:
    application = world.apply(has_residence=False, social_insurance_months=12)

    assert application["status"] == "completed"
    assert application["outcome"] == "not-eligible"
    assert application["reason"] == "neither a residence record nor 36 months of social insurance"
    assert application["steps"] == []


def test_a_return_for_material_tells_the_applicant_what_and_why(world: World) -> None:
    application = world.apply()
    task = world.step(application, "confirm_charging_point")
    world.ok("POST", f"/tasks/{task}/claim", "310101.operations")

    returned = world.ok(
        "POST",
        f"/tasks/{task}/return",
        "310101.operations",
        json={"missing": ["charging_point_photo"], "reason": "照片看不清充电桩编号"},
    )
    assert returned["status"] == "returned"
    [step] = returned["steps"]
    assert step["missing"] == ["charging_point_photo"]
    assert step["note"] == "照片看不清充电桩编号"

    incomplete = world.call(
        "POST", f"/applications/{application['id']}/material", "resident", json={"data": {"x": 1}}
    )
    assert incomplete.status_code == 422
    assert incomplete.json()["detail"] == (
        "data.charging_point_photo: is asked for by the department"
    )
    stranger = world.call(
        "POST",
        f"/applications/{application['id']}/material",
        "other",
        json={"data": {"charging_point_photo": "p.jpg"}},
    )
    assert stranger.status_code == 404
    supplied = world.ok(
        "POST",
        f"/applications/{application['id']}/material",
        "resident",
        json={"data": {"charging_point_photo": "photo-2.jpg"}},
    )
    assert supplied["status"] == "running"
    assert supplied["steps"][0]["status"] == "claimed"

    answer = world.ok(
        "POST",
        f"/tasks/{task}/complete",
        "310101.operations",
        json={"data": {"charging_point_id": "CP-1"}},
    )
    assert {s["activity"] for s in answer["steps"] if s["status"] == "open"} == {
        "register_vehicle",
        "allocate_plate",
    }
    assert [h["action"] for h in answer["history"]][-3:] == [
        "returned",
        "material-supplied",
        "step-completed",
    ]


def test_a_rejection_ends_the_application_and_closes_the_other_branch(world: World) -> None:
    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="CP-1")
    task = world.step(application, "register_vehicle")
    world.ok("POST", f"/tasks/{task}/claim", "sh.transport")

    answer = world.ok(
        "POST", f"/tasks/{task}/reject", "sh.transport", json={"reason": "车辆不在新能源目录内"}
    )

    assert answer["status"] == "rejected"
    assert answer["reason"] == "车辆不在新能源目录内"
    assert {s["activity"]: s["status"] for s in answer["steps"]} == {
        "confirm_charging_point": "done",
        "register_vehicle": "rejected",
        "allocate_plate": "closed",
    }
    assert world.ok("GET", "/tasks", "sh.police") == []


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("310104.operations", "district 310101 is not in the reach of 310104.operations"),
        ("sh.health", "worked by operations departments, not by sh.health"),
        ("js.police", "worked by operations departments, not by js.police"),
    ],
)
def test_a_department_outside_the_step_gets_403(world: World, who: str, why: str) -> None:
    application = world.apply()
    task = world.step(application, "confirm_charging_point")

    answer = world.call("POST", f"/tasks/{task}/claim", who)

    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert why in answer.json()["detail"]
    assert world.ok("GET", "/tasks", who) == []


def test_another_regions_department_of_the_right_function_gets_403(world: World) -> None:
    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="C")
    task = world.step(application, "allocate_plate")

    answer = world.call("POST", f"/tasks/{task}/claim", "js.police")

    assert answer.status_code == 403
    assert "not in the reach of js.police" in answer.json()["detail"]
    assert world.ok("GET", "/tasks", "js.police") == []


def test_only_the_claimant_completes_returns_or_rejects(world: World) -> None:
    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="C")
    task = world.step(application, "allocate_plate")

    unclaimed = world.call("POST", f"/tasks/{task}/complete", "sh.police", json={"data": {}})
    assert unclaimed.status_code == 409
    assert unclaimed.json()["detail"] == f"task {task} is open: claim it first"
    world.ok("POST", f"/tasks/{task}/claim", "sh.police")
    missing = world.call("POST", f"/tasks/{task}/complete", "sh.police", json={"data": {}})
    assert missing.status_code == 422
    assert missing.json()["errors"] == [
        {
            "field": "data.plate",
            "rule": "required",
            "detail": "is needed to complete Allocate the plate",
        }
    ]


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("POST", "/applications", "sh.police"),
        ("POST", "/applications", "admin"),
        ("POST", "/tasks/1/claim", "resident"),
        ("POST", "/tasks/1/complete", "admin"),
        ("POST", "/tasks/1/return", "resident"),
        ("POST", "/tasks/1/reject", "resident"),
        ("POST", "/applications/1/material", "sh.police"),
        ("GET", "/tasks", "resident"),
    ],
)
def test_the_wrong_role_gets_403(world: World, method: str, path: str, who: str) -> None:
    answer = world.call(method, path, who, json={})

    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith(PROBLEM)


def test_someone_elses_application_is_not_found(world: World) -> None:
    application = world.apply()

    assert world.call("GET", f"/applications/{application['id']}", "other").status_code == 404
    assert world.call("GET", f"/applications/{application['id']}", "sh.health").status_code == 404
    staff_view = world.ok("GET", f"/applications/{application['id']}", "310101.operations")
    assert staff_view["id"] == application["id"]


@pytest.mark.parametrize(
    ("body", "field", "detail"),
    [
        (
            {"district_code": "999999"},
            "district_code",
            "district_code: is not a district of the city",
        ),
        ({"data": {"_secret": 1}}, "data._secret", "data._secret: should be a name of letters"),
        ({"data": {"applicant_name": "x"}}, "data.applicant_name", "is filled in by the platform"),
        ({"process_id": "nothing"}, None, "process 'nothing' is not deployed"),
        ({"district_code": "31"}, "district_code", "district_code"),
    ],
)
def test_bad_applications_are_problems_naming_the_field(
    world: World, body: dict[str, object], field: str | None, detail: str
) -> None:
    request = {"process_id": "nev_plate", "district_code": "310101", "data": {}, **body}

    answer = world.call("POST", "/applications", "resident", json=request)

    assert answer.status_code in {404, 422}
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert detail in answer.json()["detail"]
    if field:
        assert answer.json()["errors"][0]["field"] == field
