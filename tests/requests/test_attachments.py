"""Uploaded attachments: kept by content hash under the var directory, sniffed, limited,
and served only to those who may see the request."""

from __future__ import annotations

import hashlib
import io

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from builders import PASSWORD
from requests_world import NOW, World
from twonets.requests import service
from twonets.requests.service.attachments import sniff

API = "/api/v1/requests"


def login(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_a_photo_is_kept_by_hash_and_served_only_to_those_who_see_the_request(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    firm = login(client, world.firm.username)
    filed = client.post(
        API, json={"category": "ent-licence", "description": "分公司设立登记材料"}, headers=firm
    ).json()
    url = f"{API}/{filed['id']}/attachments"
    photo = _png()
    # Declared as a text file by a careless client: the content decides.
    sent = client.post(url, files={"file": ("../../现场.txt", photo, "text/plain")}, headers=firm)
    assert sent.status_code == 201, sent.text
    kept = sent.json()
    assert kept["content_type"] == "image/png"
    assert kept["size"] == len(photo)
    assert kept["name"] == "现场.txt"
    digest = hashlib.sha256(photo).hexdigest()
    assert kept["sha256"] == digest
    path = service.attachment_dir(app.state.settings.var_dir) / digest[:2] / digest
    assert path.read_bytes() == photo

    # A retried upload keeps nothing twice.
    retried = client.post(url, files={"file": ("again.png", photo, "image/png")}, headers=firm)
    assert retried.status_code == 201
    assert retried.json()["id"] == kept["id"]
    got = client.get(f"{url}/{kept['id']}", headers=firm)
    assert got.status_code == 200
    assert got.content == photo
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    district = login(client, world.market_huangpu.username)
    assert client.get(f"{url}/{kept['id']}", headers=district).status_code == 200
    assert [a["id"] for a in client.get(url, headers=district).json()] == [kept["id"]]
    # The department adds its own file (a PDF).
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    added = client.post(
        url, files={"file": ("reply.pdf", pdf, "application/pdf")}, headers=district
    )
    assert added.status_code == 201, added.text
    assert added.json()["content_type"] == "application/pdf"

    for who in (world.other_firm, world.market_city):
        other = login(client, who.username)
        assert client.get(f"{url}/{kept['id']}", headers=other).status_code == 403
        assert client.get(url, headers=other).status_code == 403
        refused = client.post(url, files={"file": ("x.png", photo, "image/png")}, headers=other)
        assert refused.status_code == 403
    assert client.get(f"{url}/{kept['id']}").status_code == 401


def test_too_large_and_wrong_kind_are_problems(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    firm = login(client, world.firm.username)
    filed = client.post(
        API, json={"category": "ent-licence", "description": "分公司设立登记材料"}, headers=firm
    ).json()
    url = f"{API}/{filed['id']}/attachments"
    big = _png() + b"\0" * service.MAX_BYTES
    too_large = client.post(url, files={"file": ("big.png", big, "image/png")}, headers=firm)
    assert too_large.status_code == 413
    assert too_large.headers["content-type"].startswith("application/problem+json")
    assert too_large.json()["type"].endswith("/attachment-too-large")
    assert too_large.json()["field"] == "file"
    page = b"<html><script>alert(1)</script></html>"
    wrong = client.post(url, files={"file": ("photo.png", page, "image/png")}, headers=firm)
    assert wrong.status_code == 415
    assert wrong.json()["type"].endswith("/unsupported-attachment-type")
    assert "JPEG" in wrong.json()["detail"]
    assert client.get(url, headers=firm).json() == []


@given(st.binary(max_size=64))
def test_sniffing_accepts_only_the_allowed_kinds(data: bytes) -> None:
    try:
        found = sniff(data)
    except service.UnsupportedAttachment:
        return
    assert found in service.ALLOWED_TYPES


def test_a_png_is_sniffed_as_png() -> None:
    assert sniff(_png()) == "image/png"
    with pytest.raises(service.UnsupportedAttachment):
        sniff(b"GIF89a" + b"\0" * 20)
