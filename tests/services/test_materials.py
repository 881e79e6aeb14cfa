"""Material as files: a department returns a step, the applicant uploads what it asks (checked
by content, kept in the database), sends it, and the department downloads it; other
applicants and other departments get 403; a bad file is a problem naming the item."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from services.services_world import World, build_world
from twonets.core import uploads

ITEM = "charging_point_photo"


@pytest.fixture
def world(app: FastAPI, client: TestClient, session_factory: sessionmaker[Session]) -> World:
    return build_world(app, client, session_factory)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 160, 60)).save(out, format="PNG")
    return out.getvalue()


def _returned(world: World) -> tuple[dict[str, Any], int]:
    application = world.apply()
    task = world.step(application, "confirm_charging_point")
    world.ok("POST", f"/tasks/{task}/claim", "310101.operations")
    world.ok(
        "POST",
        f"/tasks/{task}/return",
        "310101.operations",
        json={"missing": [ITEM], "reason": "照片看不清充电桩编号"},
    )
    return application, task


def _upload(
    world: World, application: dict[str, Any], who: str, data: bytes, *, item: str = ITEM
) -> Any:
    return world.call(
        "POST",
        f"/applications/{application['id']}/materials/{item}",
        who,
        files={"file": ("../桩.png", data, "image/png")},
    )


def test_uploaded_material_goes_to_the_department_that_asked(world: World) -> None:
    application, task = _returned(world)
    photo = _png()
    sent = _upload(world, application, "resident", photo)
    assert sent.status_code == 201, sent.text
    kept = sent.json()
    assert (kept["item"], kept["content_type"], kept["size"]) == (ITEM, "image/png", len(photo))
    assert kept["file_name"] == "桩.png"
    # The same bytes again (a retried upload) are the same file.
    assert _upload(world, application, "resident", photo).json()["id"] == kept["id"]

    # No reference to type: the file answers the item.
    answered = world.ok(
        "POST", f"/applications/{application['id']}/material", "resident", json={"data": {}}
    )
    assert answered["status"] == "running"
    assert "material-uploaded" in [h["action"] for h in answered["history"]]

    [queued] = [t for t in world.ok("GET", "/tasks", "310101.operations") if t["id"] == task]
    assert [m["id"] for m in queued["materials"]] == [kept["id"]]
    download = world.call("GET", f"/materials/{kept['id']}", "310101.operations")
    assert download.status_code == 200
    assert download.content == photo
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    mine = world.ok("GET", f"/applications/{application['id']}/materials", "resident")
    assert [m["id"] for m in mine] == [kept["id"]]


def test_others_get_403(world: World) -> None:
    application, _ = _returned(world)
    kept = _upload(world, application, "resident", _png()).json()
    # Another resident neither uploads to it nor reads it.
    assert _upload(world, application, "other", _png()).status_code == 403
    assert world.call("GET", f"/materials/{kept['id']}", "other").status_code == 403
    # Another district's operations centre, and another function, get 403 too.
    for department in ("310104.operations", "sh.police", "js.police"):
        assert world.call("GET", f"/materials/{kept['id']}", department).status_code == 403
        listed = world.call("GET", f"/applications/{application['id']}/materials", department)
        assert listed.status_code == 403


def test_a_bad_file_is_refused_naming_the_item_and_nothing_is_kept(world: World) -> None:
    application, _ = _returned(world)
    text = _upload(world, application, "resident", b"just some text, not a photo")
    assert text.status_code == 415
    assert text.headers["content-type"].startswith("application/problem+json")
    assert text.json()["field"] == ITEM
    assert text.json()["detail"].startswith(f"{ITEM}:")

    big = _png() + b"\0" * uploads.MAX_BYTES
    too_large = _upload(world, application, "resident", big)
    assert too_large.status_code == 413
    assert too_large.json()["field"] == ITEM

    empty = _upload(world, application, "resident", b"")
    assert empty.status_code == 422

    unasked = _upload(world, application, "resident", _png(), item="vehicle_invoice")
    assert unasked.status_code == 422
    assert "vehicle_invoice" in unasked.json()["detail"]
    assert world.ok("GET", f"/applications/{application['id']}/materials", "resident") == []


def test_no_upload_when_nothing_is_asked(world: World) -> None:
    application = world.apply()
    assert _upload(world, application, "resident", _png()).status_code == 409
