"""The scan route's own shortcuts keep its answers: the login judged first, the roles, the JSON.

The scanner's login is confirmed by the scan's first statement, so it is judged before the
input (a revoked token is 401 even with an empty code). The route's access check passes a
login this process already knows without a thread-pool hop, and goes to the database for a
login it does not know or one missing the role (a role granted moments ago counts). The
answer is written by ``ScanOut`` in the route itself: the same bytes FastAPI would write.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update

from codes.test_api import _auth, _code, api
from codes.world import T, World
from twonets.codes.models import ScanRecord
from twonets.codes.schemas import ScanOut
from twonets.core.models import AccountRole, AuthToken, Role

__all__ = ["api"]


def _scan(client: TestClient, headers: dict[str, str], text: str, place: str = "east gate"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/codes/scans", json={"code": text, "place": place}, headers=headers)


def _scans(world: World) -> int:
    with world.session() as session:
        return int(session.scalar(select(func.count()).select_from(ScanRecord)) or 0)


def test_a_revoked_login_is_refused_before_the_input_is_judged(
    api: TestClient, world: World
) -> None:
    library = _auth(api, world.library.username)
    with world.session() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.account_id == world.library.account_id)
            .values(revoked_at=T)
        )
    refused = _scan(api, library, "", place="")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_an_account_without_a_scanning_role_is_refused_and_nothing_is_kept(
    api: TestClient, world: World
) -> None:
    text = _code(api, world.resident.username)
    admin = _auth(api, world.admin.username)
    assert api.get("/api/v1/me", headers=admin).status_code == 200  # the login is remembered
    refused = _scan(api, admin, text)
    assert refused.status_code == 403
    assert "verifier" in refused.json()["detail"]
    assert _scans(world) == 0


def test_a_role_granted_moments_ago_counts_for_a_remembered_login(
    api: TestClient, world: World
) -> None:
    with world.session() as session:
        session.execute(
            delete(AccountRole).where(AccountRole.account_id == world.library.account_id)
        )
    library = _auth(api, world.library.username)
    text = _code(api, world.resident.username)
    assert _scan(api, library, text).status_code == 403  # remembered without the role now
    with world.session() as session:
        session.add(AccountRole(account_id=world.library.account_id, role=Role.VERIFIER))
    admitted = _scan(api, library, text)
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["admit"] is True


def test_the_answer_is_written_as_the_response_model_writes_it(
    api: TestClient, world: World
) -> None:
    library = _auth(api, world.library.username)
    text = _code(api, world.resident.username)
    first = _scan(api, library, text)
    repeat = _scan(api, library, text)
    elsewhere = _scan(api, library, text, place="west gate")
    for answer in (first, repeat, elsewhere):
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == ScanOut.model_validate(answer.json()).model_dump_json().encode()
    assert repeat.json()["repeat_of"]["scan_id"] == first.json()["scan_id"]
    assert repeat.json()["repeat_of"]["scanned_at"].endswith("Z")
    assert elsewhere.json()["reason"] == "replay"
    assert _scans(world) == 2
