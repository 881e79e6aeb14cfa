"""Yangtze River Delta recognition over the network: Jiangsu and Shanghai as two platforms on
two databases. Shanghai recognises Jiangsu by its anchor and URL, fetches its trust list and
status list over HTTP, verifies a Jiangsu licence online and offline, refuses it once Jiangsu
revokes it and the list is refreshed, and keeps verifying from its cache while Jiangsu is
down, until the list goes stale: then "cannot check revocation", never a pass."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest
from typer.testing import CliRunner

from builders import PASSWORD
from regions.world import Regions, bearer, two_regions
from twonets.cli import app as cli
from twonets.licences.cli import load_trust
from twonets.licences.verify import verify_credential


@pytest.fixture
def regions(tmp_path: Path) -> Iterator[Regions]:
    yield from two_regions(tmp_path)


def _bundle(regions: Regions, folder: Path) -> Path:
    answer = regions.sh.get("/api/v1/trust/bundle")
    assert answer.status_code == 200
    path = folder / "sh-bundle.json"
    path.write_text(answer.text, encoding="utf-8")
    return path


def test_a_jiangsu_licence_is_verified_in_shanghai_online_and_offline(
    regions: Regions, tmp_path: Path
) -> None:
    _, text = regions.issue_in_jiangsu()
    before = regions.verify_in_shanghai(text)
    assert before["valid"] is False
    assert before["step"] == "prefix"  # JS1: is no recognised region's prefix yet
    assert before["named_region"] == "JS"

    recognised = regions.recognise_jiangsu()
    assert recognised.status_code == 201, recognised.text

    online = regions.verify_in_shanghai(text)
    assert online["valid"] is True, online
    assert online["region"] == "JS"

    # Offline: Shanghai's bundle carries Jiangsu's anchor, list and its status list as kept.
    path = _bundle(regions, tmp_path)
    bundle = json.loads(path.read_text())
    assert "/api/v1/status-lists/JS" in bundle["status_lists"]
    offline = CliRunner().invoke(cli, ["licences", "verify", "--trust-list", str(path), text])
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.output)["valid"] is True


def test_a_licence_revoked_in_jiangsu_is_refused_in_shanghai_after_the_refresh(
    regions: Regions,
) -> None:
    licence_id, text = regions.issue_in_jiangsu()
    assert regions.recognise_jiangsu().status_code == 201
    assert regions.verify_in_shanghai(text)["valid"] is True

    regions.revoke_in_jiangsu(licence_id)
    # Within the list's ttl Shanghai still reads the list it fetched: the refresh time.
    assert regions.verify_in_shanghai(text)["valid"] is True

    # The administrator's refresh (the schedule does the same when the list is due).
    refreshed = regions.sh.post(
        "/api/v1/trust/remote-regions/refresh", headers=bearer(regions.sh, "sh.admin")
    )
    assert refreshed.status_code == 200
    assert refreshed.json() == {"JS": "ok"}
    verdict = regions.verify_in_shanghai(text)
    assert verdict["valid"] is False
    assert (verdict["step"], verdict["status"]) == ("status", "revoked")

    # On demand too: a second licence revoked is seen once the held list is past its ttl.
    second_id, second = regions.issue_in_jiangsu()
    regions.clock.advance(minutes=6)
    assert regions.verify_in_shanghai(second)["valid"] is True
    regions.revoke_in_jiangsu(second_id)
    regions.clock.advance(minutes=6)
    late = regions.verify_in_shanghai(second)
    assert (late["valid"], late["status"]) == (False, "revoked")


def test_with_jiangsu_down_shanghai_verifies_from_its_cache_until_the_list_goes_stale(
    regions: Regions, tmp_path: Path
) -> None:
    _, text = regions.issue_in_jiangsu()
    assert regions.recognise_jiangsu().status_code == 201
    assert regions.verify_in_shanghai(text)["valid"] is True
    regions.js.stop()
    with pytest.raises(httpx.HTTPError):
        httpx.get(regions.js.url + "/healthz", timeout=1)

    regions.clock.advance(minutes=40)  # past the ttl: a refetch is tried, fails, cache used
    cached = regions.verify_in_shanghai(text)
    assert cached["valid"] is True, cached
    admin = bearer(regions.sh, "sh.admin")
    [facts] = regions.sh.get("/api/v1/trust/remote-regions", headers=admin).json()
    assert facts["region"] == "JS"
    assert "cannot be reached" in facts["last_error"]
    assert facts["stale_documents"] == 0
    path = _bundle(regions, tmp_path)  # the offline bundle still carries the list kept

    regions.clock.advance(minutes=30)  # the status list (one hour) has expired
    stale = regions.verify_in_shanghai(text)
    assert stale["valid"] is False
    assert (stale["step"], stale["status"]) == ("status", "unknown")
    assert stale["detail"].startswith("cannot check revocation")
    assert "went stale" in stale["detail"]
    [facts] = regions.sh.get("/api/v1/trust/remote-regions", headers=admin).json()
    assert facts["stale_documents"] == 1

    # Offline, the same: the bundle's list verifies until it expires, then no pass.
    store, status_of = load_trust([path], regions.clock() - timedelta(minutes=30))
    fresh = verify_credential(text, store=store, at=regions.clock(), status_of=status_of)
    assert fresh.valid is True
    store, status_of = load_trust([path], regions.clock())
    offline = verify_credential(text, store=store, at=regions.clock(), status_of=status_of)
    assert offline.valid is False
    assert offline.detail.startswith("cannot check revocation")
    assert _bundle(regions, tmp_path).read_text().count("status-lists/JS") == 0


def test_only_an_administrator_recognises_and_refreshes_another_region(
    regions: Regions,
) -> None:
    body = {"region": "JS", "url": regions.js.url, "anchor": "x" * 40}
    for username in ("sh.clerk", "sh.verifier"):
        headers = bearer(regions.sh, username)
        refused = regions.sh.post("/api/v1/trust/remote-regions", json=body, headers=headers)
        assert refused.status_code == 403
        again = regions.sh.post("/api/v1/trust/remote-regions/refresh", headers=headers)
        assert again.status_code == 403
        listed = regions.sh.get("/api/v1/trust/remote-regions", headers=headers)
        assert listed.status_code == 403


def test_a_wrong_anchor_or_an_unreachable_url_recognises_nothing(regions: Regions) -> None:
    admin = bearer(regions.sh, "sh.admin")
    from regions.world import anchor_of

    own = anchor_of(regions.sh_app, "SH")  # not Jiangsu's anchor
    body = {"region": "JS", "url": regions.js.url, "anchor": own}
    wrong = regions.sh.post("/api/v1/trust/remote-regions", json=body, headers=admin)
    assert wrong.status_code in (400, 403, 422), wrong.text
    assert wrong.headers["content-type"].startswith("application/problem+json")
    body = {"region": "JS", "url": "ftp://js.example", "anchor": anchor_of(regions.js_app, "JS")}
    bad_url = regions.sh.post("/api/v1/trust/remote-regions", json=body, headers=admin)
    assert bad_url.status_code == 422
    assert bad_url.json()["errors"][0]["field"] == "url"
    regions.js.stop()
    body["url"] = regions.js.url
    down = regions.sh.post("/api/v1/trust/remote-regions", json=body, headers=admin)
    assert down.status_code == 503
    assert regions.sh.get("/api/v1/trust/regions").json()[-1]["region"] == "SH"


def test_the_published_lists_carry_their_validity_in_cache_headers(regions: Regions) -> None:
    listed = httpx.get(regions.js.url + "/api/v1/trust/lists/JS", timeout=60)
    assert listed.status_code == 200
    assert "max-age=" in listed.headers["cache-control"]
    assert listed.headers["expires"].endswith("GMT")
    status = httpx.get(regions.js.url + "/api/v1/status-lists/JS", timeout=60)
    assert status.headers["content-type"].startswith("application/statuslist+jwt")
    assert status.headers["cache-control"] == "public, max-age=300"
    assert status.headers["expires"].endswith("GMT")


def _page_login(regions: Regions, username: str) -> None:
    regions.sh.cookies.clear()
    response = regions.sh.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_the_trust_page_recognises_a_regions_platform_for_administrators_only(
    regions: Regions,
) -> None:
    from regions.world import anchor_of

    form = {"region": "JS", "url": regions.js.url, "anchor": anchor_of(regions.js_app, "JS")}
    _page_login(regions, "sh.clerk")
    refused = regions.sh.post("/trust/remote-regions", data=form, follow_redirects=False)
    assert refused.status_code == 403

    _page_login(regions, "sh.admin")
    bad = regions.sh.post("/trust/remote-regions", data={**form, "url": "js"})
    assert bad.status_code == 422
    assert 'data-testid="remote-form-error"' in bad.text
    done = regions.sh.post("/trust/remote-regions", data=form, follow_redirects=False)
    assert done.status_code == 303
    page = regions.sh.get("/trust?added=JS")
    assert page.status_code == 200
    assert 'data-testid="remote-JS"' in page.text
    assert regions.js.url in page.text
