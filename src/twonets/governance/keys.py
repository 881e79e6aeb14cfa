"""Keys of sealed fields: rotate a dataset's key version, re-seal old values in batches.

Keys are derived from the root secret (``sealing.Keyring``); only the current version per
dataset is stored, so rotating is a new version number and rewrapping re-seals values that
are still under an older one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from twonets.core.errors import Invalid
from twonets.governance.models import DatasetKey, GovernanceChange
from twonets.governance.service import KEY_VERSIONS_INFO, Governance


def rotate_dataset_key(
    session: Session, gov: Governance, *, actor: str, dataset: str, now: datetime
) -> int:
    """Make a new key version current for a dataset's sealed fields; old values still open."""
    target = gov.catalogue.get(dataset)
    if not target.sealed_fields:
        raise Invalid.field("dataset", "has-sealed-fields", f"{dataset} has no sealed fields")
    record = session.get(DatasetKey, dataset)
    before = record.version if record else 1
    if record is None:
        record = DatasetKey(dataset=dataset, version=before + 1, rotated_at=now)
        session.add(record)
    else:
        record.version = before + 1
        record.rotated_at = now
    session.add(
        GovernanceChange(
            at=now,
            actor=actor,
            action="key.rotated",
            target=dataset,
            before={"version": before},
            after={"version": before + 1},
            reason="key rotation",
        )
    )
    session.flush()
    session.info.pop(KEY_VERSIONS_INFO, None)
    return before + 1


def rewrap_dataset(
    session: Session, gov: Governance, *, dataset: str, batch_size: int = 1000
) -> int:
    """Re-seal up to ``batch_size`` rows still under an older key; returns how many changed."""
    target = gov.catalogue.get(dataset)
    keyring = gov.keyring(session)
    table = target.table
    keys = list(table.primary_key.columns)
    current = keyring.current_version(dataset)
    prefix_current = f"gcm1:{current}:"
    sealed = target.sealed_fields
    stale = or_(
        *(and_(table.c[n].is_not(None), ~table.c[n].startswith(prefix_current)) for n in sealed)
    )
    rows = session.execute(
        select(*keys, *(table.c[n] for n in sealed)).where(stale).limit(batch_size)
    ).all()
    for row in rows:
        values = {
            n: keyring.rewrap(dataset, n, row[i]) if row[i] is not None else None
            for i, n in enumerate(sealed, start=len(keys))
        }
        match = and_(*(k == row[j] for j, k in enumerate(keys)))
        session.execute(update(table).where(match).values(values))
    return len(rows)
