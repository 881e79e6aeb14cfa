"""Process versions: deploy adds one, running applications stay on theirs, migrate moves them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import NOW, create_citizen
from services.process_files import two_steps
from twonets.cli import app
from twonets.core.auth import principal_of
from twonets.core.db import unit_of_work
from twonets.core.errors import NotFound
from twonets.services import engine, service
from twonets.services.models import ApplicationEvent, ServiceTask

runner = CliRunner()


def deploy(session: Session, text: str) -> list[service.Deployed]:
    return service.deploy_process(
        session, engine.ProcessSource(bpmn=text, name="two.bpmn"), actor="designer", now=NOW
    )


def apply(session: Session) -> int:
    resident = principal_of(create_citizen(session))
    application = service.apply(
        session,
        resident,
        process_id="two_steps",
        district_code="310101",
        data={"amount": 1},
        now=NOW,
    )
    return application.id


def test_deploying_adds_a_version_and_the_same_text_adds_none(session: Session) -> None:
    first = deploy(session, two_steps())
    again = deploy(session, two_steps())
    second = deploy(session, two_steps(script="total = amount * 3"))

    assert first == [service.Deployed("two_steps", 1, created=True)]
    assert again == [service.Deployed("two_steps", 1, created=False)]
    assert second == [service.Deployed("two_steps", 2, created=True)]
    assert service.get_definition(session, "two_steps").version == 2
    assert service.get_definition(session, "two_steps", 1).bpmn == two_steps()
    with pytest.raises(NotFound, match="process 'two_steps' version 3 is not deployed"):
        service.get_definition(session, "two_steps", 3)


def test_a_running_application_stays_on_its_version_and_new_ones_take_the_newest(
    session: Session,
) -> None:
    deploy(session, two_steps())
    old = apply(session)
    deploy(session, two_steps(script="total = amount * 3"))
    new = apply(session)

    resident_view = {
        a: service.application_json(session, service.applications.load(session, a))
        for a in (old, new)
    }
    assert resident_view[old]["version"] == 1
    assert resident_view[new]["version"] == 2
    events = session.scalars(select(ApplicationEvent).order_by(ApplicationEvent.id)).all()
    assert [(e.application_id, e.action, e.process_version, e.actor[:4]) for e in events] == [
        (old, "applied", 1, "3101"),
        (new, "applied", 2, "3101"),
    ]


def test_migrate_moves_what_it_can_and_names_what_it_cannot(
    session_factory: sessionmaker[Session], settings_env: dict[str, str]
) -> None:
    with unit_of_work(session_factory) as session:
        deploy(session, two_steps())
        at_review = apply(session)
        deploy(session, two_steps(review=False))
        deploy(session, two_steps(script="total = amount * 5"))

    refused = runner.invoke(
        app, ["services", "migrate", "two_steps", "--to", "2"], env=settings_env
    )
    moved = runner.invoke(app, ["services", "migrate", "two_steps", "--to", "3"], env=settings_env)

    assert refused.exit_code == 0, refused.output
    assert refused.output.splitlines() == [
        "two_steps: 0 applications moved to version 2",
        f"  stays  {at_review}: the new version lacks steps it has reached: review",
    ]
    assert moved.output.splitlines() == [
        "two_steps: 1 applications moved to version 3",
        f"  moved  {at_review}",
    ]
    with unit_of_work(session_factory) as session:
        application = service.applications.load(session, at_review)
        view = service.application_json(session, application)
        assert view["version"] == 3
        assert view["history"][-1]["action"] == "migrated"
        assert view["history"][-1]["detail"] == "from version 1"
        live = session.scalars(
            select(ServiceTask).where(ServiceTask.application_id == at_review)
        ).all()
        assert [(t.activity, t.status) for t in live] == [("review", "open")]


def test_deploy_command_reads_the_file_and_its_tables(
    tmp_path: Path, settings_env: dict[str, str]
) -> None:
    path = tmp_path / "two.bpmn"
    path.write_text(two_steps(), encoding="utf-8")

    first = runner.invoke(app, ["services", "deploy", str(path)], env=settings_env)
    again = runner.invoke(app, ["services", "deploy", str(path)], env=settings_env)
    path.write_text("<definitions", encoding="utf-8")
    bad = runner.invoke(app, ["services", "deploy", str(path)], env=settings_env)

    assert first.output == "two_steps: deployed as version 1\n"
    assert again.output == "two_steps: unchanged, still version 1\n"
    assert bad.exit_code == 2  # bad input, as every command that reads a file
    assert bad.output.startswith(f"error: {path}:1: not well-formed XML")
