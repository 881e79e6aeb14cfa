"""A Jiangsu licence in Jiangsu's status list 1, verified in Shanghai: the list is fetched
over HTTP the first time a licence names it, carried in Shanghai's offline bundle, and
refreshed with list 0, so a revocation in it is seen."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from regions.world import Regions, bearer, two_regions
from twonets.licences.service import context
from twonets.trust.cose import decode_unverified


@pytest.fixture
def regions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Regions]:
    # Lists of 8 positions, one licence each: every licence issued opens the next list.
    monkeypatch.setattr(context, "STATUS_LIST_SIZE", 8)
    monkeypatch.setattr(context, "STATUS_LIST_FILL", 1)
    yield from two_regions(tmp_path)


def test_a_licence_in_list_1_of_a_remote_region_is_verified_and_seen_revoked(
    regions: Regions, tmp_path: Path
) -> None:
    first_id, first = regions.issue_in_jiangsu()
    assert regions.recognise_jiangsu().status_code == 201
    assert regions.verify_in_shanghai(first)["valid"] is True
    # The resident's card is revoked and a new one issued: the new one is in list 1.
    regions.revoke_in_jiangsu(first_id)
    second_id, second = regions.issue_in_jiangsu()
    assert "'uri': '/api/v1/status-lists/JS/1'" in repr(decode_unverified(second, ("JS1:",)).claims)

    # Shanghai has never fetched list 1: it does so now, for this verification.
    online = regions.verify_in_shanghai(second)
    assert online["valid"] is True, online
    bundle = json.loads(regions.sh.get("/api/v1/trust/bundle").text)
    assert {"/api/v1/status-lists/JS", "/api/v1/status-lists/JS/1"} <= set(bundle["status_lists"])

    regions.revoke_in_jiangsu(second_id)
    refreshed = regions.sh.post(
        "/api/v1/trust/remote-regions/refresh", headers=bearer(regions.sh, "sh.admin")
    )
    assert refreshed.json() == {"JS": "ok"}
    for text in (first, second):
        verdict = regions.verify_in_shanghai(text)
        assert (verdict["valid"], verdict["step"], verdict["status"]) == (
            False,
            "status",
            "revoked",
        ), verdict
