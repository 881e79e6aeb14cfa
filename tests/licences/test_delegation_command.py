"""``twonets licences delegate``: a region's administrator names departments from the shell."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import create_staff
from twonets.cli import app
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel, Role

runner = CliRunner()


def test_an_administrator_delegates_lists_and_withdraws(
    engine: Engine, session_factory: sessionmaker[Session], migrated_url: str
) -> None:
    with unit_of_work(session_factory) as session:
        for code, function, body in (
            ("sh.police", "police", "00240001"),
            ("sh.traffic", "police", "00240002"),
            ("sh.platform", "platform", None),
        ):
            core_service.create_department(
                session,
                code=code,
                name=code,
                name_en=code,
                function=function,
                level=DepartmentLevel.CITY,
                region_code="SH",
                credit_code=make_credit_code(
                    authority="1", kind="1", region_code="310000", organisation_body=body
                )
                if body
                else None,
            )
        platform = core_service.get_department(session, "sh.platform")
        police = core_service.get_department(session, "sh.police")
        create_staff(session, username="root", department=platform, roles=(Role.ADMIN,))
        create_staff(session, username="clerk", department=police)
    env = {"TWONETS_DATABASE_URL": migrated_url}
    args = ["DL", "sh.police", "sh.traffic", "--actions", "suspend,revoke", "--reason", "rule 7"]

    made = runner.invoke(app, ["licences", "delegate", "--admin", "root", *args], env=env)
    assert made.exit_code == 0, made.output
    delegation = json.loads(made.output)
    assert (delegation["region"], delegation["actions"]) == ("SH", ["suspend", "revoke"])

    clerk = runner.invoke(app, ["licences", "delegate", "--admin", "clerk", *args], env=env)
    assert clerk.exit_code == 1
    assert "only an administrator" in clerk.output

    listed = runner.invoke(app, ["licences", "delegations", "--admin", "root"], env=env)
    assert [json.loads(line)["id"] for line in listed.output.splitlines()] == [delegation["id"]]
    ended = runner.invoke(
        app,
        ["licences", "withdraw-delegation", "--admin", "root", str(delegation["id"])],
        env=env,
    )
    assert ended.exit_code == 0, ended.output
    after = runner.invoke(app, ["licences", "delegations", "--admin", "root"], env=env)
    assert after.output.strip() == ""
