"""The request pages show files and deliveries: the filer uploads from the page, the filer and
the department holding the request download, nobody else does; the filer reads what became
of each e-mail and text message (sent, waiting, failed with the reason)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD, purpose_for_function
from requests_world import NOW, World, fixed
from twonets.core.db import unit_of_work
from twonets.core.sms import FileSms
from twonets.requests import service
from twonets.requests.outlets import Outlets, SmtpMail
from twonets.requests.schemas import NewRequest

Factory = sessionmaker[Session]


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 90, 0)).save(out, format="PNG")
    return out.getvalue()


def _file(factory: Factory, world: World, **fields: object) -> int:
    with unit_of_work(factory) as session:
        row = service.submit_request(
            session,
            service.Filer(principal=world.firm),
            NewRequest(category="ent-licence", description="营业执照变更材料", **fields),  # type: ignore[arg-type]
            now=NOW,
            classify=fixed("ent-tax", 0.3),
        )
        return row.id


def test_files_are_uploaded_from_the_page_and_fetched_only_by_filer_and_holder(
    client: TestClient, app: FastAPI, world: World, session_factory: Factory
) -> None:
    app.state.clock = lambda: NOW
    request_id = _file(session_factory, world)
    page = f"/requests/{request_id}"
    log_in(client, world.firm.username)
    assert 'data-testid="file-form"' in client.get(page).text
    # Not a photo: refused with the form's words, nothing kept.
    wrong = client.post(f"{page}/files", files={"file": ("a.png", b"<html></html>", "image/png")})
    assert wrong.status_code == 415
    assert "Attach a photo (JPEG, PNG, WebP) or a PDF of at most 5 MB." in wrong.text
    assert 'data-testid="attachment"' not in wrong.text
    photo = _photo()
    sent = client.post(
        f"{page}/files", files={"file": ("现场.png", photo, "image/png")}, follow_redirects=False
    )
    assert sent.status_code == 303, sent.text
    shown = client.get(page).text
    assert "现场.png" in shown
    with session_factory() as session:
        (kept,) = service.list_attachments(session, world.firm, request_id)
    link = f"{page}/files/{kept.id}"
    assert link in shown
    fetched = client.get(link)
    assert fetched.status_code == 200
    assert fetched.content == photo
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.headers["x-content-type-options"] == "nosniff"

    # Another enterprise, another department and a dispatcher: 403.
    for other in (world.other_firm, world.greening, world.market_city, world.dispatcher):
        log_in(client, other.username)
        assert client.get(link).status_code == 403, other.username
    # A dispatcher sees the request and its list of files, not the files themselves.
    token = client.post(
        "/api/v1/auth/token", json={"username": world.dispatcher.username, "password": PASSWORD}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    api = f"/api/v1/requests/{request_id}/attachments"
    assert [a["id"] for a in client.get(api, headers=bearer).json()] == [kept.id]
    assert client.get(f"{api}/{kept.id}", headers=bearer).status_code == 403

    # The department holding it sees the file on its page, fetches it and adds one.
    log_in(client, world.market_huangpu.username)
    staff_page = client.get(f"/requests/work/{request_id}").text
    assert link in staff_page
    assert client.get(link).content == photo
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    wrong = client.post(
        f"/requests/work/{request_id}/files", files={"file": ("a.pdf", b"MZ\x90\x00", "x/y")}
    )
    assert wrong.status_code == 415
    assert "Attach a photo (JPEG, PNG, WebP) or a PDF of at most 5 MB." in wrong.text
    added = client.post(
        f"/requests/work/{request_id}/files",
        files={"file": ("回复函.pdf", pdf, "application/pdf")},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    with session_factory() as session:
        names = [a.name for a in service.list_attachments(session, world.firm, request_id)]
    assert names == ["现场.png", "回复函.pdf"]
    # Another department may neither see the page nor add a file.
    log_in(client, world.greening.username)
    assert client.get(f"/requests/work/{request_id}").status_code == 403
    refused = client.post(
        f"/requests/work/{request_id}/files", files={"file": ("x.pdf", pdf, "application/pdf")}
    )
    assert refused.status_code == 403
    # And another firm may not add one to the filer's request.
    log_in(client, world.other_firm.username)
    assert (
        client.post(f"{page}/files", files={"file": ("y.png", photo, "image/png")}).status_code
        == 403
    )


def test_the_filer_reads_what_became_of_each_email_and_text(
    client: TestClient, app: FastAPI, world: World, session_factory: Factory, tmp_path: Path
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        purpose_for_function(
            session,
            code=service.NOTIFY_PURPOSE,
            name="notifying filers",
            owner="t.services",
            function="market-regulation",
            dataset=service.CONTACT_DATASET,
            fields={"request_id": "keep", "email": "keep"},
            since=NOW - timedelta(days=30),
        )
    request_id = _file(session_factory, world, contact_email="li.si@example.com")
    with unit_of_work(session_factory) as session:
        service.accept_request(session, world.market_huangpu, request_id, now=NOW)
    page = f"/requests/{request_id}"
    log_in(client, world.firm.username)
    waiting = client.get(page).text
    assert waiting.count('data-status="pending"') == 2
    assert "Waiting to be sent" in waiting
    # Nothing listens on this port: the mail server refuses, and after three tries it fails.
    outlets = Outlets(
        mail=SmtpMail("127.0.0.1", 9, "a@b.c", timeout=2), sms=FileSms(tmp_path / "s")
    )
    for _ in range(service.MAX_ATTEMPTS):
        with unit_of_work(session_factory) as session:
            service.deliver_pending(session, world.gov, outlets, now=NOW)
    shown = client.get(page).text
    assert shown.count('data-status="failed"') == 1
    assert "The mail or message server refused it:" in shown
    assert "ConnectionRefusedError" in shown
    # The policy grants no phone: the text was not sent, and the page says why.
    assert shown.count('data-status="skipped"') == 1
    assert "No address was given for it." in shown or "may not read the address" in shown
    zh = client.get(page, headers={"Accept-Language": "zh-CN"}).text
    assert "发送失败" in zh
    # Another firm sees none of it.
    log_in(client, world.other_firm.username)
    assert client.get(page).status_code == 403
