"""The knowledge base's editor: the government services office searches, adds, changes and
retires answers on its page; every change is a version with who and when; a saved answer
answers a matching request at once; anyone else gets 403, bad input a problem."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from builders import PASSWORD
from requests_world import NOW, World
from twonets.core.db import unit_of_work
from twonets.requests import service

Factory = sessionmaker[Session]
PAGE = "/requests/answers"
ENTRY = {
    "code": "kb-branch",
    "category": "ent-licence",
    "question": "分公司 设立 登记 需要 哪些 材料",
    "answer": "提交分公司登记申请书和总公司执照复印件。",
    "source": "《市场主体登记管理条例》",
}


def log_in(client: TestClient, username: str) -> None:
    """Log in through the form; the client keeps the cookie."""
    client.cookies.clear()
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def bearer(client: TestClient, username: str) -> dict[str, str]:
    token = client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _file(client: TestClient, world: World, text: str, category: str | None = None) -> dict:  # type: ignore[type-arg]
    body = {"description": text, **({"category": category} if category else {})}
    filed = client.post("/api/v1/requests", json=body, headers=bearer(client, world.firm.username))
    assert filed.status_code == 201, filed.text
    return filed.json()  # type: ignore[no-any-return]


def test_the_office_keeps_the_base_on_its_page_and_a_new_answer_answers_at_once(
    client: TestClient, app: FastAPI, world: World, session_factory: Factory
) -> None:
    app.state.clock = lambda: NOW
    with unit_of_work(session_factory) as session:
        seeded = service.load_seed_answers(session, now=NOW)
    log_in(client, world.hub.username)
    listed = client.get(PAGE)
    assert listed.status_code == 200
    assert listed.text.count('data-testid="answer"') == seeded
    searched = client.get(PAGE, params={"q": "数电票"})
    assert 0 < searched.text.count('data-testid="answer"') < seeded
    assert "kb-tax-invoice-quota" in searched.text
    by_category = client.get(PAGE, params={"category": "ent-trade"})
    assert "kb-trade-export-rebate" in by_category.text
    assert "kb-tax-invoice-quota" not in by_category.text
    assert "/requests/answers" in client.get("/").text  # in the office's menu

    # Not in Chinese, or a bad code: refused with the form's words, nothing written.
    english = client.post(f"{PAGE}/new", data={**ENTRY, "answer": "Bring the forms."})
    assert english.status_code == 422
    assert "Write the answer in Chinese." in english.text
    assert "分公司 设立 登记" in english.text  # what was typed stays
    bad_code = client.post(f"{PAGE}/new", data={**ENTRY, "code": "KB Branch!"})
    assert bad_code.status_code == 422
    assert "lower-case letters, digits and hyphens" in bad_code.text
    with session_factory() as session:
        assert service.list_answers(session, text="分公司") == []

    created = client.post(
        f"{PAGE}/new",
        data={**ENTRY, "also_categories": ["ent-tax", "ent-licence"]},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == f"{PAGE}/kb-branch"
    page = client.get(f"{PAGE}/kb-branch").text
    assert page.count('data-testid="version"') == 1
    with session_factory() as session:
        row = service.get_answer(session, "kb-branch")
        assert service.categories_of(row) == ["ent-licence", "ent-tax"]
        assert row.updated_by_account_id == world.hub.account_id

    # A matching request is answered with it at once, in a further category too.
    first = _file(client, world, "分公司设立登记需要哪些材料？")
    assert (first["status"], first["answer_code"]) == ("answered", "kb-branch")
    assert first["answer_text"] == ENTRY["answer"]
    taxed = _file(client, world, "分公司设立登记需要哪些材料？", category="ent-tax")
    assert (taxed["answer_code"], taxed["category"]) == ("kb-branch", "ent-tax")

    # A change is a new version, and the next request gets the new text.
    log_in(client, world.hub.username)
    changed = client.post(
        f"{PAGE}/kb-branch",
        data={**ENTRY, "answer": "提交分公司登记申请书、总公司执照复印件和负责人任职文件。"},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    page = client.get(f"{PAGE}/kb-branch").text
    assert page.count('data-testid="version"') == 2
    assert world.hub.display_name in page
    second = _file(client, world, "分公司设立登记需要哪些材料？")
    assert second["answer_text"].endswith("负责人任职文件。")

    # Retired: no request is answered with it; it is listed only on request; restored.
    log_in(client, world.hub.username)
    assert client.post(f"{PAGE}/kb-branch/retire", follow_redirects=False).status_code == 303
    assert "kb-branch" not in client.get(PAGE).text
    assert "kb-branch" in client.get(PAGE, params={"withdrawn": "true"}).text
    assert _file(client, world, "分公司设立登记需要哪些材料？")["status"] == "assigned"
    log_in(client, world.hub.username)
    assert client.post(f"{PAGE}/kb-branch/restore", follow_redirects=False).status_code == 303
    assert _file(client, world, "分公司设立登记需要哪些材料？")["status"] == "answered"
    with session_factory() as session:
        versions = service.answer_versions(session, world.hub, "kb-branch")
    assert [v.action for v in versions] == ["restore", "retire", "change", "create"]
    assert [v.version for v in versions] == [4, 3, 2, 1]


def test_only_the_office_edits_and_bad_input_is_a_problem(
    client: TestClient, app: FastAPI, world: World
) -> None:
    app.state.clock = lambda: NOW
    for who in (world.market_huangpu, world.dispatcher, world.greening):
        log_in(client, who.username)
        assert client.get(PAGE).status_code == 403, who.username
        assert client.get(f"{PAGE}/new").status_code == 403
        assert client.post(f"{PAGE}/new", data=ENTRY).status_code == 403
        assert "/requests/answers" not in client.get("/").text
    log_in(client, world.firm.username)
    assert client.get(PAGE).status_code == 403
    hub = bearer(client, world.hub.username)
    api = "/api/v1/requests/answers"
    bad = client.post(api, json={**ENTRY, "category": "ent-nothing"}, headers=hub)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "category"
    also = client.post(api, json={**ENTRY, "also_categories": ["E0102"]}, headers=hub)
    assert also.status_code == 422
    assert also.json()["errors"][0]["field"] == "also_categories"
    created = client.post(api, json={**ENTRY, "also_categories": ["ent-tax"]}, headers=hub)
    assert created.status_code == 201, created.text
    assert created.json()["also_categories"] == ["ent-tax"]
    english = client.patch(f"{api}/kb-branch", json={"question": "what forms"}, headers=hub)
    assert english.status_code == 422
    assert english.json()["errors"][0]["field"] == "question"
    others = bearer(client, world.market_city.username)
    assert client.get(f"{api}/kb-branch/versions", headers=others).status_code == 403
    assert (
        client.patch(f"{api}/kb-branch", json={"active": False}, headers=others).status_code == 403
    )
    versions = client.get(f"{api}/kb-branch/versions", headers=hub).json()
    assert [(v["version"], v["action"]) for v in versions] == [(1, "create")]
    assert versions[0]["categories"] == ["ent-licence", "ent-tax"]
