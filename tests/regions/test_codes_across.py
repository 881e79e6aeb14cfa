"""A Jiangsu code holder revoked in Jiangsu is refused at a Shanghai gate: Jiangsu's platform
publishes its holders' revocations (signed digests), Shanghai fetches and keeps them, and
checks a Jiangsu code against them; while Jiangsu is down it checks against what it kept,
until that goes stale: then "cannot check revocation", never a pass."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI

from builders import create_citizen, create_staff, next_id_number
from regions.world import Regions, two_regions
from twonets.codes import service
from twonets.codes.context import Coding
from twonets.core import service as core_service
from twonets.core.auth import Principal, principal_of
from twonets.core.db import make_session_factory, unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role


def _office(app: FastAPI, code: str, region: str, role: Role) -> Principal:
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        service.ensure_scenarios(session, now=app.state.clock())
        department = core_service.create_department(
            session,
            code=code,
            name=code,
            name_en=code,
            function="culture",
            level=DepartmentLevel.CITY,
            region_code=region,
            credit_code=make_credit_code(
                authority="1",
                kind="1",
                region_code="310000" if region == "SH" else "320000",
                organisation_body="00240099",
            ),
        )
        return principal_of(create_staff(session, department=department, roles=(role,)))


def _resident(app: FastAPI) -> tuple[Principal, str]:
    with unit_of_work(make_session_factory(app.state.engine)) as session:
        number = next_id_number(birth=date(1990, 5, 6), region="320102")
        return principal_of(create_citizen(session, id_number=number, name="赵六")), number


@dataclass
class Gate:
    """Shanghai's library gate and Jiangsu's residents and culture authority."""

    regions: Regions
    library: Principal
    authority: Principal

    def code(self, holder: Principal) -> str:
        app = self.regions.js_app
        ctx: Coding = app.state.coding
        with unit_of_work(make_session_factory(app.state.engine)) as session:
            issued = service.issue_code(
                session, ctx, holder, scenario="library", now=self.regions.clock()
            )
            return issued.text

    def scan(self, text: str) -> service.ScanOutcome:
        app = self.regions.sh_app
        with unit_of_work(make_session_factory(app.state.engine)) as session:
            return service.scan(
                session,
                app.state.coding,
                self.library,
                text=text,
                place="east gate",
                now=self.regions.clock(),
            )

    def refresh(self) -> int:
        """What Shanghai's scheduled work does: the lists still current afterwards."""
        app = self.regions.sh_app
        with unit_of_work(make_session_factory(app.state.engine)) as session:
            return service.refresh_remote_holder_status(
                session, app.state.coding, now=self.regions.clock()
            )

    def revoke(self, id_number: str) -> None:
        app = self.regions.js_app
        with unit_of_work(make_session_factory(app.state.engine)) as session:
            service.set_holder_status(
                session,
                app.state.coding,
                self.authority,
                scenario="library",
                id_number=id_number,
                revoke=True,
                reason="banned for damaging books",
                now=self.regions.clock(),
            )


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    for regions in two_regions(tmp_path):
        library = _office(regions.sh_app, "sh.culture", "SH", Role.VERIFIER)
        authority = _office(regions.js_app, "js.culture", "JS", Role.CODES_AUTHORITY)
        assert regions.recognise_jiangsu().status_code == 201
        yield Gate(regions, library, authority)


def test_a_holder_revoked_in_jiangsu_is_refused_in_shanghai_after_the_refresh(
    gate: Gate,
) -> None:
    holder, number = _resident(gate.regions.js_app)
    first = gate.scan(gate.code(holder))
    assert (first.reason, first.admit) == ("admit", True)

    # A code shown just before the revocation, scanned once Shanghai's list is due again.
    gate.regions.clock.advance(minutes=5, seconds=1)
    shown = gate.code(holder)
    gate.revoke(number)
    refused = gate.scan(shown)
    assert (refused.reason, refused.admit) == ("revoked", False)
    assert "JS has revoked" in refused.verdict.detail

    other, _ = _resident(gate.regions.js_app)
    assert gate.scan(gate.code(other)).admit is True


def test_with_jiangsu_down_shanghai_checks_its_kept_list_until_it_goes_stale(
    gate: Gate,
) -> None:
    holder, number = _resident(gate.regions.js_app)
    assert gate.scan(gate.code(holder)).admit is True
    gate.regions.js.stop()

    gate.regions.clock.advance(minutes=40)  # due for a refresh that fails: the kept list holds
    assert gate.refresh() == 1
    assert gate.scan(gate.code(holder)).admit is True

    gate.regions.clock.advance(minutes=30)  # the kept list (an hour) has expired
    assert gate.refresh() == 0
    unchecked = gate.scan(gate.code(holder))
    assert (unchecked.reason, unchecked.admit) == ("unchecked", False)
    assert service.action_of(unchecked.reason) == "check"
    assert unchecked.verdict.detail.startswith("cannot check revocation")
    assert number  # the holder is known in Jiangsu only
