"""Employee retirement end to end through the API: the employer (an enterprise's own account)
confirms; the city's years and Jiangsu's (a signed request and reply) are checked in
parallel; a return for material and its loop; the SLA escalates; Jiangsu's time-out hands
the years to the city's clerk; medical insurance and the housing fund in parallel."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, next_credit_code
from services.services_world import World, add_jiangsu, build_world
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.services import service
from twonets.services.remote import InProcessTransport

FORM: dict[str, Any] = {
    "contribution_years_city": 20,
    "contribution_years_delta": 8,
    "average_wage": 12183,
    "indexed_wage": 1.2,
    "account_balance": 180000,
}


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    add_jiangsu(built, app, session_factory)
    with unit_of_work(session_factory) as session:
        for name in ("employer", "another-firm"):
            code = next_credit_code()
            account = core_service.register_enterprise(
                session, credit_code=code, name=name, password="correct-horse-battery", now=NOW
            )
            built.tokens[name] = auth.issue_token(session, account, now=NOW, ttl=timedelta(days=60))
            built.tokens[f"{name}.code"] = code
    return built


def _apply(world: World, **form: Any) -> dict[str, Any]:
    data = {**FORM, "employer_credit_code": world.tokens["employer.code"], **form}
    body = {"process_id": "retirement", "district_code": "310101", "data": data}
    answer: dict[str, Any] = world.ok("POST", "/applications", "resident", json=body)
    return answer


def _open(world: World, application: dict[str, Any]) -> dict[str, str]:
    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    return {s["activity"]: s["lane"] for s in view["steps"] if s["status"] in ("open", "claimed")}


def _send(app: FastAPI, session_factory: sessionmaker[Session], world: World) -> None:
    with unit_of_work(session_factory) as session:
        service.send_pending(session, InProcessTransport(), app.state.secret_key, now=world.clock())


def _reply(world: World, years: int) -> None:
    [waiting] = world.ok("GET", "/remote/inbox", "js.hrss")
    world.ok(
        "POST",
        f"/remote/requests/{waiting['message_id']}/reply",
        "js.hrss",
        json={"data": {"contribution_years_delta": years}},
    )


def test_retirement_from_the_employer_to_the_pension(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    assert _open(world, application) == {"employer_confirms": "employer"}
    assert [t["activity"] for t in world.ok("GET", "/tasks", "employer")] == ["employer_confirms"]
    assert world.ok("GET", "/tasks", "another-firm") == []

    world.work(application, "employer_confirms", "employer", last_working_day="2026-12-31")
    # The city's years and Jiangsu's, in parallel.
    assert _open(world, application) == {
        "check_contribution_years": "social-security",
        "confirm_delta_years": "JS:social-security",
    }
    _send(app, session_factory, world)
    _reply(world, 6)
    world.work(application, "check_contribution_years", "sh.hrss", contribution_years_city=20)
    assert _open(world, application) == {
        "transfer_medical_insurance": "medical-insurance",
        "withdraw_housing_fund": "housing-fund",
    }
    world.work(application, "withdraw_housing_fund", "sh.fund", fund_withdrawn=True)
    done = world.work(application, "transfer_medical_insurance", "sh.medical")

    assert (done["status"], done["outcome"]) == ("completed", "retired")
    form = world.ok("GET", f"/applications/{application['id']}", "resident")
    assert "remote-replied" in [h["action"] for h in form["history"]]


def test_the_employer_lane_is_worked_only_by_the_enterprise_the_form_names(
    world: World,
) -> None:
    application = _apply(world)
    task = world.step(application, "employer_confirms")

    for who in ("another-firm", "sh.hrss", "resident"):
        assert world.call("POST", f"/tasks/{task}/claim", who).status_code == 403, who
    assert world.call("POST", f"/tasks/{task}/claim", "employer").status_code == 200


def test_an_unknown_employer_is_refused_naming_the_field(world: World) -> None:
    body = {
        "process_id": "retirement",
        "district_code": "310101",
        "data": {**FORM, "employer_credit_code": "91310000000000000X"},
    }
    refused = world.call("POST", "/applications", "resident", json=body)

    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "data.employer_credit_code"


def test_a_return_for_material_loops_back_to_the_same_step(world: World) -> None:
    application = _apply(world)
    world.work(application, "employer_confirms", "employer", last_working_day="2026-12-31")
    task = world.step(application, "check_contribution_years")
    world.ok("POST", f"/tasks/{task}/claim", "sh.hrss")
    world.ok(
        "POST",
        f"/tasks/{task}/return",
        "sh.hrss",
        json={"missing": ["social_insurance_record"], "reason": "1998 年缴费记录缺失"},
    )
    view = world.ok("GET", f"/applications/{application['id']}", "resident")
    assert view["status"] == "returned"

    world.ok(
        "POST",
        f"/applications/{application['id']}/material",
        "resident",
        json={"data": {"social_insurance_record": "DOC-1998"}},
    )
    world.ok(
        "POST", f"/tasks/{task}/complete", "sh.hrss", json={"data": {"contribution_years_city": 21}}
    )

    actions = [
        h["action"]
        for h in world.ok("GET", f"/applications/{application['id']}", "resident")["history"]
    ]
    assert actions.count("returned") == 1
    assert actions.index("material-supplied") < len(actions) - 1


def test_the_employer_step_past_its_sla_is_escalated(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    world.clock.advance(hours=73)
    with unit_of_work(session_factory) as session:
        assert service.escalate_overdue(session, now=world.clock()) == 1

    [step] = world.ok("GET", "/tasks", "employer")
    assert (step["activity"], step["escalated"]) == ("employer_confirms", True)
    assert application["id"] == step["application_id"]


def test_without_jiangsus_reply_in_five_days_the_city_checks_by_hand(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    world.work(application, "employer_confirms", "employer", last_working_day="2026-12-31")
    _send(app, session_factory, world)
    world.clock.advance(days=5, minutes=1)
    with unit_of_work(session_factory) as session:
        assert service.fire_timers(session, now=world.clock()) == 1

    assert _open(world, application) == {
        "check_contribution_years": "social-security",
        "check_delta_years_by_hand": "social-security",
    }
    [waiting] = world.call("GET", "/remote/inbox", "js.hrss").json() or [None]
    assert waiting is None
    world.work(application, "check_delta_years_by_hand", "sh.hrss", contribution_years_delta=7)
    world.work(application, "check_contribution_years", "sh.hrss", contribution_years_city=20)
    assert set(_open(world, application)) == {"transfer_medical_insurance", "withdraw_housing_fund"}


def test_the_applicant_sees_whom_each_step_waits_on_and_by_when(
    app: FastAPI, world: World, session_factory: sessionmaker[Session]
) -> None:
    application = _apply(world)
    world.work(application, "employer_confirms", "employer", last_working_day="2026-12-31")

    view = world.ok("GET", f"/applications/{application['id']}", "resident")

    waiting = {w["activity"]: (w["waiting_on"], w["expected_by"]) for w in view["waiting"]}
    assert waiting == {
        "check_contribution_years": ("social-security", "2026-12-05T09:00:00Z"),
        "confirm_delta_years": ("JS:social-security", "2026-12-05T09:00:00Z"),
    }
    [city] = world.ok("GET", "/tasks", "sh.hrss")
    assert [(p["activity"], p["waiting_on"]) for p in city["parallel"]] == [
        ("confirm_delta_years", "JS:social-security")
    ]


def test_the_employer_works_its_step_on_the_workbench_page(world: World) -> None:
    from twonets.core.http import TOKEN_COOKIE

    application = _apply(world)
    world.client.cookies.set(TOKEN_COOKIE, world.tokens["employer"])
    page = world.client.get("/services/tasks")
    task = world.step(application, "employer_confirms")
    claimed = world.client.post(f"/services/tasks/{task}/claim", follow_redirects=False)
    world.client.cookies.clear()

    assert page.status_code == 200
    assert page.text.count('data-testid="task"') == 1
    assert claimed.status_code == 303
    steps = world.ok("GET", f"/applications/{application['id']}", "resident")["steps"]
    assert [s["status"] for s in steps] == ["claimed"]
