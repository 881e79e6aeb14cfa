"""Enterprise tax and fees in one filing, end to end through the API: the enterprise applies
for itself, tax, social security and the housing fund review in parallel (one returns it for
material, the enterprise supplies it), the SLA escalates, one payment through the payment
adapter, one receipt."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, create_staff, next_credit_code
from services.services_world import World, add_jiangsu, build_world
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.models import DepartmentLevel
from twonets.services import service

FILING = {"vat_sales": 1_000_000, "input_vat": 60_000, "payroll": 500_000}
REVIEWS = {
    "review_tax": "tax",
    "review_social_insurance": "social-security",
    "review_housing_fund": "housing-fund",
}


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    add_jiangsu(built, app, session_factory)
    ttl = timedelta(days=60)
    with unit_of_work(session_factory) as session:
        department = core_service.create_department(
            session,
            code="sh.tax",
            name="sh.tax",
            name_en="sh.tax",
            function="tax",
            level=DepartmentLevel.CITY,
            region_code="SH",
            district_code=None,
        )
        clerk = create_staff(session, username="clerk.sh.tax", department=department)
        built.tokens["sh.tax"] = auth.issue_token(session, clerk, now=NOW, ttl=ttl)
        for name in ("firm", "other-firm"):
            account = core_service.register_enterprise(
                session,
                credit_code=next_credit_code(),
                name=name,
                password="correct-horse-battery",
                now=NOW,
            )
            built.tokens[name] = auth.issue_token(session, account, now=NOW, ttl=ttl)
    built.viewer = "firm"
    return built


def _file(world: World) -> dict[str, Any]:
    body = {"process_id": "tax_and_fees", "district_code": "310101", "data": FILING}
    answer: dict[str, Any] = world.ok("POST", "/applications", "firm", json=body)
    return answer


def _open(world: World, application: dict[str, Any]) -> dict[str, str]:
    view = world.ok("GET", f"/applications/{application['id']}", "firm")
    return {s["activity"]: s["lane"] for s in view["steps"] if s["status"] in ("open", "claimed")}


def test_one_filing_three_parallel_reviews_one_payment_one_receipt(world: World) -> None:
    filing = _file(world)
    assert _open(world, filing) == REVIEWS
    assert world.call("POST", f"/applications/{filing['id']}/pay", "firm").status_code == 409

    world.work(filing, "review_tax", "sh.tax")
    world.work(filing, "review_housing_fund", "sh.fund")
    waiting = world.work(filing, "review_social_insurance", "sh.hrss")
    assert waiting["status"] == "running"
    assert waiting["steps"]
    assert _open(world, filing) == {}

    paid = world.ok("POST", f"/applications/{filing['id']}/pay", "firm")

    assert (paid["status"], paid["outcome"]) == ("completed", "paid")
    [payment] = [h for h in paid["history"] if h["action"] == "paid"]
    # VAT 70,000 + social insurance 130,000 + housing fund 35,000
    assert payment["detail"].startswith("235000.00 yuan, DEMO-")
    again = world.call("POST", f"/applications/{filing['id']}/pay", "firm")
    assert again.status_code == 409
    assert [a["id"] for a in world.ok("GET", "/applications", "firm")] == [filing["id"]]


def test_only_the_enterprise_files_and_pays_for_itself(world: World) -> None:
    body = {"process_id": "tax_and_fees", "district_code": "310101", "data": FILING}
    assert world.call("POST", "/applications", "resident", json=body).status_code == 403
    nev = {"process_id": "nev_plate", "district_code": "310101", "data": {}}
    assert world.call("POST", "/applications", "firm", json=nev).status_code == 403
    filing = _file(world)
    for who in ("other-firm", "resident"):
        assert world.call("POST", f"/applications/{filing['id']}/pay", who).status_code in (
            403,
            404,
        )
    assert world.call("POST", f"/applications/{filing['id']}/pay", "sh.tax").status_code == 403


def test_a_review_returned_for_material_comes_back_to_the_same_department(world: World) -> None:
    filing = _file(world)
    task = world.step(filing, "review_tax")
    world.ok("POST", f"/tasks/{task}/claim", "sh.tax")
    world.ok(
        "POST",
        f"/tasks/{task}/return",
        "sh.tax",
        json={"missing": ["vat_invoices"], "reason": "进项发票清单缺失"},
    )
    view = world.ok("GET", f"/applications/{filing['id']}", "firm")
    [message] = [w for w in view["waiting"] if w["waiting_on"] == "applicant"]
    assert (message["missing"], message["note"]) == (["vat_invoices"], "进项发票清单缺失")

    world.ok(
        "POST",
        f"/applications/{filing['id']}/material",
        "firm",
        json={"data": {"vat_invoices": "INV-2026-11"}},
    )
    world.ok("POST", f"/tasks/{task}/complete", "sh.tax", json={"data": {}})
    assert set(_open(world, filing)) == {"review_social_insurance", "review_housing_fund"}


def test_a_review_past_its_day_is_escalated(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    filing = _file(world)
    world.work(filing, "review_tax", "sh.tax")
    world.clock.advance(hours=25)
    with unit_of_work(session_factory) as session:
        assert service.escalate_overdue(session, now=world.clock()) == 2

    view = world.ok("GET", f"/applications/{filing['id']}", "firm")
    late = sorted(w["activity"] for w in view["waiting"] if w["overdue"])
    assert late == ["review_housing_fund", "review_social_insurance"]
