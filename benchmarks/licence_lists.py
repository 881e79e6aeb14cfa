"""A check of numbered status lists for ``licence_verify.py``: with lists made small, licences
issued in batches fill each list to its limit and open the next (a batch crossing lists), every
position is unique, and a revocation shows in its own list's published token and no other.

Not timed: it shows that the sizing's "95 million licences in N lists" is what issuing does.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from twonets.core.auth import Principal
from twonets.core.db import unit_of_work
from twonets.licences import service, status
from twonets.licences.models import Licence
from twonets.licences.service import context
from twonets.trust import service as trust
from twonets.trust.keys import kid_text


def check_numbered_lists(
    factory: sessionmaker[Session],
    ctx: service.Licensing,
    clerk: Principal,
    claims: Sequence[dict[str, str]],
    *,
    region: str,
    now: datetime,
    size: int = 64,
    fill: int = 32,
    batch: int = 40,
) -> dict[str, Any]:
    """Issue an ID card per ``claims`` in lists of ``size`` filled to ``fill``; check and say
    where they went. Raises ``AssertionError`` if issuing did otherwise."""
    saved = context.STATUS_LIST_SIZE, context.STATUS_LIST_FILL
    context.STATUS_LIST_SIZE, context.STATUS_LIST_FILL = size, fill
    try:
        items = [service.LicenceItem("ID", c, date(2024, 3, 1)) for c in claims]
        for start in range(0, len(items), batch):
            with unit_of_work(factory) as session:
                service.issue_licences(session, ctx, clerk, items[start : start + batch], now=now)
        with factory() as session:
            rows = session.execute(
                select(Licence.id, Licence.status_list, Licence.status_index)
                .where(Licence.region_code == region)
                .order_by(Licence.id)
            ).all()
        per_list = Counter(int(n) for _, n, _ in rows)
        lists = math.ceil(len(items) / fill)
        expected = [min(fill, len(items) - fill * k) for k in range(lists)]
        assert [per_list[k] for k in range(lists)] == expected, per_list
        assert len(per_list) == lists, per_list
        assert len({(n, i) for _, n, i in rows}) == len(rows)
        assert all(0 <= i < size for _, _, i in rows)
        last_id, last_list, last_index = rows[-1]
        with unit_of_work(factory) as session:
            service.change_status(
                session, clerk, licence_id=last_id, action="revoke", reason="check", now=now
            )
        with unit_of_work(factory) as session:
            tokens = service.trust_bundle(session, ctx, now=now)["status_lists"]
            store = trust.trust_store(session, now=now)
        keys: dict[str, Any] = {
            kid_text(k.kid): k.public_key for k in store.trust_list(region).keys
        }
        assert sorted(tokens) == sorted(service.status_uri(region, k) for k in range(lists))
        for k in range(lists):
            uri = service.status_uri(region, k)
            opened = status.open_status_list_token(
                tokens[uri], public_keys=keys, at=now, uri=uri
            ).status_list
            marked = [i for i in range(size) if opened.get(i) != status.StatusType.VALID]
            assert marked == ([last_index] if k == last_list else []), (k, marked)
    finally:
        context.STATUS_LIST_SIZE, context.STATUS_LIST_FILL = saved
    found = {"size": size, "fill": fill, "licences": len(rows), "per_list": expected}
    print(
        f"  check at lists of {size} filled to {fill}: {len(rows)} ID cards in batches of "
        f"{batch} went to lists 0-{lists - 1} as {'/'.join(map(str, expected))}, positions "
        f"unique; the one revoked is marked in list {last_list}'s token only: ok"
    )
    return found
