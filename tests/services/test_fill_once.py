"""Fill once: the NEV form is prefilled from what the government holds, read through
governance under the service's purpose with the applicant's consent (recorded); changed
fields are declared; staff read the form through governance, and a department without the
purpose gets 403."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import NEV_FORM, World, build_world
from twonets.core.db import unit_of_work
from twonets.core.models import Account, Citizen
from twonets.governance.models import LedgerEntry, PendingAccess

PURPOSE = "services.nev-plate"


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    built = build_world(app, client, session_factory)
    with unit_of_work(session_factory) as session:
        account = session.scalar(
            select(Account).where(Account.username == built.resident_id_number)
        )
        assert account is not None
        assert account.citizen_id is not None
        citizen = session.get(Citizen, account.citizen_id)
        assert citizen is not None
        citizen.address = "黄浦区南京东路 1 号"
    return built


def _reads(session_factory: sessionmaker[Session]) -> list[tuple[str | None, str, str]]:
    with unit_of_work(session_factory) as session:
        out: list[tuple[str | None, str, str]] = []
        for model in (LedgerEntry, PendingAccess):
            for row in session.scalars(select(model)):
                out.append((row.department_code, row.purpose_code, row.dataset))
        return out


def test_the_form_is_prefilled_from_the_registers_and_the_read_is_in_the_ledger(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    held = world.ok("GET", "/processes/nev_plate/prefill", "resident")

    assert held["purpose"] == PURPOSE
    assert held["values"] == {"has_residence": True, "plates_held": 0}
    assert held["sources"] == {"has_residence": "core.citizen", "plates_held": "licences.licence"}
    assert held["district_code"] == "310101"
    reads = _reads(session_factory)
    assert ("sh.services", PURPOSE, "core.citizen") in reads


def test_a_plate_certificate_in_the_wallet_is_a_plate_held(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="C1")
    world.work(application, "allocate_plate", "sh.police", plate="沪AD00001")
    world.work(application, "register_vehicle", "sh.transport", registration_number="R-1")
    world.work(application, "issue_certificate", "sh.police")

    held = world.ok("GET", "/processes/nev_plate/prefill", "resident")

    assert held["values"]["plates_held"] == 1
    assert held["licences"] == ["NP"]
    assert ("sh.services", PURPOSE, "licences.licence") in _reads(session_factory)


def test_consent_is_recorded_and_a_changed_field_is_declared(world: World) -> None:
    form = {k: v for k, v in NEV_FORM.items() if k not in {"has_residence", "plates_held"}}
    # The applicant leaves out what is held, except one field they change.
    body = {
        "process_id": "nev_plate",
        "district_code": "310101",
        "consent": True,
        "data": {**form, "plates_held": 1},
    }
    application = world.ok("POST", "/applications", "resident", json=body)

    assert application["purpose_code"] == PURPOSE
    assert application["consented_at"] is not None
    origins = application["field_origins"]
    assert origins["has_residence"] == "verified"
    assert origins["plates_held"] == "declared"
    assert origins["vin"] == "declared"
    assert origins["applicant_name"] == "account"
    consent = [h for h in application["history"] if h["action"] == "consented"]
    assert consent
    assert consent[0]["detail"].startswith(PURPOSE)
    # One plate declared: not eligible, whatever the register says.
    assert application["outcome"] == "not-eligible"


def test_without_consent_nothing_is_read_and_every_field_is_declared(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    application = world.apply()

    assert application["consented_at"] is None
    assert set(application["field_origins"].values()) == {"declared", "account"}
    assert [r for r in _reads(session_factory) if r[2] == "core.citizen"] == []


def test_staff_read_the_form_through_governance_under_the_purpose(
    world: World, session_factory: sessionmaker[Session]
) -> None:
    body = {
        "process_id": "nev_plate",
        "district_code": "310101",
        "consent": True,
        "data": {k: v for k, v in NEV_FORM.items() if k not in {"has_residence", "plates_held"}},
    }
    application = world.ok("POST", "/applications", "resident", json=body)

    form = world.ok("GET", f"/applications/{application['id']}/form", "310101.operations")

    fields = {f["name"]: (f["value"], f["origin"]) for f in form["fields"]}
    assert form["purpose"] == PURPOSE
    assert fields["vin"] == (NEV_FORM["vin"], "declared")
    assert fields["has_residence"] == (True, "verified")
    assert ("310101.operations", PURPOSE, "services.application") in _reads(session_factory)


def test_a_department_without_the_purpose_gets_403_reading_the_form(world: World) -> None:
    application = world.apply()
    world.work(application, "confirm_charging_point", "310101.operations", charging_point_id="C1")

    # Transport works a step of it now, but holds no grant for the service's purpose.
    refused = world.call("GET", f"/applications/{application['id']}/form", "sh.transport")

    assert refused.status_code == 403, refused.text
    assert refused.json()["missing_grant"]["purpose"] == PURPOSE


def test_a_department_not_working_the_application_does_not_see_its_form(world: World) -> None:
    application = world.apply()

    assert (
        world.call("GET", f"/applications/{application['id']}/form", "sh.health").status_code == 404
    )
    assert (
        world.call("GET", f"/applications/{application['id']}/form", "resident").status_code == 403
    )
    assert world.call("GET", "/processes/nev_plate/prefill", "sh.police").status_code == 403
