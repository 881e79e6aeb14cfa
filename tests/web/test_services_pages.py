"""The services' pages: the applicant's one form (prefilled from the account), the application
with its steps, the workbench's claim and complete, forms that keep what was typed."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import World, build_world
from twonets.core.http import TOKEN_COOKIE

FORM = {
    "district_code": "310101",
    "has_residence": "on",
    "social_insurance_months": "0",
    "plates_held": "0",
    "charging_point": "on",
    "vin": "LSVAU2180N2183294",
    "vehicle_model": "荣威 Ei5",
}


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    return build_world(app, client, session_factory)


def as_(world: World, who: str) -> TestClient:
    world.client.cookies.clear()
    world.client.cookies.set(TOKEN_COOKIE, world.tokens[who])
    return world.client


def apply(world: World) -> str:
    client = as_(world, "resident")
    answer = client.post("/services/apply", data=FORM, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_the_form_is_prefilled_from_the_account(world: World) -> None:
    page = as_(world, "resident").get("/services")

    assert page.status_code == 200
    assert 'data-testid="prefilled-name"' in page.text
    assert f'value="{world.resident_id_number}" readonly' in page.text
    assert 'value="李四" readonly' in page.text
    assert "You have not applied for a service yet." in page.text


def test_applying_leads_to_the_application_and_its_first_step(world: World) -> None:
    location = apply(world)

    assert re.fullmatch(r"/services/applications/\d+", location)
    page = as_(world, "resident").get(location)
    assert "Confirm the charging point" in page.text
    assert "District operations centre" in page.text
    assert "In progress" in page.text
    listing = as_(world, "resident").get("/services")
    assert listing.text.count('data-testid="application-row"') == 1


def test_a_refused_form_speaks_its_labels_and_keeps_what_was_typed(world: World) -> None:
    bad = {**FORM, "social_insurance_months": "three", "vin": ""}

    page = as_(world, "resident").post("/services/apply", data=bad)

    assert page.status_code == 422
    assert "Months of social insurance in the city: enter a whole number." in page.text
    assert "Vehicle identification number: please fill this in." in page.text
    assert 'value="three"' in page.text
    assert 'value="荣威 Ei5"' in page.text
    assert "data.vin" not in page.text


def test_the_pages_speak_chinese_by_default(world: World) -> None:
    client = as_(world, "resident")
    page = client.get("/services", headers={"Accept-Language": "zh"})

    assert "一件事" in page.text
    assert "我有本市户籍或居住证记录" in page.text


def test_staff_claim_and_complete_from_the_workbench(world: World) -> None:
    location = apply(world)
    application_id = location.rsplit("/", 1)[1]
    district = as_(world, "310101.operations")
    queue = district.get("/services/tasks")
    task = re.search(r"/services/tasks/(\d+)/claim", queue.text)
    assert task is not None
    task_id = task.group(1)

    claimed = district.post(f"/services/tasks/{task_id}/claim", follow_redirects=False)
    assert claimed.status_code == 303
    form = district.get("/services/tasks")
    assert 'data-testid="complete-form"' in form.text
    assert "Charging point number" in form.text
    empty = district.post(f"/services/tasks/{task_id}/complete", data={"charging_point_id": ""})
    assert empty.status_code == 422
    assert "Charging point number: please fill this in." in empty.text
    done = district.post(
        f"/services/tasks/{task_id}/complete",
        data={"charging_point_id": "CP-7"},
        follow_redirects=False,
    )
    assert done.status_code == 303

    view = as_(world, "resident").get(f"/services/applications/{application_id}")
    assert "Register the vehicle" in view.text
    assert "Allocate the plate" in view.text
    police = as_(world, "sh.police").get("/services/tasks")
    assert police.text.count('data-testid="task"') == 1


def test_a_return_for_material_shows_the_applicant_what_and_why(world: World) -> None:
    location = apply(world)
    district = as_(world, "310101.operations")
    task_id = re.findall(r"/services/tasks/(\d+)/claim", district.get("/services/tasks").text)[0]
    district.post(f"/services/tasks/{task_id}/claim")
    no_reason = district.post(
        f"/services/tasks/{task_id}/return", data={"missing": "charging_point_photo", "reason": ""}
    )
    assert no_reason.status_code == 422
    assert "Reason: please fill this in." in no_reason.text
    district.post(
        f"/services/tasks/{task_id}/return",
        data={"missing": ["charging_point_photo", "vehicle_invoice"], "reason": "照片不清晰"},
    )

    page = as_(world, "resident").get(location)
    assert "Photo of the charging point" in page.text
    assert "Vehicle purchase invoice" in page.text
    assert "照片不清晰" in page.text
    sent = as_(world, "resident").post(
        f"{location}/material",
        data={"charging_point_photo": "IMG-1", "vehicle_invoice": ""},
    )
    assert sent.status_code == 422
    assert "Vehicle purchase invoice: please fill this in." in sent.text
    assert 'value="IMG-1"' in sent.text


def test_another_district_cannot_claim(world: World) -> None:
    apply(world)
    task_id = re.findall(
        r"/services/tasks/(\d+)/claim", as_(world, "310101.operations").get("/services/tasks").text
    )[0]

    answer = as_(world, "310104.operations").post(f"/services/tasks/{task_id}/claim")

    assert answer.status_code == 403
    assert "not in the reach of 310104.operations" in answer.text


def test_staff_see_the_figures_by_month(world: World) -> None:
    apply(world)

    page = as_(world, "sh.police").get("/services/figures")

    assert page.status_code == 200
    assert "New-energy vehicle plate" in page.text
    assert "2026-11" in page.text
    assert "100%" in page.text
    assert as_(world, "resident").get("/services/figures").status_code == 403


def test_consenting_prefills_the_form_and_staff_read_it_with_its_origins(world: World) -> None:
    page = as_(world, "resident").get("/services?prefill=yes")

    assert page.status_code == 200
    assert 'data-testid="prefill-note"' in page.text
    assert "services.nev-plate" in page.text
    assert 'data-testid="held-plates_held"' in page.text
    assert 'name="consent" value="yes"' in page.text
    form = {**FORM, "consent": "yes"}
    answer = as_(world, "resident").post("/services/apply", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    application_id = answer.headers["location"].rsplit("/", 1)[1]

    staff = as_(world, "310101.operations").get(f"/services/applications/{application_id}/form")

    assert staff.status_code == 200, staff.text
    assert staff.text.count('data-testid="form-field"') >= 8
    assert 'data-origin="verified"' in staff.text  # plates_held 0, as the licences say
    assert 'data-origin="declared"' in staff.text
    workbench = as_(world, "310101.operations").get("/services/tasks")
    assert f"/services/applications/{application_id}/form" in workbench.text


def test_the_application_page_says_whom_each_step_waits_on_and_by_when(world: World) -> None:
    location = apply(world)

    page = as_(world, "resident").get(location, headers={"Accept-Language": "en"})

    assert 'data-testid="waiting"' in page.text
    [message] = re.findall(r'data-testid="waiting-message">(.*?)</li>', page.text, re.S)
    assert "waiting for District operations centre since" in message
    assert "expected by" in message
