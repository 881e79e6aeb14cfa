"""The group-rental page: the district's leads with reasons in Chinese, refer and set aside."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import PASSWORD

from .conftest import Housing


def _log_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/ops/rentals"},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_the_district_works_its_leads_on_the_page(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.pudong.username)
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops/rentals")
    assert page.status_code == 200
    assert "群租线索" in page.text
    assert "倍，持续" in page.text  # the reasons, in the page's language
    assert "310104" not in page.text
    first = re.search(r'action="/ops/rentals/leads/(\d+)/refer"', page.text)
    assert first is not None
    sent = client.post(
        f"/ops/rentals/leads/{first[1]}/refer", data={"note": "本周核查"}, follow_redirects=True
    )
    assert sent.status_code == 200
    assert "线索已派发核查" in sent.text
    second = re.search(r'action="/ops/rentals/leads/(\d+)/dismiss"', sent.text)
    assert second is not None
    kept = client.post(f"/ops/rentals/leads/{second[1]}/dismiss", data={"note": " "})
    assert kept.status_code == 422


def test_other_departments_get_403_on_the_page(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.other.username)
    assert client.get("/ops/rentals").status_code == 403
    assert client.post(f"/ops/rentals/leads/{leads[0]}/refer", data={}).status_code == 403
