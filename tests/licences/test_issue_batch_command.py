"""``twonets licences issue-batch``: a clerk loads a register file; a refused batch names the
line and writes nothing of it; a clerk of the wrong department is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from builders import create_citizen, create_staff, next_id_number
from twonets.cli import app
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.ids import make_credit_code
from twonets.core.models import DepartmentLevel
from twonets.licences.models import Licence
from twonets.trust import service as trust

runner = CliRunner()
SECRET = "s" * 40
T = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _setup(session_factory: sessionmaker[Session]) -> list[str]:
    with unit_of_work(session_factory) as session:
        trust.ensure_issuing_region(session, region="SH", root_secret=SECRET.encode(), now=T)
        for code, function, body, clerk in (
            ("sh.police", "police", "00240001", "police.clerk"),
            ("sh.market", "market-regulation", "00240002", "market.clerk"),
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
                ),
            )
            department = core_service.get_department(session, code)
            create_staff(session, username=clerk, department=department)
        numbers = []
        for i in range(5):
            number = next_id_number(birth=date(1970 + i, 1, 2))
            create_citizen(session, id_number=number, name=f"居民{i}")
            numbers.append(number)
    return numbers


def _line(number: str, **overrides: str) -> str:
    claims = {
        "name": "居民",
        "id_number": number,
        "sex": "female" if int(number[16]) % 2 == 0 else "male",
        "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
        "address": "上海市黄浦区人民大道200号",
        "photo_hash": hashlib.sha256(number.encode()).hexdigest(),
        **overrides,
    }
    return json.dumps({"type": "ID", "claims": claims, "valid_from": "2024-03-01"})


def _count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(Licence)) or 0


def test_a_clerk_loads_a_file_in_batches_and_a_bad_line_is_named(
    engine: Engine, session_factory: sessionmaker[Session], migrated_url: str, tmp_path: Path
) -> None:
    numbers = _setup(session_factory)
    env = {"TWONETS_DATABASE_URL": migrated_url, "TWONETS_SECRET_KEY": SECRET}
    path = tmp_path / "register.jsonl"
    lines = [_line(n) for n in numbers]
    lines[3] = _line(numbers[3], sex="x")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["licences", "issue-batch", "--as", "police.clerk", "--batch-size", "2", str(path)]

    refused = runner.invoke(app, args, env=env)
    assert refused.exit_code == 1
    assert "the batch from line 3 is refused" in refused.output
    assert "line 4: claims.sex" in refused.output
    assert _count(session_factory) == 2  # the first batch (lines 1 and 2) was issued

    path.write_text("\n".join(_line(n) for n in numbers[2:]) + "\n", encoding="utf-8")
    done = runner.invoke(app, args, env=env)
    assert done.exit_code == 0, done.output
    assert "issued 3 licences" in done.output
    with session_factory() as session:
        numbers_issued = sorted(session.scalars(select(Licence.number)))
    assert numbers_issued == [1, 2, 3, 4, 5]


def test_a_clerk_of_another_department_or_a_bad_line_is_refused(
    engine: Engine, session_factory: sessionmaker[Session], migrated_url: str, tmp_path: Path
) -> None:
    numbers = _setup(session_factory)
    env = {"TWONETS_DATABASE_URL": migrated_url, "TWONETS_SECRET_KEY": SECRET}
    path = tmp_path / "register.jsonl"
    path.write_text(_line(numbers[0]) + "\n", encoding="utf-8")
    market = runner.invoke(
        app, ["licences", "issue-batch", "--as", "market.clerk", str(path)], env=env
    )
    assert market.exit_code == 1
    assert "issued by police departments" in market.output
    path.write_text(_line(numbers[0]) + "\n{not json\n", encoding="utf-8")
    broken = runner.invoke(
        app, ["licences", "issue-batch", "--as", "police.clerk", str(path)], env=env
    )
    # A broken file is refused whole before anything is issued: exit 2, file and line named.
    assert broken.exit_code == 2
    assert "register.jsonl: line 2" in broken.output
    assert _count(session_factory) == 0
