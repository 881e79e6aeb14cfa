"""The requests pages: an enterprise files through the form and follows only its own requests."""

from __future__ import annotations

import io

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from builders import PASSWORD
from requests_world import NOW, World


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def test_a_firm_files_through_the_form_and_reads_where_it_went(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    log_in(client, world.firm.username)
    form = client.get("/requests/new")
    assert form.status_code == 200
    assert 'name="description"' in form.text
    # An empty request keeps what was typed and speaks the form's own labels.
    empty = client.post(
        "/requests/new", data={"category": "ent-licence", "description": "", "address": "人民路1号"}
    )
    assert empty.status_code == 422
    assert "Describe your request in the box “Your request”." in empty.text
    assert "人民路1号" in empty.text
    sent = client.post(
        "/requests/new",
        data={"category": "ent-licence", "description": "营业执照变更一直在审核中"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    page = client.get(sent.headers["location"])
    assert page.status_code == 200
    assert "Routed to a department" in page.text
    assert "部门t.310101.market" in page.text
    listed = client.get("/requests")
    assert "营业执照" not in listed.text  # the list shows numbers, not texts
    assert sent.headers["location"] in listed.text
    message = client.post(
        sent.headers["location"] + "/messages", data={"body": "请问进度？"}, follow_redirects=True
    )
    assert "请问进度？" in message.text

    # Another firm sees none of it.
    log_in(client, world.other_firm.username)
    assert client.get(sent.headers["location"]).status_code == 403
    assert sent.headers["location"] not in client.get("/requests").text


def test_the_pages_speak_chinese_by_default(client: TestClient, world: World) -> None:
    log_in(client, world.firm.username)
    page = client.get("/requests", headers={"Accept-Language": "zh-CN"})
    assert "我的诉求" in page.text
    assert "提交诉求" in page.text


def test_residents_see_their_reports_but_file_requests_only_as_enterprises(
    client: TestClient, world: World
) -> None:
    log_in(client, world.resident.username)
    assert client.get("/requests").status_code == 200
    assert client.get("/requests/new").status_code == 403


def test_the_form_files_with_a_photo_and_urgency_or_nothing_at_all(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    log_in(client, world.firm.username)
    photo = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 90, 200)).save(photo, format="PNG")
    fields = {"category": "ent-licence", "description": "营业执照变更材料照片", "urgency": "urgent"}
    # Not a photo: nothing is filed, the form says what to attach and keeps what was typed.
    wrong = client.post(
        "/requests/new",
        data=fields,
        files={"attachment": ("scan.png", b"<html></html>", "image/png")},
    )
    assert wrong.status_code == 415
    assert "Attach a photo (JPEG, PNG, WebP) or a PDF of at most 5 MB." in wrong.text
    assert "营业执照变更材料照片" in wrong.text
    # The firm still has no request.
    api_token = client.post(
        "/api/v1/auth/token", json={"username": world.firm.username, "password": PASSWORD}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert client.get("/api/v1/requests", headers=bearer).json() == []
    sent = client.post(
        "/requests/new",
        data=fields,
        files={"attachment": ("材料.png", photo.getvalue(), "image/png")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    request_id = sent.headers["location"].rsplit("/", 1)[-1]
    filed = client.get(f"/api/v1/requests/{request_id}", headers=bearer).json()
    assert filed["urgency"] == "urgent"
    kept = client.get(f"/api/v1/requests/{request_id}/attachments", headers=bearer).json()
    assert [(a["name"], a["content_type"]) for a in kept] == [("材料.png", "image/png")]
