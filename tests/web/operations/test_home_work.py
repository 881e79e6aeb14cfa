"""Each role's start page counts what waits for it first, each figure linking to the work."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from builders import PASSWORD
from operations.cases.test_api import patrol
from operations.conftest import Login

WAITING = re.compile(r'<h3><a href="(?P<href>[^"]+)">(?P<n>\d+)</a></h3>\s*<p>(?P<label>[^<]+)</p>')


def log_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303


def _waiting(client: TestClient) -> dict[str, tuple[int, str]]:
    page = client.get("/").text
    if 'data-testid="waiting-work"' not in page:
        return {}
    section = page.split('data-testid="waiting-work"', 1)[1].split("</section>", 1)[0]
    return {m["label"]: (int(m["n"]), m["href"]) for m in WAITING.finditer(section)}


def test_each_role_s_start_page_counts_its_own_work(
    client: TestClient, people: dict[str, str], login: Login
) -> None:
    log_in(client, people["operator"])
    before = _waiting(client)
    assert set(before) == {"reports to file", "cases to dispatch"}
    assert {href for _, href in before.values()} == {"/ops"}

    taken = client.post("/api/v1/ops/intake", json=patrol(), headers=login("operator"))
    assert taken.status_code in (200, 201), taken.text
    after = _waiting(client)
    assert sum(n for n, _ in after.values()) == sum(n for n, _ in before.values()) + 1

    log_in(client, people["field"])
    assert set(_waiting(client)) == {"tasks for your department"}
    log_in(client, people["supervisor"])
    assert _waiting(client) == {"cases to verify on site": (0, "/ops/verification")}
    for nobody_waits in ("resident", "staff"):
        log_in(client, people[nobody_waits])
        assert _waiting(client) == {}
