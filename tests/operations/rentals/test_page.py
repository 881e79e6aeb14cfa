"""The group-rental page: the district's leads with reasons in Chinese, refer and set aside."""

from __future__ import annotations

import html
import json
import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import PASSWORD
from twonets.operations.rentals import detection
from twonets.web import i18n
from twonets.web.operations import rentals as rentals_page

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


def test_the_page_maps_leads_per_district_and_charts_a_lead_against_its_building(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.pudong.username)
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops/rentals")
    counts = re.search(r'data-counts="([^"]*)"', page.text)
    assert counts is not None
    shown = json.loads(html.unescape(counts[1]))
    assert set(shown) == {"310115"}  # a district sees its own district only
    assert shown["310115"] > 0
    assert '<script src="/static/rentals.js"></script>' in page.text
    assert "逐月与本楼栋住户对比" in page.text
    assert 'href="/ops/rentals"' in page.text  # the menu entry
    history = re.search(r'data-history="(/ops/rentals/leads/(\d+)/history.json)"', page.text)
    assert history is not None
    months = client.get(history[1]).json()
    assert len(months) == 12
    assert set(months[0]) == {"month", "ratio", "low", "high"}
    # A lead's consumption reaches the page as ratios to the building's median only.
    top = max(months[-1]["ratio"].values())
    assert top > 2
    assert all(m["low"]["water"] <= 1 <= m["high"]["water"] for m in months)
    _log_in(client, housing.xuhui.username)
    assert client.get(history[1]).status_code == 403
    _log_in(client, housing.other.username)
    assert client.get(history[1]).status_code == 403


def test_thresholds_are_shown_with_their_effect_and_applied_on_the_page(
    client: TestClient, frozen_app: FastAPI, housing: Housing, leads: list[int]
) -> None:
    _log_in(client, housing.pudong.username)
    client.headers["Accept-Language"] = "zh-CN"
    page = client.get("/ops/rentals/thresholds")
    assert page.status_code == 200
    assert "群租检测阈值" in page.text
    assert page.text.count('aria-current="true"') == 1
    assert "使用中" in page.text
    applied = client.post(
        "/ops/rentals/thresholds",
        data={"high": "3.0", "agreement": "3", "min_score": "0.0"},
        follow_redirects=True,
    )
    assert applied.status_code == 200
    assert "新阈值将用于下一次检测" in applied.text
    current = re.search(
        r'<tr aria-current="true" class="rentals-current">\s*<td>([\d.]+)×</td><td>(\d)</td>',
        applied.text,
    )
    assert current is not None
    assert (current[1], current[2]) == ("3.0", "3")
    refused = client.post(
        "/ops/rentals/thresholds", data={"high": "0.1", "agreement": "1", "min_score": "0"}
    )
    assert refused.status_code == 422
    _log_in(client, housing.other.username)
    assert client.get("/ops/rentals/thresholds").status_code == 403
    assert client.post("/ops/rentals/thresholds", data={}).status_code == 403


def test_every_reason_is_worded_in_chinese_on_the_page() -> None:
    templates = [
        value
        for name, value in vars(detection).items()
        if name.startswith("REASON_") and isinstance(value, str)
    ]
    assert detection.REASON_PEOPLE_ONE_ROOM in templates
    assert set(templates) == set(rentals_page.REASON_TEXTS)
    chinese = i18n.translations("zh", "operations").gettext
    values = {
        "utility": "water",
        "ratio": "3.0",
        "months": "1",
        "people": "5",
        "registered": "1",
        "rooms": "1",
        "area": "30",
        "capacity": "2",
    }
    for template in templates:
        (shown,) = rentals_page.reasons_in([(template, values)], chinese)
        assert shown != template % values, template
        assert re.search(r"[\u4e00-\u9fff]", shown), shown
