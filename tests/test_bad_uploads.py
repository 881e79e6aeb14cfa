"""Bad uploads: every API route that takes a file answers a broken one with a 4xx problem.

The corpus of tests/test_bad_files.py (empty, binary, UTF-16, GBK, huge, truncated, wrong
types, missing columns, Parquet junk) is posted to each upload route of the API; each answer
must be a 4xx ``application/problem+json`` naming the file, never a 500 and nothing half
written. ``UPLOADS`` lists the routes; the first test reads the OpenAPI document and fails
when a route with a multipart body is neither in ``UPLOADS`` nor in ``TESTED_ELSEWHERE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from builders import NOW, create_staff
from test_bad_files import Corpus, Reader, corpus
from twonets.core import auth
from twonets.core import service as core_service
from twonets.core.db import unit_of_work
from twonets.core.models import DepartmentLevel, Role
from twonets.operations.bikes.models import BikeTrip
from twonets.operations.bikes.trips import SNAPSHOT_COLUMNS, TRIP_COLUMNS
from twonets.operations.rentals.data import HOUSEHOLD_COLUMNS
from twonets.operations.rentals.models import Household


@dataclass(frozen=True)
class Upload:
    """An upload route: who may call it, its file field, the format, the table it fills."""

    path: str
    who: str
    field: str
    reader: Reader
    table: Callable[[], type] | None = None


def _reader(fmt: str, columns: tuple[str, ...]) -> Reader:
    return Reader("", (), lambda f: [], fmt, columns)


UPLOADS = [
    Upload("/api/v1/ops/rentals/import", "housing", "households",
           _reader("table", HOUSEHOLD_COLUMNS), lambda: Household),
    Upload("/api/v1/ops/bikes/trips", "operator", "file", _reader("table", TRIP_COLUMNS),
           lambda: BikeTrip),
    Upload("/api/v1/ops/bikes/snapshots", "operator", "file",
           _reader("table", SNAPSHOT_COLUMNS)),
]  # fmt: skip
# Uploads whose files are not parsed as data, and where their checks are tested.
TESTED_ELSEWHERE = {
    "/api/v1/requests/{request_id}/attachments": "kept as given after a type and size check "
    "(tests/requests/test_attachments.py)",
    "/api/v1/ops/cases/{case_id}/feedback": "photos are checked as images and their size "
    "(tests/operations/cases/test_api.py)",
    "/api/v1/services/applications/{application_id}/materials/{item}": "kept as given after "
    "core.uploads' type and size check (tests/services/test_materials.py)",
}


# The pages' uploads (forms, not the API), and the tests that post broken files to them.
PAGE_UPLOADS = {
    "/verify": "the photo corpus (tests/web/test_licence_pages.py)",
    "/code/scan": "the photo corpus (tests/web/codes/test_gate.py)",
    "/ops/report": "the photo corpus (tests/web/operations/test_pages.py)",
    "/ops/tasks/{case_id}/feedback": "photos are checked as images by the same rule as the "
    "report's (tests/web/operations/test_pages.py)",
    "/requests/new": "attachments by type and size (tests/requests/test_pages.py)",
    "/requests/{request_id}/files": "attachments (tests/requests/test_request_files_pages.py)",
    "/requests/work/{request_id}/files": "attachments (tests/requests/test_request_files_pages.py)",
}


def test_every_page_upload_has_its_broken_files_tested(app: FastAPI) -> None:
    found = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.include_in_schema:
            continue
        dependant = getattr(context, "dependant", None) or route.dependant
        if any("UploadFile" in repr(p.field_info.annotation) for p in dependant.body_params):
            found.add(str(context.path))
    assert {"/verify", "/code/scan"} <= found, "the walk must see the pages' uploads"
    assert found - set(PAGE_UPLOADS) == set(), "page uploads without broken files tested"
    assert set(PAGE_UPLOADS) - found == set(), "entries for pages that take no upload"


def test_every_upload_route_has_a_corpus(app: FastAPI) -> None:
    schema = app.openapi()
    found = {
        path
        for path, item in schema["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict)
        and "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
    }
    listed = {u.path for u in UPLOADS} | set(TESTED_ELSEWHERE)
    assert found - listed == set(), "upload routes without a bad-file corpus"
    assert listed - found == set(), "corpus entries for routes that take no upload"


@pytest.fixture
def tokens(session_factory: sessionmaker[Session]) -> dict[str, str]:
    found = {}
    with unit_of_work(session_factory) as session:
        for who, function, roles in (
            ("housing", "housing", (Role.STAFF,)),
            ("operator", "operations", (Role.OPERATOR, Role.STAFF)),
        ):
            department = core_service.create_department(
                session, code=f"sh.{function}", name=function, name_en=function,
                function=function, level=DepartmentLevel.CITY, region_code="SH",
            )  # fmt: skip
            account = create_staff(session, department=department, roles=roles)
            found[who] = auth.issue_token(session, account, now=NOW, ttl=timedelta(days=3650))
    return found


def _cases() -> list[object]:
    cases = []
    for upload in UPLOADS:
        items: Corpus = corpus(upload.reader)
        for kind, name, data in items:
            cases.append(pytest.param(upload, name, data, id=f"{upload.path}: {kind}"))
    return cases


@pytest.mark.parametrize(("upload", "name", "data"), _cases())
def test_a_broken_upload_is_a_problem_naming_the_file(
    upload: Upload,
    name: str,
    data: bytes,
    client: TestClient,
    tokens: dict[str, str],
    session_factory: sessionmaker[Session],
) -> None:
    answer = client.post(
        upload.path,
        files={upload.field: (name, data, "application/octet-stream")},
        headers={"Authorization": f"Bearer {tokens[upload.who]}"},
    )
    assert 400 <= answer.status_code < 500, answer.text[:500]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert name in answer.text, f"does not name the file: {answer.text[:300]}"
    if upload.table is not None:
        with session_factory() as session:
            table = upload.table()
            assert session.scalar(select(func.count()).select_from(table)) == 0
